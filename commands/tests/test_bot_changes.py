"""Bot changes through the command service: edit (a running bot's risk limits only), clone, archive (trades
kept in the P&L totals), delete, start/stop audited; and strategy configurations not changed under a running bot."""

from decimal import Decimal as D

import pytest
from django.test import Client
from django.urls import reverse

from bots import live as bots_live
from bots.models import Bot, BotEvent, PnLSnapshot, Position
from bots.tests.factories import make_bot, make_strategy_config
from commands.definitions import ArchiveBot, CloneBot, ControlBot, DeleteBot, EditBot
from commands.models import Activity
from commands.service import submit
from exchanges.models import SimWallet
from strategies.models import StrategyConfig

pytestmark = pytest.mark.django_db


@pytest.fixture
def web(alice):
    client = Client()
    client.force_login(alice)
    return client


@pytest.fixture
def bot(alice, paper, fake):
    return make_bot(alice, account=paper, name="rsi paper")


def test_edit_a_stopped_bot_through_the_form_in_percent(web, alice, bot):
    page = web.get(reverse("commands:bot_edit", args=[bot.pk])).content.decode()
    assert 'id="edit-stopped"' in page and 'name="stake" value="10"' in page
    data = _form_data(bot)
    data.update(stake="25", stop_loss_pct="3", symbol="ETH/USDT")
    response = web.post(reverse("commands:bot_edit", args=[bot.pk]), data)
    assert response.status_code == 302, response.content.decode()[-2000:]
    bot.refresh_from_db()
    assert (bot.stake, bot.stop_loss_pct, bot.symbol) == (D("0.25"), D("0.03"), "ETH/USDT")
    event = BotEvent.objects.get(bot=bot, kind="settings")
    assert event.source == "web" and "stake" in event.message and event.actor == alice
    assert Activity.objects.get(command="edit_bot").status == "done"


def _form_data(bot) -> dict:
    """What the edit page posts for this bot unchanged (an unticked checkbox posts nothing)."""
    from commands.bot_changes import bot_form_data

    return {k: v for k, v in bot_form_data(Bot.objects.get(pk=bot.pk), {}).items() if v is not False}


def test_a_running_bot_changes_only_its_risk_limits(alice, bot):
    Bot.objects.filter(pk=bot.pk).update(status=Bot.Status.RUNNING)
    refused = submit(alice, EditBot(bot_id=bot.pk, changes={"symbol": "ETH/USDT", "stake": D("0.2")}), door="api")
    assert refused.code == "stop_first" and "symbol" in refused.message
    done = submit(alice, EditBot(bot_id=bot.pk, changes={"stake": D("0.2"), "max_drawdown_pct": D("0.3")}),
                  door="api")
    assert done.done, done.message
    bot.refresh_from_db()
    assert (bot.stake, bot.max_drawdown_pct, bot.symbol) == (D("0.2"), D("0.3"), "BTC/USDT")


def test_the_market_of_a_bot_holding_a_position_does_not_change(alice, bot):
    Position.objects.create(bot=bot, symbol="BTC/USDT", quantity=1, entry_quantity=1, opened_at="2026-01-01T00:00Z")
    refused = submit(alice, EditBot(bot_id=bot.pk, changes={"symbol": "ETH/USDT"}), door="web")
    assert refused.code == "holds_position" and "open position" in refused.message
    assert Bot.objects.get(pk=bot.pk).symbol == "BTC/USDT"


def test_bad_values_are_refused_by_the_bot_forms_rules(alice, bot):
    refused = submit(alice, EditBot(bot_id=bot.pk, changes={"max_position_pct": D("0")}), door="api")
    assert refused.code == "invalid" and "block every entry" in refused.message
    unknown = submit(alice, EditBot(bot_id=bot.pk, changes={"owner": 2}), door="api")
    assert unknown.code == "invalid" and "not bot settings: owner" in unknown.message


def test_clone_archive_restore_and_delete(web, alice, bot):
    clone = submit(alice, CloneBot(bot_id=bot.pk), door="web")
    assert clone.done and clone.message == "Created rsi paper (copy), a stopped copy of rsi paper."
    copy = Bot.objects.get(pk=clone.result["bot_id"])
    assert (copy.status, copy.symbol, copy.strategy, copy.stake) == ("stopped", bot.symbol, bot.strategy, bot.stake)
    assert submit(alice, CloneBot(bot_id=bot.pk), door="web").result["bot_id"] != copy.pk  # "(copy) (2)"
    PnLSnapshot.objects.create(bot=bot, time="2026-01-01T00:00Z", equity=D("10250"), realised=D("250"),
                               unrealised=0)
    assert submit(alice, ArchiveBot(bot_id=bot.pk), door="web").done
    assert "rsi paper" not in [b.name for b in Bot.objects.for_user(alice).listed()]
    listing = web.get(reverse("bots:list")).content.decode()
    assert 'id="archived-bots"' in listing
    dashboard = web.get(reverse("bots:dashboard")).content.decode()
    assert f'id="dash-bot-{bot.pk}"' not in dashboard
    totals = bots_live.dashboard_totals(alice)["totals"][0]
    assert totals["pnl"] == D("250") and bot.pk not in [b.pk for b in totals["bots"]]  # its trades still count
    assert submit(alice, ControlBot(bot_id=bot.pk, action="start"), door="web").code == "not_found"
    assert submit(alice, ArchiveBot(bot_id=bot.pk, restore=True), door="web").done
    assert Bot.objects.get(pk=bot.pk).archived_at is None
    SimWallet.objects.create(key=copy.wallet_key)
    deleted = submit(alice, DeleteBot(bot_id=copy.pk), door="web")
    assert deleted.done and not Bot.objects.filter(pk=copy.pk).exists()
    assert not SimWallet.objects.filter(key=copy.wallet_key).exists()


