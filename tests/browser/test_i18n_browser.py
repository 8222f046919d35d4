"""Issue 10 in a real browser: a Thai user's dates are formatted by the page's script in Thai, in the Gregorian
calendar (2026, not the Buddhist 2569 that th-TH gives by default), and the switcher changes the language."""

from datetime import UTC, datetime

import pytest

from accounts.models import Profile
from bots.models import BotEvent
from bots.tests.factories import make_bot, make_user
from tests.browser.conftest import log_in, wait_for_js

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def thai_page(chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="th-TH",
                                   timezone_id="Asia/Bangkok")
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def test_a_thai_user_sees_gregorian_years_in_script_formatted_dates(web_server, thai_page):
    alice = make_user("alice")
    Profile.objects.create(user=alice, language="th")
    bot = make_bot(alice)
    BotEvent.objects.create(bot=bot, kind=BotEvent.Kind.SETTINGS, message="Archived.",
                            time=datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    page = thai_page
    log_in(page, web_server.url, alice)
    page.goto(f"{web_server.url}/bots/{bot.pk}/")
    assert page.get_attribute("html", "lang") == "th"
    # This browser would write Buddhist-era years: the calendar is the page script's doing.
    assert "2569" in page.evaluate(
        "new Intl.DateTimeFormat('th-TH', {year: 'numeric'}).format(new Date(Date.UTC(2026, 2, 1)))")
    wait_for_js(page, f"document.querySelector('#bot-{bot.pk}-events time[data-localised]') !== null")
    shown = page.inner_text(f"#bot-{bot.pk}-events time")
    assert shown.startswith("2026-03-01 19:00"), shown  # Asia/Bangkok, Gregorian
    assert "2569" not in shown
    # The JavaScript catalogue is served from our origin (script-src 'self') and defines gettext.
    assert page.evaluate("typeof window.gettext") == "function"
    assert page.evaluate("window.tradingbotLocale.locale()") == "th-u-ca-gregory-nu-latn"


def test_the_switcher_changes_the_language_and_it_survives_logout_and_login(web_server, page):
    alice = make_user("alice")
    log_in(page, web_server.url, alice)
    assert page.get_attribute("html", "lang") == "en"
    page.select_option("#language-select", "ja")
    page.click("#language-switcher button[type=submit]")
    page.wait_for_load_state()
    assert page.get_attribute("html", "lang") == "ja"
    assert Profile.objects.get(user=alice).language == "ja"
    # Log out, forget the browser's cookies (another device), log in again: the profile's language.
    page.click("nav form[action$='/logout/'] button")
    page.wait_for_url("**/accounts/login/")
    page.context.clear_cookies()
    page.goto(f"{web_server.url}/accounts/login/")
    assert page.get_attribute("html", "lang") == "en"
    page.fill("#id_username", "alice")
    page.fill("#id_password", "a-long-password-1")
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{web_server.url}/")
    assert page.get_attribute("html", "lang") == "ja"
