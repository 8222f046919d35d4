"""A user's own settings that are not about one bot (time zone, the switch that stops new entries), and the
throttle counters: how many attempts one key (an account, an address, an e-mail) made in its window."""

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


def validate_time_zone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(_("%(value)s is not a time zone name (e.g. Europe/Berlin, Asia/Bangkok)."),
                              params={"value": value}, code="unknown_time_zone")


class Profile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    time_zone = models.CharField(
        max_length=64, default="UTC", validators=[validate_time_zone],
        help_text=_("Used where no browser is there to tell: Telegram answers and the daily summary."),
    )
    entries_stopped_at = models.DateTimeField(
        null=True, blank=True,
        help_text=_("Set: none of this user's bots opens a new position (exits still happen) until resumed."),
    )
    entries_stopped_by = models.CharField(max_length=20, blank=True, default="",
                                          help_text=_("Where the stop came from: web, telegram, ..."))
    # Blank: not chosen yet; pages follow the browser (Accept-Language, then the cookie), Telegram and e-mail
    # use English. Set by the language switcher or the Settings page (accounts.language).
    language = models.CharField(
        _("language"), max_length=10, blank=True, default="", choices=settings.LANGUAGES,
        help_text=_("Pages, Telegram messages, notifications and e-mails in this language."),
    )

    class Meta:
        verbose_name = _("profile")

    def __str__(self) -> str:
        return f"profile of {self.user}"

    @classmethod
    def of(cls, user) -> "Profile":
        profile, _created = cls.objects.get_or_create(user=user)
        return profile

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        try:
            return zoneinfo.ZoneInfo(self.time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return zoneinfo.ZoneInfo("UTC")

    @property
    def entries_stopped(self) -> bool:
        return self.entries_stopped_at is not None

    @property
    def language_code(self) -> str:
        """The language messages to this user are written in (English when none was chosen)."""
        return self.language or settings.LANGUAGE_CODE



class ThrottleCounter(models.Model):
    """One bucket of accounts.throttle. The key is a kind and a hash (never a username or address in clear)."""

    key = models.CharField(max_length=100, unique=True)
    count = models.PositiveIntegerField(default=0)
    window_ends = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.key}: {self.count} until {self.window_ends:%Y-%m-%d %H:%M:%S}"
