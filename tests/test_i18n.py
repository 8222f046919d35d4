"""Issue 10: every text a person reads is in their language.

- the catalogues: each language complete (0 untranslated, 0 fuzzy, msgfmt --check clean) and up to date with
  the code (makemessages into a copy of locale/ adds no msgid);
- pages (dashboard, a bot, Settings) in Thai, Chinese and Japanese show no English labels;
- Telegram notifications, live fragments and stored bot events in the user's language (a test catalogue,
  tests.i18n_fixtures, so this part does not wait for the translators).
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse
from django.utils import translation

from accounts.models import Profile
from bots import control
from bots.models import BotEvent
from bots.tests.factories import make_bot, make_user
from tradingbot.stored_text import shown

PROJECT = Path(settings.BASE_DIR)
LANGUAGES = {"th": "th", "zh-hans": "zh_Hans", "ja": "ja"}  # Django's code -> the locale folder's name
# The options the catalogues are made with (README, "Languages").
MAKEMESSAGES_IGNORE = [".venv/*", "var/*", "bench/*", "*/tests/*", "tests/*", "static/vendor/*"]

# Labels of the navigation and the main pages: none of them may stay English on a translated page.
KEY_LABELS = ["Dashboard", "Bots", "Strategies", "Backtests", "Exchanges", "Settings", "Log out", "Portfolio",
              "Alerts", "Activity", "Recent trades", "Health", "Events", "Trade log", "Open position",
              "Open orders", "Equity", "Start", "Stop", "Pause", "Save", "Language", "Time zone", "Profile",
              "Change your password", "New bot", "Buy", "Sell", "Time", "Side", "Amount", "Price", "Fee", "Status",
              "Today", "Total P&amp;L", "Trades", "Create bot", "Cancel"]


def catalogue(language: str, domain: str = "django") -> Path:
    return PROJECT / "locale" / LANGUAGES[language] / "LC_MESSAGES" / f"{domain}.po"


def compiled(language: str, domain: str = "django") -> Path:
    """The .mo of a catalogue, built now when older than its .po (as `make messages` does)."""
    po = catalogue(language, domain)
    mo = po.with_suffix(".mo")
    if po.exists() and (not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime):
        subprocess.run(["msgfmt", "--check", "-o", str(mo), str(po)], check=True)
    return mo


@pytest.fixture(scope="module", autouse=True)
def compile_catalogues():
    for language in LANGUAGES:
        for domain in ("django", "djangojs"):
            compiled(language, domain)
    translation.trans_real._translations = {}  # a .mo made just now is read
    yield


# ---- the catalogues ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("domain", ["django", "djangojs"])
@pytest.mark.parametrize("language", LANGUAGES)
def test_each_catalogue_is_complete_and_clean(language, domain):
    po = catalogue(language, domain)
    assert po.exists(), f"{po.relative_to(PROJECT)} is missing (makemessages -d {domain})"
    check = subprocess.run(["msgfmt", "--check", "--statistics", "-o", os.devnull, str(po)],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    entries = polib.pofile(str(po))
    untranslated = [e.msgid for e in entries.untranslated_entries() if not e.obsolete]
    fuzzy = [e.msgid for e in entries.fuzzy_entries()]
    assert not untranslated, f"{len(untranslated)} untranslated in {language}/{domain}, e.g. {untranslated[:5]}"
    assert not fuzzy, f"{len(fuzzy)} fuzzy in {language}/{domain}, e.g. {fuzzy[:5]}"


@pytest.fixture(scope="module")
def fresh_catalogues(tmp_path_factory):
    """makemessages run on the code now, into a copy of locale/ (the committed one is not touched): a tree of
    links to the project's folders, its own locale/ first in LOCALE_PATHS."""
    root = tmp_path_factory.mktemp("messages")
    for entry in PROJECT.iterdir():
        if entry.name in ("locale", ".venv", "var", ".git") or entry.name.startswith("."):
            continue
        (root / entry.name).symlink_to(entry)
    shutil.copytree(PROJECT / "locale", root / "locale", ignore=shutil.ignore_patterns("*.mo"))
    cwd = os.getcwd()
    os.chdir(root)
    try:
        with override_settings(LOCALE_PATHS=[root / "locale"]):
            for domain in ("django", "djangojs"):
                call_command("makemessages", locale=list(LANGUAGES.values()), domain=domain, symlinks=True,
                             ignore_patterns=MAKEMESSAGES_IGNORE, no_obsolete=True, verbosity=0)
    finally:
        os.chdir(cwd)
    return root / "locale"


