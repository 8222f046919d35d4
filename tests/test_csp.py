"""Content-Security-Policy: every page is served with a policy that allows no inline script, inline handler,
inline style or eval, and no page of ours needs one (issue 9, item 18)."""

import re
from html.parser import HTMLParser

import pytest
from django.test import Client

from bots.models import BotEvent
from bots.tests.factories import make_bot, make_user
from strategies.models import Backtest

pytestmark = pytest.mark.django_db


class InlineCode(HTMLParser):
    """Collects what a strict CSP would block: inline <script>, on* handlers, style attributes and <style>
    blocks, javascript: URLs."""

    def __init__(self):
        super().__init__()
        self.found = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script" and not attributes.get("src") and attributes.get("type") not in (
                "application/json", "application/ld+json"):
            self._in_script = True
        if tag == "style":
            self.found.append("<style> block")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=...>")
            if name == "style":
                self.found.append(f"<{tag} style={value!r}>")
            if name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith(
                    "javascript:"):
                self.found.append(f"<{tag} {name}=javascript:...>")

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.found.append(f"inline <script>{data.strip()[:60]}</script>")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False


def inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    return parser.found


def directives(header: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def test_every_page_has_a_strict_policy_and_no_inline_code(django_user_model):
    alice = make_user("alice")
    alice.is_staff = alice.is_superuser = True
    alice.save()
    bot = make_bot(alice)
    BotEvent.objects.create(bot=bot, kind="start", source="web", message="<script>alert(1)</script> started")
    backtest = Backtest.objects.create(owner=alice, strategy="rsi_cross", params={}, exchange="binance",
                                       symbol="BTC/USDT", timeframe="5m", status="done", metrics={})
    anonymous, client = Client(), Client()
    client.force_login(alice)
    pages = {anonymous: ["/accounts/login/", "/accounts/signup/", "/accounts/password/reset/",
                         "/accounts/password/reset/sent/", "/admin/login/"],
             client: ["/", "/bots/", "/bots/new/", f"/bots/{bot.pk}/", "/strategies/", "/strategies/new/",
                      "/strategies/backtests/", "/strategies/backtests/new/", f"/strategies/backtests/{backtest.pk}/",
                      "/exchanges/", "/exchanges/accounts/new/", f"/exchanges/accounts/{bot.exchange_account.pk}/",
                      f"/exchanges/accounts/{bot.exchange_account.pk}/edit/", "/accounts/password/", "/admin/",
                      "/admin/bots/bot/", f"/admin/bots/bot/{bot.pk}/change/"]}
    for who, urls in pages.items():
        for url in urls:
            response = who.get(url)
            assert response.status_code == 200, url
            policy = directives(response["Content-Security-Policy"])
            assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"], url
            assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"], url
            assert not any("unsafe" in value for values in policy.values() for value in values), url
            assert inline_code(response.content.decode()) == [], url
    # JSON answers carry it too (a policy on every response, not only on pages).
    assert "script-src 'self'" in client.get("/dashboard/pnl")["Content-Security-Policy"]


def test_the_checker_sees_inline_code():
    found = inline_code('<div style="x"><a href="javascript:go()" onclick="go()">x</a><script>go()</script>'
                        '<script src="/static/a.js"></script><script type="application/json">{"a": 1}</script>')
    assert len(found) == 4 and any("inline <script>go()" in f for f in found)


def test_htmx_is_configured_from_a_static_file_for_the_policy():
    html = Client().get("/accounts/login/").content.decode()
    scripts = re.findall(r'<script src="([^"]+)"', html)
    htmx = next(i for i, src in enumerate(scripts) if "/htmx-2" in src)
    config = next(i for i, src in enumerate(scripts) if src.endswith("js/htmx-config.js"))
    assert config > htmx  # runs after htmx is defined, before it initialises (both deferred, in order)
    from django.contrib.staticfiles import finders

    text = open(finders.find("js/htmx-config.js")).read()
    for setting in ("includeIndicatorStyles = false", "allowEval = false", "allowScriptTags = false"):
        assert setting in text
