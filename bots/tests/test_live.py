"""bots.live: publishing writes the catch-up log, renders the fragments, and prunes old rows."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from bots import live
from bots.models import Bot, LiveMessage
from exchanges.models import ExchangeAccount


def make_user(username="alice"):
    return get_user_model().objects.create_user(username=username, password="a-long-password-1")


def make_bot(owner, name="rsi bot", **fields):
    account = fields.pop("exchange_account", None) or ExchangeAccount.objects.get_or_create(
        owner=owner, label="paper", defaults={"exchange_id": "binance", "mode": "paper"}
    )[0]
    fields.setdefault("symbol", "BTC/USDT")
    strategy_field = next((f for f in Bot._meta.fields if f.name == "strategy"), None)
    if strategy_field is not None and "strategy" not in fields:
        fields["strategy"] = make_strategy_config(owner)
    return Bot.objects.create(owner=owner, name=name, exchange_account=account, **fields)


def make_strategy_config(owner):
    from strategies.models import StrategyConfig

    config, _ = StrategyConfig.objects.get_or_create(
        owner=owner, name="rsi cross", defaults={"strategy": "rsi_cross", "params": {}}
    )
    return config


@pytest.mark.django_db
def test_publish_bot_update_writes_one_message_per_group():
    alice = make_user()
    bot = make_bot(alice)
    live.watch([live.bot_group(bot.pk), live.user_group(alice.pk)])  # a page is open on each
    live.publish_bot_update(bot.pk)
    groups = sorted(LiveMessage.objects.values_list("group", flat=True))
    assert groups == [f"bot-{bot.pk}", f"user-{alice.pk}"]
    bot_message = LiveMessage.objects.get(group=f"bot-{bot.pk}")
    assert f'id="bot-{bot.pk}-status"' in bot_message.html
    assert 'hx-swap-oob="true"' in bot_message.html


@pytest.mark.django_db
def test_nobody_watching_gets_a_marker_and_nothing_rendered_and_a_page_renders_it_on_catch_up():
    alice = make_user()
    bot = make_bot(alice)
    live.watch([live.user_group(alice.pk)])
    live.publish_bot_update(bot.pk)
    by_group = dict(LiveMessage.objects.values_list("group", "html"))
    assert by_group[f"bot-{bot.pk}"] == live.marker(bot.pk)
    assert f'id="dash-bot-{bot.pk}"' in by_group[f"user-{alice.pk}"]
    # A bot page reconnecting with an older cursor finds the marker and gets the fragments rendered now.
    from bots.consumers import catch_up

    texts = catch_up.func([live.bot_group(bot.pk)], 0)
    assert len(texts) == 1 and f'id="bot-{bot.pk}-status"' in texts[0] and "changed bot=" not in texts[0]


@pytest.mark.django_db
def test_a_watch_lapses():
    live.watch(["bot-7"], now=timezone.now() - timedelta(seconds=live.WATCH_SECONDS + 1))
    live.forget_watched_cache()
    assert "bot-7" not in live.watched_groups()
    live.watch(["bot-7"])
    assert "bot-7" in live.watched_groups()


@pytest.mark.django_db
def test_inside_a_dispatcher_round_a_users_totals_are_rendered_once_then_flushed(monkeypatch):
    alice = make_user()
    bots = [make_bot(alice, name=f"bot {k}") for k in range(3)]
    live.watch([live.user_group(alice.pk)])
    monkeypatch.setattr(live, "_totals_rendered_at", {})
    with live.coalescing():
        for bot in bots:
            live.publish_bot_update(bot.pk)
        assert LiveMessage.objects.filter(html__contains='id="dash-totals"').count() == 1
        assert LiveMessage.objects.filter(group=f"user-{alice.pk}").count() == 3  # every bot's row
    # The round ended: the totals that were held back follow once.
    assert LiveMessage.objects.filter(html__contains='id="dash-totals"').count() == 2
    newest = LiveMessage.objects.order_by("-pk").first()
    assert newest.group == f"user-{alice.pk}" and 'id="dash-trades"' in newest.html


@pytest.mark.django_db
def test_publish_for_a_missing_bot_does_nothing():
    live.publish_bot_update(987654)
    assert LiveMessage.objects.count() == 0


def test_wrap_carries_the_message_id():
    text = live.wrap(42, "<p id='x'>hi</p>")
    assert live.message_id_of(text) == 42
    assert text.endswith("<p id='x'>hi</p>")


@pytest.mark.django_db
def test_messages_after_and_last_message_id():
    ids = [live.publish("user-1", f"<p>{n}</p>").pk for n in range(5)]
    live.publish("user-2", "<p>other</p>")
    assert [m.pk for m in live.messages_after("user-1", ids[1])] == ids[2:]
    assert [m.pk for m in live.messages_after("user-1", 0, limit=2)] == ids[3:]
    assert live.last_message_id("user-1") == ids[-1]
    assert live.last_message_id("user-99") == 0


@pytest.mark.django_db
def test_prune_deletes_only_old_rows_and_at_most_once_a_minute(monkeypatch):
    old = live.publish("user-1", "<p>old</p>")
    LiveMessage.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=2))
    fresh = live.publish("user-1", "<p>fresh</p>")
    monkeypatch.setattr(live, "_last_prune", None)
    now = timezone.now()
    assert live.prune_old_messages_sometimes(now) == 1
    assert list(LiveMessage.objects.values_list("pk", flat=True)) == [fresh.pk]
    LiveMessage.objects.filter(pk=fresh.pk).update(created_at=now - timedelta(hours=2))
    assert live.prune_old_messages_sometimes(now + timedelta(seconds=10)) == 0
    assert live.prune_old_messages_sometimes(now + timedelta(minutes=2)) == 1


@pytest.mark.django_db
def test_dashboard_totals_sum_bots_per_currency_and_chart_the_total():
    from datetime import UTC, datetime
    from decimal import Decimal

    from bots.models import PnLSnapshot

    alice = make_user()
    a = make_bot(alice, name="a", starting_balance=Decimal("1000"))
    b = make_bot(alice, name="b", starting_balance=Decimal("2000"), day_start_equity=Decimal("1900"))
    make_bot(alice, name="c", symbol="ETH/BTC", starting_balance=Decimal("1"))
    make_bot(make_user("bob"), name="bob's", starting_balance=Decimal("99999"))
    for minute, bot, equity in [(1, a, "1010"), (2, b, "1950"), (3, a, "1020"), (4, b, "2100")]:
        PnLSnapshot.objects.create(bot=bot, time=datetime(2026, 11, 20, 12, minute, tzinfo=UTC),
                                   equity=Decimal(equity), realised=Decimal("0"), unrealised=Decimal("0"))
    totals = live.dashboard_totals(alice)
    by_currency = {t["currency"]: t for t in totals["totals"]}
    assert set(by_currency) == {"USDT", "BTC"}
    assert by_currency["USDT"]["equity"] == Decimal("3120")
    assert by_currency["USDT"]["pnl"] == Decimal("120")
    assert by_currency["USDT"]["today"] == Decimal("200")  # only b knows its day start: 2100 - 1900
    assert by_currency["BTC"]["equity"] == Decimal("1")
    assert totals["main_total"]["currency"] == "USDT"
    # a starts at its first snapshot in the window (1010), b at its first (1950)
    assert [value for _, value in totals["total_curve"]] == [Decimal(v) for v in ("2960", "2960", "2970", "3120")]


@pytest.mark.django_db
def test_redis_down_loses_nothing_the_catch_up_log_has_the_update(settings, caplog):
    from channels.layers import channel_layers

    settings.CHANNEL_LAYERS = {"default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": ["redis://127.0.0.1:9/0"]},  # nothing listens on the discard port
    }}
    channel_layers.backends.clear()
    try:
        alice = make_user()
        bot = make_bot(alice)
        live.publish_bot_update(bot.pk)  # must not raise: a tick that published is not a failed tick
    finally:
        channel_layers.backends.clear()
    assert LiveMessage.objects.filter(group=f"bot-{bot.pk}").exists()
    assert "not sent through Redis" in caplog.text