@pytest.mark.parametrize("domain", ["django", "djangojs"])
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_catalogues_hold_every_text_of_the_code(fresh_catalogues, language, domain):
    committed = catalogue(language, domain)
    fresh = fresh_catalogues / LANGUAGES[language] / "LC_MESSAGES" / f"{domain}.po"
    assert fresh.exists()
    have = {(e.msgctxt, e.msgid) for e in polib.pofile(str(committed))} if committed.exists() else set()
    missing = sorted(msgid for context, msgid in {(e.msgctxt, e.msgid) for e in polib.pofile(str(fresh))} - have)
    assert not missing, (f"{len(missing)} texts marked in the code are not in {committed.relative_to(PROJECT)} "
                         f"(run makemessages, see README): {missing[:10]}")


# ---- pages in each language (the project's catalogues) -------------------------------------------------------

def english_leftovers(page: str) -> list[str]:
    """Key labels shown as a whole text (a link, a heading, a button, a column) in English."""
    return [label for label in KEY_LABELS
            if re.search(r">\s*" + re.escape(label) + r"\s*<", page)]


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_pages_and_live_fragments_are_translated(client, language):
    from bots import live
    from bots.models import LiveMessage
    from bots.tests.test_views import add_trade

    alice = make_user("alice")
    Profile.objects.create(user=alice, language=language)
    bot = make_bot(alice)
    add_trade(bot, side="buy")
    add_trade(bot, side="sell", price="21000")
    client.force_login(alice)
    pages = [reverse("bots:dashboard"), reverse("bots:list"), reverse("bots:create"),
             reverse("bots:detail", args=[bot.pk]), reverse("bots:fills", args=[bot.pk]), reverse("strategies:list"),
             reverse("strategies:backtests"), reverse("strategies:backtest_new"), reverse("exchanges:list"),
             reverse("commands:portfolio"), reverse("commands:alerts"), reverse("commands:activity"),
             reverse("assistant:history"), reverse("accounts:settings"), reverse("accounts:password_change")]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        assert f'<html lang="{language}">' in page
        with translation.override(language):
            expected = translation.gettext("Settings")
        assert expected in page
        assert not english_leftovers(page), f"English left on {url} in {language}: {english_leftovers(page)}"
    # The fragments the worker pushes over the websocket, rendered where no request says the language.
    with translation.override("en"):
        live.publish_bot_update(bot.pk)
    for group in (live.bot_group(bot.pk), live.user_group(alice.pk)):
        html = LiveMessage.objects.filter(group=group).latest("id").html
        assert not english_leftovers(html), f"English left in the live fragments of {group}: {english_leftovers(html)}"


# ---- the machinery, with the test catalogue -----------------------------------------------------------------

@pytest.fixture
def telegram(fake_telegram):
    return fake_telegram


@pytest.fixture
def thai(thai_catalogue):
    return thai_catalogue


@pytest.mark.django_db
def test_a_telegram_notification_to_a_thai_user_is_in_thai(telegram, thai):
    from notify import delivery
    from notify.outbox import notify
    from telegram_bot.tests.chats import ALICE_TG, linked_user

    alice = linked_user("alice", ALICE_TG, language_code="en")  # the Telegram app is in English
    Profile.objects.filter(user=alice).update(language="th")  # the platform's choice wins
    Profile.objects.get_or_create(user=alice, defaults={"language": "th"})
    notify(alice, "bot_problem", "bot_error", bot="rsi bot", reason="no such market")
    delivery.deliver(alice.pk)
    (message,) = telegram.sent_to(ALICE_TG)
    english = "%(bot)s stopped with an error: %(reason)s"
    with translation.override("th"):
        expected = translation.gettext(english) % {"bot": "rsi bot", "reason": "no such market"}
    assert expected != english % {"bot": "rsi bot", "reason": "no such market"}
    assert message["text"] == expected


@pytest.mark.django_db
def test_without_a_platform_choice_telegram_follows_the_telegram_app(telegram, thai):
    from notify import delivery
    from notify.outbox import notify
    from telegram_bot.tests.chats import ALICE_TG, linked_user

    alice = linked_user("alice", ALICE_TG, language_code="th")
    notify(alice, "bot_problem", "bot_error", bot="rsi bot", reason="x")
    delivery.deliver(alice.pk)
    (message,) = telegram.sent_to(ALICE_TG)
    assert message["text"] == thai["%(bot)s stopped with an error: %(reason)s"] % {
        "bot": "rsi bot", "reason": "x"}


