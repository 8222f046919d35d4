"""Forms: a strategy configuration with its typed parameters, and a backtest request over stored candles."""

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from django import forms
from django.db.models import Count, Max, Min
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from exchanges.models import Candle
from strategies import trade_defaults
from strategies.models import StrategyConfig
from strategies.registry import STRATEGIES, InvalidParameters, build_strategy, strategy_choices
from strategies.strategy import Strategy

PARAM_PREFIX = "param_"


class PercentField(forms.DecimalField):
    """Shown and typed as a percentage (5 = 5 %), cleaned to a fraction (0.05) as the risk rules and the
    backtester use it. The one unit of every percentage a form asks for (bot form and backtest form)."""

    def __init__(self, *, max_percent=100, **kwargs):
        kwargs.setdefault("min_value", Decimal("0"))
        kwargs.setdefault("max_value", Decimal(max_percent))
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("max_digits", 6)
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("step", "0.01")

    def prepare_value(self, value):
        if isinstance(value, Decimal | int | float) and not isinstance(value, bool):
            # "10", "2.5", never "1E+1" (which a number input refuses)
            return format((Decimal(str(value)) * 100).quantize(Decimal("0.001")).normalize(), "f")
        return value

    def clean(self, value):
        number = super().clean(value)
        return None if number is None else number / 100

    def has_changed(self, initial, data):
        return super().has_changed(self.prepare_value(initial), data)


def parameter_fields(strategy_cls: type[Strategy], initial: dict | None = None) -> dict[str, forms.Field]:
    """One typed, range-checked form field per parameter (named param_<name>), for any form that configures
    a strategy (this app's config form, the bot form)."""
    initial = initial or {}
    fields = {}
    for param in strategy_cls.params:
        field_cls = forms.IntegerField if param.type is int else forms.FloatField
        kwargs = {} if param.type is int else {"widget": forms.NumberInput(attrs={"step": "any"})}
        fields[PARAM_PREFIX + param.name] = field_cls(
            label=gettext(param.label),
            min_value=param.minimum,
            max_value=param.maximum,
            initial=initial.get(param.name, param.default),
            help_text=gettext("%(help)s Default %(default)s, %(minimum)s to %(maximum)s.") % {
                "help": gettext(param.help), "default": param.default, "minimum": param.minimum,
                "maximum": param.maximum},
            **kwargs,
        )
    return fields


