"""POST /api/v1/assistant: the assistant's one function (assistant.conversation.ask) with door "api"; a
command comes back 202 with its pending id and runs only once confirmed through the API."""

import pytest

from api.tests.conftest import token_client
from assistant.models import AssistantRequest
from bots.models import Order
from bots.tests.factories import make_account
from commands.models import Activity
from tests.fake_exchange import fake_exchange  # noqa: F401  (a pytest fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def offline_assistant(settings):
    settings.OPENAI_API_KEY = settings.OPENAI_BASE_URL = settings.OPENAI_MODEL = ""
    settings.ASSISTANT_REQUESTS_PER_MINUTE = 0


def test_assistant_proposes_and_the_api_confirms(alice, fake_exchange):  # noqa: F811
    paper = make_account(alice, label="Paper", mode="paper")
    api = token_client(alice, "trade")
    reply = api.post("/api/v1/assistant", {"text": "buy 100 USDT of BTC"})
    assert reply.status_code == 202, reply.content
    body = reply.json()
    assert body["kind"] == "confirm" and body["sentence"].startswith("Buy 0.00499 BTC at market on Paper")
    assert body["parse"]["intent"] == "buy" and body["pending_id"]
    assert not Order.objects.exists()  # the assistant only proposes
    activity = Activity.objects.get(pk=body["activity_id"])
    assert (activity.door, activity.status) == ("api", "pending")
    assert AssistantRequest.objects.get(pk=body["request_id"]).door == "api"

    done = api.post(f"/api/v1/commands/{body['pending_id']}/confirm")
    assert done.status_code == 200 and done.json()["status"] == "done", done.content
    assert Order.objects.filter(side="buy", bot__exchange_account=paper).count() == 1
    again = api.post(f"/api/v1/commands/{body['pending_id']}/confirm")
    assert again.status_code == 409 and again.json()["code"].startswith("already_")
    assert Order.objects.count() == 1


def test_assistant_asks_rather_than_guesses_and_a_read_token_cannot_use_it(alice, fake_exchange):  # noqa: F811
    make_account(alice, label="Paper", mode="paper")
    question = token_client(alice, "trade").post("/api/v1/assistant", {"text": "buy BTC"})
    assert question.status_code == 200 and question.json()["kind"] == "question"
    assert not Order.objects.exists()
    refused = token_client(alice, "read").post("/api/v1/assistant", {"text": "buy 100 USDT of BTC"})
    assert refused.status_code == 403 and refused.json()["code"] == "insufficient_scope"
