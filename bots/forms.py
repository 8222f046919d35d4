"""The create-bot form: exchange account, strategy, a symbol the exchange lists, and explained risk settings."""

from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bots.models import Bot
from exchanges.models import ExchangeAccount
from strategies.forms import PercentField

TIMEFRAMES = [("1m", _("1 minute")), ("5m", _("5 minutes")), ("15m", _("15 minutes")), ("30m", _("30 minutes")),
              ("1h", _("1 hour")), ("4h", _("4 hours")), ("1d", _("1 day"))]


class MarketsUnavailable(Exception):
    """The exchange's market list could not be loaded (the message is fit to show)."""


def market_symbols(account: ExchangeAccount, mode: str) -> list[str]:
    """The symbols the account's exchange lists for a bot in this mode, sorted; MarketsUnavailable if the
    exchange cannot be reached or refuses."""
    from exchanges.clients import ReplayClock, client_for
    from exchanges.errors import ExchangeError

    if mode == Bot.Mode.REPLAY:  # the markets with stored candles; the clock does not matter here
        options = {"replay": ReplayClock.fixed(timezone.now())}
    elif mode == Bot.Mode.LIVE and account.mode == ExchangeAccount.Mode.TESTNET:
        mode, options = "testnet", {"retries": 1, "backoff": 0.2, "timeout": 5.0}
    else:
        # A form waits for the answer: one quick retry, not a tick's patient backoff.
        options = {"retries": 1, "backoff": 0.2, "timeout": 5.0}
    try:
        client = client_for(account, mode=mode, **options)
        markets = client.load_markets()
    except ExchangeError as exc:
        raise MarketsUnavailable(str(exc) or type(exc).__name__)
    except Exception as exc:  # any adapter failure is shown as "unreachable", never a traceback
        raise MarketsUnavailable(f"{type(exc).__name__}")
    return sorted(symbol for symbol, market in markets.items() if getattr(market, "active", True))


RISK_HELP = {
    "stake": _("Share of the bot's equity one entry may use, in %. 100 = all of it (as the backtests assume); "
             "the max position rule caps it further."),
    # xgettext:no-python-format
    "max_position_pct": _("Largest position, in % of equity, whatever the stake says. 0 blocks every entry."),
    "stop_loss_pct": _("Sell when the price falls this % below the entry price. 0 = no stop-loss."),
    "take_profit_pct": _("Sell when the price rises this % above the entry price. 0 = no take-profit."),
    "trailing_stop_pct": _("Sell when the price falls this % below its highest point since entry. 0 = off."),
    # xgettext:no-python-format
    "daily_loss_limit_pct": _("Halt the bot for the rest of the day (UTC) when today's loss reaches this % of the "
                            "day's starting equity. 0 = no limit."),
    "max_drawdown_pct": _("Halt the bot when equity falls this % below its peak; only you can resume it. 0 = off."),
    "max_consecutive_losses": _("After this many losing trades in a row, wait the cooldown before the next entry. "
                              "0 = off."),
    "loss_cooldown_minutes": _("How long the bot waits after the losing streak above."),
    "max_orders_per_hour": _("Refuse orders beyond this many per hour (protects against a runaway strategy)."),
    "max_open_positions": _("Open positions allowed across all your bots (and your manual trades) together."),
    "flatten_on_halt": _("When a halt rule trips, also sell the open position (otherwise it only stops buying)."),
}


