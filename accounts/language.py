"""The user's language: chosen in the navigation's switcher or on the Settings page, kept on the profile for a
logged-in user (so Telegram, notifications and e-mails use it too) and in Django's language cookie for
everyone; Django's LocaleMiddleware picks the cookie, then Accept-Language, for a visitor without a choice."""

from django.conf import settings
from django.utils import translation
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from accounts.models import Profile

SUPPORTED = {code for code, _name in settings.LANGUAGES}


def supported(code: str | None) -> str:
    """`code` if it is one of settings.LANGUAGES, else ""."""
    return code if code in SUPPORTED else ""


def language_of(user) -> str:
    """The language to write to `user` in, outside a request (Telegram, notifications, e-mail)."""
    if user is None or not getattr(user, "pk", None):
        return settings.LANGUAGE_CODE
    code = Profile.objects.filter(user=user).values_list("language", flat=True).first()
    return supported(code) or settings.LANGUAGE_CODE


def set_cookie(response, code: str) -> None:
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME, code,
        max_age=settings.LANGUAGE_COOKIE_AGE, path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN, secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY, samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )


class UserLanguageMiddleware:
    """After AuthenticationMiddleware: a logged-in user's saved language wins over the cookie and the browser's
    Accept-Language that LocaleMiddleware looked at."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            code = supported(Profile.objects.filter(user=user).values_list("language", flat=True).first())
            if code:
                translation.activate(code)
                request.LANGUAGE_CODE = code
        return self.get_response(request)


@require_POST
def set_language(request):
    """Django's set_language (the cookie, a safe redirect to `next`) that also saves the choice on the profile."""
    response = django_set_language(request)
    code = supported(request.POST.get("language"))
    if code and request.user.is_authenticated:
        Profile.objects.get_or_create(user=request.user)
        Profile.objects.filter(user=request.user).update(language=code)
    return response


def adopt_language_on_login(sender, request, user, **kwargs):
    """A user who picked a language before logging in (the cookie) and never chose one keeps it."""
    if request is None:
        return
    code = supported(request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME))
    if code:
        Profile.objects.get_or_create(user=user)
        Profile.objects.filter(user=user, language="").update(language=code)
