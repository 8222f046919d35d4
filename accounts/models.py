"""Throttle counters: how many attempts one key (an account, an address, an e-mail) made in its window."""

from django.db import models


class ThrottleCounter(models.Model):
    """One bucket of accounts.throttle. The key is a kind and a hash (never a username or address in clear)."""

    key = models.CharField(max_length=100, unique=True)
    count = models.PositiveIntegerField(default=0)
    window_ends = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.key}: {self.count} until {self.window_ends:%Y-%m-%d %H:%M:%S}"
