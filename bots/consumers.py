"""The websocket a page opens to receive live updates: `ws/live/?bot=<id>&after=<last message id>`.

Without `bot` it joins the user's own group (the dashboard); with it, that bot's group, only if the bot
is the user's. Anonymous connections are closed with 4401, foreign or unknown bots with 4403. After joining,
it sends the group's messages newer than `after` (catch-up for a page that reconnects), then live ones.

The socket lives only as long as its session: a logout of that session closes it at once (accounts.sessions),
and every LIVE_SESSION_RECHECK_SECONDS it checks that the session still logs in its user (logout elsewhere,
password change, expiry): if not, it closes with 4401. The checks of a process's sockets are spread over the
interval and run off the thread that serves the other database calls (the relay's reads), so 500 sockets add
no latency to the updates.
"""

import asyncio
import logging
import random
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from accounts.sessions import session_authenticates, session_group
from bots import live
from bots.models import Bot
from bots.relay import relay

log = logging.getLogger(__name__)
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


def query_int(query: dict, name: str) -> int | None:
    values = query.get(name)
    if not values:
        return None
    try:
        return int(values[0])
    except ValueError:
        return None


@database_sync_to_async
def owned_bot_exists(user, bot_id: int) -> bool:
    return Bot.objects.for_user(user).filter(pk=bot_id).exists()


@database_sync_to_async
def catch_up(group: str, after: int) -> list[str]:
    """What a page missed. A bot group's message carries the bot page's whole state, so its newest is all a
    page needs; a user group has one message per bot, so it gets the newest 200."""
    limit = 1 if group.startswith("bot-") else 200
    return [live.wrap(m.pk, m.html) for m in live.messages_after(group, after, limit=limit)]


class LiveConsumer(AsyncWebsocketConsumer):
    groups_joined: list[str] = []
    uses_relay = False
    session_key: str | None = None
    user_id = None
    recheck_task: asyncio.Task | None = None
    ended = False

    async def connect(self):
        user = self.scope.get("user")
        session = self.scope.get("session")
        self.session_key = getattr(session, "session_key", None)
        if user is None or not user.is_authenticated or not self.session_key:
            await self.refuse(CLOSE_UNAUTHENTICATED)
            return
        self.user_id = user.pk
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        if "bot" in query:
            bot_id = query_int(query, "bot")
            if bot_id is None or not await owned_bot_exists(user, bot_id):
                await self.refuse(CLOSE_FORBIDDEN)
                return
            group = live.bot_group(bot_id)
        else:
            group = live.user_group(user.pk)

        # Join first, then start the relay (its cursor is read now), then catch up: every message is
        # either newer than the relay's cursor or read by the catch-up, never neither.
        self.groups_joined = [group, session_group(self.session_key)]
        for name in self.groups_joined:
            await self.channel_layer.group_add(name, self.channel_name)
        if not live.redis_enabled():
            await relay.acquire()
            self.uses_relay = True
        await self.accept()
        self.recheck_task = asyncio.ensure_future(self.recheck_session_periodically())
        after = query_int(query, "after")
        if after is not None:
            for text in await catch_up(group, after):
                await self.send(text_data=text)

    async def refuse(self, code: int) -> None:
        """Accept, then close at once with a code the page understands (a refused handshake would look like
        a network failure to the browser, which would then retry for ever). No group has been joined."""
        await self.accept()
        await self.close(code=code)

    async def disconnect(self, code):
        if self.recheck_task is not None:
            self.recheck_task.cancel()
            self.recheck_task = None
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        if self.uses_relay:
            self.uses_relay = False
            await relay.release()

    async def receive(self, text_data=None, bytes_data=None):
        """Pages only listen; anything sent is ignored."""

    async def live_update(self, event):
        if not self.ended:
            await self.send(text_data=event["html"])

    # --- the session's life ---

    async def session_still_valid(self) -> bool:
        """Check the session now; close the socket (4401) when it no longer logs in this user."""
        # Not thread-sensitive: the check must not queue behind (or hold up) the relay's database reads.
        valid = await database_sync_to_async(session_authenticates, thread_sensitive=False)(
            self.session_key, self.user_id)
        if not valid:
            await self.end_session()
        return valid

    async def recheck_session_periodically(self):
        # The first check at a random point of the interval: sockets opened together do not all check together.
        delay = random.uniform(0, 1) * settings.LIVE_SESSION_RECHECK_SECONDS
        while not self.ended:
            await asyncio.sleep(max(0.05, delay))
            delay = settings.LIVE_SESSION_RECHECK_SECONDS
            try:
                await self.session_still_valid()
            except Exception:  # the database is away for a moment: try again at the next interval
                log.warning("could not re-check the session of a live connection", exc_info=True)

    async def session_ended(self, event):
        """The session logged out (accounts.sessions.close_sockets_of_session)."""
        await self.end_session()

    async def end_session(self):
        if not self.ended:
            self.ended = True
            await self.close(code=CLOSE_UNAUTHENTICATED)
