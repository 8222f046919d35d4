"""manage.py backtest: run a registered strategy over a CSV file or stored candles and print the results."""

import json
import sys
from datetime import UTC, datetime, timedelta

import pandas as pd
from django.core.management.base import BaseCommand, CommandError

from exchanges.candles import CandleFileError, load_candles, read_candle_file, series_name_problem
from metrics import instruments
from strategies.backtest import BacktestSettings, backtest_strategy
from strategies.registry import STRATEGIES, InvalidParameters, build_strategy

USAGE_ERROR = 2


def fail(message: str):
    raise CommandError(message, returncode=USAGE_ERROR)


def parse_time(raw: str, option: str, end_of_day: bool = False) -> datetime:
    """ISO-8601 date or time, UTC unless it says otherwise; a bare date as --until means that whole day."""
    text = raw.strip()
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        fail(f"{option} {raw!r} is not a date or ISO-8601 time (e.g. 2023-01-05 or 2023-01-05T12:00)")
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if end_of_day and len(text) == 10:
        value += timedelta(days=1, microseconds=-1)
    return value


class Command(BaseCommand):
    help = "Backtest a strategy: --strategy rsi_cross [--param rsi_period=14] (--csv PATH | --exchange ...)"
    # The system checks cost ~0.2 s of a 3 s budget for a million candles, and `manage.py check` runs them.
    requires_system_checks = []
    usage_name = "backtest"  # in the one-line errors (manage.py optimize shares this command's options and checks)

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)

        def one_line_error(message):
            # argparse prints the whole usage block; the contract here is one line on stderr, status 2.
            sys.stderr.write(f"{self.usage_name}: error: {message} (see manage.py {self.usage_name} --help)\n")
            sys.exit(USAGE_ERROR)

        if parser.called_from_command_line:
            parser.error = one_line_error
        return parser

    def add_arguments(self, parser):
        parser.add_argument("--strategy", required=True, help=f"one of: {', '.join(STRATEGIES)}")
        parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                            help="a strategy parameter; repeat for several")
        parser.add_argument("--csv", help="candle CSV: timestamp (ms),open,high,low,close,volume")
        parser.add_argument("--exchange", help="stored candles: exchange id (with --symbol and --timeframe)")
        parser.add_argument("--symbol")
        parser.add_argument("--timeframe")
        parser.add_argument("--since", help="first candle open time (UTC), e.g. 2023-01-05")
        parser.add_argument("--until", help="last candle open time (UTC); a date alone includes that whole day")
        parser.add_argument("--fee", type=float, default=0.001, help="fee per side as a fraction (default 0.001)")
        parser.add_argument("--slippage", type=float, default=0.0)
        parser.add_argument("--cash", type=float, default=10_000.0)
        parser.add_argument("--stake", type=float, default=1.0, help="fraction of equity per entry (default 1.0)")
        parser.add_argument("--stop-loss", type=float, default=0.0, help="e.g. 0.02 = 2 %% below entry; 0 = off")
        parser.add_argument("--take-profit", type=float, default=0.0)
        parser.add_argument("--trailing-stop", type=float, default=0.0)
        parser.add_argument("--json", action="store_true", help="print one JSON object: metrics and trades")

    def handle(self, *args, **options):
        strategy = self.strategy(options)
        settings = self.settings(options)
        candles, source = self.candles(options)
        with instruments.backtest_run(strategy.name):
            result = backtest_strategy(strategy, candles, settings)
        if options["json"]:
            self.stdout.write(json.dumps({"metrics": result.metrics, "trades": result.trades}))
        else:
            self.stdout.write(self.summary(strategy, source, candles, settings, result))

    def settings(self, options) -> BacktestSettings:
        try:
            return BacktestSettings(
                cash=options["cash"], fee=options["fee"], slippage=options["slippage"], stake=options["stake"],
                stop_loss=options["stop_loss"], take_profit=options["take_profit"],
                trailing_stop=options["trailing_stop"],
            )
        except ValueError as exc:
            fail(f"bad settings: {str(exc).replace('_', '-')}")

    def strategy(self, options):
        params = {}
        for item in options["param"]:
            name, sep, value = item.partition("=")
            if not sep or not name.strip():
                fail(f"--param {item!r} must look like NAME=VALUE, e.g. rsi_period=14")
            params[name.strip()] = value
        try:
            return build_strategy(options["strategy"], params)
        except InvalidParameters as exc:
            fail("bad strategy parameters: " + "; ".join(f"{k}: {v}" for k, v in exc.errors.items()))

    def candles(self, options) -> tuple[pd.DataFrame, str]:
        since = parse_time(options["since"], "--since") if options["since"] else None
        until = parse_time(options["until"], "--until", end_of_day=True) if options["until"] else None
        if since and until and since > until:
            fail("--since is after --until")
        stored = [options[k] for k in ("exchange", "symbol", "timeframe")]
        if options["csv"] and any(stored):
            fail("give either --csv or --exchange/--symbol/--timeframe, not both")
        if options["csv"]:
            try:
                candles = read_candle_file(options["csv"])
            except CandleFileError as exc:
                fail(f"bad candle file: {exc}")
            candles = candles.loc[since:until] if since or until else candles
            source = options["csv"]
        elif all(stored):
            exchange, symbol, timeframe = stored
            problem = series_name_problem(exchange, symbol, timeframe)
            if problem:
                fail(f"--{problem}")
            candles = load_candles(exchange, symbol, timeframe, start=since, end=until)
            source = f"{exchange} {symbol} {timeframe} (stored)"
        else:
            fail("no data: give --csv PATH, or --exchange, --symbol and --timeframe for stored candles")
        if len(candles) < 2:
            found = "no candles" if len(candles) == 0 else "only one candle"
            fail(f"{found} to backtest in {source}" + (" for that date range" if since or until else "")
                 + (": import them with manage.py import_candles" if not options["csv"] else ""))
        return candles, source

    def summary(self, strategy, source, candles, settings, result) -> str:
        m = result.metrics

        def pct(value):
            return "n/a" if value is None else f"{value * 100:+.3f} %"

        def num(value):
            return "n/a" if value is None else f"{value:.3f}"

        rows = [
            ("Strategy", f"{strategy.name} " + ", ".join(f"{k}={v}" for k, v in strategy.values.items())),
            ("Data", f"{source}: {len(candles):,} candles, {candles.index[0]:%Y-%m-%d %H:%M} to "
                     f"{candles.index[-1]:%Y-%m-%d %H:%M} UTC"),
            ("Costs", f"fee {settings.fee:g}/side, slippage {settings.slippage:g}, stake {settings.stake:g}, "
                      f"stop-loss {settings.stop_loss:g}, take-profit {settings.take_profit:g}, "
                      f"trailing {settings.trailing_stop:g}"),
            ("Start cash", f"{m['start_cash']:,.2f}"),
            ("End equity", f"{m['end_equity']:,.2f}"),
            ("Total return", pct(m["total_return"])),
            ("Buy and hold", pct(m["buy_and_hold_return"])),
            ("Max drawdown", pct(-m["max_drawdown"])),
            ("Sharpe", num(m["sharpe"])),
            ("Sortino", num(m["sortino"])),
            ("Trades", str(m["trades"])),
            ("Win rate", "n/a" if m["win_rate"] is None else f"{m['win_rate'] * 100:.1f} %"),
            ("Profit factor", num(m["profit_factor"])),
            ("Exposure", f"{m['exposure'] * 100:.1f} %"),
        ]
        width = max(len(label) for label, _ in rows)
        lines = [f"{label:<{width}}  {value}" for label, value in rows]
        if result.trades:
            lines += ["", f"{'entry (UTC)':<20} {'exit (UTC)':<20} {'entry':>12} {'exit':>12} {'P&L':>12}  reason"]
            shown = result.trades if len(result.trades) <= 20 else result.trades[:10] + [None] + result.trades[-10:]
            for t in shown:
                if t is None:
                    lines.append(f"... {len(result.trades) - 20} more ...")
                    continue
                entry, exit_ = (t[k][:16].replace("T", " ") for k in ("entry_time", "exit_time"))
                lines.append(f"{entry:<20} {exit_:<20} {t['entry_price']:>12.6g} {t['exit_price']:>12.6g} "
                             f"{t['pnl']:>12.2f}  {t['exit_reason']}")
        return "\n".join(lines)