@pytest.mark.django_db
def test_a_bot_event_is_stored_in_english_and_shown_in_the_readers_language(client, thai):
    alice = make_user("alice")
    Profile.objects.create(user=alice, language="th")
    bot = make_bot(alice, status="running")
    control.stop_bot(bot, actor=alice, source="web")
    event = BotEvent.objects.get(bot=bot, kind=BotEvent.Kind.STOP)
    assert event.message == "Stopped by web (alice)."  # the log and the admin keep English
    client.force_login(alice)
    page = client.get(reverse("bots:detail", args=[bot.pk])).content.decode()
    assert "หยุดโดย web (alice)" in page
    assert "Stopped by web (alice)." not in page
    # The same row on an English reader's page.
    Profile.objects.filter(user=alice).update(language="en")
    page = client.get(reverse("bots:detail", args=[bot.pk])).content.decode()
    assert "Stopped by web (alice)." in page


def test_stored_texts_translate_by_their_msgid(thai):
    with translation.override("th"):
        assert shown("Stopped") == "หยุดแล้ว"
        # A placeholder filled with a text that is itself known.
        assert shown("BUY refused (halted): The halt ended: the bot may open positions again.") == (
            "ปฏิเสธการซื้อ (halted): สิ้นสุดการหยุดพัก: บอทเปิดสถานะได้อีกครั้ง")
        # Sentences joined into one text, each translated.
        assert shown("Started by web (bob). The halt ended: the bot may open positions again.") == (
            "เริ่มโดย web (bob) สิ้นสุดการหยุดพัก: บอทเปิดสถานะได้อีกครั้ง")
        # A fired alert, as the worker stores it (English), with the user's note after it.
        assert shown("BTC/USDT went above 70,000.00 USDT: now 70,100.00 USDT on Binance (live). Take profit?") == (
            "BTC/USDT ขึ้นเหนือ 70,000.00 USDT: ตอนนี้ 70,100.00 USDT บน Binance (live) Take profit?")
        # Unknown text: as stored.
        assert shown("Something the catalogue never saw.") == "Something the catalogue never saw."
        assert shown("") == ""
    with translation.override("en"):
        assert shown("Stopped by web (bob).") == "Stopped by web (bob)."


@pytest.mark.django_db
def test_live_fragments_are_rendered_in_the_owners_language(thai):
    from bots import live
    from bots.models import LiveMessage

    alice = make_user("alice")
    Profile.objects.create(user=alice, language="th")
    bot = make_bot(alice)
    live.forget_watched_cache()
    live.watch([live.bot_group(bot.pk)])  # the bot's page is open: its fragments are rendered, not only marked
    with translation.override("en"):  # the worker's process: no request, English active
        live.publish_bot_update(bot.pk)
    live.forget_watched_cache()
    html = LiveMessage.objects.filter(group=live.bot_group(bot.pk)).latest("id").html
    assert thai["Stopped"] in html  # the status badge
    assert ">Stopped<" not in html


@pytest.mark.django_db
def test_a_new_visitor_with_a_thai_browser_gets_thai(client, thai):
    page = client.get(reverse("accounts:login"), headers={"accept-language": "th-TH,th;q=0.9,en;q=0.5"})
    assert page["Content-Language"] == "th"
    assert ">เข้าสู่ระบบ<" in page.content.decode()
    page = client.get(reverse("accounts:login"), headers={"accept-language": "en-US"})
    assert ">Log in<" in page.content.decode()


@pytest.mark.django_db
def test_a_password_reset_email_is_in_the_accounts_language(client, django_user_model, mailoutbox, thai):
    from accounts import password_reset

    carol = django_user_model.objects.create_user("carol", email="carol@example.org", password="old-password-1234")
    Profile.objects.create(user=carol, language="th")
    # Asked from an English browser, sent in a background thread: still the account's language.
    client.post(reverse("accounts:password_reset"), {"email": "carol@example.org"}, headers={"accept-language": "en"})
    password_reset.wait_for_mail()
    (message,) = mailoutbox
    assert message.subject.startswith("ตั้งรหัสผ่านใหม่บน ")


@pytest.fixture(autouse=True)
def clean_cache():
    from django.core.cache import cache

    cache.clear()  # the Telegram pause and rate counters of another test
    yield
    cache.clear()


@pytest.mark.parametrize("language", LANGUAGES)
def test_server_dates_are_gregorian_in_every_language(language):
    from datetime import UTC, datetime

    from django.template import Context, Template

    moment = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    with translation.override(language):
        text = Template('{{ moment|date:"DATE_FORMAT" }} {% load times %}{{ moment|when }}').render(
            Context({"moment": moment}))
    assert "2026" in text and "2569" not in text
