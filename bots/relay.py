"""The relay for the embedded default (no Redis): tails LiveMessage in the web process and group_sends new rows.

The worker writes LiveMessage rows in its own process; the in-memory channel layer cannot reach the web
process, so each web process runs one relay task, started by its first websocket consumer and stopped
when its last one leaves. It reads rows by id every INTERVAL seconds (server side: browsers never poll).
PostgreSQL can commit ids out of order; ids skipped over are looked for again for GAP_SECONDS.
"""

import asyncio
import logging
import time

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from bots.live import wrap
from bots.models import LiveMessage

log = logging.getLogger(__name__)

INTERVAL = 0.15
GAP_SECONDS = 5.0
BATCH = 500


class Relay:
    def __init__(self, interval: float = INTERVAL):
        self.interval = interval
        self.cursor = 0
        self.gaps: dict[int, float] = {}  # id skipped over -> give up looking for it after this monotonic time
        self.task: asyncio.Task | None = None
        self.users = 0
        self.loop = None
        self.ready: asyncio.Future | None = None

    async def run_from_newest(self, ready: asyncio.Future) -> None:
        """Set the cursor to the newest row (before any consumer's catch-up reads), then tail."""
        while not ready.done():
            try:
                self.cursor = await database_sync_to_async(self.newest_id)()
                self.gaps.clear()
                ready.set_result(True)
            except Exception:  # a locked or restarting database: consumers wait until it answers
                log.warning("live relay cannot read its starting point", exc_info=True)
                await asyncio.sleep(self.interval)
        await self.run()

    @staticmethod
    def newest_id() -> int:
        return LiveMessage.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    def fetch_new(self) -> list[tuple[int, str, str]]:
        rows = list(
            LiveMessage.objects.filter(pk__gt=self.cursor).order_by("pk").values_list("pk", "group", "html")[:BATCH]
        )
        if self.gaps:
            now = time.monotonic()
            self.gaps = {pk: until for pk, until in self.gaps.items() if until > now}
            if self.gaps:
                rows += list(LiveMessage.objects.filter(pk__in=list(self.gaps)).values_list("pk", "group", "html"))
        return rows

    async def poll_once(self) -> int:
        rows = await database_sync_to_async(self.fetch_new)()
        layer = get_channel_layer()
        for pk, group, html in rows:
            self.gaps.pop(pk, None)
            if pk > self.cursor:
                deadline = time.monotonic() + GAP_SECONDS
                # Ids skipped just below this one may still commit. After a long jump (rows pruned, or
                # rolled back), only the nearest ones can be late, so look again for at most BATCH of them.
                for missing in range(max(self.cursor + 1, pk - BATCH), pk):
                    self.gaps[missing] = deadline
                self.cursor = pk
            await layer.group_send(group, {"type": "live.update", "id": pk, "html": wrap(pk, html)})
        return len(rows)

    async def run(self) -> None:
        while True:
            try:
                await self.poll_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # a locked or restarting database: try again next round, never die
                log.warning("live relay poll failed", exc_info=True)
            await asyncio.sleep(self.interval)

    async def acquire(self) -> None:
        """A consumer needs the relay: start it if this loop has none running (exactly one, even when many
        consumers connect at once), and return once its cursor is set."""
        loop = asyncio.get_running_loop()
        if self.task is None or self.task.done() or self.loop is not loop:
            self.loop = loop
            self.users = 0
            self.ready = loop.create_future()
            self.task = loop.create_task(self.run_from_newest(self.ready), name="live-relay")
        self.users += 1
        await asyncio.shield(self.ready)

    async def release(self) -> None:
        self.users -= 1
        if self.users <= 0 and self.task is not None:
            self.task.cancel()
            try:
                await self.task
            except asyncio.CancelledError:
                pass
            except Exception:
                log.warning("live relay stopped with an error", exc_info=True)
            self.task = None
            self.users = 0


relay = Relay()
