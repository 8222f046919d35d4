"""Every command's answer against a prepared ledger: two bots in two quote currencies, closed trades on
different days of the user's time zone, an open position, simulated wallets and a live account (the real
ccxt client against the fake exchange)."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone, translation

from accounts.models import Profile
from bots.models import Bot, BotEvent, PnLSnapshot, Position
from bots.tests.factories import make_account, make_bot
from exchanges.models import ExchangeAccount, SimBalance, SimWallet
from telegram_bot.registry import COMMANDS, command
from telegram_bot.tests.chats import ALICE_TG, linked_user, say, text
from tests.fake_exchange import FakeExchange

pytestmark = pytest.mark.django_db
ZONE = "Asia/Bangkok"


@pytest.fixture
def exchange(settings):
    fake = FakeExchange().start()
    settings.CCXT_URL_OVERRIDES = {"binance": fake.url}
    yield fake
    fake.stop()


def close_position(bot, *, qty, entry, exit, pnl, closed_at, reason="signal"):
    return Position.objects.create(
        bot=bot, symbol=bot.symbol, status=Position.Status.CLOSED, quantity=D("0"), entry_quantity=D(qty),
        average_entry=D(entry), exit_price=D(exit), realised_pnl=D(pnl), exit_reason=reason,
        cost=D(qty) * D(entry), proceeds=D(qty) * D(entry) + D(pnl), opened_at=closed_at - timedelta(hours=1),
        closed_at=closed_at)


@pytest.fixture
def ledger(fake_telegram):
    """alice (Bangkok time) with "rsi bot" (BTC/USDT, running, an open position) and "eth bot" (ETH/BTC)."""
    alice = linked_user("alice", ALICE_TG)
    Profile.objects.create(user=alice, time_zone=ZONE)
    now = timezone.now()
    rsi = make_bot(alice, name="rsi bot", mode=Bot.Mode.REPLAY, status=Bot.Status.RUNNING, starting_balance=D("10000"),
                   day_start_equity=D("10010"), replay_start=now - timedelta(days=30))
    eth = make_bot(alice, name="eth bot", symbol="ETH/BTC", timeframe="1h", starting_balance=D("1"),
                   account=make_account(alice, label="second paper"))
    trades = {
        "today": close_position(rsi, qty="0.05", entry="20000", exit="19800", pnl="-10",
                                closed_at=now - timedelta(minutes=1), reason="stop_loss"),
        "yesterday": close_position(eth, qty="2", entry="0.05", exit="0.0505", pnl="0.001",
                                    closed_at=now - timedelta(days=1)),
        "two_days": close_position(rsi, qty="0.05", entry="19000", exit="19600", pnl="30",
                                   closed_at=now - timedelta(days=2), reason="take_profit"),
        "old": close_position(rsi, qty="0.05", entry="18000", exit="18100", pnl="5",
                              closed_at=now - timedelta(days=40)),
    }
    Position.objects.create(bot=rsi, symbol="BTC/USDT", quantity=D("0.05"), entry_quantity=D("0.05"),
                            average_entry=D("20000"), cost=D("1001"), opened_at=now - timedelta(minutes=30))
    PnLSnapshot.objects.create(bot=rsi, time=now, equity=D("10024"), realised=D("25"), unrealised=D("4"))
    PnLSnapshot.objects.create(bot=eth, time=now - timedelta(days=1), equity=D("1.001"), realised=D("0.001"),
                               unrealised=D("0"))
    wallet = SimWallet.objects.create(key=rsi.wallet_key)
    SimBalance.objects.create(wallet=wallet, asset="USDT", free=D("9023"), used=D("0"))
    SimBalance.objects.create(wallet=wallet, asset="BTC", free=D("0.05"), used=D("0"))
    return {"user": alice, "rsi": rsi, "eth": eth, "trades": trades, "fake": fake_telegram}


def ask(ledger, message: str) -> str:
    return text(say(ledger["fake"], ALICE_TG, message))


def bangkok_day(moment) -> str:
    return timezone.localtime(moment, Profile(time_zone=ZONE).zone).date().isoformat()


def test_status(ledger):
    answer = ask(ledger, "/status")
    assert answer.splitlines() == [
        "Bots: 1 running, 1 stopped",
        "• rsi bot: Running · Replay · BTC/USDT 5m",
        "Open positions:",
        "• rsi bot: 0.05000000 BTC at 20,000.00 USDT, +4.00 USDT unrealised",
        "Today's P&L: +14.00 USDT",  # equity 10,024 against 10,010 at the start of the bot's day
    ]


def test_profit_all_time_and_over_days(ledger):
    assert ask(ledger, "/profit").splitlines() == [
        "Profit, all time:",
        "4 closed trades: 3 won, 1 lost (win rate 75.0 %)",
        "Realised: +0.00100000 BTC, +25.00 USDT",
        "Best: +30.00 USDT (rsi bot) · worst: -10.00 USDT (rsi bot)",
        "Open positions: +4.00 USDT unrealised",
    ]
    week = ask(ledger, "/profit 7").splitlines()
    assert week[:3] == ["Profit, last 7 days:", "3 closed trades: 2 won, 1 lost (win rate 66.7 %)",
                        "Realised: +0.00100000 BTC, +20.00 USDT"]
    assert ask(ledger, "/profit 1").splitlines()[:3] == [
        "Profit, last 1 day:", "1 closed trades: 0 won, 1 lost (win rate 0.0 %)", "Realised: -10.00 USDT"]


def test_daily_groups_by_day_in_the_users_time_zone(ledger):
    answer = ask(ledger, "/daily 3").splitlines()
    trades = ledger["trades"]
    expected_days = {}
    for key, pnl in (("today", "-10.00 USDT"), ("yesterday", "+0.00100000 BTC"), ("two_days", "+30.00 USDT")):
        expected_days.setdefault(bangkok_day(trades[key].closed_at), []).append(pnl)
    today = timezone.localtime(timezone.now(), Profile(time_zone=ZONE).zone).date()
    lines = ["Daily P&L (Asia/Bangkok):"]
    for k in range(3):
        day = (today - timedelta(days=k)).isoformat()
        if day in expected_days:
            pnls = sorted(expected_days[day], key=lambda p: p.split()[-1])
            count = len(pnls)
            lines.append(f"{day}  {', '.join(pnls)}  ({count} trade{'s' if count > 1 else ''})")
        else:
            lines.append(f"{day}  —  no trades")
    assert answer == lines
    assert len(ask(ledger, "/daily").splitlines()) == 1 + 7


def test_trades(ledger):
    answer = ask(ledger, "/trades 2").splitlines()
    today, two_days = ledger["trades"]["today"], ledger["trades"]["two_days"]
    with timezone.override(Profile(time_zone=ZONE).zone):
        opened = timezone.localtime(Position.objects.get(status="open").opened_at).strftime("%Y-%m-%d %H:%M")
        closed = [timezone.localtime(p.closed_at).strftime("%Y-%m-%d %H:%M") for p in (today,)]
    assert answer[0] == "Trades (newest first):"
    assert answer[1] == f"• open rsi bot BTC/USDT: 0.05000000 BTC at 20,000.00 USDT since {opened}"
    assert answer[2] == (f"• {closed[0]} rsi bot BTC/USDT: 0.05000000 BTC 20,000.00 USDT → 19,800.00 USDT, "
                         "-10.00 USDT (stop_loss)")
    assert answer[3].endswith("ETH/BTC: 2.0000 ETH 0.05000000 BTC → 0.05050000 BTC, +0.00100000 BTC (signal)")
    assert len(answer) == 4 and "19,600.00" not in "\n".join(answer)
    assert two_days.realised_pnl == D("30")


def test_bots(ledger):
    assert ask(ledger, "/bots").splitlines() == [
        "Your 2 bots:",
        "• eth bot: Stopped · Paper · ETH/BTC 1h · equity 1.00100000 BTC",
        "• rsi bot: Running · Replay · BTC/USDT 5m · equity 10,024.00 USDT",
    ]


def test_balance_from_the_books_the_wallets_and_a_live_account(ledger, exchange):
    account = make_account(ledger["user"], label="binance live", mode=ExchangeAccount.Mode.LIVE)
    account.api_key, account.api_secret = exchange.api_key, exchange.api_secret
    account.save()
    answer = ask(ledger, "/balance").splitlines()
    assert answer == [
        "Bots (books at their last candle):",
        "• eth bot: equity 1.00100000 BTC",
        "• rsi bot: equity 10,024.00 USDT (0.05000000 BTC, 9,023.00 USDT)",
        "Exchange accounts:",
        "• binance live (binance, Live): 1.0000 BTC, 10,000.00 USDT",
        "• paper (binance, Paper): simulated (each bot has its own wallet)",
        "• second paper (binance, Paper): simulated (each bot has its own wallet)",
        "Total bot equity: 1.00100000 BTC, 10,024.00 USDT",
    ]
    assert exchange.private_requests("/account")  # really asked the exchange
    assert exchange.api_secret not in "\n".join(answer)


def test_balance_of_a_live_account_that_cannot_be_reached(ledger, exchange):
    account = make_account(ledger["user"], label="binance live", mode=ExchangeAccount.Mode.LIVE)
    account.api_key, account.api_secret = exchange.api_key, exchange.api_secret
    account.save()
    exchange.inject("5xx", times=5)
    assert "• binance live (binance, Live): not reachable right now" in ask(ledger, "/balance").splitlines()
    exchange.faults.clear()
    exchange.inject("auth", times=5)
    assert "• binance live (binance, Live): the exchange rejected the keys" in ask(ledger, "/balance").splitlines()


@pytest.mark.parametrize("message, status, kind", [
    ("/pause rsi bot", Bot.Status.PAUSED, "pause"),
    ("/stop_bot RSI BOT", Bot.Status.STOPPED, "stop"),
])
def test_bot_changes_go_through_bots_control_as_telegram(ledger, message, status, kind):
    answer = ask(ledger, message)
    rsi = Bot.objects.get(pk=ledger["rsi"].pk)
    assert rsi.status == status and answer == f"rsi bot: {rsi.get_status_display()}."
    event = BotEvent.objects.filter(bot=rsi).latest("id")
    assert (event.kind, event.source, event.actor) == (kind, "telegram", ledger["user"])


def test_start_and_resume(ledger):
    assert ask(ledger, "/start_bot eth bot") == "eth bot: Running."
    assert BotEvent.objects.get(bot=ledger["eth"], kind="start").source == "telegram"
    ask(ledger, "/pause eth bot")
    assert ask(ledger, "/resume eth bot") == "eth bot: Running."
    # A change the state does not allow: the service's own reason, nothing changes.
    answer = ask(ledger, "/start_bot rsi bot")
    assert answer.startswith("Cannot start bot 'rsi bot': it is running")
    assert not BotEvent.objects.filter(bot=ledger["rsi"], kind="start").exists()


@pytest.mark.parametrize("message, expected", [
    ("/stop_bot", "Which bot?"),
    ("/stop_bot no such bot", "You have no bot called no such bot."),
    ("/pause #999999", "You have no bot called #999999."),
])
def test_a_bot_that_is_not_named_or_not_yours_changes_nothing(ledger, message, expected):
    from bots.tests.factories import make_user

    bob = make_user("bob")
    make_bot(bob, name="no such bot", status=Bot.Status.RUNNING)
    assert ask(ledger, message).startswith(expected)
    assert Bot.objects.get(name="no such bot").status == Bot.Status.RUNNING
    assert not BotEvent.objects.exists()


def test_two_bots_with_one_name_are_told_apart_by_number(ledger):
    twin = make_bot(ledger["user"], name="eth bot", symbol="ETH/USDT")
    answer = ask(ledger, "/start_bot eth bot")
    assert answer.startswith("Several of your bots are called eth bot") and f"#{twin.pk}" in answer
    assert not BotEvent.objects.exists()
    assert ask(ledger, f"/start_bot #{twin.pk}") == "eth bot: Running."


def test_stopentry_and_resume_entries(ledger):
    assert ask(ledger, "/stopentry").startswith("New entries are stopped for all your bots.")
    profile = Profile.objects.get(user=ledger["user"])
    assert profile.entries_stopped and profile.entries_stopped_by == "telegram"
    assert ask(ledger, "/stopentry").startswith("New entries were already stopped.")
    assert "New entries are stopped for all your bots since" in ask(ledger, "/status")
    assert ask(ledger, "/resume_entries") == "New entries are allowed again for all your bots."
    assert not Profile.objects.get(user=ledger["user"]).entries_stopped
    assert ask(ledger, "/resume_entries") == "New entries were not stopped."
    assert Bot.objects.get(pk=ledger["rsi"].pk).status == Bot.Status.RUNNING  # the bots keep running


@pytest.mark.parametrize("message", ["/daily 0", "/daily 61", "/daily two", "/trades 51", "/profit -1",
                                     "/trades 1e3"])
def test_bad_numbers_get_the_usage_and_nothing_else(ledger, message):
    answer = ask(ledger, message)
    assert answer.startswith("Usage: /") and "whole number" in answer


def test_help_lists_every_command(ledger):
    answer = ask(ledger, "/help")
    for name in COMMANDS:
        assert f"/{name}" in answer
    assert "/start_bot NAME" in answer and "/daily [days]" in answer


def test_unknown_commands_and_free_text(ledger):
    assert ask(ledger, "/frobnicate") == "Unknown command /frobnicate. /help lists the commands."
    assert ask(ledger, "sell everything") == "Which coin do you want to sell?"  # free text: the assistant
    assert ask(ledger, "/STATUS@tradingbot_test_bot").startswith("Bots:")


def test_answers_are_in_the_language_of_the_users_telegram_app(ledger):
    @command("whatlanguage", "test only")
    def whatlanguage(request):
        return f"{translation.get_language()} {timezone.get_current_timezone_name()}"

    try:
        assert text(say(ledger["fake"], ALICE_TG, "/whatlanguage", language_code="th")) == f"th {ZONE}"
        assert text(say(ledger["fake"], ALICE_TG, "/whatlanguage", language_code="xx")) == f"en {ZONE}"
    finally:
        COMMANDS.pop("whatlanguage")


def test_a_failing_command_answers_an_apology_not_a_traceback(ledger):
    @command("explode", "test only")
    def explode(request):
        raise RuntimeError("secret internals")

    try:
        answer = ask(ledger, "/explode")
    finally:
        COMMANDS.pop("explode")
    assert answer.startswith("Sorry, that went wrong on our side") and "secret" not in answer
