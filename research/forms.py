"""The optimisation form: the backtest form's strategy, candles, costs and exits, plus the grid and how to
search it. Everything is checked here (grid, combination count, candles enough for the warm-up), so a run
that cannot work is never queued."""

from django import forms
from django.utils.translation import gettext_lazy as _

from exchanges.models import Candle
from strategies.forms import BacktestForm
from strategies.registry import STRATEGIES
from strategies.trade_defaults import DEFAULT_SEED, MAX_TRIALS
from tradingbot.lazy_import import lazy_module

optimize = lazy_module("strategies.optimize")  # numba: loaded when a form is checked, not at start-up
sweep = lazy_module("strategies.sweep")

OBJECTIVE_LABELS = {"total_return": _("Total return"), "sharpe": _("Sharpe ratio"), "sortino": _("Sortino ratio"),
                    "calmar": _("Calmar ratio"), "profit_drawdown": _("Profit / max drawdown")}


class OptimizationForm(BacktestForm):
    grid = forms.CharField(
        label=_("Parameter grid"), initial="rsi_period=5:30:1,oversold=20:40:5",
        widget=forms.TextInput(attrs={"size": 60, "spellcheck": "false"}),
        help_text=_("NAME=LOW:HIGH:STEP (both ends included), NAME=A|B|C or NAME=VALUE, separated by commas. "
                    "Strategy parameters, and stop_loss, take_profit, trailing_stop as fractions (0.02 = 2 %)."))
    trials = forms.IntegerField(
        label=_("Search trials"), required=False, min_value=1, max_value=MAX_TRIALS,
        help_text=_("Empty: every combination of the grid. A number: an Optuna search of that many trials over "
                    "the grid's ranges (reproducible with the seed)."))
    seed = forms.IntegerField(label=_("Seed"), initial=DEFAULT_SEED)
    objective = forms.ChoiceField(label=_("Objective"), choices=list(OBJECTIVE_LABELS.items()),
                                  initial="total_return")
    min_trades = forms.IntegerField(label=_("Minimum trades"), initial=5, min_value=0, max_value=100_000,
                                    help_text=_("Parameter sets with fewer trades rank last."))
    walk_forward = forms.IntegerField(
        label=_("Walk-forward windows"), initial=0, min_value=0, max_value=20,
        help_text=_("0: none. N: choose the parameters on each window's first 3/4 and measure them on its last "
                    "1/4, window after window (1 = one split)."))

    def clean(self):
        cleaned = super().clean()
        config = cleaned.get("config")
        if config is None or self.errors:
            return cleaned
        trials = cleaned.get("trials")
        try:
            dimensions = sweep.parse_grid(cleaned.get("grid", ""), config.strategy,
                                          limit=None if trials else sweep.MAX_COMBINATIONS)
        except sweep.GridError as exc:
            self.add_error("grid", str(exc))
            return cleaned
        row = self.series[cleaned["series"]]
        candles = Candle.objects.filter(exchange=row["exchange"], symbol=row["symbol"], timeframe=row["timeframe"])
        if cleaned["start_time"]:
            candles = candles.filter(time__gte=cleaned["start_time"])
        if cleaned["end_time"]:
            candles = candles.filter(time__lte=cleaned["end_time"])
        count = candles.count()
        windows = cleaned.get("walk_forward") or 0
        combos = [{d.name: d.high for d in dimensions}] if trials else sweep.grid_combinations(dimensions)
        base = {k: v for k, v in config.build().values.items() if k not in {d.name for d in dimensions}}
        need = sweep.warmup_of(config.strategy, combos, base) + 2
        usable = count
        if windows:
            try:
                parts = optimize.walk_forward_windows(count, windows)
                usable = parts[0].train_end - parts[0].train_start
            except sweep.GridError as exc:
                self.add_error("walk_forward", str(exc))
                return cleaned
        if usable < need:
            where = _("in each window's in-sample part") if windows else _("in that range")
            self.add_error(None, _("%(count)s candles %(where)s are too few: the grid's longest warm-up needs "
                                   "%(need)s.") % {"count": f"{usable:,}", "where": where, "need": f"{need:,}"})
        cleaned["dimensions"] = dimensions
        cleaned["base_params"] = base
        return cleaned

    def grid_help(self) -> list[tuple[str, str]]:
        """Each strategy's parameters, for the page's hint."""
        return [(cls.name, ", ".join(p.name for p in cls.params)) for cls in STRATEGIES.values()]
