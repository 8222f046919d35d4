"""Fetch candles from an exchange through ccxt (public endpoints, rate limited) and store the closed ones.

Resumes after the last stored candle, so an interrupted run is continued by running it again.
"""

from datetime import UTC, datetime, timedelta

import ccxt
import pandas as pd
from django.core.management.base import BaseCommand, CommandError

from exchanges.candles import find_gaps, last_candle_time, series_name_problem, timeframe_seconds, upsert_candles
from exchanges.clients.ccxt_client import CcxtClient, build_exchange
from exchanges.errors import ExchangeError
from exchanges.models import ExchangeAccount


def parse_since(value: str) -> datetime:
    """2023-01-31, 2023-01-31T12:00, ISO with an offset, or epoch milliseconds -> aware UTC datetime."""
    if value.isdigit():
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    try:
        stamp = pd.Timestamp(value)
    except ValueError:
        raise CommandError(f"--since {value!r} is not a date (2023-01-31, 2023-01-31T12:00) or epoch milliseconds")
    return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")).to_pydatetime()


class Command(BaseCommand):
    help = "Page through ccxt fetch_ohlcv from --since (or after the last stored candle) and store closed candles."

    def add_arguments(self, parser):
        parser.add_argument("--exchange", required=True, help="ccxt exchange id, e.g. binance")
        parser.add_argument("--symbol", required=True, help="e.g. BTC/USDT")
        parser.add_argument("--timeframe", required=True, help="e.g. 1m, 5m, 1h")
        parser.add_argument("--since", help="start (UTC date/time or epoch ms); default: after the last stored candle")
        parser.add_argument("--until", help="stop at this open time (default: now)")
        parser.add_argument("--page", type=int, default=1000, help="candles per request (default 1000)")
        parser.add_argument("--retries", type=int, default=3, help="retries of a failing request (default 3)")
        parser.add_argument("--backoff", type=float, default=1.0, help="first retry delay in seconds (default 1)")

    def handle(self, *args, exchange, symbol, timeframe, since, until, page, retries, backoff, **options):
        if exchange not in ccxt.exchanges:
            raise CommandError(f"--exchange {exchange!r} is not an exchange ccxt knows (e.g. binance, kraken)")
        try:
            step = timedelta(seconds=timeframe_seconds(timeframe))
        except ValueError as exc:
            raise CommandError(str(exc))
        problem = series_name_problem(exchange, symbol, timeframe)
        if problem:
            raise CommandError(f"--{problem}")
        if "/" not in symbol:
            raise CommandError(f"--symbol {symbol!r} must look like BASE/QUOTE, e.g. BTC/USDT")
        if page <= 0:
            raise CommandError("--page must be positive")
        last = last_candle_time(exchange, symbol, timeframe)
        start = parse_since(since) if since else None
        if last is not None and (start is None or start <= last):
            start = last + step  # resume: what is stored is not fetched again
        if start is None:
            raise CommandError("nothing stored yet for this series: give --since")
        end = parse_since(until) if until else None

        account = ExchangeAccount(exchange_id=exchange, label="fetch_candles", mode=ExchangeAccount.Mode.LIVE)
        client = CcxtClient(account, exchange=build_exchange(exchange), retries=retries, backoff=backoff)
        total, first, newest, gaps = 0, None, None, 0
        try:
            while end is None or start <= end:
                try:
                    candles = client.fetch_candles(symbol, timeframe, since=start, limit=page)
                except ExchangeError as exc:
                    raise CommandError(
                        f"{exc} - {total} candles were stored before this; run the command again to resume"
                    )
                candles = candles[candles.index >= start]
                if end is not None:
                    candles = candles[candles.index <= end]
                if candles.empty:
                    break
                upsert_candles(exchange, symbol, timeframe, candles)
                gaps += sum(g[2] for g in find_gaps(candles, timeframe))
                if newest is not None and candles.index[0].to_pydatetime() > newest + step:
                    gaps += int((candles.index[0].to_pydatetime() - newest) / step) - 1
                total += len(candles)
                first = first or candles.index[0].to_pydatetime()
                newest = candles.index[-1].to_pydatetime()
                start = newest + step
        finally:
            client.close()
        if total == 0:
            self.stdout.write(f"{exchange} {symbol} {timeframe}: no new closed candles "
                              f"after {start:%Y-%m-%d %H:%M} UTC")
        else:
            self.stdout.write(f"{exchange} {symbol} {timeframe}: {total} candles stored "
                              f"({first:%Y-%m-%d %H:%M} to {newest:%Y-%m-%d %H:%M} UTC), {gaps} missing candles")
