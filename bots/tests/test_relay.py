"""The relay tails LiveMessage and group_sends each new row once, in order, and looks again for skipped ids."""

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from bots import live
from bots.models import LiveMessage
from bots.relay import Relay

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


async def subscribe(group):
    layer = get_channel_layer()
    channel = await layer.new_channel("test.")
    await layer.group_add(group, channel)
    return layer, channel


async def test_relay_sends_new_rows_once_in_order_and_not_old_ones():
    old = await database_sync_to_async(live.publish)("user-7", "<p>before the relay</p>")
    relay = Relay()
    relay.cursor = await database_sync_to_async(relay.newest_id)()
    assert relay.cursor == old.pk
    layer, channel = await subscribe("user-7")
    first = await database_sync_to_async(live.publish)("user-7", "<p>one</p>")
    second = await database_sync_to_async(live.publish)("user-7", "<p>two</p>")
    await database_sync_to_async(live.publish)("user-8", "<p>someone else</p>")
    if live.redis_enabled():  # publish already sent these directly: drain them
        for _ in range(2):
            await layer.receive(channel)
    assert await relay.poll_once() == 3
    got = [await layer.receive(channel) for _ in range(2)]
    assert [m["id"] for m in got] == [first.pk, second.pk]
    assert "<p>one</p>" in got[0]["html"] and live.message_id_of(got[0]["html"]) == first.pk
    assert await relay.poll_once() == 0
    await layer.group_discard("user-7", channel)


async def test_relay_looks_again_for_an_id_committed_late():
    relay = Relay()
    relay.cursor = await database_sync_to_async(relay.newest_id)()
    layer, channel = await subscribe("user-9")
    a = await database_sync_to_async(live.publish)("user-9", "<p>a</p>")
    b = await database_sync_to_async(live.publish)("user-9", "<p>b</p>")
    # Pretend b was visible before a (PostgreSQL can commit sequence values out of order).
    await database_sync_to_async(LiveMessage.objects.filter(pk=a.pk).update)(group="hidden")
    hidden_html = a.html
    await database_sync_to_async(LiveMessage.objects.filter(pk=a.pk).delete)()
    if live.redis_enabled():
        for _ in range(2):
            await layer.receive(channel)
    assert await relay.poll_once() == 1
    assert a.pk in relay.gaps
    # Now a "commits": the relay finds it on the next round although its id is below the cursor.
    await database_sync_to_async(LiveMessage.objects.create)(pk=a.pk, group="user-9", html=hidden_html)
    assert await relay.poll_once() == 1
    assert relay.cursor == b.pk and a.pk not in relay.gaps
    ids = [(await layer.receive(channel))["id"] for _ in range(2)]
    assert ids == [b.pk, a.pk]
    await layer.group_discard("user-9", channel)


async def test_many_consumers_connecting_at_once_start_exactly_one_relay():
    import asyncio

    relay = Relay()
    await asyncio.gather(*(relay.acquire() for _ in range(20)))
    first = relay.task
    assert relay.users == 20 and relay.ready.done()
    assert [t for t in asyncio.all_tasks() if t.get_name() == "live-relay"] == [first]
    for _ in range(20):
        await relay.release()
    assert first.done() and relay.task is None


async def test_relay_tracks_late_ids_after_a_long_jump_of_the_sequence():
    """Rows pruned or rolled back leave the id sequence far ahead of the relay's cursor: the ids just below
    the first new one can still commit late and must be looked for again."""
    relay = Relay()
    relay.cursor = start = await database_sync_to_async(relay.newest_id)()
    layer, channel = await subscribe("user-9")
    burned = [await database_sync_to_async(live.publish)("user-9", "<p>x</p>") for _ in range(3)]
    await database_sync_to_async(LiveMessage.objects.filter(pk__in=[m.pk for m in burned]).delete)()
    # Advance the sequence well past BATCH ids without rows, as a prune of many messages does.
    from bots.relay import BATCH

    far = await database_sync_to_async(LiveMessage.objects.create)(pk=start + 3 * BATCH, group="user-9",
                                                                   html="<p>far</p>")
    if live.redis_enabled():
        for _ in range(3):
            await layer.receive(channel)
    assert await relay.poll_once() == 1
    assert relay.cursor == far.pk
    assert far.pk - 1 in relay.gaps and far.pk - BATCH in relay.gaps and start + 1 not in relay.gaps
    assert len(relay.gaps) == BATCH
    await layer.group_discard("user-9", channel)
