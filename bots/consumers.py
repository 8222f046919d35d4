"""The websocket a page opens to receive live updates: `ws/live/?bot=<id>&after=<last message id>`.

Without `bot` it joins the user's own group (the dashboard); with it, that bot's group, only if the bot
is the user's; with `notify` only the user's notifications (every other page). Every connection also joins
the user's notification group (a fired price alert shows on any open page). Anonymous connections are
closed with 4401, foreign or unknown bots with 4403. After joining, it sends the groups' messages newer than
`after` (catch-up for a page that reconnects), then live ones.

The socket lives only as long as its session: a logout of that session closes it at once (accounts.sessions),
and every LIVE_SESSION_RECHECK_SECONDS it checks that the session still logs in its user (logout elsewhere,
password change, expiry): if not, it closes with 4401. One watch per process checks every open socket's
session together (two queries whatever the number of sockets), off the thread that serves the relay's reads.
"""

import asyncio
import logging
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from accounts.sessions import session_group, sessions_still_authenticating
from bots import live
from bots.models import Bot
from bots.relay import relay
from metrics import instruments

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


NOTIFICATIONS_CAUGHT_UP = 20


@database_sync_to_async
def catch_up(groups: list[str], after: int) -> list[str]:
    """What a page missed, oldest first. A bot group's message carries the bot page's whole state, so its
    newest is all a page needs; a user group has one message per bot, so it gets the newest 200. Changes
    logged while nobody watched (markers) are rendered now, after the rest."""
    rows, fresh = [], []
    for group in groups:
        limit = 1 if group.startswith("bot-") else NOTIFICATIONS_CAUGHT_UP if group.startswith("notify-") else 200
        messages = live.messages_after(group, after, limit=limit)
        changed = {live.marker_bot_id(m.html) for m in messages} - {None}
        rows += [m for m in messages if live.marker_bot_id(m.html) is None]
        if changed:
            newest = max(m.pk for m in messages)
            fresh += [live.wrap(newest, html) for html in live.render_fresh(group, changed)]
    return [live.wrap(m.pk, m.html) for m in sorted(rows, key=lambda m: m.pk)] + fresh


@database_sync_to_async
def render_marker(group: str, text: str) -> list[str]:
    """A change published while this process's publisher thought nobody watched: render it here."""
    message_id = live.message_id_of(text)
    bot_id = live.marker_bot_id(text.split("\n", 1)[-1])
    return [live.wrap(message_id, html) for html in live.render_fresh(group, {bot_id})]


@database_sync_to_async
def renew_watches(groups: list[str]) -> None:
    live.watch(groups)


class SessionWatch:
    """Every LIVE_SESSION_RECHECK_SECONDS, the sessions of this process's open sockets in one check; a socket
    whose session stopped authenticating its user is ended. Runs while at least one socket is open."""

    def __init__(self):
        self.sockets: set = set()
        self.task: asyncio.Task | None = None
        self.loop = None

    def add(self, consumer: "LiveConsumer") -> None:
        loop = asyncio.get_running_loop()
        if loop is not self.loop:  # a new event loop (a restarted server, the next test): start afresh
            self.loop, self.sockets, self.task = loop, set(), None
        self.sockets.add(consumer)
        if self.task is None or self.task.done():
            self.task = asyncio.ensure_future(self.run())

    def remove(self, consumer: "LiveConsumer") -> None:
        self.sockets.discard(consumer)
        if not self.sockets and self.task is not None:
            self.task.cancel()
            self.task = None

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        checked = renewed = loop.time()
        while self.sockets:
            await asyncio.sleep(max(0.05, min(settings.LIVE_SESSION_RECHECK_SECONDS, live.RENEW_SECONDS)))
            if loop.time() - renewed >= live.RENEW_SECONDS:
                renewed = loop.time()
                groups = sorted({g for s in self.sockets if not s.ended for g in s.watched})
                try:
                    await database_sync_to_async(live.watch, thread_sensitive=False)(groups)
                except Exception:
                    log.warning("could not renew the watches of the live connections", exc_info=True)
            if loop.time() - checked < settings.LIVE_SESSION_RECHECK_SECONDS:
                continue
            checked = loop.time()
            try:
                await self.check_now()
            except Exception:  # the database is away for a moment: try again at the next interval
                log.warning("could not re-check the sessions of the live connections", exc_info=True)

    async def check_now(self) -> None:
        sockets = [s for s in self.sockets if not s.ended]
        pairs = {(s.session_key, s.user_id) for s in sockets}
        # Not thread-sensitive: the check must not queue behind (or hold up) the relay's database reads.
        valid = await database_sync_to_async(sessions_still_authenticating, thread_sensitive=False)(pairs)
        for socket in sockets:
            if (socket.session_key, socket.user_id) not in valid:
                await socket.end_session()


session_watch = SessionWatch()


class LiveConsumer(AsyncWebsocketConsumer):
    groups_joined: list[str] = []
    watched: list[str] = []  # the groups whose fragments are rendered only while someone watches
    uses_relay = False
    session_key: str | None = None
    user_id = None
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
            groups = [live.bot_group(bot_id)]
        elif "notify" in query:
            groups = []
        else:
            groups = [live.user_group(user.pk)]
        groups.append(live.notify_group(user.pk))

        # Join first, then start the relay (its cursor is read now), then catch up: every message is
        # either newer than the relay's cursor or read by the catch-up, never neither.
        self.groups_joined = [*groups, session_group(self.session_key)]
        self.watched = [g for g in groups if g.startswith(("bot-", "user-"))]
        if self.watched:
            await renew_watches(self.watched)
        for name in self.groups_joined:
            await self.channel_layer.group_add(name, self.channel_name)
        if not live.redis_enabled():
            await relay.acquire()
            self.uses_relay = True
        await self.accept()
        session_watch.add(self)
        self.counted = instruments.websocket_opened()
        after = query_int(query, "after")
        if after is not None:
            for text in await catch_up(groups, after):
                await self.send(text_data=text)

    async def refuse(self, code: int) -> None:
        """Accept, then close at once with a code the page understands (a refused handshake would look like
        a network failure to the browser, which would then retry for ever). No group has been joined."""
        await self.accept()
        await self.close(code=code)

    async def disconnect(self, code):
        session_watch.remove(self)
        instruments.websocket_closed(getattr(self, "counted", False))
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        if self.uses_relay:
            self.uses_relay = False
            await relay.release()

    async def receive(self, text_data=None, bytes_data=None):
        """Pages only listen; anything sent is ignored."""

    async def live_update(self, event):
        if self.ended:
            return
        text = event["html"]
        if "<!--changed bot=" in text:  # published as nobody watched (a moment ago): render it now
            if not self.watched:
                return
            for fresh in await render_marker(self.watched[0], text):  # a socket watches one such group
                await self.send(text_data=fresh)
            return
        await self.send(text_data=text)

    # --- the session's life ---

    async def session_ended(self, event):
        """The session logged out (accounts.sessions.close_sockets_of_session)."""
        await self.end_session()

    async def end_session(self):
        if not self.ended:
            self.ended = True
            await self.close(code=CLOSE_UNAUTHENTICATED)
