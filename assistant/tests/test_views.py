"""The command box's views (every page has the box) and the history page, with Django's test client."""

from decimal import Decimal as D

import pytest

from assistant.models import AssistantRequest
from bots.models import Order
from bots.tests.factories import make_account, make_user
from commands.models import Activity
from exchanges.models import ExchangeAccount

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def alice(fake_exchange, client):
    user = make_user("alice")
    make_account(user, label="Paper", mode=ExchangeAccount.Mode.PAPER)
    client.force_login(user)
    return user


def test_every_page_has_the_command_box_for_logged_in_users(alice, client):
    for url in ("/", "/bots/", "/portfolio/", "/assistant/history/"):
        page = client.get(url, follow=True).content.decode()
        assert 'id="command-box"' in page and 'hx-post="/assistant/ask/"' in page, url
    client.logout()
    assert 'id="command-box"' not in client.get("/accounts/login/").content.decode()


def test_ask_confirm_in_place_and_history(alice, client):
    answer = client.post("/assistant/ask/", {"text": "buy 100 USDT of BTC"}, **HTMX).content.decode()
    activity = Activity.objects.get()
    assert 'data-kind="confirm"' in answer and "Buy 0.00499 BTC at market on Paper" in answer
    assert f'hx-post="/assistant/pending/{activity.pending_id}/confirm/"' in answer
    assert not Order.objects.exists()
    done = client.post(f"/assistant/pending/{activity.pending_id}/confirm/", **HTMX)
    assert 'data-kind="done"' in done.content.decode() and done["HX-Trigger"] == "commandDone"
    assert Order.objects.get().filled == D("0.00499")
    client.post("/assistant/ask/", {"text": "buy BTC"}, **HTMX)
    history = client.get("/assistant/history/").content.decode()
    assert "buy 100 USDT of BTC" in history and "Bought 0.00499 BTC" in history and "buy BTC" in history
    assert "How much BTC" in history


def test_someone_elses_pending_id_and_history_are_not_reachable(alice, client):
    client.post("/assistant/ask/", {"text": "buy 0.001 BTC"}, **HTMX)
    pending = Activity.objects.get().pending_id
    bob = make_user("bob")
    client.force_login(bob)
    answer = client.post(f"/assistant/pending/{pending}/confirm/", **HTMX).content.decode()
    assert 'data-kind="refused"' in answer
    assert "buy 0.001 BTC" not in client.get("/assistant/history/").content.decode()
    assert not Order.objects.exists() and Activity.objects.get().status == "pending"


def test_a_plain_post_without_javascript_gets_a_message(alice, client):
    response = client.post("/assistant/ask/", {"text": "price of btc"}, follow=True)
    assert response.redirect_chain[-1][0] == "/assistant/history/"
    assert "BTC/USDT on binance: 20,000.00 USDT" in response.content.decode()
    assert AssistantRequest.objects.get().door == "web"


def test_anonymous_is_sent_to_log_in(client, db):
    response = client.post("/assistant/ask/", {"text": "buy 1 btc"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not AssistantRequest.objects.exists()


def test_a_question_with_choices_is_answered_by_a_pick(alice, client, fake_exchange):
    live = make_account(alice, label="Binance", mode=ExchangeAccount.Mode.LIVE)
    live.api_key, live.api_secret = fake_exchange.api_key, fake_exchange.api_secret
    live.save()
    answer = client.post("/assistant/ask/", {"text": "buy 0.001 BTC"}, **HTMX).content.decode()
    request = AssistantRequest.objects.get()
    assert 'data-kind="question"' in answer and "Which one?" in answer
    assert f'"request": "{request.pk}", "account": "{live.pk}"' in answer
    picked = client.post("/assistant/ask/", {"request": request.pk, "account": str(live.pk)}, **HTMX).content.decode()
    assert 'data-kind="confirm"' in picked and "Buy 0.001 BTC at market on Binance" in picked
    assert Activity.objects.get().status == "pending" and fake_exchange.orders == []
    # Someone else's account as a pick is asked about again, never used.
    bob = make_user("bob")
    other = make_account(bob, label="Bob's", mode=ExchangeAccount.Mode.PAPER)
    again = client.post("/assistant/ask/", {"request": request.pk, "account": str(other.pk)}, **HTMX).content.decode()
    assert "That account is not one of yours" in again and Activity.objects.count() == 1


def test_without_javascript_a_pending_command_is_confirmed_from_the_history(alice, client):
    response = client.post("/assistant/ask/", {"text": "buy 0.001 BTC"}, follow=True)
    page = response.content.decode()
    pending = Activity.objects.get().pending_id
    assert "Buy 0.001 BTC at market on Paper" in page
    assert f'action="/assistant/pending/{pending}/confirm/"' in page and not Order.objects.exists()
    done = client.post(f"/assistant/pending/{pending}/confirm/", follow=True).content.decode()
    assert "Bought 0.001 BTC" in done and Order.objects.count() == 1
    assert f'action="/assistant/pending/{pending}/confirm/"' not in done
