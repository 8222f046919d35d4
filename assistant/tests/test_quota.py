"""Per-user rate limits and the daily token budget (cache counters), and the settings that set them."""

import os
import subprocess

import pytest

from assistant import quota
from bots.tests.factories import make_user
from tests.process_env import PROJECT_DIR, PYTHON

pytestmark = pytest.mark.django_db


def test_requests_are_counted_per_user_per_minute(settings):
    settings.ASSISTANT_REQUESTS_PER_MINUTE = 2
    alice, bob = make_user("alice"), make_user("bob")
    quota.reset(alice)
    quota.reset(bob)
    assert [quota.take_request(alice) for _ in range(3)][:2] == [0, 0]
    assert 1 <= quota.take_request(alice) <= 61  # refused requests keep counting
    assert quota.take_request(bob) == 0
    quota.reset(alice)
    assert quota.take_request(alice) == 0
    quota.reset(alice)
    quota.reset(bob)


def test_zero_turns_a_limit_off(settings):
    settings.ASSISTANT_REQUESTS_PER_MINUTE = 0
    settings.ASSISTANT_LLM_CALLS_PER_MINUTE = 0
    alice = make_user("alice")
    assert all(quota.take_request(alice) == 0 for _ in range(50))
    assert all(quota.take_llm_call(alice) for _ in range(50))


def test_the_token_budget_per_user_and_for_everyone(settings):
    alice, bob = make_user("alice"), make_user("bob")
    quota.reset(alice)
    quota.reset(bob)
    settings.ASSISTANT_LLM_DAILY_TOKENS_PER_USER = 1000
    settings.ASSISTANT_LLM_DAILY_TOKENS_TOTAL = 0
    quota.spend_tokens(alice, 999)
    assert quota.within_token_budget(alice)
    quota.spend_tokens(alice, 1)
    assert not quota.within_token_budget(alice) and quota.within_token_budget(bob)
    settings.ASSISTANT_LLM_DAILY_TOKENS_TOTAL = 1200
    quota.spend_tokens(bob, 200)
    assert quota.tokens_used_today(None) == 1200 and not quota.within_token_budget(bob)
    quota.reset(alice)
    quota.reset(bob)


@pytest.mark.parametrize("name,value,message", [
    ("ASSISTANT_REQUESTS_PER_MINUTE", "lots", "ASSISTANT_REQUESTS_PER_MINUTE must be a number"),
    ("ASSISTANT_LLM_TIMEOUT_SECONDS", "-1", "must not be negative"),
    ("ASSISTANT_LLM_ANSWER", "xml", "ASSISTANT_LLM_ANSWER must be tool or json_schema"),
])
def test_bad_settings_are_refused_clearly(name, value, message):
    env = {**os.environ, name: value}
    result = subprocess.run([PYTHON, "manage.py", "check"], cwd=PROJECT_DIR, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode != 0 and message in result.stderr
