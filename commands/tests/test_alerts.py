"""Price alerts: made through the command service, checked by the worker's minute against tickers fetched once
per (exchange, symbol); a one-shot alert fires once, a repeating one each time the price crosses again; the
direction is respected; state survives a worker restart; a fired alert is a live notification, an Activity
entry and a signal (the hook Telegram will use)."""

from decimal import Decimal as D

import pytest
from django_q.models import Schedule

from bots import live
from bots.models import LiveMessage
from bots.tests.factories import make_account
from commands import alerts, notifications, tasks
from commands.definitions import CancelAlert, CreateAlert
from commands.models import Activity, PriceAlert
from commands.service import submit
from commands.tests.conftest import replay_bot_with_position
from exchanges.models import ExchangeAccount

pytestmark = pytest.mark.django_db


def alert(user, account, direction="above", price="21000", **fields) -> PriceAlert:
    outcome = submit(user, CreateAlert(symbol=fields.pop("symbol", "BTC/USDT"), direction=direction, price=price,
                                       account_id=str(account.pk), **fields), door="web")
    assert outcome.done, outcome.message
    return PriceAlert.objects.get(pk=outcome.result["alert_id"])


def ticker_requests(fake, symbol="BTCUSDT") -> int:
    return sum(1 for method, path, params in fake.requests if path.endswith("/ticker/24hr")
               and params.get("symbol") == symbol)


@pytest.fixture
def heard():
    events = []

    def receiver(sender, **kwargs):
        events.append(kwargs)

    notifications.user_notified.connect(receiver)
    yield events
    notifications.user_notified.disconnect(receiver)


def test_a_one_shot_alert_fires_once_with_a_notification_an_activity_and_the_signal(alice, paper, fake, heard):
    above = alert(alice, paper, "above", "21000", note="take profit?")
    assert above.status == "active"
    assert alerts.check_alerts()["fired"] == 0  # 20,000 is not above 21,000
    fake.set_price("BTC/USDT", "21000.5")
    before = live.last_message_id(live.notify_group(alice.pk))
    assert alerts.check_alerts()["fired"] == 1
    above.refresh_from_db()
    assert (above.status, above.fire_count, above.last_price) == ("fired", 1, D("21000.5"))
    entry = Activity.objects.get(command="alert_fired")
    assert entry.owner == alice and entry.door == "worker" and entry.status == "done"
    assert "BTC/USDT went above 21,000.00 USDT: now 21,000.50 USDT on Paper (binance). take profit?" == entry.message
    message = LiveMessage.objects.filter(group=live.notify_group(alice.pk), pk__gt=before).get()
    assert 'id="notifications" hx-swap-oob="afterbegin"' in message.html and "21,000.50" in message.html
    assert [e["kind"] for e in heard] == ["alert_fired"] and heard[0]["alert"].pk == above.pk
    assert heard[0]["price"] == D("21000.5") and heard[0]["user"] == alice
    # Later minutes, and a restarted worker (nothing kept in memory), do not fire it again.
    for _ in range(2):
        assert alerts.check_alerts(alerts.TickerBoard())["fired"] == 0
    assert Activity.objects.filter(command="alert_fired").count() == 1


def test_direction_is_respected(alice, paper, fake):
    below = alert(alice, paper, "below", "19000")
    above = alert(alice, paper, "above", "19000")
    fake.set_price("BTC/USDT", "19500")
    assert alerts.check_alerts()["fired"] == 1
    below.refresh_from_db()
    above.refresh_from_db()
    assert (below.status, above.status) == ("active", "fired")
    fake.set_price("BTC/USDT", "18999")
    assert alerts.check_alerts()["fired"] == 1
    below.refresh_from_db()
    assert below.status == "fired"


