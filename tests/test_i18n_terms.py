"""Issue 10, the translators' second round, against the real catalogues: an English word with two meanings
has a context for each, the words filled into a sentence are in the sentence's language (shown at once, or
stored in English and translated when shown), and the strategy descriptions are translated."""

import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation import pgettext, trans_real

from accounts.models import Profile
from bots import control
from bots.models import Bot, Order, Position
from bots.tests.factories import make_account, make_bot, make_user
from exchanges.models import ExchangeAccount, SimOrder
from strategies.registry import STRATEGIES
from tradingbot import stored_text
from tradingbot.stored_text import shown

FOLDERS = {"th": "th", "zh-hans": "zh_Hans", "ja": "ja"}
# language -> (order type Market, trading pair Market, order status Open, position status Open)
TERMS = {"ja": ("成行", "銘柄", "未約定", "保有中"),
         "zh-hans": ("市价", "交易对", "未成交", "持仓中"),
         "th": ("ราคาตลาด", "คู่เทรด", "ค้างอยู่", "เปิดอยู่")}


@pytest.fixture(scope="module", autouse=True)
def real_catalogues():
    """The .mo of each catalogue, built when older than its .po (as `make messages` does), loaded afresh."""
    for folder in FOLDERS.values():
        po = Path(settings.BASE_DIR) / "locale" / folder / "LC_MESSAGES" / "django.po"
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            subprocess.run(["msgfmt", "--check", "-o", str(mo), str(po)], check=True)
    trans_real._translations = {}
    stored_text._patterns.cache_clear()
    stored_text._shown_cached.cache_clear()


@pytest.mark.parametrize("language", TERMS)
def test_each_meaning_of_market_and_open_has_its_own_translation(language):
    order_type, pair, order_open, position_open = TERMS[language]
    with translation.override(language):
        assert pgettext("order type", "Market") == order_type
        assert pgettext("trading pair", "Market") == pair
        assert str(Order.Status.OPEN.label) == order_open
        assert str(SimOrder.Status.OPEN.label) == order_open
        assert str(Position.Status.OPEN.label) == position_open
        assert pgettext("entry time", "Entry") != pgettext("entry price", "Entry")
        assert pgettext("exit time", "Exit") != pgettext("close the position", "Exit")


@pytest.fixture
def fake(fake_exchange):  # tests/conftest.py's fake exchange, by its short name here
    return fake_exchange


@pytest.mark.django_db
def test_the_order_ticket_says_pair_and_order_type_apart_in_japanese(client, fake):
    alice = make_user("alice")
    Profile.objects.create(user=alice, language="ja")
    account = make_account(alice, label="Paper", mode=ExchangeAccount.Mode.PAPER)
    client.force_login(alice)
    html = client.get(reverse("commands:account_trading", args=[account.pk])).content.decode()
    assert '<option value="market" selected>成行</option>' in html
    assert "銘柄</label>" in html
    assert ">Market<" not in html


@pytest.mark.django_db
def test_a_bot_change_refused_names_the_action_and_statuses_in_the_readers_language():
    bot = make_bot(make_user("alice"))  # stopped
    with translation.override("ja"), pytest.raises(control.BotControlError) as refused:
        control.resume_bot(bot)
    message = str(refused.value)
    assert "再開" in message and "停止" in message and "一時停止" in message
    assert "resume" not in message and "stopped" not in message and "paused" not in message
    with translation.override("en"), pytest.raises(control.BotControlError) as refused:
        control.resume_bot(bot)
    assert str(refused.value) == ("Cannot resume bot 'rsi bot': it is stopped; resume works from paused, "
                                  "halted by a risk rule.")
    assert Bot.objects.get(pk=bot.pk).status == Bot.Status.STOPPED


def test_stored_order_events_show_their_side_type_and_status_translated():
    stored = "BUY 0.01 BTC/USDT market (manual, web)"  # as commands.execution stores it
    with translation.override("ja"):
        assert shown(stored).startswith("買い 0.01 BTC/USDT 成行")
        assert "約定済み" in shown("Order c-1 found on the exchange: closed, filled 0.01.")
    with translation.override("zh-hans"):
        assert shown("SELL 0.01 BTC/USDT limit at 70,000.00 (manual, web)").startswith("卖出 0.01 BTC/USDT 限价")
    with translation.override("th"):
        assert shown(stored).startswith("ซื้อ 0.01 BTC/USDT ราคาตลาด")
    with translation.override("en"):
        assert shown(stored) == stored


@pytest.mark.django_db
@pytest.mark.parametrize("language", FOLDERS)
def test_the_strategies_page_describes_each_rule_in_the_readers_language(client, language):
    alice = make_user("alice")
    Profile.objects.create(user=alice, language=language)
    client.force_login(alice)
    page = client.get(reverse("strategies:list")).content.decode()
    for cls in STRATEGIES.values():
        with translation.override("en"):
            english = cls.description()
        with translation.override(language):
            translated = cls.description()
        assert translated != english
        assert english not in page
        assert translated.replace("'", "&#x27;").replace(">", "&gt;").replace("<", "&lt;")[:40] in page
