"""Import candles from a CSV (timestamp,open,high,low,close,volume) or ccxt JSON file; idempotent."""

from django.core.management.base import BaseCommand, CommandError

from exchanges.candles import (
    CandleFileError,
    demo_files,
    find_gaps,
    read_candle_file,
    series_name_problem,
    timeframe_seconds,
    upsert_candles,
)


class Command(BaseCommand):
    help = (
        "Import candles from PATH (CSV with header timestamp,open,high,low,close,volume, or a ccxt JSON array). "
        "A malformed file is refused with its line number and nothing is stored. "
        "--demo imports every file shipped in exchanges/data instead."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", help="CSV or JSON file")
        parser.add_argument("--exchange", help="exchange id, e.g. binance")
        parser.add_argument("--symbol", help="market symbol, e.g. BTC/USDT")
        parser.add_argument("--timeframe", help="e.g. 1m, 5m, 1h")
        parser.add_argument("--demo", action="store_true", help="import the demo candles shipped with the project")

    def handle(self, *args, **options):
        if options["demo"]:
            for demo in demo_files():
                self.import_file(demo.path, demo.exchange, demo.symbol, demo.timeframe)
            return
        missing = [f"--{name}" for name in ("exchange", "symbol", "timeframe") if not options[name]]
        if not options["path"]:
            raise CommandError("give a PATH to import (or --demo)")
        if missing:
            raise CommandError(f"{', '.join(missing)} required")
        try:
            timeframe_seconds(options["timeframe"])
        except ValueError as exc:
            raise CommandError(str(exc))
        problem = series_name_problem(options["exchange"], options["symbol"], options["timeframe"])
        if problem:
            raise CommandError(f"refused, nothing imported: --{problem}")
        if "/" not in options["symbol"]:
            raise CommandError(f"--symbol {options['symbol']!r} must look like BASE/QUOTE, e.g. BTC/USDT")
        self.import_file(options["path"], options["exchange"], options["symbol"], options["timeframe"])

    def import_file(self, path, exchange, symbol, timeframe):
        try:
            candles = read_candle_file(path, timeframe)
        except CandleFileError as exc:
            raise CommandError(f"refused, nothing imported: {exc}")
        count = upsert_candles(exchange, symbol, timeframe, candles)
        gaps = find_gaps(candles, timeframe)
        missing = sum(g[2] for g in gaps)
        self.stdout.write(
            f"{exchange} {symbol} {timeframe}: {count} candles imported "
            f"({candles.index[0]:%Y-%m-%d %H:%M} to {candles.index[-1]:%Y-%m-%d %H:%M} UTC), "
            f"{len(gaps)} gaps ({missing} missing candles)"
        )
        for start, end, n in gaps[:5]:
            self.stdout.write(f"  gap: {n} missing after {start:%Y-%m-%d %H:%M} (next {end:%Y-%m-%d %H:%M})")
        if len(gaps) > 5:
            self.stdout.write(f"  ... and {len(gaps) - 5} more gaps")
