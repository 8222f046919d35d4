"""The Settings page: the user's time zone, the sections other apps add, and no Telegram needed."""

import subprocess

import pytest
from django.urls import reverse

from accounts.models import Profile
from bots.tests.factories import make_user
from tests.process_env import PROJECT_DIR, PYTHON

pytestmark = pytest.mark.django_db


def test_the_page_needs_a_login(client):
    response = client.get(reverse("accounts:settings"))
    assert response.status_code == 302 and "/accounts/login" in response["Location"]


def test_the_time_zone_is_suggested_from_the_browser_and_saved(client):
    alice = make_user("alice")
    client.force_login(alice)
    client.cookies["tz"] = "Asia/Bangkok"
    page = client.get(reverse("accounts:settings")).content.decode()
    assert '<option value="Asia/Bangkok" selected>' in page
    assert Profile.objects.get(user=alice).time_zone == "UTC"  # only a suggestion until saved
    assert client.post(reverse("accounts:settings"), {"time_zone": "Asia/Bangkok"}).status_code == 302
    assert Profile.objects.get(user=alice).time_zone == "Asia/Bangkok"


@pytest.mark.parametrize("value", ["Mars/Olympus", "", "x" * 100])
def test_a_bad_time_zone_is_refused_and_nothing_is_saved(client, value):
    alice = make_user("alice")
    client.force_login(alice)
    response = client.post(reverse("accounts:settings"), {"time_zone": value})
    assert response.status_code == 400 and 'class="errorlist' in response.content.decode()
    assert Profile.objects.get(user=alice).time_zone == "UTC"


def test_without_a_token_every_page_works_and_telegram_is_off(client, settings):
    settings.TELEGRAM_BOT_TOKEN = ""
    alice = make_user("alice")
    client.force_login(alice)
    for url in ("/", "/bots/", reverse("accounts:settings"), "/strategies/", "/exchanges/"):
        assert client.get(url).status_code == 200, url
    page = client.get(reverse("accounts:settings")).content.decode()
    assert "Telegram is not set up on this installation" in page
    assert client.post(reverse("telegram_bot:link")).status_code == 302  # refused with a message, no token made
    assert client.post("/telegram/webhook", data="{}", content_type="application/json").status_code == 404


def test_without_a_token_the_app_starts_and_the_telegram_command_says_why_not():
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_")}
    check = subprocess.run([PYTHON, "manage.py", "check"], cwd=PROJECT_DIR, env=env, capture_output=True, text=True,
                           timeout=120)
    assert check.returncode == 0, check.stderr
    telegram = subprocess.run([PYTHON, "manage.py", "telegram"], cwd=PROJECT_DIR, env=env, capture_output=True,
                              text=True, timeout=120)
    assert telegram.returncode != 0 and "Telegram is off: set TELEGRAM_BOT_TOKEN" in telegram.stderr


@pytest.mark.parametrize("name, value, message", [
    ("TELEGRAM_BOT_TOKEN", "not-a-token-at-all", "TELEGRAM_BOT_TOKEN does not look like a bot token"),
    ("TELEGRAM_WEBHOOK_SECRET", "has spaces!", "TELEGRAM_WEBHOOK_SECRET may hold only"),
])
def test_a_malformed_telegram_setting_stops_the_start_without_echoing_it(name, value, message):
    import os

    env = {**{k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_")}, name: value}
    result = subprocess.run([PYTHON, "manage.py", "check"], cwd=PROJECT_DIR, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode != 0 and message in result.stderr and value not in result.stderr
