"""Notifications: a replay bot's fills, halts and errors reach the owner's chat through the outbox and a
django-q2 task, with the user's on / silent / off choice, within Telegram's limits, and a dead Telegram
never touches a tick."""

import time
from datetime import timedelta
from decimal import Decimal as D
from unittest import mock

import pytest
from django.conf import settings
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.conf import Conf

from bots import tick
from bots.models import Bot, BotEvent, Fill, Order, Position
from bots.templatetags.bot_display import amount, money
from bots.tests.factories import make_account, make_bot, make_strategy_config, make_user
from exchanges.candles import load_candles, read_candle_file, upsert_candles
from notify import delivery, events
from notify.models import Mode, Notification, NotificationSettings
from notify.outbox import notify
from telegram_bot.models import TelegramLink
from telegram_bot.tests.chats import ALICE_TG, linked_user, say

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def candle_rows():
    return read_candle_file(settings.CANDLE_DATA_DIR / "binance_BTC-USDT_5m.csv", "5m").iloc[:900]


@pytest.fixture
def candles(candle_rows):
    upsert_candles("binance", "BTC/USDT", "5m", candle_rows)
    return load_candles("binance", "BTC/USDT", "5m")


def replay_bot(owner, candles, name="rsi bot", **risk) -> Bot:
    fields = {"stake": D("1"), "max_position_pct": D("1"), "daily_loss_limit_pct": D("0"),
              "max_drawdown_pct": D("0"), "max_consecutive_losses": 0, "max_orders_per_hour": 0,
              "max_open_positions": 0, "stop_loss_pct": D("0"), "take_profit_pct": D("0"), **risk}
    return make_bot(owner, name=name, account=make_account(owner), strategy=make_strategy_config(owner),
                    mode=Bot.Mode.REPLAY, fee=D("0.001"), starting_balance=D("10000"),
                    replay_start=candles.index[0].to_pydatetime(), replay_speed=1, status=Bot.Status.RUNNING, **fields)


def tick_until(bot, done, commits, limit=900, start=1):
    """Tick candle after candle (the replay clock moved by hand, as the parity test does) until done().
    `commits`: django_capture_on_commit_callbacks; each tick's on-commit work runs after that tick, as the
    commits of a real tick do."""
    tick.clear_candle_cache()
    for k in range(start, limit):
        Bot.objects.filter(pk=bot.pk).update(replay_offset=timedelta(minutes=5) * k, next_tick_at=None)
        with commits(execute=True):
            result = tick.tick_bot(bot.pk)
        if done():
            return k, result
    raise AssertionError("it never happened")


@pytest.fixture
def sync_tasks():
    """django-q2 runs queued tasks at once, in this process (the worker's code, without a worker)."""
    with mock.patch.object(Conf, "SYNC", True):
        yield


def test_a_replay_bots_fill_sends_one_message_with_its_numbers(fake_telegram, candles, sync_tasks,
                                                              django_capture_on_commit_callbacks):
    alice = linked_user("alice", ALICE_TG)
    bot = replay_bot(alice, candles)
    tick_until(bot, lambda: Fill.objects.filter(bot=bot).exists(), django_capture_on_commit_callbacks)
    fill = Fill.objects.get(bot=bot)
    assert fill.side == "buy"
    expected = (f"rsi bot: bought {amount(fill.amount, 'BTC')} at {amount(fill.price, 'USDT')} "
                f"(fee {money(fill.fee, 'USDT')}).")
    assert [(m["chat_id"], m["text"], m.get("disable_notification")) for m in fake_telegram.sent_to(ALICE_TG)] == [
        (ALICE_TG, expected, False)]
    assert Notification.objects.get().status == Notification.Status.SENT