class BotForm(forms.ModelForm):
    stake = PercentField(label=_("Stake (%)"), min_value=Decimal("0.01"), help_text=RISK_HELP["stake"])
    # xgettext:no-python-format
    max_position_pct = PercentField(label=_("Max position (% of equity)"), help_text=RISK_HELP["max_position_pct"])
    stop_loss_pct = PercentField(label=_("Stop-loss (%)"), max_percent=99, help_text=RISK_HELP["stop_loss_pct"])
    take_profit_pct = PercentField(label=_("Take-profit (%)"), max_percent=1000, max_digits=7,
                                   help_text=RISK_HELP["take_profit_pct"])
    trailing_stop_pct = PercentField(label=_("Trailing stop (%)"), max_percent=99,
                                     help_text=RISK_HELP["trailing_stop_pct"])
    daily_loss_limit_pct = PercentField(label=_("Daily loss limit (%)"), help_text=RISK_HELP["daily_loss_limit_pct"])
    max_drawdown_pct = PercentField(label=_("Max drawdown (%)"), help_text=RISK_HELP["max_drawdown_pct"])
    fee = PercentField(label=_("Simulated fee per side (%)"), max_percent=10, decimal_places=3,
                       help_text=_("Charged on each buy and sell by the replay and paper exchanges. 0.1 is typical."))
    timeframe = forms.ChoiceField(label=_("Timeframe"), choices=TIMEFRAMES, initial="5m",
                                  help_text=_("One tick per closed candle of this length."))
    replay_start = forms.DateTimeField(
        label=_("Replay start"),
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text=_("Replay only: the first candle to replay from (your time zone)."),
    )

    class Meta:
        model = Bot
        fields = [
            "name", "exchange_account", "strategy", "mode", "symbol", "timeframe", "starting_balance", "fee",
            "replay_start", "replay_speed", "stake", "max_position_pct", "stop_loss_pct", "take_profit_pct",
            "trailing_stop_pct", "daily_loss_limit_pct", "max_drawdown_pct", "max_consecutive_losses",
            "loss_cooldown_minutes", "max_orders_per_hour", "max_open_positions", "flatten_on_halt",
        ]
        labels = {
            "name": _("Name"), "exchange_account": _("Exchange account"), "strategy": _("Strategy"),
            "mode": _("Mode"), "symbol": _("Symbol"), "timeframe": _("Timeframe"),
            "starting_balance": _("Starting balance"), "replay_start": _("Replay start"),
            "replay_speed": _("Replay speed"), "max_consecutive_losses": _("Max consecutive losses"),
            "loss_cooldown_minutes": _("Loss cooldown minutes"), "max_orders_per_hour": _("Max orders per hour"),
            "max_open_positions": _("Max open positions"), "flatten_on_halt": _("Flatten on halt"),
        }
        help_texts = {
            "mode": _("Replay: stored candles on a fast simulated clock. Paper: real prices, simulated fills. "
                    "Live: real orders with real money."),
            "symbol": _("A market the chosen exchange lists, e.g. BTC/USDT."),
            "replay_speed": _("Replay only: how many times faster than real time the clock runs."),
            "starting_balance": _("Replay and paper: the quote currency (e.g. USDT) in the simulated wallet."),
            **{name: text for name, text in RISK_HELP.items() if name in (
                "max_consecutive_losses", "loss_cooldown_minutes", "max_orders_per_hour", "max_open_positions",
                "flatten_on_halt")},
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["exchange_account"].queryset = ExchangeAccount.objects.for_user(user)
        from strategies.models import StrategyConfig

        self.fields["strategy"].queryset = StrategyConfig.objects.for_user(user)
        self.fields["strategy"].required = True  # null only for manual books, never for a bot made here
        self.fields["strategy"].help_text = _("One of your strategy configurations (Strategies page).")
        self.fields["symbol"].widget.attrs.update({"list": "symbol-options", "autocomplete": "off"})
        self.markets_error = ""
        for name, field in self.fields.items():
            if isinstance(field, forms.IntegerField):  # the model's ranges as the number input's min/max
                for validator in Bot._meta.get_field(name).validators:
                    bound = {"min_value": "min", "max_value": "max"}.get(getattr(validator, "code", ""))
                    if bound and isinstance(validator.limit_value, int):
                        field.widget.attrs[bound] = validator.limit_value
            if isinstance(field, PercentField) and field.initial is None:  # declared here: the model's default
                field.initial = Bot._meta.get_field(name).get_default()

    RISK_FIELDS = ("max_position_pct", "stop_loss_pct", "take_profit_pct", "trailing_stop_pct",
                   "daily_loss_limit_pct", "max_drawdown_pct", "max_consecutive_losses", "loss_cooldown_minutes",
                   "max_orders_per_hour", "max_open_positions", "flatten_on_halt")

    def risk_fields(self):
        return [self[name] for name in self.RISK_FIELDS]

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if Bot.objects.for_user(self.user).filter(name=name).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(_("You already have a bot with this name."))
        return name

    def clean(self):
        cleaned = super().clean()
        account, mode, symbol = cleaned.get("exchange_account"), cleaned.get("mode"), cleaned.get("symbol")
        if account and mode == Bot.Mode.LIVE and account.mode == ExchangeAccount.Mode.PAPER:
            self.add_error("mode", _("A live bot needs a live or testnet exchange account; %(account)s is paper.") % {
                "account": account.label})
        # A replay start (needed, in the past, not before 2009) and the other ranges are the model's rules.
        stop, target = cleaned.get("stop_loss_pct"), cleaned.get("take_profit_pct")
        if stop and target and target <= cleaned.get("fee", Decimal("0")) * 2:
            self.add_error("take_profit_pct", _("The take-profit must be above the fees of a round trip."))
        if cleaned.get("max_position_pct") == 0:
            self.add_error("max_position_pct", _("0 % would block every entry: give the largest position you allow."))
        if account and mode and symbol and not self.errors.get("symbol"):
            symbol = symbol.strip().upper()
            cleaned["symbol"] = symbol
            try:
                symbols = market_symbols(account, mode)
            except MarketsUnavailable as exc:
                self.markets_error = str(exc)
                self.add_error(
                    "symbol",
                    _("Could not load the markets of %(exchange)s to check %(symbol)s (%(error)s). "
                      "Nothing was saved; try again in a moment.") % {
                        "exchange": account.exchange_id, "symbol": symbol, "error": exc},
                )
            else:
                if symbol not in symbols:
                    self.add_error("symbol", _("%(exchange)s has no market %(symbol)s for a %(mode)s bot.") % {
                        "exchange": account.exchange_id, "symbol": symbol, "mode": mode})
                elif mode == Bot.Mode.REPLAY and cleaned.get("replay_start") and cleaned.get("timeframe"):
                    self.check_replay_candles(account, symbol, cleaned["timeframe"], cleaned["replay_start"])
        return cleaned

    def check_replay_candles(self, account, symbol, timeframe, replay_start):
        from exchanges.candles import last_candle_time

        last = last_candle_time(account.exchange_id, symbol, timeframe)
        if last is None:
            self.add_error("timeframe", _("No stored %(timeframe)s candles of %(symbol)s to replay: import some "
                                          "first (manage.py import_candles) or choose another timeframe.") % {
                "timeframe": timeframe, "symbol": symbol})
        elif replay_start >= last:
            self.add_error("replay_start", _("The stored %(timeframe)s candles of %(symbol)s end at %(last)s: start "
                                             "the replay before.") % {
                "timeframe": timeframe, "symbol": symbol, "last": f"{timezone.localtime(last):%Y-%m-%d %H:%M %Z}"})