def test_archive_and_delete_are_refused_while_the_bot_runs_or_holds_a_position(alice, bot):
    Bot.objects.filter(pk=bot.pk).update(status=Bot.Status.RUNNING)
    assert submit(alice, ArchiveBot(bot_id=bot.pk), door="web").code == "stop_first"
    assert submit(alice, DeleteBot(bot_id=bot.pk), door="web").code == "stop_first"
    Bot.objects.filter(pk=bot.pk).update(status=Bot.Status.STOPPED)
    Position.objects.create(bot=bot, symbol="BTC/USDT", quantity=1, entry_quantity=1, opened_at="2026-01-01T00:00Z")
    assert submit(alice, DeleteBot(bot_id=bot.pk), door="web").code == "holds_position"
    assert submit(alice, ArchiveBot(bot_id=bot.pk), door="web").code == "holds_position"
    assert Bot.objects.filter(pk=bot.pk, archived_at__isnull=True).exists()


def test_start_and_stop_from_the_page_are_audited(web, alice, bot):
    web.post(reverse("bots:action", args=[bot.pk, "start"]))
    web.post(reverse("bots:action", args=[bot.pk, "start"]))
    entries = list(Activity.objects.filter(command="control_bot").order_by("pk").values_list("status", "door"))
    assert entries == [("done", "web"), ("refused", "web")]
    assert Bot.objects.get(pk=bot.pk).status == "running"


def test_someone_elses_bot_cannot_be_changed(alice, bob, bot):
    for command in (EditBot(bot_id=bot.pk, changes={"stake": D("0.5")}), CloneBot(bot_id=bot.pk),
                    ArchiveBot(bot_id=bot.pk), DeleteBot(bot_id=bot.pk), ControlBot(bot_id=bot.pk, action="start")):
        assert submit(bob, command, door="web").code == "not_found", command
    assert Bot.objects.get(pk=bot.pk).stake == D("0.1") and Bot.objects.count() == 1


def test_a_strategy_used_by_a_running_bot_is_not_changed_under_it(web, alice, bot):
    config = bot.strategy
    Bot.objects.filter(pk=bot.pk).update(status=Bot.Status.RUNNING)
    page = web.get(reverse("strategies:edit", args=[config.pk])).content.decode()
    assert 'id="config-in-use"' in page and "rsi paper" in page
    data = {"name": config.name, "strategy": "rsi_cross", "param_rsi_period": "21", "param_oversold": "30",
            "param_overbought": "70"}
    refused = web.post(reverse("strategies:edit", args=[config.pk]), data).content.decode()
    assert "its settings cannot change while a bot trades with it" in refused
    config.refresh_from_db()
    assert config.params.get("rsi_period", 14) == 14
    copied = web.post(reverse("strategies:edit", args=[config.pk]), {**data, "save_as_copy": "1"})
    assert copied.status_code == 302
    new = StrategyConfig.objects.exclude(pk=config.pk).get()
    assert new.name == f"{config.name} (2)" and new.params["rsi_period"] == 21
    assert Bot.objects.get(pk=bot.pk).strategy_id == config.pk
    Bot.objects.filter(pk=bot.pk).update(status=Bot.Status.STOPPED)
    web.post(reverse("strategies:edit", args=[config.pk]), data)
    config.refresh_from_db()
    assert config.params["rsi_period"] == 21  # stopped: it uses the new settings when started


def test_deleting_a_strategy_names_its_bots_and_frees_archived_ones(web, alice, bot):
    config = make_strategy_config(alice, name="other")
    old = make_bot(alice, name="old", strategy=config)
    page = web.get(reverse("strategies:delete", args=[config.pk])).content.decode()
    assert 'id="config-used-by"' in page and reverse("commands:bot_edit", args=[old.pk]) in page
    response = web.post(reverse("strategies:delete", args=[config.pk]), follow=True).content.decode()
    assert "is used by a bot (old)" in response and StrategyConfig.objects.filter(pk=config.pk).exists()
    assert submit(alice, ArchiveBot(bot_id=old.pk), door="web").done
    web.post(reverse("strategies:delete", args=[config.pk]))
    assert not StrategyConfig.objects.filter(pk=config.pk).exists()
    old.refresh_from_db()
    assert old.strategy is None and old.archived_at is not None
    assert web.get(reverse("bots:detail", args=[old.pk])).status_code == 200
