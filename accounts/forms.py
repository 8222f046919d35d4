from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm, SetPasswordForm, UserCreationForm
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from accounts import password_reset, throttle

NAME_NOT_AVAILABLE = _("This name is not available. Choose another.")


class SignUpForm(UserCreationForm):
    email = forms.EmailField(required=False, help_text=_("Optional; used only for password resets you ask for."))

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")
        # Django's "A user with that username already exists." confirms an account; this only refuses the name.
        error_messages = {"username": {"unique": NAME_NOT_AVAILABLE}}


def minutes(seconds: int) -> int:
    return max(1, (seconds + 59) // 60)


class ThrottledLoginMixin:
    """Reserves the attempt in accounts.throttle before the password is checked; the same rule for every login
    form (the site's and the admin's), so a lockout of one is a lockout of both."""

    throttled_message = _("Too many failed logins for this account or from this address. "
                          "Try again in %(minutes)s minute(s).")

    @sensitive_variables("password")
    def clean(self):
        username = (self.cleaned_data.get("username") or "").strip()
        password = self.cleaned_data.get("password")
        attempt = bool(username and password)  # Django's clean checks nothing without both
        address = throttle.client_address(self.request)
        if attempt:
            wait = throttle.reserve_login(username, address)
            if wait:
                raise forms.ValidationError(self.throttled_message, code="throttled",
                                            params={"minutes": minutes(wait)})
        cleaned = super().clean()  # a failed check keeps its reservation: that is the failure count
        if attempt:
            throttle.login_succeeded(username, address)
        return cleaned


class ThrottledAuthenticationForm(ThrottledLoginMixin, AuthenticationForm):
    """Django's login form, refusing an account or address that failed too often recently."""


class ThrottledAdminAuthenticationForm(ThrottledLoginMixin, AdminAuthenticationForm):
    """The admin's login form under the same throttle as the site's."""


class ThrottledPasswordResetForm(PasswordResetForm):
    """Django's reset form (the same answer whether or not an account has that address), throttled per e-mail
    and per address, with the e-mail sent in the background so the answer's timing does not tell either."""

    throttled_message = _("Too many password reset requests for this e-mail or from this address. "
                          "Try again in %(minutes)s minute(s).")

    def __init__(self, *args, request=None, **kwargs):
        self.request = request
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        email = cleaned.get("email")
        if email:
            wait = throttle.reserve_password_reset(email, throttle.client_address(self.request))
            if wait:
                raise forms.ValidationError(self.throttled_message, code="throttled",
                                            params={"minutes": minutes(wait)})
        return cleaned

    def send_mail(self, subject_template_name, email_template_name, context, *args, **kwargs):
        # In the account's language (its profile; else the page's), in the background thread too, which has
        # no request and so no active language of its own.
        from accounts.language import supported
        from accounts.models import Profile

        chosen = Profile.objects.filter(user=context.get("user")).values_list("language", flat=True).first()
        language = supported(chosen) or translation.get_language()
        send = super().send_mail

        def send_in_language(*send_args, **send_kwargs):
            with translation.override(language):
                send(*send_args, **send_kwargs)

        password_reset.send_in_background(send_in_language, subject_template_name, email_template_name, context,
                                          *args, **kwargs)


class ResetSetPasswordForm(SetPasswordForm):
    """Choosing a new password from a reset link also lifts a login lockout of that account."""

    def save(self, commit=True):
        user = super().save(commit)
        throttle.clear([throttle.bucket_key("login-account", user.get_username())])
        return user
