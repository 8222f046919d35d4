"""The instruments move when the code they watch runs: ticks, orders filled and refused, risk refusals,
exchange requests and errors; two processes' counters add up; no label carries an id."""

import re
import subprocess
import sys
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from bots import tick
from bots.models import Bot, Order
from bots.tests.factories import make_bot, make_user
from bots.tests.test_tick import BUYS, fake, live_bot, show_history_until  # noqa: F401  (fake is a fixture)
from exchanges.candles import load_candles, read_candle_file, upsert_candles
from metrics import instruments
from metrics.tests.scrape import TOKEN, samples, scrape, value

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def metrics_on(settings):
    settings.METRICS_TOKEN = TOKEN
    tick.clear_candle_cache()
    yield
    tick.clear_candle_cache()


def replay_bot(rows=120, **fields):
    upsert_candles("binance", "BTC/USDT", "5m",
                   read_candle_file(django_settings.CANDLE_DATA_DIR / "binance_BTC-USDT_5m.csv", "5m").iloc[:rows])
    candles = load_candles("binance", "BTC/USDT", "5m")
    fields.setdefault("replay_speed", 600)
    bot = make_bot(make_user(), mode=Bot.Mode.REPLAY, status=Bot.Status.RUNNING,
                   replay_start=candles.index[60].to_pydatetime(),
                   replay_started_at=timezone.now() - timedelta(seconds=10), **fields)
    return bot, candles


def test_a_replay_bot_ticking_moves_the_tick_counter_and_the_histograms(client):
    bot, _ = replay_bot()
    before = scrape(client)
    outcomes = [tick.tick_bot(bot.pk).outcome for _ in range(5)]
    assert outcomes.count("ticked") == 5, outcomes
    after = scrape(client)
    labels = {"mode": "replay", "strategy": "rsi_cross", "outcome": "ticked"}
    assert value(after, "tradingbot_ticks_total", **labels) - value(before, "tradingbot_ticks_total", **labels) == 5
    for histogram in ("tradingbot_tick_duration_seconds", "tradingbot_tick_lateness_seconds"):
        counted = value(after, f"{histogram}_count", mode="replay") - value(before, f"{histogram}_count", mode="replay")
        assert counted == 5, histogram
        assert value(after, f"{histogram}_sum", mode="replay") > value(before, f"{histogram}_sum", mode="replay")
    # The replay clock ran 10 s at 600x from candle 60: the first ticks act on candles that closed minutes of
    # replay time (about a second of wall time) ago, so some lateness was observed, and none of it is negative.
    assert value(after, "tradingbot_tick_lateness_seconds_bucket", mode="replay", le="+Inf") >= 5
    # The database totals see the bot.
    assert value(after, "tradingbot_bots_running", mode="replay") == 1
    assert value(after, "tradingbot_bots", mode="replay", status="running") == 1
    assert value(after, "tradingbot_equity", mode="replay", currency="usdt") > 0


def test_an_order_filled_and_one_refused_move_their_counters(client, fake):  # noqa: F811
    bot = live_bot(fake)
    show_history_until(fake, BUYS[0])
    before = scrape(client)
    result = tick.tick_bot(bot.pk)
    assert result.outcome == "ticked" and len(result.orders) == 1
    after = scrape(client)
    filled = {"exchange": "binance", "mode": "live", "side": "buy"}
    for name in ("tradingbot_orders_submitted_total", "tradingbot_orders_filled_total"):
        assert value(after, name, **filled) - value(before, name, **filled) == 1, name
    assert value(after, "tradingbot_exchange_requests_total", exchange="binance") > \
        value(before, "tradingbot_exchange_requests_total", exchange="binance")

    refused_bot = live_bot(fake, owner=make_user("bob"))
    fake.inject("insufficient")
    assert tick.tick_bot(refused_bot.pk).outcome == "error"
    assert Order.objects.get(bot=refused_bot).status == "rejected"
    third = scrape(client)
    rejected = {"exchange": "binance", "mode": "live", "reason": "insufficient_funds"}
    assert value(third, "tradingbot_orders_rejected_total", **rejected) - \
        value(after, "tradingbot_orders_rejected_total", **rejected) == 1
    assert value(third, "tradingbot_orders_filled_total", **filled) == value(after, "tradingbot_orders_filled_total",
                                                                             **filled)
    assert value(third, "tradingbot_exchange_errors_total", exchange="binance", error_class="InsufficientFunds") - \
        value(after, "tradingbot_exchange_errors_total", exchange="binance", error_class="InsufficientFunds") == 1


