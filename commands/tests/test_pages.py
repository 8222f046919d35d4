"""The web door: the order ticket with its inline confirmation, close and cancel buttons, the Alerts, Portfolio
and Activity pages, JSON errors, and isolation (another user's objects are a 404 on every new URL)."""

import json
import re
from decimal import Decimal as D

import pytest
from django.test import Client
from django.urls import reverse

from bots.models import Bot, Order, Position
from bots.tests.factories import make_bot
from commands.definitions import CreateAlert, PlaceOrder
from commands.models import Activity, PriceAlert, TradingPreferences
from commands.service import submit

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


@pytest.fixture
def web(alice):
    client = Client()
    client.force_login(alice)
    return client


def ticket_post(account, **fields):
    data = {"account": str(account.pk), "symbol": "BTC/USDT", "side": "buy", "order_type": "market",
            "amount": "100", "unit": "quote", "price": "", "request_id": "r1", "scope": "account"}
    data.update(fields)
    return data


def test_the_account_page_loads_the_ticket_and_a_paper_order_runs_at_once(web, alice, paper, fake):
    page = web.get(reverse("exchanges:detail", args=[paper.pk])).content.decode()
    assert reverse("commands:account_trading", args=[paper.pk]) in page
    fragment = web.get(reverse("commands:account_trading", args=[paper.pk])).content.decode()
    assert 'name="amount"' in fragment and 'name="unit"' in fragment and "Place order" in fragment
    assert "<script" not in fragment and " onclick=" not in fragment
    response = web.post(reverse("commands:ticket"), ticket_post(paper), headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and "outcome-done" in html and "Bought 0.00499 BTC" in html
    assert 'id="ticket-account-request-id"' in html and 'hx-swap-oob="true"' in html  # a new id for the next order
    assert Position.objects.get().quantity == D("0.00499")
    # The same request id again (a double submit) is the same order, not a second one.
    web.post(reverse("commands:ticket"), ticket_post(paper), headers=HTMX)
    assert Order.objects.count() == 1
    fragment = web.get(reverse("commands:account_trading", args=[paper.pk])).content.decode()
    assert "Manual · Paper · BTC/USDT" in fragment


def test_a_live_order_is_confirmed_inline(web, alice, live, fake):
    html = web.post(reverse("commands:ticket"), ticket_post(live, unit="base", amount="0.01"),
                    headers=HTMX).content.decode()
    assert "outcome-needs_confirmation" in html and "Buy 0.01 BTC at market on Binance (binance, live)" in html
    pending_id = re.search(r"/trade/pending/([^/]+)/confirm/", html).group(1)
    assert fake.orders == []
    done = web.post(reverse("commands:confirm", args=[pending_id]), headers=HTMX).content.decode()
    assert "outcome-done" in done and "Bought 0.01 BTC" in done and len(fake.orders) == 1
    again = web.post(reverse("commands:confirm", args=[pending_id]), headers=HTMX).content.decode()
    assert "already done" in again and len(fake.orders) == 1


def test_a_plain_form_post_redirects_with_a_message(web, alice, live, fake):
    response = web.post(reverse("commands:ticket"), ticket_post(live, unit="base", amount="0.01"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("commands:activity")
    page = response.content.decode()
    assert "Confirm it on the Activity page" in page and "Waiting for your confirmation" in page
    bad = web.post(reverse("commands:ticket"), ticket_post(live, amount="abc"), follow=True).content.decode()
    assert "Amount: Enter a number." in bad and Order.objects.count() == 0


def test_close_position_button_on_the_bot_page(web, alice, live, fake):
    bot = make_bot(alice, account=live, name="live bot", mode=Bot.Mode.LIVE)
    Position.objects.create(bot=bot, symbol="BTC/USDT", quantity=D("0.5"), entry_quantity=D("0.5"),
                            opened_at="2026-01-01T00:00Z")
    page = web.get(reverse("bots:detail", args=[bot.pk])).content.decode()
    assert reverse("commands:close_position", args=[bot.pk]) in page and "Close position" in page
    assert "Trade by hand" in page and 'readonly' in page  # the ticket, on this bot's market
    html = web.post(reverse("commands:close_position", args=[bot.pk]), headers=HTMX).content.decode()
    assert "outcome-needs_confirmation" in html and "Sell 0.5 BTC" in html and fake.orders == []


def test_alerts_page_sets_lists_and_cancels(web, alice, paper, fake):
    page = web.get(reverse("commands:alerts")).content.decode()
    assert f'value="account:{paper.pk}"' in page
    response = web.post(reverse("commands:alerts"), {"source": f"account:{paper.pk}", "symbol": "btc/usdt",
                                                     "direction": "above", "price": "70000", "note": ""}, follow=True)
    page = response.content.decode()
    assert "Alert set: Tell me when BTC/USDT goes above 70,000.00 USDT on Paper (binance)." in page
    alert = PriceAlert.objects.get()
    assert f'id="alert-{alert.pk}"' in page
    bad = web.post(reverse("commands:alerts"), {"source": f"account:{paper.pk}", "symbol": "NOPE/USDT",
                                                "direction": "above", "price": "1"}).content.decode()
    assert "binance has no market NOPE/USDT" in bad and PriceAlert.objects.count() == 1
    web.post(reverse("commands:cancel_alert", args=[alert.pk]))
    alert.refresh_from_db()
    assert alert.status == "canceled"


def test_portfolio_page_prices_fragment_and_json(web, alice, paper, fake):
    bought = submit(alice, PlaceOrder(account_id=str(paper.pk), symbol="BTC/USDT", side="buy", amount="0.04"),
                    door="web")
    assert bought.done, bought.message
    page = web.get(reverse("commands:portfolio")).content.decode()
    assert reverse("commands:portfolio_prices") in page and 'hx-trigger="load"' in page
    prices = web.get(reverse("commands:portfolio_prices")).content.decode()
    assert 'data-asset="BTC"' in prices and "Manual · Paper · BTC/USDT" in prices
    data = web.get(reverse("commands:portfolio_json")).json()
    account = data["accounts"][0]
    btc = next(b for b in account["balances"] if b["asset"] == "BTC")
    assert btc["total"] == "0.04" and D(btc["value"]) == D("0.04") * D("20000")  # valued at the last price
    assert D(account["value"]) == D(next(b for b in account["balances"] if b["asset"] == "USDT")["total"]) + D("800")
    assert data["positions"][0]["manual"] is True and data["positions"][0]["quantity"] == "0.04"
    assert D(data["positions"][0]["unrealised"]) < 0  # bought at the ask plus the fee, valued at the last price


def test_json_endpoints_answer_json_errors():
    anonymous = Client()
    for path in (reverse("commands:portfolio_json"), "/dashboard/pnl"):
        response = anonymous.get(path)
        assert response.status_code == 401 and response["Content-Type"] == "application/json"
        assert response.json()["code"] == "unauthenticated"


def test_json_endpoints_refuse_a_missing_csrf_token_with_json(alice):
    bot = make_bot(alice)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice)
    response = strict.post("/bot/start", json.dumps({"bot_id": bot.pk}), content_type="application/json")
    assert response.status_code == 403 and response["Content-Type"] == "application/json"
    assert response.json()["code"] == "csrf_failed"
    wrong = strict.get("/bot/start")
    assert wrong.status_code == 405 and wrong.json()["code"] == "method_not_allowed"
    page = strict.post(reverse("commands:preferences"), {"confirm_simulated": "1"})
    assert page.status_code == 403 and "text/html" in page["Content-Type"]  # a page stays a page
    assert Bot.objects.get(pk=bot.pk).status == "stopped"


def test_activity_page_lists_commands_and_pending_ones_with_their_buttons(web, alice, live, fake):
    pending = submit(alice, PlaceOrder(account_id=str(live.pk), symbol="BTC/USDT", side="buy", amount="0.01"),
                     door="api", source_text='{"symbol": "BTC/USDT"}')
    submit(alice, PlaceOrder(account_id=str(live.pk), symbol="NOPE/USDT", side="buy", amount="1"), door="web")
    page = web.get(reverse("commands:activity")).content.decode()
    assert "Waiting for your confirmation" in page and reverse("commands:confirm", args=[pending.pending_id]) in page
    assert "binance has no market NOPE/USDT" in page and "API" in page
    detail = web.get(reverse("commands:activity_detail", args=[pending.activity_id])).content.decode()
    assert "{&quot;symbol&quot;: &quot;BTC/USDT&quot;}" in detail
    web.post(reverse("commands:preferences"), {"confirm_simulated": "1"})
    assert TradingPreferences.objects.get(user=alice).confirm_simulated is True


def test_every_new_url_is_a_404_for_another_users_objects(alice, bob, live, fake):
    bot = make_bot(alice, account=live, name="live bot", mode=Bot.Mode.LIVE)
    position = Position.objects.create(bot=bot, symbol="BTC/USDT", quantity=D("0.5"), entry_quantity=D("0.5"),
                                       opened_at="2026-01-01T00:00Z")
    order = Order.objects.create(bot=bot, client_order_id="tb1-1-b", symbol="BTC/USDT", side="buy", amount=1,
                                 candle_at="2026-01-01T00:00Z", status="open")
    pending = submit(alice, PlaceOrder(account_id=str(live.pk), symbol="BTC/USDT", side="buy", amount="0.01"),
                     door="web")
    alert_outcome = submit(alice, CreateAlert(symbol="BTC/USDT", direction="above", price="1",
                                              account_id=str(live.pk)), door="web")
    alert = PriceAlert.objects.get(pk=alert_outcome.result["alert_id"])
    intruder = Client()
    intruder.force_login(bob)
    gets = [reverse("commands:account_trading", args=[live.pk]), reverse("commands:manual_limits", args=[live.pk]),
            reverse("commands:bot_edit", args=[bot.pk]), reverse("commands:bot_delete", args=[bot.pk]),
            reverse("commands:activity_detail", args=[pending.activity_id])]
    posts = [reverse("commands:cancel_account_orders", args=[live.pk]),
             reverse("commands:confirm", args=[pending.pending_id]),
             reverse("commands:cancel_pending", args=[pending.pending_id]),
             reverse("commands:force_exit", args=[position.pk]), reverse("commands:cancel_order", args=[order.pk]),
             reverse("commands:close_position", args=[bot.pk]), reverse("commands:cancel_bot_orders", args=[bot.pk]),
             reverse("commands:bot_clone", args=[bot.pk]), reverse("commands:bot_archive", args=[bot.pk]),
             reverse("commands:bot_restore", args=[bot.pk]), reverse("commands:bot_delete", args=[bot.pk]),
             reverse("commands:bot_edit", args=[bot.pk]), reverse("commands:cancel_alert", args=[alert.pk]),
             reverse("commands:manual_limits", args=[live.pk])]
    for url in gets:
        assert intruder.get(url).status_code == 404, url
    for url in posts:
        assert intruder.post(url, headers=HTMX).status_code == 404, url
    ticket = intruder.post(reverse("commands:ticket"), ticket_post(live, unit="base", amount="0.01"), headers=HTMX)
    assert ticket.status_code == 404
    assert fake.orders == [] and Bot.objects.count() == 1
    assert Activity.objects.get(pk=pending.activity_id).status == "pending"
    assert PriceAlert.objects.get(pk=alert.pk).status == "active"
    mine = intruder.get(reverse("commands:activity")).content.decode()
    assert "Buy 0.01 BTC" not in mine
    data = intruder.get(reverse("commands:portfolio_json")).json()
    assert data["accounts"] == [] and data["positions"] == [] and data["orders"] == []


def test_a_replay_bot_page_has_no_ticket_and_its_badge_is_not_about_trading(web, alice, paper):
    replay = make_bot(alice, account=paper, name="replay", mode=Bot.Mode.REPLAY)
    page = web.get(reverse("bots:detail", args=[replay.pk])).content.decode()
    assert "Trade by hand" not in page and 'title="Page updates over the websocket (not trading mode)"' in page