class StrategyConfigForm(forms.ModelForm):
    """The parameter fields follow the chosen strategy (from the submitted data, the instance, or `strategy`)."""

    strategy = forms.ChoiceField(choices=strategy_choices)

    class Meta:
        model = StrategyConfig
        fields = ["name", "strategy"]
        labels = {"name": _("Name"), "strategy": _("Strategy")}

    def __init__(self, *args, owner, strategy: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.owner = owner
        chosen = (self.data.get("strategy") if self.is_bound else None) or strategy or self.instance.strategy
        self.strategy_name = chosen if chosen in STRATEGIES else next(iter(STRATEGIES))
        self.initial["strategy"] = self.strategy_name
        same = self.instance.pk and self.instance.strategy == self.strategy_name
        self.fields.update(parameter_fields(STRATEGIES[self.strategy_name], self.instance.params if same else None))
        self.strategy_description = STRATEGIES[self.strategy_name].description()

    def param_fields(self):
        return [self[name] for name in self.fields if name.startswith(PARAM_PREFIX)]

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        clash = StrategyConfig.objects.for_user(self.owner).filter(name=name).exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError(_("You already have a strategy with this name."))
        return name

    def clean(self):
        cleaned = super().clean()
        params = {name[len(PARAM_PREFIX):]: value for name, value in cleaned.items() if name.startswith(PARAM_PREFIX)}
        if self.errors or "strategy" not in cleaned:
            return cleaned
        try:
            self.instance.params = build_strategy(cleaned["strategy"], params).values
        except InvalidParameters as exc:
            for key, message in exc.errors.items():
                field = PARAM_PREFIX + key
                self.add_error(field if field in self.fields else None, message)
        return cleaned

    def save(self, commit=True):
        self.instance.owner = self.owner
        return super().save(commit)


def stored_series() -> list[dict]:
    """Every (exchange, symbol, timeframe) with stored candles, with count and first/last open time."""
    return list(
        Candle.objects.values("exchange", "symbol", "timeframe")
        .annotate(count=Count("id"), first=Min("time"), last=Max("time"))
        .order_by("exchange", "symbol", "timeframe")
    )


def series_key(row: dict) -> str:
    return f"{row['exchange']}|{row['symbol']}|{row['timeframe']}"


class BacktestForm(forms.Form):
    config = forms.ModelChoiceField(queryset=StrategyConfig.objects.none(), label=_("Strategy"))
    series = forms.ChoiceField(label=_("Candles"), help_text=_("Stored candles (manage.py import_candles adds more)."))
    start = forms.DateField(label=_("Start"), required=False,
                            help_text=_("First day (UTC); empty = from the first stored candle."),
                            widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("End"), required=False,
                          help_text=_("Last day (UTC), included; empty = to the last stored candle."),
                          widget=forms.DateInput(attrs={"type": "date"}))
    cash = forms.FloatField(label=_("Cash"), initial=float(trade_defaults.STARTING_BALANCE), min_value=0.01,
                            max_value=trade_defaults.MAX_CASH, help_text=_("Starting cash in the quote currency."))
    # Percentages, as on the bot form, with a new bot's defaults: a default backtest describes a default bot.
    fee = PercentField(label=_("Fee per side (%)"), max_percent=50, decimal_places=3, initial=trade_defaults.FEE,
                       # xgettext:no-python-format
                       help_text=_("0.1 is typical (0.1 % of each buy and each sell)."))
    slippage = PercentField(label=_("Slippage (%)"), max_percent=50, decimal_places=3, initial=trade_defaults.SLIPPAGE,
                            # xgettext:no-python-format
                            help_text=_("How far a market fill moves against you, in % of the price."))
    stake = PercentField(label=_("Stake (%)"), min_value=Decimal("0.01"), initial=trade_defaults.STAKE,
                         help_text=_("Share of equity put into each entry, in %. A new bot's default: its stake "
                                     "capped by its max position. 100 = all in."))
    stop_loss = PercentField(label=_("Stop-loss (%)"), max_value=Decimal("99.99"), initial=trade_defaults.STOP_LOSS,
                             help_text=_("Sell when the price falls this % below the entry price. 0 = none."))
    take_profit = PercentField(label=_("Take-profit (%)"), max_percent=10000, max_digits=8,
                               initial=trade_defaults.TAKE_PROFIT,
                               help_text=_("Sell when the price rises this % above the entry price. 0 = none."))
    trailing_stop = PercentField(label=_("Trailing stop (%)"), max_value=Decimal("99.99"),
                                 initial=trade_defaults.TRAILING_STOP,
                                 help_text=_("Sell when the price falls this % below its highest point since "
                                             "entry. 0 = off."))

    DEFAULT_SYMBOL = "BTC/USDT"

    def __init__(self, *args, owner, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["config"].queryset = StrategyConfig.objects.for_user(owner)
        self.series = {series_key(row): row for row in stored_series()}
        self.fields["series"].choices = [
            (key, f"{row['exchange']} {row['symbol']} {row['timeframe']} — {row['count']:,} candles, "
                  f"{row['first']:%Y-%m-%d} to {row['last']:%Y-%m-%d}")
            for key, row in self.series.items()
        ]
        if not self.is_bound and "series" not in self.initial:
            self.initial["series"] = self.default_series()

    def default_series(self) -> str | None:
        """BTC/USDT (the demo's market, 5m first), else the first stored series."""
        keys = [key for key, row in self.series.items() if row["symbol"] == self.DEFAULT_SYMBOL]
        keys.sort(key=lambda key: (self.series[key]["timeframe"] != "5m", key))
        return (keys or list(self.series) or [None])[0]

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and start > end:
            self.add_error("end", _("The last day is before the first day."))
        if all(cleaned.get(name) is not None for name in self.SETTINGS):
            from strategies.backtest import BacktestSettings

            for name, message in BacktestSettings.errors({k: float(cleaned[k]) for k in self.SETTINGS}).items():
                self.add_error(name, message.capitalize() + ".")
        key = cleaned.get("series")
        if key in self.series and not self.errors:
            row = self.series[key]
            cleaned["start_time"], cleaned["end_time"] = self.time_range(start, end)
            in_range = Candle.objects.filter(exchange=row["exchange"], symbol=row["symbol"],
                                             timeframe=row["timeframe"])
            if cleaned["start_time"]:
                in_range = in_range.filter(time__gte=cleaned["start_time"])
            if cleaned["end_time"]:
                in_range = in_range.filter(time__lte=cleaned["end_time"])
            if in_range[:2].count() < 2:
                self.add_error(None, gettext(
                    "No stored candles for %(exchange)s %(symbol)s %(timeframe)s in that date range (stored: "
                    "%(first)s to %(last)s).") % {
                    "exchange": row["exchange"], "symbol": row["symbol"], "timeframe": row["timeframe"],
                    "first": f"{row['first']:%Y-%m-%d}", "last": f"{row['last']:%Y-%m-%d}"})
        if "config" in cleaned and not self.errors:
            try:
                cleaned["config"].build()
            except InvalidParameters as exc:
                self.add_error("config", gettext("This strategy's parameters no longer validate: %(error)s") % {
                    "error": exc})
        return cleaned

    @staticmethod
    def time_range(start, end):
        start_time = datetime.combine(start, time.min, tzinfo=UTC) if start else None
        end_time = datetime.combine(end, time.min, tzinfo=UTC) + timedelta(days=1, microseconds=-1) if end else None
        return start_time, end_time

    SETTINGS = ("cash", "fee", "slippage", "stake", "stop_loss", "take_profit", "trailing_stop")

    def settings(self) -> "BacktestSettings":  # noqa: F821
        from strategies.backtest import BacktestSettings

        return BacktestSettings(**{name: float(self.cleaned_data[name]) for name in self.SETTINGS})
