"""The interactive API docs in a real browser under the site's Content-Security-Policy: a token made on the
Settings page, then django-ninja's bundled Swagger UI (our static files, no CDN) renders every operation with
no policy violation, and its "Try it out" calls the API with that bearer token."""

import pytest

from api import tokens
from api.models import ApiToken
from bots.tests.factories import make_user
from tests.browser.conftest import log_in, wait_for_js

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + (e.sample || ""));
});
"""


def test_docs_render_under_the_csp_from_our_static_files(web_server, page):
    alice = make_user("alice")
    page.set_default_timeout(30_000)  # Swagger UI's bundle is 1.5 MB of JavaScript: slow on a loaded machine
    page.add_init_script(RECORD_VIOLATIONS)
    console, requested, policy = [], [], {}
    page.on("console", lambda m: console.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("request", lambda r: requested.append(r.url))
    page.on("response", lambda r: policy.setdefault("header", r.headers.get("content-security-policy"))
            if r.request.resource_type == "document" else None)
    # A token made on the Settings page, shown once.
    log_in(page, web_server.url, alice)
    page.goto(f"{web_server.url}/accounts/settings/")
    page.fill("#settings-api-tokens input[name=name]", "docs page")
    page.select_option("#settings-api-tokens select[name=scope]", "read")
    page.click("#settings-api-tokens button[type=submit]:has-text('Create a token')")
    raw = page.inner_text("#api-new-token code").strip()
    assert ApiToken.objects.get(owner=alice).token_hash == tokens.sha256_hex(raw)
    violations_settings = page.evaluate("window.__csp")
    page.context.clear_cookies()  # the docs page and its calls with the token alone

    from django.test import Client

    operations = sum(len(methods) for methods in Client().get("/api/v1/openapi.json").json()["paths"].values())
    page.goto(f"{web_server.url}/api/docs")
    wait_for_js(page, f"document.querySelectorAll('.opblock').length >= {operations}", timeout=20_000)
    assert "script-src 'self'" in policy["header"]
    assert all(url.startswith(web_server.url) for url in requested), [u for u in requested
                                                                       if not u.startswith(web_server.url)]
    assert page.evaluate("document.querySelectorAll('.opblock').length") == operations
    assert "/api/v1/exchange/keys" in page.inner_text("#swagger-ui")

    # Authorize with the token, then "Try it out" on GET /api/v1/me.
    page.click("button.authorize")
    page.fill(".auth-container input[type=text], .auth-container input:not([type])", raw)
    page.click(".auth-btn-wrapper button.authorize")
    page.click("button.btn-done")
    block = page.locator(".opblock", has_text="/api/v1/me").first
    block.locator(".opblock-summary").click()
    block.locator("button.try-out__btn").click()
    block.locator("button.execute").click()
    page.wait_for_selector(".response .highlight-code")
    assert '"username": "alice"' in block.locator(".responses-wrapper").inner_text()

    assert violations_settings == [] and page.evaluate("window.__csp") == [] and console == []
