"""bots.models: a user's rows only through for_user; one open position per bot; unique client order ids."""

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError, transaction

from bots.models import Bot, Order, Position
from bots.tests.factories import make_bot, make_user

pytestmark = pytest.mark.django_db
T0 = datetime(2023, 1, 2, tzinfo=UTC)


def test_for_user_returns_only_the_users_bots():
    alice, bob = make_user("alice"), make_user("bob")
    mine = make_bot(alice)
    make_bot(bob)
    assert list(Bot.objects.for_user(alice)) == [mine]
    assert not Bot.objects.for_user(AnonymousUser()).exists()
    assert mine.wallet_key == f"bot:{mine.pk}"


def test_one_open_position_per_bot_and_unique_client_order_ids():
    bot = make_bot(make_user())
    Position.objects.create(bot=bot, symbol=bot.symbol, quantity=1, opened_at=T0)
    Position.objects.create(bot=bot, symbol=bot.symbol, status="closed", opened_at=T0)
    with pytest.raises(IntegrityError), transaction.atomic():
        Position.objects.create(bot=bot, symbol=bot.symbol, quantity=1, opened_at=T0)
    Order.objects.create(bot=bot, client_order_id="tb1-1-b", symbol=bot.symbol, side="buy", amount=1, candle_at=T0)
    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.create(bot=bot, client_order_id="tb1-1-b", symbol=bot.symbol, side="buy", amount=1,
                             candle_at=T0)
