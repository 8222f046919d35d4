"""A command killed between "sent" and "recorded" (SIGKILL of `manage.py trade`, the management-command door):
the fake exchange holds the order, the ledger has it as pending; the worker's settling finds it by client
order id and books it, once. Killed before sending: nothing was sent, and nothing is sent later."""

import json
import signal
import subprocess
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone

from bots.crashpoints import ENV
from bots.models import Bot, Order, Position
from commands.models import Activity
from commands.service import confirm
from commands.tasks import settle_command_orders
from tests.process_env import PROJECT_DIR, PYTHON, env_for_test_database

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def trade(fake, *args, crash_at=None) -> subprocess.CompletedProcess:
    env = env_for_test_database(CCXT_URL_OVERRIDES=json.dumps({"binance": fake.url}))
    env.pop(ENV, None)
    if crash_at:
        env[ENV] = crash_at
    return subprocess.run([PYTHON, "manage.py", "trade", *args], cwd=PROJECT_DIR, env=env, capture_output=True,
                          text=True, timeout=120)


def after_the_crash() -> None:
    # The killed process's lease on the book ends by itself after scheduler.LEASE; skip that wait.
    Bot.objects.update(lease_until=timezone.now() - timedelta(seconds=1))


def test_killed_after_sending_the_order_is_found_by_its_client_order_id(alice, live, fake):
    proc = trade(fake, "alice", "buy", "BTC/USDT", "0.01", "--account", "Binance", "--yes",
                 crash_at="command_after_order_sent")
    assert proc.returncode == -signal.SIGKILL, proc.stdout + proc.stderr[-2000:]
    activity = Activity.objects.get(command="place_order")
    cid = f"tc{activity.pk}-b"
    assert activity.status == "running" and activity.door == "command" and activity.confirmed_door == "command"
    assert fake.order_count(cid) == 1 and fake.orders[0]["status"] == "FILLED"
    order = Order.objects.get(client_order_id=cid)
    assert order.status == "pending" and order.filled == 0 and not Position.objects.exists()
    # A second confirmation (a retry of the door) does nothing: the command is already running.
    assert confirm(alice, activity.pending_id, door="command").code == "already_running"
    after_the_crash()
    assert settle_command_orders(now=timezone.now() + timedelta(minutes=1)) == 1
    order.refresh_from_db()
    assert order.status == "closed" and order.filled == D("0.01")
    assert Position.objects.get(bot=order.bot).quantity == D("0.01")
    activity.refresh_from_db()
    assert activity.status == "done" and activity.message.startswith("Bought 0.01 BTC")
    assert fake.order_count(cid) == 1 and len(fake.private_requests("/order", "POST")) == 1
    assert settle_command_orders(now=timezone.now() + timedelta(minutes=2)) == 0  # nothing left to settle


def test_killed_before_sending_sends_nothing_later(alice, live, fake):
    proc = trade(fake, "alice", "buy", "BTC/USDT", "0.01", "--account", "Binance", "--yes",
                 crash_at="command_before_order_sent")
    assert proc.returncode == -signal.SIGKILL, proc.stdout + proc.stderr[-2000:]
    after_the_crash()
    assert settle_command_orders(now=timezone.now() + timedelta(minutes=1)) == 1
    order = Order.objects.get()
    assert order.status == "canceled" and order.error.startswith("Never reached the exchange")
    activity = Activity.objects.get(command="place_order")
    assert activity.status == "failed" and activity.code == "never_sent"
    assert fake.orders == [] and fake.private_requests("/order", "POST") == []


def test_no_answer_and_failed_lookups_leave_the_order_unknown_until_settled(alice, live, fake):
    """The exchange takes the order but answers only after the client gave up (timeout), and its order
    lookups fail too (503): the command says "unknown", nothing is sent again; the next settling books it."""
    import threading
    import time

    from commands.definitions import PlaceOrder
    from commands.service import submit

    pending = submit(alice, PlaceOrder(account_id=str(live.pk), symbol="BTC/USDT", side="buy", amount="0.01"),
                     door="web")
    fake.timeout_delay = 9.0  # longer than the command's 8 s timeout
    fake.inject("timeout")

    def fail_lookups_once_the_order_is_in():
        deadline = time.monotonic() + 30
        while not fake.orders and time.monotonic() < deadline:
            time.sleep(0.01)
        fake.inject("5xx", times=4)

    helper = threading.Thread(target=fail_lookups_once_the_order_is_in, daemon=True)
    helper.start()
    outcome = confirm(alice, pending.pending_id, door="web")
    helper.join(timeout=30)
    order = Order.objects.get()
    assert outcome.status == "unknown" and outcome.code == "order_unknown", outcome
    assert "never sent twice" in outcome.message
    assert order.status == "unknown" and fake.order_count(order.client_order_id) == 1
    assert Activity.objects.get(pk=pending.activity_id).status == "running"
    fake.faults.clear()
    assert settle_command_orders(now=timezone.now() + timedelta(minutes=1)) == 1
    order.refresh_from_db()
    assert order.status == "closed" and order.filled == D("0.01")
    assert Activity.objects.get(pk=pending.activity_id).status == "done"
    assert fake.order_count(order.client_order_id) == 1 and len(fake.private_requests("/order", "POST")) == 1
