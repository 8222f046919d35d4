"""The live websocket: session-authenticated, origin-checked, scoped to the user's own bots, with catch-up."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from bots import live
from bots.relay import relay
from bots.tests.test_live import make_bot, make_user
from tradingbot.asgi import application

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture(autouse=True)
def close_thread_connections():
    """database_sync_to_async runs queries in worker threads, whose connections outlive the test under
    CONN_MAX_AGE; PostgreSQL then refuses to drop the test database. Age 0 closes them after each call."""
    from django.db import connections

    settings_dict = connections["default"].settings_dict
    previous = settings_dict.get("CONN_MAX_AGE", 0)
    settings_dict["CONN_MAX_AGE"] = 0
    yield
    settings_dict["CONN_MAX_AGE"] = previous


def session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def connect(path, user=None, origin=b"http://127.0.0.1"):
    headers = [(b"origin", origin)]
    if user is not None:
        headers.append((b"cookie", await sync_to_async(session_cookie)(user)))
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await communicator.connect(timeout=5)
    return communicator, connected, code


async def refused_with(communicator, connected) -> int:
    """The consumer accepts, then closes at once with its reason code, before sending anything."""
    assert connected
    message = await communicator.receive_output(timeout=3)
    assert message["type"] == "websocket.close"
    return message["code"]


async def test_anonymous_is_refused():
    communicator, connected, _ = await connect("/ws/live/")
    assert await refused_with(communicator, connected) == 4401


async def test_foreign_origin_is_refused():
    alice = await sync_to_async(make_user)()
    communicator, connected, code = await connect("/ws/live/", alice, origin=b"http://evil.example")
    assert not connected  # the handshake itself is refused (HTTP 403)


async def test_foreign_or_unknown_or_bad_bot_is_refused():
    alice = await sync_to_async(make_user)("alice")
    bob = await sync_to_async(make_user)("bob")
    bobs_bot = await sync_to_async(make_bot)(bob)
    for path in (f"/ws/live/?bot={bobs_bot.pk}", "/ws/live/?bot=999999", "/ws/live/?bot=abc"):
        communicator, connected, _ = await connect(path, alice)
        assert await refused_with(communicator, connected) == 4403, path


async def test_own_bot_page_gets_updates_through_the_relay_and_catches_up():
    """The embedded default: a publish from 'another process' (a row in LiveMessage) reaches the socket."""
    alice = await sync_to_async(make_user)()
    bot = await sync_to_async(make_bot)(alice)
    superseded = await sync_to_async(live.publish)(live.bot_group(bot.pk), "<p id='old'>older state</p>")
    before = await sync_to_async(live.publish)(live.bot_group(bot.pk), "<p id='old'>missed while away</p>")
    communicator, connected, _ = await connect(f"/ws/live/?bot={bot.pk}&after={superseded.pk - 1}", alice)
    assert connected
    # Each bot message is the page's whole state: only the newest is replayed.
    caught_up = await communicator.receive_from(timeout=3)
    assert live.message_id_of(caught_up) == before.pk
    assert "missed while away" in caught_up

    await sync_to_async(live.publish_bot_update)(bot.pk)
    text = await communicator.receive_from(timeout=3)
    assert f'id="bot-{bot.pk}-status"' in text
    assert live.message_id_of(text) > before.pk
    # The user's dashboard message went to the user group, not to this bot page.
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()


async def test_dashboard_socket_gets_only_its_own_users_updates():
    alice = await sync_to_async(make_user)("alice")
    bob = await sync_to_async(make_user)("bob")
    alices_bot = await sync_to_async(make_bot)(alice)
    bobs_bot = await sync_to_async(make_bot)(bob, name="bob's")
    communicator, connected, _ = await connect("/ws/live/?after=0", alice)
    assert connected
    await sync_to_async(live.publish_bot_update)(bobs_bot.pk)
    await sync_to_async(live.publish_bot_update)(alices_bot.pk)
    text = await communicator.receive_from(timeout=3)
    assert f'id="dash-bot-{alices_bot.pk}"' in text
    assert f'id="dash-bot-{bobs_bot.pk}"' not in text
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()


@pytest.mark.skipif(live.redis_enabled(), reason="with Redis the worker sends directly; no relay runs")
async def test_relay_stops_when_the_last_socket_leaves():
    alice = await sync_to_async(make_user)()
    first, ok1, _ = await connect("/ws/live/", alice)
    second, ok2, _ = await connect("/ws/live/", alice)
    assert ok1 and ok2
    task = relay.task
    assert task is not None and not task.done()
    await first.disconnect()
    assert not task.done()
    await second.disconnect()
    await asyncio.sleep(0)
    assert task.done()
    assert relay.task is None


async def test_dashboard_catch_up_replays_every_missed_message_in_order():
    alice = await sync_to_async(make_user)()
    ids = [(await sync_to_async(live.publish)(live.user_group(alice.pk), f"<p>{n}</p>")).pk for n in range(3)]
    communicator, connected, _ = await connect(f"/ws/live/?after={ids[0]}", alice)
    assert connected
    received = [live.message_id_of(await communicator.receive_from(timeout=3)) for _ in range(2)]
    assert received == ids[1:]
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


async def test_notifications_reach_every_kind_of_page_and_only_their_user():
    """A fired price alert goes to notify-<user>: the dashboard's, a bot page's and any other page's socket
    (?notify) get it, with catch-up after the page's cursor; another user's sockets do not."""
    alice = await sync_to_async(make_user)("alice")
    bob = await sync_to_async(make_user)("bob")
    bot = await sync_to_async(make_bot)(alice)
    missed = await sync_to_async(live.publish)(live.notify_group(alice.pk), "<p>missed alert</p>")
    sockets = []
    for path in (f"/ws/live/?after={missed.pk - 1}", f"/ws/live/?bot={bot.pk}&after={missed.pk - 1}",
                 f"/ws/live/?notify=1&after={missed.pk - 1}"):
        communicator, connected, _ = await connect(path, alice)
        assert connected, path
        caught_up = await communicator.receive_from(timeout=3)
        assert "missed alert" in caught_up and live.message_id_of(caught_up) == missed.pk, path
        sockets.append(communicator)
    bobs, connected, _ = await connect("/ws/live/?notify=1", bob)
    assert connected
    fired = await sync_to_async(live.publish)(live.notify_group(alice.pk), "<p>BTC/USDT went above</p>")
    for communicator in sockets:
        text = await communicator.receive_from(timeout=3)
        assert "went above" in text and live.message_id_of(text) == fired.pk
    assert await bobs.receive_nothing(timeout=0.5)
    # A notify-only socket gets nothing of the dashboard's or a bot's updates.
    await sync_to_async(live.publish_bot_update)(bot.pk)
    assert await sockets[2].receive_nothing(timeout=0.5)
    for communicator in (*sockets, bobs):
        await communicator.disconnect()