def test_the_sell_tells_the_trades_pnl(fake_telegram, candles, sync_tasks, django_capture_on_commit_callbacks):
    alice = linked_user("alice", ALICE_TG)
    bot = replay_bot(alice, candles)
    tick_until(bot, lambda: Position.objects.filter(bot=bot, status="closed").exists(),
               django_capture_on_commit_callbacks)
    position = Position.objects.get(bot=bot, status="closed")
    sell = Fill.objects.get(bot=bot, side="sell")
    last = fake_telegram.sent_to(ALICE_TG)[-1]["text"]
    pnl = ("+" if position.realised_pnl > 0 else "") + money(position.realised_pnl, "USDT")
    assert last == (f"rsi bot: sold {amount(sell.amount, 'BTC')} at {amount(sell.price, 'USDT')} "
                    f"(fee {money(sell.fee, 'USDT')}). Trade P&L: {pnl}.")
    assert len(fake_telegram.sent_to(ALICE_TG)) == 2


def test_a_stop_loss_or_take_profit_exit_is_its_own_kind(fake_telegram, candles, sync_tasks,
                                                        django_capture_on_commit_callbacks):
    alice = linked_user("alice", ALICE_TG)
    NotificationSettings.objects.create(user=alice, order_filled=Mode.OFF)
    bot = replay_bot(alice, candles, stop_loss_pct=D("0.004"), take_profit_pct=D("0.003"))
    tick_until(bot, lambda: Position.objects.filter(bot=bot, status="closed").exists(),
               django_capture_on_commit_callbacks)
    position = Position.objects.get(bot=bot, status="closed")
    assert position.exit_reason in ("stop_loss", "take_profit")
    words = {"stop_loss": "stop-loss hit", "take_profit": "take-profit hit"}[position.exit_reason]
    (message,) = fake_telegram.sent_to(ALICE_TG)  # the entry's fill is switched off
    assert message["text"].startswith(f"rsi bot: {words}, sold ") and "Trade P&L: " in message["text"]
    assert Notification.objects.get().kind == "exit_hit"


def test_silent_sets_disable_notification(fake_telegram, sync_tasks, django_capture_on_commit_callbacks):
    alice = linked_user("alice", ALICE_TG)
    NotificationSettings.objects.create(user=alice, bot_problem=Mode.SILENT)
    with django_capture_on_commit_callbacks(execute=True):
        notify(alice, "bot_problem", "bot_error", bot="rsi bot", reason="no such market")
    (message,) = fake_telegram.sent_to(ALICE_TG)
    assert message["text"] == "rsi bot stopped with an error: no such market"
    assert message["disable_notification"] is True


def test_off_writes_and_sends_nothing(fake_telegram, sync_tasks, django_capture_on_commit_callbacks):
    alice = linked_user("alice", ALICE_TG)
    NotificationSettings.objects.create(user=alice, order_filled=Mode.OFF)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert notify(alice, "order_filled", "buy_filled", bot="b", amount="1 BTC", price="2 USDT",
                      fee="0 USDT") is None
    assert callbacks == [] and not Notification.objects.exists() and fake_telegram.sent_to(ALICE_TG) == []


def test_no_linked_chat_or_no_token_writes_nothing(fake_telegram, settings):
    bob = make_user("bob")
    assert notify(bob, "bot_problem", "bot_error", bot="b", reason="r") is None
    alice = linked_user("alice", ALICE_TG)
    settings.TELEGRAM_BOT_TOKEN = ""
    assert notify(alice, "bot_problem", "bot_error", bot="b", reason="r") is None
    assert not Notification.objects.exists()


def test_unknown_kinds_and_texts_are_refused_loudly(fake_telegram):
    alice = linked_user("alice", ALICE_TG)
    with pytest.raises(ValueError, match="unknown notification kind"):
        notify(alice, "gossip", "bot_error")
    with pytest.raises(ValueError, match="unknown notification text"):
        notify(alice, "bot_problem", "no_such_text")


