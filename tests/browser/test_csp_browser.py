"""The pages under the Content-Security-Policy in a real browser: no violation anywhere, and htmx, the live
websocket and the time-zone script still work (issue 9, item 18)."""

import pytest

from bots.models import Bot
from bots.tests.test_live import make_bot, make_user
from tests.browser.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + (e.sample || ""));
});
"""


def test_no_page_violates_the_policy_and_htmx_and_the_socket_still_work(web_server, page):
    alice = make_user()
    alice.is_staff = alice.is_superuser = True
    alice.save()
    bot = make_bot(alice, name="csp bot")
    page.add_init_script(RECORD_VIOLATIONS)
    violations, headers = {}, {}
    page.on("console", lambda m: violations.setdefault("console", []).append(m.text)
            if "Content Security Policy" in m.text else None)
    page.on("response", lambda r: headers.__setitem__(r.url, r.headers.get("content-security-policy"))
            if r.request.resource_type == "document" else None)

    for url in ("/accounts/login/", "/accounts/password/reset/", "/accounts/signup/"):
        page.goto(f"{web_server.url}{url}")
        page.wait_for_load_state("load")
        violations[url] = page.evaluate("window.__csp")
    log_in(page, web_server.url, alice)
    for url in ("/", "/bots/", "/bots/new/", "/strategies/", "/strategies/backtests/new/", "/exchanges/",
                "/admin/", "/admin/bots/bot/"):
        page.goto(f"{web_server.url}{url}")
        page.wait_for_load_state("load")
        violations[url] = page.evaluate("window.__csp")

    page.goto(f"{web_server.url}/bots/{bot.pk}/")
    page.wait_for_selector("#live-state.live-on")  # htmx's websocket extension connected under connect-src 'self'
    page.click("button[value=start]")  # an hx-post with the CSRF header from hx-headers
    page.wait_for_selector(f"#bot-{bot.pk}-controls button[value=stop]")
    assert Bot.objects.get(pk=bot.pk).status == Bot.Status.RUNNING
    assert page.evaluate("document.querySelectorAll('style').length") == 0  # htmx injected no <style>
    violations["bot page"] = page.evaluate("window.__csp")

    assert all(policy and "script-src 'self'" in policy for policy in headers.values()), headers
    assert {where: found for where, found in violations.items() if found} == {}
