"""manage.py optimize: a parameter grid or an Optuna search over a CSV file or stored candles, optionally
walk-forward validated; the same data, cost and exit options as `manage.py backtest`."""

import json
import time

from strategies.management.commands import backtest
from strategies.management.commands.backtest import fail

EXIT_OPTIONS = ("stop_loss", "take_profit", "trailing_stop")


class Command(backtest.Command):
    help = ("Optimise a strategy's parameters: --strategy rsi_cross (--csv PATH | --exchange ...) "
            '--grid "rsi_period=5:30:1,oversold=20:40:5" | --trials N [--objective sharpe] [--walk-forward 4]')
    usage_name = "optimize"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        from strategies.sweep import OBJECTIVES

        parser.add_argument("--grid", help='NAME=LOW:HIGH:STEP (ends included), NAME=A|B|C or NAME=VALUE, '
                                           'comma-separated; strategy parameters and stop_loss, take_profit, '
                                           'trailing_stop')
        parser.add_argument("--trials", type=int, help="an Optuna search of N trials over the grid's ranges "
                                                       "(over every parameter's whole range without --grid)")
        parser.add_argument("--objective", default="total_return", choices=OBJECTIVES)
        parser.add_argument("--min-trades", type=int, default=1, help="rank runs with fewer trades last")
        parser.add_argument("--seed", type=int, default=42, help="the search's seed (same seed, same trials)")
        parser.add_argument("--walk-forward", type=int, metavar="WINDOWS",
                            help="validate: choose on each window's past 3/4, measure on its last 1/4 "
                                 "(1 = one split)")
        parser.add_argument("--top", type=int, default=10, help="rows in the text table (default 10)")

    def handle(self, *args, **options):
        from strategies import optimize, sweep

        strategy = self.strategy(options)
        settings = self.settings(options)
        trials, windows = options["trials"], options["walk_forward"]
        if trials is None and options["grid"] is None:
            fail("give --grid NAME=LOW:HIGH:STEP,... for a grid, or --trials N for a search")
        if trials is not None and not 1 <= trials <= optimize.MAX_TRIALS:
            fail(f"--trials must be from 1 to {optimize.MAX_TRIALS:,}, not {trials:,}")
        if windows is not None and windows < 1:
            fail(f"--walk-forward must be at least 1, not {windows}")
        if options["min_trades"] < 0:
            fail("--min-trades must be 0 or more")
        base = {k: v for k, v in strategy.values.items() if k in {s.split("=")[0].strip() for s in options["param"]}}
        try:
            if options["grid"] is not None:
                dimensions = sweep.parse_grid(options["grid"], strategy.name,
                                              limit=None if trials is not None else sweep.MAX_COMBINATIONS)
            else:
                dimensions = optimize.default_space(strategy.name)
            grid_params = {d.name for d in dimensions}
            base = {k: v for k, v in base.items() if k not in grid_params}
        except sweep.GridError as exc:
            fail(f"bad grid: {exc}")
        candles, source = self.candles(options)
        combos = [{d.name: d.high for d in dimensions}] if trials is not None else sweep.grid_combinations(dimensions)
        try:
            if windows:
                parts = optimize.walk_forward_windows(len(candles), windows)
                sweep.check_length(strategy.name, candles.iloc[parts[0].train_start:parts[0].train_end], combos, base)
            else:
                sweep.check_length(strategy.name, candles, combos, base)
        except sweep.GridError as exc:
            fail(f"{exc} (in {source})")

        started = time.perf_counter()
        try:
            if windows:
                report = optimize.walk_forward(strategy.name, candles, dimensions, settings, windows,
                                               options["objective"], options["min_trades"], trials, options["seed"],
                                               base)
            if trials is not None:
                result = optimize.search(strategy.name, candles, dimensions, settings, trials, options["objective"],
                                         options["min_trades"], options["seed"], base)
            else:
                result = sweep.run_grid(strategy.name, candles, dimensions, settings, options["objective"],
                                        options["min_trades"], base)
        except sweep.GridError as exc:
            fail(str(exc))
        seconds = time.perf_counter() - started
        payload = {"results": result.results, "best": result.best, "seconds": seconds,
                   "objective": result.objective, "min_trades": result.min_trades, "evaluated": result.evaluated,
                   "skipped": result.skipped, "candles": len(candles), "mode": "search" if trials else "grid"}
        if trials is not None:
            payload.update(trials=trials, seed=options["seed"])
        if windows:
            payload["walk_forward"] = report
        if options["json"]:
            self.stdout.write(json.dumps(payload))
        else:
            self.stdout.write(self.table(strategy, source, candles, payload, options["top"]))

    def table(self, strategy, source, candles, payload, top) -> str:
        objective = payload["objective"]

        def pct(value):
            return "n/a" if value is None else f"{value * 100:+.2f}%"

        def num(value):
            return "n/a" if value is None else f"{value:.3f}"

        lines = [f"{strategy.name} on {source}: {len(candles):,} candles; {payload['evaluated']:,} parameter sets "
                 f"({payload['skipped']:,} refused by the strategy's rules) in {payload['seconds']:.2f} s, "
                 f"ranked by {objective}" + (f" (at least {payload['min_trades']} trades)" if payload['min_trades'] > 1
                                             else "")]
        names = list(payload["results"][0]["params"]) if payload["results"] else []
        header = "  ".join(f"{n:>13}" for n in names) + f"  {'return':>9} {'trades':>7} {'sharpe':>7} {'max dd':>8}"
        lines += ["", header]
        for row in payload["results"][:top]:
            m = row["metrics"]
            values = "  ".join(f"{row['params'][n]:>13g}" for n in names)
            lines.append(f"{values}  {pct(m['total_return']):>9} {m['trades']:>7} {num(m['sharpe']):>7} "
                         f"{pct(-m['max_drawdown']):>8}")
        report = payload.get("walk_forward")
        if report:
            lines += ["", f"Walk-forward, {len(report['windows'])} window(s): parameters chosen in-sample, "
                          "measured out-of-sample"]
            for w in report["windows"]:
                params = ", ".join(f"{k}={v:g}" for k, v in w["params"].items())
                lines.append(f"  {w['window']}: test {w['test'][0][:16]} .. {w['test'][1][:16]}  {params}")
                lines.append(f"     in-sample {pct(w['in_sample']['total_return'])} ({w['in_sample']['trades']} "
                             f"trades)   out-of-sample {pct(w['out_of_sample']['total_return'])} "
                             f"({w['out_of_sample']['trades']} trades)"
                             + (f"   WARNING: {', '.join(w['flags'])}" if w["flags"] else ""))
            summary = report["out_of_sample"]
            lines.append(f"  out-of-sample, all windows: {pct(summary['total_return'])}, {summary['trades']} trades")
        return "\n".join(lines)
