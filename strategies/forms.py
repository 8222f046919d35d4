"""Forms: a strategy configuration with its typed parameters, and a backtest request over stored candles."""

from datetime import UTC, datetime, time, timedelta

from django import forms
from django.db.models import Count, Max, Min

from exchanges.models import Candle
from strategies.backtest import MAX_CASH, BacktestSettings
from strategies.models import StrategyConfig
from strategies.registry import STRATEGIES, InvalidParameters, build_strategy, strategy_choices
from strategies.strategy import Strategy

PARAM_PREFIX = "param_"


def parameter_fields(strategy_cls: type[Strategy], initial: dict | None = None) -> dict[str, forms.Field]:
    """One typed, range-checked form field per parameter (named param_<name>), for any form that configures
    a strategy (this app's config form, the bot form)."""
    initial = initial or {}
    fields = {}
    for param in strategy_cls.params:
        field_cls = forms.IntegerField if param.type is int else forms.FloatField
        kwargs = {} if param.type is int else {"widget": forms.NumberInput(attrs={"step": "any"})}
        fields[PARAM_PREFIX + param.name] = field_cls(
            label=param.label,
            min_value=param.minimum,
            max_value=param.maximum,
            initial=initial.get(param.name, param.default),
            help_text=f"{param.help} Default {param.default}, {param.minimum} to {param.maximum}.",
            **kwargs,
        )
    return fields


class StrategyConfigForm(forms.ModelForm):
    """The parameter fields follow the chosen strategy (from the submitted data, the instance, or `strategy`)."""

    strategy = forms.ChoiceField(choices=strategy_choices)

    class Meta:
        model = StrategyConfig
        fields = ["name", "strategy"]

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
            raise forms.ValidationError("You already have a strategy with this name.")
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
    config = forms.ModelChoiceField(queryset=StrategyConfig.objects.none(), label="Strategy")
    series = forms.ChoiceField(label="Candles", help_text="Stored candles (manage.py import_candles adds more).")
    start = forms.DateField(required=False, help_text="First day (UTC); empty = from the first stored candle.",
                            widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, help_text="Last day (UTC), included; empty = to the last stored candle.",
                          widget=forms.DateInput(attrs={"type": "date"}))
    cash = forms.FloatField(initial=10_000.0, min_value=0, max_value=MAX_CASH,
                            help_text="Starting cash in the quote currency.")
    fee = forms.FloatField(initial=0.001, help_text="Fee per side as a fraction (0.001 = 0.1 %).",
                           widget=forms.NumberInput(attrs={"step": "any"}))
    slippage = forms.FloatField(initial=0.0, help_text="Fraction a market fill moves against you.",
                                widget=forms.NumberInput(attrs={"step": "any"}))
    stake = forms.FloatField(initial=1.0, help_text="Fraction of equity put into each entry.",
                             widget=forms.NumberInput(attrs={"step": "any"}))
    stop_loss = forms.FloatField(initial=0.0, help_text="0.02 = 2 % below entry; 0 = none.",
                                 widget=forms.NumberInput(attrs={"step": "any"}))
    take_profit = forms.FloatField(initial=0.0, help_text="0.04 = 4 % above entry; 0 = none.",
                                   widget=forms.NumberInput(attrs={"step": "any"}))
    trailing_stop = forms.FloatField(initial=0.0, help_text="0.03 = 3 % below the highest price since entry.",
                                     widget=forms.NumberInput(attrs={"step": "any"}))

    def __init__(self, *args, owner, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["config"].queryset = StrategyConfig.objects.for_user(owner)
        self.series = {series_key(row): row for row in stored_series()}
        self.fields["series"].choices = [
            (key, f"{row['exchange']} {row['symbol']} {row['timeframe']} — {row['count']:,} candles, "
                  f"{row['first']:%Y-%m-%d} to {row['last']:%Y-%m-%d}")
            for key, row in self.series.items()
        ]

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and start > end:
            self.add_error("end", "The last day is before the first day.")
        settings_fields = ["cash", "fee", "slippage", "stake", "stop_loss", "take_profit", "trailing_stop"]
        if all(name in cleaned for name in settings_fields):
            for name, message in BacktestSettings.errors(cleaned).items():
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
                self.add_error(None, f"No stored candles for {row['exchange']} {row['symbol']} {row['timeframe']} "
                                     f"in that date range (stored: {row['first']:%Y-%m-%d} to {row['last']:%Y-%m-%d}).")
        if "config" in cleaned and not self.errors:
            try:
                cleaned["config"].build()
            except InvalidParameters as exc:
                self.add_error("config", f"This strategy's parameters no longer validate: {exc}")
        return cleaned

    @staticmethod
    def time_range(start, end):
        start_time = datetime.combine(start, time.min, tzinfo=UTC) if start else None
        end_time = datetime.combine(end, time.min, tzinfo=UTC) + timedelta(days=1, microseconds=-1) if end else None
        return start_time, end_time

    def settings(self) -> BacktestSettings:
        return BacktestSettings(**{name: self.cleaned_data[name] for name in
                                   ("cash", "fee", "slippage", "stake", "stop_loss", "take_profit", "trailing_stop")})
