from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm

from accounts import throttle


class SignUpForm(UserCreationForm):
    email = forms.EmailField(required=False, help_text="Optional; used only for password resets you ask for.")

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")


class ThrottledAuthenticationForm(AuthenticationForm):
    """Django's login form, refusing an account or address that failed too often recently."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "throttled": (
            "Too many failed logins for this account or from this address. Try again in %(minutes)s minute(s)."
        ),
    }

    def clean(self):
        username = self.cleaned_data.get("username", "") or ""
        address = self.request.META.get("REMOTE_ADDR", "") if self.request else ""
        wait = throttle.seconds_locked(username, address)
        if wait:
            raise forms.ValidationError(
                self.error_messages["throttled"], code="throttled", params={"minutes": max(1, (wait + 59) // 60)}
            )
        try:
            cleaned = super().clean()
        except forms.ValidationError as exc:
            if getattr(exc, "code", None) == "invalid_login":
                throttle.record_failure(username, address)
            raise
        throttle.clear_failures(username)
        return cleaned
