"""The SQL statements of one tick do not grow with the bot's history (issue 17).

A fresh replay bot and one with 20,000 fills and 20,000 P&L snapshots tick the same candle the same way;
both run the same statements, under a ceiling. The live update is included (someone watches the bot).
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bots import live, tick
from bots.models import Bot, Fill, LiveMessage, Order, PnLSnapshot
from bots.tests.factories import make_account, make_bot, make_strategy_config, make_user
from exchanges.candles import load_candles, read_candle_file, upsert_candles

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
HISTORY = 20_000
# Measured: 29 statements for an uneventful tick with its live update (35 before; 16 when nobody watches).
CEILING = 31


@pytest.fixture(autouse=True)
def fresh_caches(monkeypatch):
    tick.clear_candle_cache()
    monkeypatch.setattr(tick, "PUBLISH_INTERVAL", 0.0)
    monkeypatch.setattr(live, "_last_prune", timezone.now() + timedelta(hours=1))  # no pruning in between
    yield
    tick.clear_candle_cache()


def add_history(bot: Bot, start) -> None:
    order = Order.objects.create(bot=bot, client_order_id=f"history-{bot.pk}", symbol=bot.symbol, side="buy",
                                 amount=Decimal("1"), status=Order.Status.CLOSED, candle_at=start)
    times = [start - timedelta(minutes=5 * (HISTORY - k)) for k in range(HISTORY)]
    Fill.objects.bulk_create([Fill(order=order, bot=bot, side="buy" if k % 2 == 0 else "sell", amount=Decimal("0.01"),
                                   price=Decimal("20000"), time=t) for k, t in enumerate(times)], batch_size=2000)
    PnLSnapshot.objects.bulk_create([PnLSnapshot(bot=bot, time=t, equity=Decimal("1000") + k % 7,
                                                 realised=Decimal("0"), unrealised=Decimal("0"))
                                     for k, t in enumerate(times)], batch_size=2000)


def statements_of_one_tick(bot: Bot, candle_open) -> list[str]:
    Bot.objects.filter(pk=bot.pk).update(replay_offset=candle_open + timedelta(minutes=5) - bot.replay_start,
                                         replay_started_at=None, next_tick_at=None, last_candle_at=candle_open
                                         - timedelta(minutes=5))
    with CaptureQueriesContext(connection) as queries:
        result = tick.tick_bot(bot.pk)
    assert result.outcome == "ticked", result
    return [q["sql"] for q in queries.captured_queries]


def test_a_tick_runs_the_same_statements_with_20000_fills_as_fresh(settings):
    upsert_candles("binance", "BTC/USDT", "5m",
                   read_candle_file(settings.CANDLE_DATA_DIR / "binance_BTC-USDT_5m.csv", "5m").iloc[:600])
    candles = load_candles("binance", "BTC/USDT", "5m")
    start, candle = candles.index[0].to_pydatetime(), candles.index[400].to_pydatetime()
    owner = make_user()
    account, config = make_account(owner), make_strategy_config(owner)
    # `pace` ticks each candle first, so neither measured bot pays for the shared candle caches (tick, chart).
    bots = [make_bot(owner, name=f"bot {k}", account=account, strategy=config, mode=Bot.Mode.REPLAY,
                     status=Bot.Status.RUNNING, replay_start=start, max_open_positions=0) for k in range(3)]
    pace, fresh, old = bots
    add_history(old, start)
    for bot in bots:  # the first tick after a start reconciles and opens the wallet: not the steady state
        statements_of_one_tick(bot, candle - timedelta(minutes=10))

    # Nobody watches: no fragment is rendered, each group gets a marker (one INSERT).
    statements_of_one_tick(pace, candle - timedelta(minutes=5))
    unwatched = [statements_of_one_tick(bot, candle - timedelta(minutes=5)) for bot in (fresh, old)]
    assert len(unwatched[0]) == len(unwatched[1]), "\n".join(unwatched[1])
    assert not any("bots_fill" in sql for sql in unwatched[0]), "nothing is rendered for nobody"

    live.watch([live.bot_group(bot.pk) for bot in bots] + [live.user_group(owner.pk)])
    statements_of_one_tick(pace, candle)
    fresh_sql, old_sql = (statements_of_one_tick(bot, candle) for bot in (fresh, old))
    assert len(old_sql) == len(fresh_sql), "\n".join(old_sql)
    assert len(fresh_sql) <= CEILING, "\n".join(fresh_sql)
    assert len(unwatched[0]) < len(fresh_sql) - 10
    rendered = LiveMessage.objects.filter(group=live.bot_group(old.pk)).order_by("-pk").first()
    assert f'id="bot-{old.pk}-status"' in rendered.html
