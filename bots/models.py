"""Bots, their orders, fills, positions and P&L, and the live-update log."""

from django.db import models


class LiveMessage(models.Model):
    """One live update (HTML fragments for htmx out-of-band swaps) for a channel-layer group.

    Written by whichever process produced it (usually the worker). It is the relay between processes
    when there is no Redis, and the catch-up log for a page whose websocket reconnects; old rows are pruned.
    """

    group = models.CharField(max_length=100)
    html = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["group", "id"], name="livemessage_group_id")]
