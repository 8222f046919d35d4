"""Two confirmations of one pending command at the same moment (two threads, each with its own database
connection, on SQLite and on PostgreSQL): exactly one order reaches the exchange and the ledger."""

import threading

import pytest
from django.db import connection

from bots.models import Order
from commands.definitions import PlaceOrder
from commands.models import Activity
from commands.service import confirm, submit

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_concurrent_confirmations_send_one_order(alice, live, fake):
    fake.timeout_delay = 0
    outcomes, errors = [], []
    for _round in range(3):
        pending = submit(alice, PlaceOrder(account_id=str(live.pk), symbol="BTC/USDT", side="buy", amount="0.01"),
                         door="web")
        assert pending.needs_confirmation
        barrier = threading.Barrier(2)

        def press(door, barrier=barrier, pending_id=pending.pending_id):
            try:
                barrier.wait(timeout=10)
                outcomes.append(confirm(alice, pending_id, door=door))
            except Exception as exc:  # the assertion below shows it
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=press, args=(door,)) for door in ("web", "telegram")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert not errors, errors
        activity = Activity.objects.get(pk=pending.activity_id)
        assert activity.status == "done"
        assert fake.order_count(f"tc{activity.pk}-b") == 1
        assert Order.objects.filter(client_order_id=f"tc{activity.pk}-b").count() == 1
    assert len(fake.orders) == 3 and Order.objects.count() == 3
    assert sorted(o.status for o in outcomes) == ["done"] * 3 + ["refused"] * 3
    assert all(o.code.startswith("already_") for o in outcomes if o.status == "refused")
