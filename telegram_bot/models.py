"""A Telegram chat linked to a platform user, and the one-time tokens of the Settings page's deep links."""

import hashlib

from django.conf import settings
from django.db import models
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _


def supported_language(code: str | None) -> str:
    """The language to answer in: the Telegram app's (its IETF code), if the platform speaks it, else the
    default."""
    if code:
        try:
            return translation.get_supported_language_variant(code.lower())
        except LookupError:
            pass
    return settings.LANGUAGE_CODE


class TelegramLinkQuerySet(models.QuerySet):
    def for_user(self, user):
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(user=user)


class TelegramLink(models.Model):
    """One private chat of one Telegram user, linked to one platform user (one each way).

    Authorisation is by `telegram_user_id` (Telegram's numeric id, which never changes), never by the
    username, which its owner can change or give away.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="telegram_link")
    telegram_user_id = models.BigIntegerField(unique=True)
    chat_id = models.BigIntegerField(help_text=_("The private chat the bot writes to."))
    username = models.CharField(max_length=64, blank=True, default="", help_text=_("Shown only; never trusted."))
    language_code = models.CharField(max_length=16, blank=True, default="")
    active = models.BooleanField(
        default=True, help_text=_("Off when the user blocked the bot; a new message from them turns it on again.")
    )
    linked_at = models.DateTimeField(default=timezone.now)
    blocked_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    next_send_at = models.DateTimeField(
        null=True, blank=True, help_text=_("No notification goes to this chat before then (1 a second, 429 waits).")
    )

    objects = TelegramLinkQuerySet.as_manager()

    class Meta:
        verbose_name = _("Telegram link")

    def __str__(self) -> str:
        return f"{self.user} <-> Telegram user {self.telegram_user_id}"

    def language(self) -> str:
        """The language chosen on the platform (the profile), else the Telegram app's, else the default."""
        from accounts.models import Profile

        chosen = Profile.objects.filter(user_id=self.user_id).values_list("language", flat=True).first()
        return supported_language(chosen) if chosen else supported_language(self.language_code)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class LinkToken(models.Model):
    """A deep-link token (t.me/<bot>?start=<token>): random, stored only as its SHA-256, single use,
    valid for 10 minutes."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    used_by_telegram_user_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = _("Telegram link token")

    def __str__(self) -> str:
        state = "used" if self.used_at else "expired" if self.expires_at <= timezone.now() else "open"
        return f"link token of {self.user} ({state})"
