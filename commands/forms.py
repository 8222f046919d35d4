"""The web door's forms: the order ticket, the alert form and the manual-trading limits. They only read what
a person typed; the command service validates everything again (markets, precision, ownership, risk)."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from commands.definitions import DIRECTIONS, ORDER_TYPES, SIDES
from commands.models import ManualLimits
from strategies.forms import PercentField


class OrderTicketForm(forms.Form):
    account = forms.UUIDField(widget=forms.HiddenInput)
    symbol = forms.CharField(label=pgettext_lazy("trading pair", "Market"), max_length=30, initial="BTC/USDT",
                             widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}))
    side = forms.ChoiceField(label=_("Side"), choices=[(s, s.capitalize()) for s in SIDES], initial="buy",
                             widget=forms.RadioSelect)
    order_type = forms.ChoiceField(label=_("Type"), choices=[(t, t.capitalize()) for t in ORDER_TYPES],
                                   initial="market")
    amount = forms.DecimalField(label=_("Amount"), min_value=Decimal("0"), max_digits=30, decimal_places=12,
                                widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}))
    unit = forms.ChoiceField(label=_("in"), choices=[("base", _("coins (base)")), ("quote", _("quote currency")),
                                                     ("percent", _("percent of free balance"))], initial="quote")
    price = forms.DecimalField(label=_("Limit price"), required=False, min_value=Decimal("0"), max_digits=30,
                               decimal_places=12, widget=forms.NumberInput(attrs={"step": "any",
                                                                                   "inputmode": "decimal"}))
    request_id = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)


class AlertForm(forms.Form):
    source = forms.ChoiceField(label=_("Prices from"))
    symbol = forms.CharField(label=pgettext_lazy("trading pair", "Market"), max_length=30, initial="BTC/USDT")
    direction = forms.ChoiceField(label=_("When the price"), choices=[
        (d, _("goes above") if d == "above" else _("goes below")) for d in DIRECTIONS])
    price = forms.DecimalField(label=_("Price"), min_value=Decimal("0"), max_digits=30, decimal_places=12,
                               widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}))
    repeat = forms.BooleanField(label=_("Every time it crosses (not just once)"), required=False)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(self, *args, accounts, replay_bots, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source"].choices = (
            [(f"account:{a.pk}", f"{a.label} ({a.exchange_id}, {a.mode})") for a in accounts]
            + [(f"bot:{b.pk}", _("Replay bot %(name)s (%(symbol)s)") % {"name": b.name, "symbol": b.symbol})
               for b in replay_bots]
        )

    def source_fields(self) -> dict:
        kind, _sep, value = self.cleaned_data["source"].partition(":")
        return {"account_id": value} if kind == "account" else {"bot_id": value}


class ManualLimitsForm(forms.ModelForm):
    max_position_pct = PercentField(label=_("Max position (percent of the account's value, per market)"))
    daily_loss_limit_pct = PercentField(label=_("Daily loss limit (%)"))
    max_drawdown_pct = PercentField(label=_("Max drawdown (%)"))

    class Meta:
        model = ManualLimits
        fields = list(ManualLimits.FIELDS)
        labels = {"max_consecutive_losses": _("Pause after this many losing trades in a row"),
                  "loss_cooldown_minutes": _("Pause length (minutes)"),
                  "max_orders_per_hour": _("Max orders per hour (per market)"),
                  "max_open_positions": _("Max open positions (bots and manual together)")}

    @classmethod
    def data_for(cls, limits: ManualLimits, changes: dict) -> dict:
        """Form data of `limits` with `changes` (model values) applied."""
        form = cls(instance=limits)
        return {name: field.prepare_value(changes.get(name, getattr(limits, name)))
                for name, field in form.fields.items()}
