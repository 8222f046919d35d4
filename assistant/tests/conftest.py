"""Fixtures for the assistant's tests: the fake OpenAI server and the fake exchange, and limits off by default.

The LLM is unconfigured unless a test asks for `fake_openai`, so no test ever reaches a real endpoint
even when the environment has OPENAI_* set. Rate limits and budgets are off (0) unless a test sets them:
quota counters are keyed by user id, which the test databases reuse from test to test.
"""

import pytest

from tests.fake_exchange import fake_exchange  # noqa: F401  (a pytest fixture)
from tests.fake_openai import fake_openai  # noqa: F401  (a pytest fixture)


@pytest.fixture(autouse=True)
def assistant_settings(settings):
    settings.OPENAI_API_KEY = ""
    settings.OPENAI_BASE_URL = ""
    settings.OPENAI_MODEL = ""
    settings.ASSISTANT_REQUESTS_PER_MINUTE = 0
    settings.ASSISTANT_LLM_CALLS_PER_MINUTE = 0
    settings.ASSISTANT_LLM_DAILY_TOKENS_PER_USER = 0
    settings.ASSISTANT_LLM_DAILY_TOKENS_TOTAL = 0
    settings.ASSISTANT_DEFAULT_QUOTE = "USDT"
    return settings
