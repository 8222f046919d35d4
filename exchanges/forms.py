"""The exchange-account form: secrets are write-only fields (never rendered back), checked for size and text."""

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.debug import sensitive_variables

from exchanges.models import ExchangeAccount
from tradingbot.lazy_import import lazy_module
from tradingbot.log_redaction import register_secret

ccxt = lazy_module("ccxt")  # about 0.3 s: imported where an exchange is really used

MAX_SECRET_LENGTH = 512  # the longest real API secrets (e.g. PEM-less RSA keys are not accepted here) are ~100-200


class SecretInput(forms.PasswordInput):
    """A password input that never renders a value, even when the form is re-shown after an error."""

    def __init__(self, attrs=None):
        super().__init__(attrs={"autocomplete": "off", "spellcheck": "false", **(attrs or {})}, render_value=False)


@sensitive_variables()
def clean_secret_text(value: str, label: str) -> str:
    value = value.strip()
    if len(value) > MAX_SECRET_LENGTH:
        raise forms.ValidationError(
            _("%(label)s is %(length)s characters long; an API credential is at most %(max)s.") % {
                "label": label, "length": len(value), "max": MAX_SECRET_LENGTH}
        )
    if "\ufffd" in value:
        raise forms.ValidationError(_("%(label)s is not valid UTF-8 text; paste it again from the exchange's page.")
                                    % {"label": label})
    if any(ch in value for ch in "\r\n\t\x00") or not value.isprintable():
        raise forms.ValidationError(_("%(label)s contains control or non-printable characters; paste it again.")
                                    % {"label": label})
    return value


class ExchangeAccountForm(forms.ModelForm):
    api_key = forms.CharField(label=gettext_lazy("API key"), required=False, widget=SecretInput(), strip=False)
    api_secret = forms.CharField(label=gettext_lazy("API secret"), required=False, widget=SecretInput(), strip=False)
    passphrase = forms.CharField(
        label=gettext_lazy("Passphrase"), required=False, widget=SecretInput(), strip=False,
        help_text=gettext_lazy("Only some exchanges (OKX, KuCoin, Coinbase) use one."),
    )

    SECRET_FIELDS = ("api_key", "api_secret", "passphrase")

    class Meta:
        model = ExchangeAccount
        fields = ["label", "exchange_id", "mode"]
        labels = {"label": gettext_lazy("Label"), "exchange_id": gettext_lazy("Exchange"), "mode": gettext_lazy("Mode")}
        widgets = {"exchange_id": forms.TextInput(attrs={"list": "ccxt-exchanges", "autocomplete": "off"})}
        help_texts = {
            "exchange_id": gettext_lazy("The ccxt id of the exchange, e.g. binance, kraken, okx, bybit."),
            "mode": gettext_lazy("Paper trades with simulated money at real prices and needs no keys."),
        }

    def __init__(self, *args, owner=None, **kwargs):
        super().__init__(*args, **kwargs)
        if owner is not None:
            self.instance.owner = owner
        self.editing = self.instance is not None and not self.instance._state.adding
        # Stored secrets that cannot be decrypted (key removed, value moved): shown as such, to be typed again.
        self.unreadable = self.instance.unreadable_secrets() if self.editing else []
        for name in self.SECRET_FIELDS:
            field = self.fields[name]
            field.max_length = None  # checked in clean_secret_text with a clearer message
            if name in self.unreadable:
                field.help_text = _("The stored value cannot be read: enter it again.")
            elif self.editing and getattr(self.instance, name):
                field.help_text = _("Stored: %(masked)s. Leave empty to keep it, or type a new value to replace "
                                    "it.") % {"masked": self.instance.masked(name)}

    def has_stored(self, name: str) -> bool:
        return self.editing and name not in self.unreadable and bool(getattr(self.instance, name, None))

    def clean_exchange_id(self):
        value = self.cleaned_data["exchange_id"].strip().lower()
        if value not in ccxt.exchanges:
            raise forms.ValidationError(
                f"“{value[:50]}” is not an exchange ccxt knows. Examples: binance, kraken, okx, bybit, coinbase."
            )
        return value

    def clean_label(self):
        label = self.cleaned_data["label"].strip()
        if not label:
            raise forms.ValidationError(_("Give the account a name, e.g. “Binance main”."))
        others = ExchangeAccount.objects.filter(owner=self.instance.owner, label=label).exclude(pk=self.instance.pk)
        if others.exists():
            raise forms.ValidationError(
                _("You already have an exchange account called “%(label)s”.") % {"label": label})
        return label

    @sensitive_variables()
    def _clean_secret(self, name: str, label: str) -> str:
        value = clean_secret_text(self.cleaned_data.get(name) or "", label)
        register_secret(value)  # redacted from every log line and error report from now on
        return value

    def clean_api_key(self):
        return self._clean_secret("api_key", "API key")

    def clean_api_secret(self):
        return self._clean_secret("api_secret", "API secret")

    def clean_passphrase(self):
        return self._clean_secret("passphrase", "Passphrase")

    @sensitive_variables()
    def clean(self):
        cleaned = super().clean()
        mode = cleaned.get("mode")
        if mode and mode != ExchangeAccount.Mode.PAPER:
            for name, label in (("api_key", "API key"), ("api_secret", "API secret")):
                if not cleaned.get(name) and not self.has_stored(name) and name not in self.errors:
                    self.add_error(name, f"{label} is needed for {mode} trading.")
            if "passphrase" in self.unreadable and not cleaned.get("passphrase") and "passphrase" not in self.errors:
                self.add_error("passphrase", _("The stored passphrase cannot be read: enter it again."))
        return cleaned

    @sensitive_variables()
    def save(self, commit=True):
        account = super().save(commit=False)
        for name in self.SECRET_FIELDS:
            value = self.cleaned_data.get(name)
            if value:  # empty on edit means "keep what is stored"
                setattr(account, name, value)
        if self.editing and any(self.cleaned_data.get(n) for n in self.SECRET_FIELDS):
            account.status = ExchangeAccount.Status.UNTESTED
            account.status_detail = ""
        if commit:
            account.save()
        return account


def exchange_choices() -> list[str]:
    """ccxt's exchange ids, sorted (a function: the list costs importing ccxt)."""
    return sorted(ccxt.exchanges)
