"""The websocket a page opens to receive live updates: `ws/live/?bot=<id>&after=<last message id>`.

Without `bot` it joins the user's own group (the dashboard); with it, that bot's group, only if the bot
is the user's; with `notify` only the user's notifications (every other page). Every connection also joins
the user's notification group (a fired price alert shows on any open page). Anonymous connections are
closed with 4401, foreign or unknown bots with 4403. After joining, it sends the groups' messages newer than
`after` (catch-up for a page that reconnects), then live ones.
"""

from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from bots import live
from bots.models import Bot
from bots.relay import relay

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
    newest is all a page needs; a user group has one message per bot, so it gets the newest 200."""
    rows = []
    for group in groups:
        limit = 1 if group.startswith("bot-") else NOTIFICATIONS_CAUGHT_UP if group.startswith("notify-") else 200
        rows += live.messages_after(group, after, limit=limit)
    return [live.wrap(m.pk, m.html) for m in sorted(rows, key=lambda m: m.pk)]


class LiveConsumer(AsyncWebsocketConsumer):
    groups_joined: list[str] = []
    uses_relay = False

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.refuse(CLOSE_UNAUTHENTICATED)
            return
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
        self.groups_joined = groups
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        if not live.redis_enabled():
            await relay.acquire()
            self.uses_relay = True
        await self.accept()
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
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        if self.uses_relay:
            self.uses_relay = False
            await relay.release()

    async def receive(self, text_data=None, bytes_data=None):
        """Pages only listen; anything sent is ignored."""

    async def live_update(self, event):
        await self.send(text_data=event["html"])
