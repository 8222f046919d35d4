"""Token lifecycle (create, use, expire, revoke, hashed at rest), scopes, rate limit, CSRF rules, and the
seed paths with a token."""

import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from api import tokens
from api.models import ApiToken
from api.tests.conftest import TokenClient, token_client
from bots.models import Bot
from bots.tests.factories import make_bot
from tradingbot.log_redaction import redact

pytestmark = pytest.mark.django_db


def test_token_is_hashed_at_rest_and_works(alice):
    made = tokens.create_token(alice, name="script", scope="read")
    assert made.raw.startswith("tbk_") and len(made.raw) >= 40
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM api_apitoken")
        rows = cursor.fetchall()
    assert len(rows) == 1 and not any(made.raw in str(value) for value in rows[0])
    assert made.token.prefix == made.raw[:10] and made.raw not in str(made.token)
    assert redact(f"using {made.raw}") != f"using {made.raw}"  # registered: never logged
    response = TokenClient(made.raw).get("/api/v1/me")
    assert response.status_code == 200, response.content
    assert response.json() == {"username": "alice", "token_name": "script", "scope": "read"}
    token = ApiToken.objects.get()
    assert token.last_used_at is not None and token.last_used_ip == "127.0.0.1"


def test_wrong_missing_expired_and_revoked_tokens_get_401(alice):
    anonymous = Client(enforce_csrf_checks=True)
    response = anonymous.get("/api/v1/me")
    assert response.status_code == 401 and response.json()["code"] == "unauthenticated"
    write = anonymous.post("/api/v1/bots/1/start", "{}", content_type="application/json")
    assert write.status_code == 401 and write.json()["code"] == "unauthenticated"
    assert TokenClient("tbk_not-a-real-token").get("/api/v1/me").json()["code"] == "invalid_token"
    expiring = tokens.create_token(alice, name="short", scope="read", expires_in=timedelta(hours=1))
    assert TokenClient(expiring.raw).get("/api/v1/me").status_code == 200
    ApiToken.objects.filter(pk=expiring.token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    expired = TokenClient(expiring.raw).get("/api/v1/me")
    assert expired.status_code == 401 and expired.json()["code"] == "invalid_token"
    assert expired["WWW-Authenticate"].startswith("Bearer")
    kept = tokens.create_token(alice, name="kept", scope="read")
    assert tokens.revoke(alice, kept.token.pk) and not tokens.revoke(alice, kept.token.pk)
    assert TokenClient(kept.raw).get("/api/v1/me").status_code == 401


def test_someone_elses_token_cannot_be_revoked(alice, bob):
    made = tokens.create_token(alice, name="a", scope="read")
    assert not tokens.revoke(bob, made.token.pk)
    assert TokenClient(made.raw).get("/api/v1/me").status_code == 200


def test_read_token_cannot_trade(alice, alice_read, alice_trade):
    bot = make_bot(alice)
    refused = alice_read.post(f"/api/v1/bots/{bot.pk}/start")
    assert refused.status_code == 403 and refused.json()["code"] == "insufficient_scope"
    assert Bot.objects.get(pk=bot.pk).status == "stopped"
    assert alice_read.get("/api/v1/bots").status_code == 200
    # The seed path too.
    seed = alice_read.post("/bot/start", {"bot_id": bot.pk})
    assert seed.status_code == 403 and seed.json()["code"] == "insufficient_scope"
    assert Bot.objects.get(pk=bot.pk).status == "stopped"
    started = alice_trade.post(f"/api/v1/bots/{bot.pk}/start")
    assert started.status_code == 200 and started.json()["status"] == "done"
    assert Bot.objects.get(pk=bot.pk).status == "running"


def test_seed_paths_work_with_a_token_and_without_csrf(alice, alice_trade):
    bot = make_bot(alice)
    started = alice_trade.post("/bot/start", {"bot_id": bot.pk})
    assert started.status_code == 200 and started.json()["bot"]["status"] == "running"
    pnl = alice_trade.get("/dashboard/pnl")
    assert pnl.status_code == 200 and pnl.json()["trades"] == 0
    portfolio = alice_trade.get("/portfolio.json")
    assert portfolio.status_code == 200 and [a["label"] for a in portfolio.json()["accounts"]] == ["paper"]
    stopped = alice_trade.post("/bot/stop", {"bot_id": bot.pk})
    assert stopped.status_code == 200 and stopped.json()["bot"]["status"] == "stopped"
    assert TokenClient("tbk_wrong").post("/bot/start", {"bot_id": bot.pk}).status_code == 401
    # A token opens no HTML page: the header is ignored there (login redirect).
    assert alice_trade.get("/bots/").status_code == 302


def test_session_needs_csrf_on_writes_but_not_on_reads(alice):
    bot = make_bot(alice)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    assert browser.get("/api/v1/bots").status_code == 200
    refused = browser.post(f"/api/v1/bots/{bot.pk}/start", "{}", content_type="application/json")
    assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed"
    assert Bot.objects.get(pk=bot.pk).status == "stopped"
    browser.get("/accounts/settings/")  # sets the csrftoken cookie
    csrf = browser.cookies["csrftoken"].value
    accepted = browser.post(f"/api/v1/bots/{bot.pk}/start", "{}", content_type="application/json",
                            HTTP_X_CSRFTOKEN=csrf)
    assert accepted.status_code == 200, accepted.content
    assert Bot.objects.get(pk=bot.pk).status == "running"


def test_a_token_request_with_a_session_cookie_is_judged_by_its_token(alice, bob):
    """A bearer token never borrows the browser's session: bob's token in alice's browser is bob."""
    browser = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {token_client(bob, 'read').raw}")
    browser.force_login(alice)
    assert browser.get("/api/v1/me").json()["username"] == "bob"


def test_rate_limit_answers_429_with_retry_after(alice, settings):
    settings.API_RATE_LIMIT = 3
    client = token_client(alice, "read")
    assert [client.get("/api/v1/me").status_code for _ in range(3)] == [200, 200, 200]
    limited = client.get("/api/v1/me")
    assert limited.status_code == 429 and limited.json()["code"] == "rate_limited"
    assert int(limited["Retry-After"]) >= 1
    assert token_client(alice, "read").get("/api/v1/me").status_code == 200  # per token


def test_management_command_create_list_revoke(alice):
    out, err = io.StringIO(), io.StringIO()
    call_command("api_token", "create", "alice", "--scope", "trade", "--expires", "90d", stdout=out, stderr=err)
    raw = out.getvalue().strip()
    token = ApiToken.objects.get()
    assert token.token_hash == tokens.sha256_hex(raw) and token.scope == "trade"
    assert timedelta(days=89) < token.expires_at - timezone.now() <= timedelta(days=90)
    assert TokenClient(raw).get("/api/v1/me").json()["scope"] == "trade"
    listing = io.StringIO()
    call_command("api_token", "list", "alice", stdout=listing)
    assert token.prefix in listing.getvalue() and raw not in listing.getvalue()
    call_command("api_token", "revoke", "alice", str(token.pk), stdout=io.StringIO())
    assert TokenClient(raw).get("/api/v1/me").status_code == 401
    with pytest.raises(Exception, match="expiry"):
        call_command("api_token", "create", "alice", "--expires", "soon", stdout=io.StringIO())


def test_settings_page_creates_shows_once_and_revokes(alice):
    browser = Client()
    browser.force_login(alice)
    page = browser.post("/api/tokens/new/", {"name": "my script", "scope": "trade", "expires": "30d"})
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    token = ApiToken.objects.get()
    html = page.content.decode()
    start = html.index("tbk_")
    raw = html[start:html.index("<", start)]
    assert tokens.sha256_hex(raw) == token.token_hash
    again = browser.get("/accounts/settings/").content.decode()
    assert raw not in again and token.prefix in again and "my script" in again
    browser.post(f"/api/tokens/{token.pk}/revoke/")
    assert TokenClient(raw).get("/api/v1/me").status_code == 401
    bad = browser.post("/api/tokens/new/", {"name": "", "scope": "admin", "expires": "30d"})
    assert bad.status_code == 400 and ApiToken.objects.count() == 1


def test_errors_are_json_with_a_code(alice_trade):
    missing = alice_trade.get("/api/v1/bots/999999")
    assert missing.status_code == 404 and set(missing.json()) >= {"code", "message"}
    invalid = alice_trade.client.post("/api/v1/bots", "not json", content_type="application/json")
    assert invalid.status_code in (400, 422) and "code" in invalid.json()
    schema_error = alice_trade.post("/api/v1/strategies/configs", {"name": 5})
    assert schema_error.status_code == 422 and schema_error.json()["code"] == "invalid"
    page = alice_trade.get("/api/v1/orders", limit=100000)
    assert page.status_code == 200 and page.json()["limit"] == 200
    assert json.loads(alice_trade.get("/api/v1/orders", limit=0).content)["code"] == "invalid"
