"""Settings for a web server a test starts to force a 500: the project's own, plus one URL whose view fails
while it holds decrypted keys (tests/fault_urls.py). Everything else (error filter, reporter, logging) is real."""

from tradingbot.settings import *  # noqa: F403

ROOT_URLCONF = "tests.fault_urls"