def test_a_risk_refusal_is_counted_by_rule(client, fake):  # noqa: F811
    bot = live_bot(fake, max_orders_per_hour=1)
    show_history_until(fake, BUYS[0])
    Order.objects.create(bot=bot, client_order_id="tb-earlier", symbol="BTC/USDT", side="sell", amount=1,
                         status="closed", candle_at=timezone.now() - timedelta(minutes=30))
    before = scrape(client)
    assert tick.tick_bot(bot.pk).orders == []
    after = scrape(client)
    rule = {"mode": "live", "rule": "orders_per_hour"}
    assert value(after, "tradingbot_risk_refusals_total", **rule) - \
        value(before, "tradingbot_risk_refusals_total", **rule) == 1


def test_rate_limit_answers_are_counted(client, fake):  # noqa: F811
    from exchanges.clients import client_for

    bot = live_bot(fake)
    exchange_client = client_for(bot.exchange_account, mode="live")
    exchange_client.backoff = 0.0
    from exchanges import rate_limits
    from exchanges.errors import RateLimited

    before = scrape(client)
    fake.inject("429", times=1)
    try:
        with pytest.raises(RateLimited):  # a 429 pauses every request to that exchange (not retried in the call)
            exchange_client.fetch_ticker("BTC/USDT")
    finally:
        rate_limits.clear(exchange_client.pause_key)
    after = scrape(client)
    assert value(after, "tradingbot_exchange_rate_limit_hits_total", exchange="binance") - \
        value(before, "tradingbot_exchange_rate_limit_hits_total", exchange="binance") == 1


CHILD = """
import sys
from metrics import instruments
for _ in range(int(sys.argv[1])):
    instruments.count_live_message("bot-12345")
instruments.websocket_opened()
me = instruments.process.identifier()
print(me, len(list(instruments.FOLDER.glob(f"gauge_live*_{me}.db"))))
"""


def test_two_processes_counters_add_up(client):
    before = value(scrape(client), "tradingbot_live_messages_published_total", kind="bot")
    instruments.count_live_message("bot-1")
    instruments.count_live_message("bot-2")
    child = subprocess.run([sys.executable, "-c", CHILD, "5"], capture_output=True, text=True, timeout=60,
                           cwd=django_settings.BASE_DIR, check=True)
    child_id, child_gauges = child.stdout.split()
    assert child_id != instruments.process.identifier() and child_gauges == "1"
    text = scrape(client)
    assert value(text, "tradingbot_live_messages_published_total", kind="bot") - before == 7
    # The child's open websocket was a live gauge: its file went with the child's exit.
    assert not list(instruments.FOLDER.glob(f"gauge_live*_{child_id}.db"))


ALLOWED_LABELS = {"mode", "strategy", "outcome", "exchange", "side", "reason", "error_class", "rule", "kind",
                  "status", "currency", "le"}


def test_no_label_carries_an_id(client, fake):  # noqa: F811
    """Run what produces labels (a replay bot, a live bot's order, a live message), then look at every sample."""
    bot, _ = replay_bot()
    for _ in range(3):
        tick.tick_bot(bot.pk)
    live = live_bot(fake, owner=make_user("carol"))
    show_history_until(fake, BUYS[0])
    result = tick.tick_bot(live.pk)
    assert result.orders
    instruments.count_live_message(f"user-{live.owner_id}")
    ids = {str(bot.pk), str(live.pk), str(bot.owner_id), str(live.owner_id), *result.orders}
    seen = 0
    for sample in samples(scrape(client)):
        assert set(sample.labels) <= ALLOWED_LABELS, sample
        for name, label in sample.labels.items():
            seen += 1
            if name == "le":
                continue
            assert label not in ids and not re.search(r"\d{2,}", label), sample
            assert not re.fullmatch(r"\d+", label), sample
    assert seen > 50


def test_helpers_never_raise():
    class Nothing:
        pass

    assert instruments.observe_tick(Nothing(), Nothing()) is None
    assert instruments.count_order("filled", None) is None
    assert instruments.count_bot_event(None, "risk_refusal", {"rule": "x"}) is None
    assert instruments.rejection_reason("Account has insufficient balance for requested action.") == \
        "insufficient_funds"
    assert instruments.rejection_reason("Filter failure: NOTIONAL") == "min_notional"
    assert instruments.rejection_reason("something new") == "other"