def test_halts_and_errors_are_told_but_not_temporary_errors(fake_telegram, sync_tasks,
                                                           django_capture_on_commit_callbacks):
    alice = linked_user("alice", ALICE_TG)
    bot = make_bot(alice, name="rsi bot")
    with django_capture_on_commit_callbacks(execute=True):
        BotEvent.objects.create(bot=bot, kind="halt", message="Halted (daily_loss): Daily loss 5.10% reached the "
                                "limit of 5.00%: no new positions until the next UTC day.",
                                data={"rule": "daily_loss"}, source="risk")
        BotEvent.objects.create(bot=bot, kind="error", message="Temporary exchange error, trying again next candle",
                                data={"error": "timeout", "temporary": True})
        BotEvent.objects.create(bot=bot, kind="error", message="Order x refused", data={"reason": "no funds"})
        BotEvent.objects.create(bot=bot, kind="error", message="Bot stopped with an error: bad settings",
                                data={"error": "bad settings"})
        BotEvent.objects.create(bot=bot, kind="signal", message="BUY", data={})
    # Both were written before the first delivery ran: one message (one a second per chat).
    assert [m["text"] for m in fake_telegram.sent_to(ALICE_TG)] == [
        "rsi bot is halted (daily_loss): Daily loss 5.10% reached the limit of 5.00%: no new positions until the "
        "next UTC day.\n\nrsi bot stopped with an error: bad settings",
    ]
    assert list(Notification.objects.values_list("text_key", "status")) == [("bot_halted", "sent"),
                                                                          ("bot_error", "sent")]


def test_429_is_retried_after_retry_after(fake_telegram):
    alice = linked_user("alice", ALICE_TG)
    notify(alice, "bot_problem", "bot_error", bot="rsi bot", reason="one")
    fake_telegram.inject("429", retry_after=1)
    started = time.monotonic()
    result = delivery.deliver(alice.pk)
    assert result.outcome == "sent" and result.sent == 1
    assert time.monotonic() - started >= 1.0
    assert len(fake_telegram.calls_of("sendMessage")) == 2 and len(fake_telegram.sent_to(ALICE_TG)) == 1
    assert Notification.objects.get().status == Notification.Status.SENT


def test_a_long_retry_after_is_left_to_the_sweep(fake_telegram):
    from notify import tasks

    alice = linked_user("alice", ALICE_TG)
    notify(alice, "bot_problem", "bot_error", bot="rsi bot", reason="one")
    fake_telegram.inject("429", retry_after=3)
    assert delivery.deliver(alice.pk).outcome == "rate_limited"
    row = Notification.objects.get()
    assert row.status == Notification.Status.PENDING and row.next_attempt_at > timezone.now() + timedelta(seconds=2)
    assert delivery.paused_for() > 2
    assert delivery.deliver(alice.pk).outcome == "paused"  # nobody writes to Telegram meanwhile
    time.sleep(3.1)
    assert tasks.sweep()["delivered"] == 1
    assert [m["text"] for m in fake_telegram.sent_to(ALICE_TG)] == ["rsi bot stopped with an error: one"]


def test_403_marks_the_link_inactive_until_the_user_writes_again(fake_telegram):
    alice = linked_user("alice", ALICE_TG)
    notify(alice, "bot_problem", "bot_error", bot="rsi bot", reason="one")
    fake_telegram.inject("403")
    assert delivery.deliver(alice.pk).outcome == "blocked"
    link = TelegramLink.objects.get(user=alice)
    assert not link.active and link.blocked_at is not None
    assert Notification.objects.get().status == Notification.Status.DROPPED
    assert notify(alice, "bot_problem", "bot_error", bot="rsi bot", reason="two") is None  # nowhere to send
    say(fake_telegram, ALICE_TG, "/help")  # unblocked and writing again
    assert TelegramLink.objects.get(user=alice).active
    assert notify(alice, "bot_problem", "bot_error", bot="rsi bot", reason="three") is not None


