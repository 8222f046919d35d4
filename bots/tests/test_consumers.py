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
    return f"sessionid={logged_in_client(user).cookies['sessionid'].value}".encode()


def logged_in_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


async def connect(path, user=None, origin=b"http://127.0.0.1", host=b"127.0.0.1", cookie=None, scheme=None):
    """A socket as a browser on http://127.0.0.1 opens it: Host and Origin headers, the session cookie."""
    headers = [(b"origin", origin)] if origin is not None else []
    if host is not None:
        headers.append((b"host", host))
    if cookie is None and user is not None:
        cookie = await sync_to_async(session_cookie)(user)
    if cookie is not None:
        headers.append((b"cookie", cookie))
    communicator = WebsocketCommunicator(application, path, headers=headers)
    if scheme:
        communicator.scope["scheme"] = scheme
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


async def test_origin_must_match_scheme_host_and_port():
    """Another port of the same host is another site (any local process); so is plain http for an https site."""
    alice = await sync_to_async(make_user)()
    refused = [
        dict(origin=b"http://127.0.0.1:9999", host=b"127.0.0.1"),
        dict(origin=b"http://127.0.0.1:9999", host=b"127.0.0.1:8000"),
        dict(origin=b"https://127.0.0.1:8000", host=b"127.0.0.1:8000"),
        dict(origin=b"http://localhost:8000", host=b"localhost:8000", scheme="wss"),  # an https site
        dict(origin=b"http://127.0.0.1", host=b"evil.example"),  # a Host we do not serve
        dict(origin=b"http://127.0.0.1", host=None),
        dict(origin=None, host=b"127.0.0.1"),
    ]
    for case in refused:
        communicator, connected, _ = await connect("/ws/live/", alice, **case)
        assert not connected, case
    accepted = [
        dict(origin=b"http://127.0.0.1:8000", host=b"127.0.0.1:8000"),
        dict(origin=b"http://LOCALHOST:80", host=b"localhost"),  # the default port, either way
        dict(origin=b"https://localhost:8443", host=b"localhost:8443", scheme="wss"),
    ]
    for case in accepted:
        communicator, connected, _ = await connect("/ws/live/", alice, **case)
        assert connected, case
        await communicator.disconnect()


async def test_csrf_trusted_origins_are_accepted(settings):
    """Behind a proxy on another origin, the documented CSRF_TRUSTED_ORIGINS are the site's origins too."""
    settings.CSRF_TRUSTED_ORIGINS = ["https://trade.example.org", "https://*.example.net"]
    alice = await sync_to_async(make_user)()
    for origin in (b"https://trade.example.org", b"https://app.example.net"):
        communicator, connected, _ = await connect("/ws/live/", alice, origin=origin)
        assert connected, origin
        await communicator.disconnect()
    for origin in (b"http://trade.example.org", b"https://trade.example.org:8443", b"https://example.net.evil.org"):
        communicator, connected, _ = await connect("/ws/live/", alice, origin=origin)
        assert not connected, origin


async def test_logout_closes_the_sockets_of_that_session_at_once(settings):
    settings.LIVE_SESSION_RECHECK_SECONDS = 3600  # only the logout itself can close it
    alice = await sync_to_async(make_user)()
    bot = await sync_to_async(make_bot)(alice)
    client = await sync_to_async(logged_in_client)(alice)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    other_session, ok, _ = await connect("/ws/live/", alice)  # another browser of the same user
    communicator, connected, _ = await connect(f"/ws/live/?bot={bot.pk}", cookie=cookie)
    assert connected and ok
    await sync_to_async(client.post)("/accounts/logout/")
    closed = await communicator.receive_output(timeout=3)
    assert closed == {"type": "websocket.close", "code": 4401}
    await sync_to_async(live.publish_bot_update)(bot.pk)
    assert await communicator.receive_nothing(timeout=0.5)
    # The other session is not logged out and keeps its updates.
    assert f'id="dash-bot-{bot.pk}"' in await other_session.receive_from(timeout=3)
    await other_session.disconnect()


async def test_password_change_elsewhere_closes_the_socket(settings):
    settings.LIVE_SESSION_RECHECK_SECONDS = 0.2
    alice = await sync_to_async(make_user)()
    bot = await sync_to_async(make_bot)(alice)
    communicator, connected, _ = await connect(f"/ws/live/?bot={bot.pk}", alice)
    assert connected

    def change_password():
        alice.set_password("a-brand-new-password-99")
        alice.save()

    await sync_to_async(change_password)()
    closed = await communicator.receive_output(timeout=3)
    assert closed == {"type": "websocket.close", "code": 4401}


async def test_a_socket_closes_when_its_session_ends_without_a_logout(settings):
    """A session deleted (expiry, an admin, a logout in another process without Redis) ends its sockets at the
    next re-check, and nothing is sent on them after that."""
    settings.LIVE_SESSION_RECHECK_SECONDS = 0.3
    alice = await sync_to_async(make_user)()
    bot = await sync_to_async(make_bot)(alice)
    client = await sync_to_async(logged_in_client)(alice)
    communicator, connected, _ = await connect(
        f"/ws/live/?bot={bot.pk}", cookie=f"sessionid={client.cookies['sessionid'].value}".encode())
    assert connected
    await sync_to_async(client.session.delete)()  # the session ends without a logout signal
    message = await communicator.receive_output(timeout=3)
    assert message == {"type": "websocket.close", "code": 4401}
    await sync_to_async(live.publish_bot_update)(bot.pk)
    assert await communicator.receive_nothing(timeout=0.5)



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


async def test_a_change_published_as_unwatched_reaches_an_open_socket_rendered():
    """A publisher whose cached view of the watches is a second old writes a marker for a page that has just
    opened: the socket renders that bot's fragments itself, so the page still gets them."""
    alice = await sync_to_async(make_user)()
    bot = await sync_to_async(make_bot)(alice)
    communicator, connected, _ = await connect(f"/ws/live/?bot={bot.pk}", alice)
    assert connected
    await sync_to_async(live.publish)(live.bot_group(bot.pk), live.marker(bot.pk))  # as if nobody watched
    text = await communicator.receive_from(timeout=5)
    assert f'id="bot-{bot.pk}-status"' in text and "changed bot=" not in text
    assert live.message_id_of(text) is not None
    await communicator.disconnect()
