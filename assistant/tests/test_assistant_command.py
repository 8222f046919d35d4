"""`manage.py assistant USER "TEXT" [--yes] [--json]`: the command box's path from a shell."""

import json
from decimal import Decimal as D
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from assistant.models import AssistantRequest
from bots.models import Order
from bots.tests.factories import make_account, make_user
from commands.models import Activity
from exchanges.models import ExchangeAccount

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(fake_exchange):
    user = make_user("alice")
    make_account(user, label="Paper", mode=ExchangeAccount.Mode.PAPER)
    return user


def run(*args) -> str:
    out = StringIO()
    call_command("assistant", *args, stdout=out)
    return out.getvalue()


def test_without_yes_it_only_proposes(alice):
    out = run("alice", "buy 100 USDT of BTC")
    assert "Buy 0.00499 BTC at market on Paper" in out and "manage.py trade alice confirm" in out
    assert not Order.objects.exists()
    activity = Activity.objects.get()
    assert (activity.status, activity.door) == ("pending", "command")
    assert activity.pending_id in out
    assert AssistantRequest.objects.get().door == "cli"


def test_with_yes_it_confirms_and_buys_once(alice):
    out = run("alice", "buy 100 USDT of BTC", "--yes")
    assert "done: Bought 0.00499 BTC" in out, out
    assert Order.objects.get().filled == D("0.00499")
    assert AssistantRequest.objects.get().outcome == "executed"


def test_json(alice):
    data = json.loads(run("alice", "buy 0.001 btc", "--yes", "--json"))
    assert data["reply"]["kind"] == "confirm" and data["reply"]["parse"]["amount"] == 0.001
    assert data["confirmed"]["kind"] == "done"
    data = json.loads(run("alice", "price of btc", "--json"))
    assert data["reply"]["kind"] == "answer" and data["confirmed"] is None and "20,000.00" in data["reply"]["text"]


def test_a_question_is_printed_and_nothing_done(alice):
    out = run("alice", "buy BTC", "--yes")
    assert out.startswith("question: How much BTC")
    assert not Activity.objects.exists() and not Order.objects.exists()


def test_refusals_exit_non_zero(alice):
    with pytest.raises(CommandError, match="No active user"):
        run("nobody", "help")
    with pytest.raises(CommandError, match="Not enough USDT"):
        run("alice", "buy 1 BTC", "--yes")
    assert not Order.objects.exists()