def test_a_repeating_alert_fires_again_only_after_the_price_came_back(alice, paper, fake):
    repeating = alert(alice, paper, "above", "21000", repeat=True)
    fake.set_price("BTC/USDT", "21500")
    assert alerts.check_alerts()["fired"] == 1
    assert alerts.check_alerts()["fired"] == 0  # still above: no new crossing
    fake.set_price("BTC/USDT", "20500")
    assert alerts.check_alerts()["fired"] == 0  # re-armed
    fake.set_price("BTC/USDT", "21200")
    assert alerts.check_alerts(alerts.TickerBoard())["fired"] == 1
    repeating.refresh_from_db()
    assert (repeating.status, repeating.fire_count) == ("active", 2)


def test_one_ticker_fetch_per_exchange_and_symbol_for_all_alerts(alice, bob, paper, fake):
    bobs = make_account(bob, label="Bob paper", mode=ExchangeAccount.Mode.PAPER)
    for price in ("21000", "22000", "23000"):
        alert(alice, paper, "above", price)
        alert(bob, bobs, "above", price)
    alert(alice, paper, "above", "2000", symbol="ETH/USDT")
    fake.requests.clear()
    result = alerts.check_alerts()
    assert result["alerts"] == 7 and result["checked"] == 7 and result["fetches"] == 2
    assert ticker_requests(fake, "BTCUSDT") == 1 and ticker_requests(fake, "ETHUSDT") == 1


def test_an_unreachable_price_is_noted_and_tried_next_minute(alice, paper, fake):
    above = alert(alice, paper, "above", "10000")
    fake.inject("5xx", times=10)
    assert alerts.check_alerts()["fired"] == 0
    above.refresh_from_db()
    assert above.status == "active" and above.last_error
    fake.faults.clear()
    assert alerts.check_alerts()["fired"] == 1


def test_an_alert_on_a_replay_bots_price(alice, paper):
    bot = replay_bot_with_position(alice, paper)
    close = bot.positions.get().average_entry
    outcome = submit(alice, CreateAlert(symbol="BTC/USDT", direction="below", price=str(close * 2), bot_id=bot.pk),
                     door="web")
    assert outcome.done and "replay bot replay rsi" in outcome.message
    wrong = submit(alice, CreateAlert(symbol="ETH/BTC", direction="below", price="1", bot_id=bot.pk), door="web")
    assert wrong.code == "unknown_symbol"
    assert alerts.check_alerts()["fired"] == 1
    assert "on replay bot replay rsi" in Activity.objects.get(command="alert_fired").message


def test_alert_refusals_and_cancel(alice, bob, paper, fake):
    bobs = make_account(bob, label="Bob paper", mode=ExchangeAccount.Mode.PAPER)
    assert submit(alice, CreateAlert(symbol="BTC/USDT", direction="above", price="1", account_id=str(bobs.pk)),
                  door="web").code == "not_found"
    assert submit(alice, CreateAlert(symbol="NOPE/USDT", direction="above", price="1", account_id=str(paper.pk)),
                  door="web").code == "unknown_symbol"
    assert submit(alice, CreateAlert(symbol="BTC/USDT", direction="sideways", price="1", account_id=str(paper.pk)),
                  door="web").code == "invalid"
    assert submit(alice, CreateAlert(symbol="BTC/USDT", direction="above", price="1"), door="web").code == "missing"
    assert not PriceAlert.objects.exists()
    mine = alert(alice, paper)
    assert submit(bob, CancelAlert(alert_id=mine.pk), door="web").code == "not_found"
    assert submit(alice, CancelAlert(alert_id=mine.pk), door="web").done
    mine.refresh_from_db()
    assert mine.status == "canceled"
    fake.set_price("BTC/USDT", "99999")
    assert alerts.check_alerts()["alerts"] == 0


def test_the_worker_runs_it_every_minute(alice, paper, fake):
    schedule = Schedule.objects.get(func="commands.tasks.every_minute")
    assert (schedule.schedule_type, schedule.minutes, schedule.repeats) == ("I", 1, -1)
    alert(alice, paper, "above", "19000")
    result = tasks.every_minute()
    assert result["alerts"]["fired"] == 1 and result["settled"] == 0
