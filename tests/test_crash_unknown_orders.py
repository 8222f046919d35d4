"""SIGKILL right after an order was sent, on an exchange that does not show the order to lookups yet.

A real worker process (`manage.py bot tick ID`) dies right after the exchange took the order, before the
answer was booked; the exchange then hides the order from lookups. Restarted workers keep the order unknown
(no second order, nothing else sent), and once the exchange shows it the next tick books it: the position
equals the exchange's. Then the exchange-side stop-loss is placed, fills while no worker runs, and the next
worker books it.
"""

import json
import math
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone

from bots.models import Bot, BotEvent, Order, Position
from bots.tests.factories import make_account, make_bot, make_user
from bots.tests.test_tick import BUYS
from exchanges.models import ExchangeAccount
from tests.process_env import env_for_test_database
from tests.test_crash_safety import crash_each, restart, show_history_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_killed_after_send_while_the_exchange_hides_the_order(fake_exchange):
    fake = fake_exchange
    env = env_for_test_database(CCXT_URL_OVERRIDES=json.dumps({"binance": fake.url}))
    owner = make_user("u0")
    account = make_account(owner, label="fake binance", mode=ExchangeAccount.Mode.LIVE)
    account.api_key, account.api_secret = fake.api_key, fake.api_secret
    account.save()
    bot = make_bot(owner, name="hidden", account=account, mode=Bot.Mode.LIVE, status=Bot.Status.RUNNING,
                   stake=D("0.1"), stop_loss_pct=D("0.02"), take_profit_pct=0)
    show_history_until(fake, BUYS[0])
    fake.hidden_for = math.inf
    fake.inject("hidden")
    crash_each(env, {"after_order_sent": bot})
    assert len(fake.orders) == 1 and fake.orders[0]["status"] == "FILLED"

    for _ in range(2):  # restarted workers: the order stays unknown, nothing is sent
        restart(env)
        order = Order.objects.get(bot=bot)
        assert order.status == "unknown" and order.sent_at is not None, order
        assert len(fake.orders) == 1 and len(fake.private_requests("/order", "POST")) == 1
        assert not Position.objects.filter(bot=bot).exists()
        Bot.objects.filter(pk=bot.pk).update(next_tick_at=None)

    fake.reveal()
    restart(env)
    order.refresh_from_db()
    assert order.status == "closed" and order.filled == D(fake.orders[0]["executedQty"])
    position = Position.objects.get(bot=bot, status="open")
    assert position.quantity == fake.balances["BTC"]["free"] + fake.balances["BTC"]["locked"] - D("1")
    stops = [o for o in fake.orders if o["type"] == "STOP_LOSS_LIMIT"]
    assert len(stops) == 1 and stops[0]["status"] == "NEW"
    assert len([o for o in fake.orders if o["type"] == "MARKET"]) == 1, "never a second entry"

    # No worker runs; the price falls through the stop; the exchange sells. The next worker books it.
    fake.set_price("BTC/USDT", str(D(stops[0]["stopPrice"]) - 5))
    assert stops[0]["status"] == "FILLED"
    Bot.objects.filter(pk=bot.pk).update(next_tick_at=None, lease_until=timezone.now() - timedelta(seconds=1))
    restart(env)
    position.refresh_from_db()
    assert position.status == "closed" and position.exit_reason == "stop_loss"
    assert fake.balances["BTC"]["free"] == D("1") + position.dust
    assert BotEvent.objects.filter(bot=bot, message__contains="filled on the exchange").exists()
    assert not Order.objects.filter(bot=bot, status__in=Order.UNSETTLED).exists()
