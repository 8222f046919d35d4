"""Bot pages: only the owner's bots, money with its currency, times in the user's zone, HTMX controls."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.test import Client

from bots.models import Bot, BotEvent, Fill, LiveMessage, Order, PnLSnapshot, Position
from bots.tests.test_live import make_bot, make_user

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def add_trade(bot, *, side="buy", price="20000", amount="0.05", when=datetime(2026, 11, 20, 12, 0, tzinfo=UTC)):
    order = Order.objects.create(
        bot=bot, client_order_id=f"c-{bot.pk}-{Order.objects.count()}", symbol=bot.symbol, side=side,
        amount=Decimal(amount), status=Order.Status.CLOSED, filled=Decimal(amount), reason="signal", candle_at=when,
    )
    return Fill.objects.create(order=order, bot=bot, side=side, amount=Decimal(amount), price=Decimal(price),
                               fee=Decimal("1"), time=when)


def test_anonymous_is_sent_to_login_everywhere():
    alice = make_user()
    bot = make_bot(alice)
    client = Client()
    for url in ("/", "/bots/", "/bots/new/", "/bots/new/symbols/", f"/bots/{bot.pk}/"):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login" in response["Location"], url
    response = client.post(f"/bots/{bot.pk}/start/")
    assert response.status_code == 302
    assert Bot.objects.get(pk=bot.pk).status == Bot.Status.STOPPED


def test_another_users_bot_is_not_found_and_cannot_be_controlled():
    alice, bob = make_user("alice"), make_user("bob")
    bobs_bot = make_bot(bob, name="bob's secret bot")
    client = logged_in(alice)
    assert client.get(f"/bots/{bobs_bot.pk}/").status_code == 404
    for action in ("start", "stop", "pause", "resume"):
        assert client.post(f"/bots/{bobs_bot.pk}/{action}/", HTTP_HX_REQUEST="true").status_code == 404
    assert Bot.objects.get(pk=bobs_bot.pk).status == Bot.Status.STOPPED
    assert not BotEvent.objects.filter(bot=bobs_bot).exists()
    for url in ("/", "/bots/"):
        assert "bob&#x27;s secret bot" not in client.get(url).content.decode()


def test_dashboard_shows_each_bot_with_status_position_and_pnl_in_its_currency():
    alice = make_user()
    bot = make_bot(alice, name="btc bot", starting_balance=Decimal("10000"), day_start_equity=Decimal("10100"))
    eth = make_bot(alice, name="eth bot", symbol="ETH/BTC", starting_balance=Decimal("1"))
    PnLSnapshot.objects.create(bot=bot, time=datetime(2026, 11, 20, 12, tzinfo=UTC), equity=Decimal("10150"),
                               realised=Decimal("100"), unrealised=Decimal("50"))
    PnLSnapshot.objects.create(bot=bot, time=datetime(2026, 11, 20, 13, tzinfo=UTC), equity=Decimal("10250.5"),
                               realised=Decimal("100"), unrealised=Decimal("150.5"))
    Position.objects.create(bot=bot, symbol="BTC/USDT", quantity=Decimal("0.5"), average_entry=Decimal("20000"),
                            cost=Decimal("10010"), opened_at=datetime(2026, 11, 20, 12, tzinfo=UTC))
    add_trade(bot, price="20000", amount="0.5")
    html = logged_in(alice).get("/").content.decode()
    assert f'id="dash-bot-{bot.pk}"' in html and f'id="dash-bot-{eth.pk}"' in html
    assert "+250.50 USDT" in html  # total P&L: 10250.50 - 10000
    assert "+150.50 USDT" in html  # today: 10250.50 - 10100
    assert "10,250.50 USDT" in html
    assert "0.50000000 BTC" in html  # the open position (and the recent trade)
    assert "1.00000000 BTC" in html  # the ETH/BTC bot's equity is in BTC, to the satoshi
    assert "20,000.00 USDT" in html  # the recent trade's price
    assert 'ws-connect="/ws/live/"' in html
    assert "Worker" in html


def test_bot_page_shows_trades_events_position_and_its_live_socket():
    alice = make_user()
    bot = make_bot(alice)
    fill = add_trade(bot, price="20123.45", amount="0.01")
    BotEvent.objects.create(bot=bot, kind=BotEvent.Kind.SIGNAL, message="BUY: RSI crossed up through 30")
    LiveMessage.objects.create(group=f"bot-{bot.pk}", html="<p>earlier</p>")
    last = LiveMessage.objects.create(group=f"bot-{bot.pk}", html="<p>latest</p>")
    html = logged_in(alice).get(f"/bots/{bot.pk}/").content.decode()
    assert f'id="fill-{fill.pk}"' in html
    assert "20,123.45 USDT" in html and "0.01000000 BTC" in html
    assert "BUY: RSI crossed up through 30" in html
    assert f'ws-connect="/ws/live/?bot={bot.pk}"' in html
    assert f'data-live-after="{last.pk}"' in html  # the page's starting cursor: nothing between render and connect
    assert "No open position." in html
    assert ">Start</button>" in html and ">Stop</button>" not in html


def test_times_are_shown_in_the_zone_the_browser_reported_and_utc_for_a_bad_one():
    alice = make_user()
    bot = make_bot(alice)
    add_trade(bot, when=datetime(2026, 11, 20, 23, 30, tzinfo=UTC))
    client = logged_in(alice)
    client.cookies["tz"] = "Asia/Tokyo"
    html = client.get(f"/bots/{bot.pk}/").content.decode()
    assert 'datetime="2026-11-20T23:30:00Z"' in html
    assert "2026-11-21 08:30:00" in html  # UTC+9
    client.cookies["tz"] = "America%2FNew_York"  # percent-encoded by some scripts
    assert "2026-11-20 18:30:00" in client.get(f"/bots/{bot.pk}/").content.decode()
    client.cookies["tz"] = "Not/AZone"
    html = client.get(f"/bots/{bot.pk}/").content.decode()
    assert "2026-11-20 23:30:00" in html


def test_htmx_start_then_stop_swaps_the_fragments_and_publishes_live_updates():
    alice = make_user()
    bot = make_bot(alice)
    client = logged_in(alice)
    response = client.post(f"/bots/{bot.pk}/start/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="bot-{bot.pk}-status"' in html and 'data-status="running"' in html
    assert 'hx-swap-oob="true"' in html
    assert ">Stop</button>" in html and "hx-confirm=" in html
    assert Bot.objects.get(pk=bot.pk).status == Bot.Status.RUNNING
    assert LiveMessage.objects.filter(group=f"bot-{bot.pk}").exists()
    event = BotEvent.objects.get(bot=bot, kind=BotEvent.Kind.START)
    assert event.actor == alice and event.source == "web"

    response = client.post(f"/bots/{bot.pk}/stop/", HTTP_HX_REQUEST="true")
    assert 'data-status="stopped"' in response.content.decode()
    assert Bot.objects.get(pk=bot.pk).status == Bot.Status.STOPPED


def test_an_impossible_action_shows_why_and_changes_nothing():
    alice = make_user()
    bot = make_bot(alice)
    client = logged_in(alice)
    response = client.post(f"/bots/{bot.pk}/pause/", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert f'id="bot-{bot.pk}-flash"' in html and "Cannot pause" in html and 'role="alert"' in html
    assert Bot.objects.get(pk=bot.pk).status == Bot.Status.STOPPED
    # Without htmx: a redirect and the same message on the page.
    response = client.post(f"/bots/{bot.pk}/pause/", follow=True)
    assert "Cannot pause" in response.content.decode()
    assert client.post(f"/bots/{bot.pk}/explode/").status_code == 404


def test_live_bot_buttons_ask_for_confirmation():
    from exchanges.models import ExchangeAccount

    alice = make_user()
    account = ExchangeAccount.objects.create(owner=alice, exchange_id="binance", label="real", mode="live")
    bot = make_bot(alice, mode=Bot.Mode.LIVE, exchange_account=account)
    html = logged_in(alice).get(f"/bots/{bot.pk}/").content.decode()
    assert "hx-confirm=\"Start" in html and "REAL money" in html


def test_bot_list_lists_only_own_bots():
    alice, bob = make_user("alice"), make_user("bob")
    make_bot(alice, name="mine")
    make_bot(bob, name="theirs")
    html = logged_in(alice).get("/bots/").content.decode()
    assert "mine" in html and "theirs" not in html


def test_controls_need_the_csrf_token_htmx_sends():
    alice = make_user()
    bot = make_bot(alice)
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post(f"/bots/{bot.pk}/start/", HTTP_HX_REQUEST="true").status_code == 403
    assert Bot.objects.get(pk=bot.pk).status == Bot.Status.STOPPED
    page = client.get(f"/bots/{bot.pk}/").content.decode()
    token = page.split('"X-CSRFToken": "', 1)[1].split('"', 1)[0]  # base.html's hx-headers
    response = client.post(f"/bots/{bot.pk}/start/", HTTP_HX_REQUEST="true", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200
    assert Bot.objects.get(pk=bot.pk).status == Bot.Status.RUNNING
