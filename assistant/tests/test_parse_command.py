"""manage.py parse_command "TEXT" [--offline] [--json] [--user NAME]."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from assistant.models import AssistantRequest
from assistant.parse import JSON_KEYS
from bots.tests.factories import make_account, make_user
from exchanges.models import SimOrder

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("parse_command", *args, stdout=out)
    return out.getvalue()


def test_json_has_exactly_the_keys_and_null_where_not_given():
    data = json.loads(run("buy 100 USDT of BTC", "--json"))
    assert tuple(data) == JSON_KEYS
    assert data == {"intent": "buy", "symbol": "BTC/USDT", "amount": 100.0, "unit": "quote", "order_type": "market",
                    "price": None, "direction": None, "bot": None, "engine": "offline", "confidence": 1.0}


@pytest.mark.parametrize("text,expected", [
    ("ขาย ETH ทั้งหมด", {"intent": "sell", "symbol": "ETH/USDT", "amount": 100.0, "unit": "percent"}),
    ("sell half my eth", {"amount": 50.0, "unit": "percent"}),
    ("alert me when BTC goes above 70k", {"intent": "alert", "price": 70000.0, "direction": "above",
                                          "amount": None, "order_type": None}),
    ("buy 0.1 btc at 42,000", {"order_type": "limit", "price": 42000.0, "unit": "base"}),
    ("stop bot alpha", {"intent": "bot_stop", "bot": "alpha", "symbol": None}),
    ("hello", {"intent": "unknown", "confidence": 0.0, "symbol": None}),
])
def test_json_values(text, expected):
    data = json.loads(run(text, "--json", "--offline"))
    assert {k: data[k] for k in expected} == expected


def test_the_plain_output_says_what_was_understood_and_that_nothing_ran():
    out = run("buy BTC")
    assert "intent: buy" in out and "symbol: BTC/USDT (default quote currency)" in out
    assert "missing: amount" in out and "How much BTC" in out and "(nothing was executed)" in out


def test_with_a_user_it_resolves_and_records_and_places_nothing(fake_exchange):
    alice = make_user("alice")
    make_account(alice, label="paper")
    out = run("buy 100 usdt of btc", "--user", "alice")
    assert "resolution: ready" in out and "account: paper (binance, paper)" in out
    assert not AssistantRequest.objects.exists() and not SimOrder.objects.exists()


def test_the_llm_is_used_when_configured_and_offline_forces_it_off(fake_openai):
    fake_openai.reply_tool({"intent": "price", "base": "BTC", "quote": None, "amount": None, "unit": None,
                            "order_type": None, "price": None, "direction": None, "bot": None, "account": None,
                            "everything": False, "confidence": 0.7})
    assert json.loads(run("what's bitcoin worth", "--json"))["engine"] == "llm"
    assert json.loads(run("what's bitcoin worth", "--json", "--offline"))["engine"] == "offline"
    assert len(fake_openai.requests) == 1
    fake_openai.reply_error(500)
    out = run("what's bitcoin worth")
    assert "engine: offline" in out and "note: The language model answered with an error" in out


@pytest.mark.parametrize("args,message", [
    (("",), "Type a command"), (("x" * 501,), "at most 500"), (("price", "--user", "nobody"), "No user 'nobody'"),
])
def test_bad_input_is_a_command_error(args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)