def test_several_become_one_message_and_a_chat_gets_one_a_second(fake_telegram):
    alice = linked_user("alice", ALICE_TG)
    NotificationSettings.objects.create(user=alice, bot_problem=Mode.SILENT)
    for reason in ("one", "two"):
        notify(alice, "bot_problem", "bot_error", bot="rsi bot", reason=reason)
    notify(alice, "order_filled", "buy_filled", bot="rsi bot", amount="0.5 BTC", price="20,000.00 USDT",
           fee="10.00 USDT")
    started = time.monotonic()
    first = delivery.deliver(alice.pk)
    assert (first.sent, first.messages) == (3, 1)
    (message,) = fake_telegram.sent_to(ALICE_TG)
    assert message["text"] == ("rsi bot stopped with an error: one\n\nrsi bot stopped with an error: two\n\n"
                               "rsi bot: bought 0.5 BTC at 20,000.00 USDT (fee 10.00 USDT).")
    assert message["disable_notification"] is False  # one of them is not silent
    notify(alice, "bot_problem", "bot_error", bot="rsi bot", reason="four")
    second = delivery.deliver(alice.pk)
    assert second.sent == 1 and time.monotonic() - started >= 1.0
    assert fake_telegram.sent_to(ALICE_TG)[1]["disable_notification"] is True


def test_the_global_rate_stays_under_telegrams_limit(fake_telegram):
    seconds = []
    for _ in range(delivery.GLOBAL_PER_SECOND * 2 + 5):
        delivery.take_global_slot()
        seconds.append(int(time.time()))
    assert max(seconds.count(s) for s in set(seconds)) <= delivery.GLOBAL_PER_SECOND


def test_a_dead_telegram_does_not_delay_a_tick_and_nothing_raises(fake_telegram, candles,
                                                                  django_capture_on_commit_callbacks):
    """Telegram holds every call longer than the client waits. The tick only checks that the owner has a
    linked chat and queues a task (django-q2's broker); the worker's delivery then waits one timeout, once."""
    alice = linked_user("alice", ALICE_TG)
    fake_telegram.inject("timeout", method="*", times=100)
    calls_before = len(fake_telegram.calls)
    queued_before = get_broker().queue_size()
    bot = replay_bot(alice, candles)
    quiet = replay_bot(make_user("bob"), candles, name="unlinked bot")  # the same candles, nobody to tell
    k, result = tick_until(bot, lambda: Fill.objects.filter(bot=bot).exists(), django_capture_on_commit_callbacks)
    _, baseline = tick_until(quiet, lambda: Fill.objects.filter(bot=quiet).exists(),
                             django_capture_on_commit_callbacks, start=k)
    assert result.outcome == "ticked" and result.orders
    assert len(fake_telegram.calls) == calls_before  # the tick never called Telegram
    assert result.seconds < 2.5 < client_timeout()  # far below one Telegram timeout
    print(f"tick with a fill: {result.seconds * 1000:.0f} ms; same tick, nobody to tell: "
          f"{baseline.seconds * 1000:.0f} ms")
    assert get_broker().queue_size() > queued_before  # the worker's part was queued
    assert not Notification.objects.exists()

    # The worker's part: the event becomes a notification, whose delivery waits one timeout, once.
    events.tell(BotEvent.objects.get(bot=bot, kind="fill").pk)
    started = time.monotonic()
    assert delivery.deliver(alice.pk).outcome == "unavailable"
    assert time.monotonic() - started < client_timeout() + 3
    row = Notification.objects.get()
    assert (row.status, row.attempts) == (Notification.Status.PENDING, 1)
    assert row.next_attempt_at >= timezone.now() + timedelta(seconds=20)
    started = time.monotonic()
    assert delivery.deliver(alice.pk).outcome == "paused"  # the next ones do not wait again
    assert time.monotonic() - started < 0.5
    assert Order.objects.filter(bot=bot, status="closed").count() == 1


def client_timeout() -> float:
    from telegram_bot import client

    return client.CONNECT_TIMEOUT + client.READ_TIMEOUT
