"""The Prometheus instruments of the platform and the one-line helpers the rest of the code calls.

Every helper costs a few microseconds and never raises: a metric must not fail a tick, an order or a page.
Labels are bounded (exchange, mode, strategy, side, outcome, reason, rule, kind): never a user, bot or order id.
Totals that live in the database (bots by status, open positions, equity) are not here: metrics.collector
reads them at scrape time.
"""

import logging
import re
import time
from contextlib import contextmanager
from datetime import timedelta

from metrics import process

FOLDER = process.configure()  # before prometheus_client is imported: it reads the folder once

from prometheus_client import Counter, Gauge, Histogram  # noqa: E402
from prometheus_client import values as _values  # noqa: E402

# One file per (metric type, host and pid) in the shared folder; see metrics.process.
_values.ValueClass = _values.MultiProcessValue(process.identifier)
process.forget_dead_processes(FOLDER)
process.register_exit_cleanup()

log = logging.getLogger(__name__)

PREFIX = "tradingbot"
TICK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
LATENESS_BUCKETS = (0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)
BACKTEST_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)

TICKS = Counter(f"{PREFIX}_ticks", "Bot ticks that ran, by outcome (ticked, waiting, retry, error, finished).",
                ["mode", "strategy", "outcome"])
TICK_SECONDS = Histogram(f"{PREFIX}_tick_duration_seconds", "Duration of a bot tick, its live update included.",
                         ["mode"], buckets=TICK_BUCKETS)
TICK_PUBLISH_SECONDS = Histogram(f"{PREFIX}_tick_publish_seconds", "The live-update part of a bot tick.",
                                 ["mode"], buckets=TICK_BUCKETS)
LATENESS = Histogram(f"{PREFIX}_tick_lateness_seconds",
                     "Wall-clock time from a candle's close to the end of the tick that acted on it.",
                     ["mode"], buckets=LATENESS_BUCKETS)
ORDERS_SUBMITTED = Counter(f"{PREFIX}_orders_submitted", "Orders sent to an exchange (bots).",
                           ["exchange", "mode", "side"])
ORDERS_FILLED = Counter(f"{PREFIX}_orders_filled", "Orders that got a fill (bots).", ["exchange", "mode", "side"])
ORDERS_REJECTED = Counter(f"{PREFIX}_orders_rejected", "Orders the exchange refused, by reason.",
                          ["exchange", "mode", "reason"])
ORDERS_UNKNOWN = Counter(f"{PREFIX}_orders_unknown",
                         "Orders whose outcome is unknown (sent, no answer): the next tick asks the exchange.",
                         ["exchange", "mode"])
EXCHANGE_REQUESTS = Counter(f"{PREFIX}_exchange_requests", "HTTP requests to an exchange through ccxt.",
                            ["exchange"])
EXCHANGE_ERRORS = Counter(f"{PREFIX}_exchange_errors", "Failed exchange requests, by ccxt error class.",
                          ["exchange", "error_class"])
RATE_LIMIT_HITS = Counter(f"{PREFIX}_exchange_rate_limit_hits",
                          "Requests an exchange refused for the rate limit (RateLimitExceeded, DDoSProtection).",
                          ["exchange"])
RISK_REFUSALS = Counter(f"{PREFIX}_risk_refusals", "Entries the risk manager refused, by rule.", ["mode", "rule"])
RISK_HALTS = Counter(f"{PREFIX}_risk_halts", "Bots halted by a risk rule, by rule.", ["mode", "rule"])
RECONCILIATION_DIFFERENCES = Counter(
    f"{PREFIX}_reconciliation_differences",
    "Differences found between the ledger and the exchange (kind: position, order, balance ...).",
    ["exchange", "mode", "kind"])
LIVE_MESSAGES = Counter(f"{PREFIX}_live_messages_published", "Live-update messages published, by group kind.",
                        ["kind"])
WEBSOCKET_CLIENTS = Gauge(f"{PREFIX}_websocket_clients", "Open live-update websockets (all web processes).",
                          multiprocess_mode="livesum")
BACKTEST_RUNS = Counter(f"{PREFIX}_backtest_runs", "Backtests and optimisations run, by outcome.",
                        ["kind", "strategy", "outcome"])
BACKTEST_SECONDS = Histogram(f"{PREFIX}_backtest_duration_seconds", "Duration of a backtest or an optimisation.",
                             ["kind", "strategy"], buckets=BACKTEST_BUCKETS)

# Bounded label values: anything else becomes "other".
MODES = {"replay", "paper", "live", "testnet", "manual"}
SIDES = {"buy", "sell"}
_LABEL_VALUE = re.compile(r"[a-z0-9_]{1,40}")
_CLASS_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,60}")
REJECTION_REASONS = (
    ("insufficient_funds", re.compile(r"insufficient|not enough|balance", re.I)),
    ("min_notional", re.compile(r"notional|minimum|too small|min[_ ]?amount|lot.?size", re.I)),
    ("precision", re.compile(r"precision|step|tick size", re.I)),
    ("unknown_market", re.compile(r"unknown market|bad symbol|invalid symbol", re.I)),
    ("price", re.compile(r"price", re.I)),
    ("rate_limit", re.compile(r"rate limit|too many", re.I)),
    ("not_supported", re.compile(r"not supported|only on the paper|unknown order type", re.I)),
)


def _bounded(value, allowed=None) -> str:
    value = str(value or "").strip().lower()
    if allowed is not None:
        return value if value in allowed else "other"
    return value if _LABEL_VALUE.fullmatch(value) else "other"


def rejection_reason(text: str) -> str:
    """The exchange's free-text reason reduced to one of a few categories (a label must stay bounded)."""
    for name, pattern in REJECTION_REASONS:
        if pattern.search(text or ""):
            return name
    return "other"


def _bot_labels(bot) -> tuple[str, str, str]:
    """(exchange, mode, strategy) of a bot, from what is already loaded (no query if it is select_related)."""
    account = bot.exchange_account
    if getattr(bot, "kind", "") == "manual":  # a manual book: orders placed by hand
        return _bounded(account.exchange_id), "manual", "manual"
    strategy = getattr(bot, "strategy", None)
    return (_bounded(account.exchange_id), _bounded(bot.mode, MODES),
            _bounded(getattr(strategy, "strategy", "")))


def _never_raise(fn):
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception:
            log.debug("metric %s failed", fn.__name__, exc_info=True)
            return None

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


@_never_raise
def observe_tick(bot, result) -> None:
    """After a tick: its outcome, duration, live-update time, and the lateness of the candle it acted on."""
    _, mode, strategy = _bot_labels(bot)
    TICKS.labels(mode, strategy, _bounded(result.outcome)).inc()
    TICK_SECONDS.labels(mode).observe(result.seconds)
    TICK_PUBLISH_SECONDS.labels(mode).observe(result.publish_seconds)
    if result.candle_at is not None:
        late = lateness_seconds(bot, result.candle_at)
        if late is not None:
            LATENESS.labels(mode).observe(max(0.0, late))


def lateness_seconds(bot, candle_at) -> float | None:
    """Seconds from the wall-clock close of the candle opened at `candle_at` to now. A replay bot's candle closes
    on its replay clock (no query: the stored-candle gaps the scheduler skips do not matter here)."""
    from django.utils import timezone

    from exchanges.candles import timeframe_seconds

    close = candle_at + timedelta(seconds=timeframe_seconds(bot.timeframe))
    if bot.mode == "replay":
        if bot.replay_started_at is None or not bot.replay_speed or bot.replay_start is None:
            return None
        ahead = close - bot.replay_start - (bot.replay_offset or timedelta(0))
        close = bot.replay_started_at + ahead / float(bot.replay_speed)
    return (timezone.now() - close).total_seconds()


@_never_raise
def count_order(event: str, bot, side: str = "", reason: str = "") -> None:
    """event: submitted | filled | rejected (reason: the exchange's text, reduced) | unknown."""
    exchange, mode, _ = _bot_labels(bot)
    side = _bounded(side, SIDES)
    if event == "submitted":
        ORDERS_SUBMITTED.labels(exchange, mode, side).inc()
    elif event == "filled":
        ORDERS_FILLED.labels(exchange, mode, side).inc()
    elif event == "rejected":
        ORDERS_REJECTED.labels(exchange, mode, rejection_reason(reason)).inc()
    elif event == "unknown":
        ORDERS_UNKNOWN.labels(exchange, mode).inc()


@_never_raise
def count_fill(bot, side: str, filled) -> None:
    """An exchange's answer to an order: counted as filled when it filled anything."""
    if filled and filled > 0:
        count_order("filled", bot, side)


@_never_raise
def count_bot_event(bot, kind: str, data: dict | None) -> None:
    """Called for every bot event: counts the risk refusals and halts by rule."""
    if kind not in ("risk_refusal", "halt"):
        return
    _, mode, _ = _bot_labels(bot)
    rule = _bounded((data or {}).get("rule"))
    (RISK_REFUSALS if kind == "risk_refusal" else RISK_HALTS).labels(mode, rule).inc()


@_never_raise
def count_risk_refusal(mode: str, rule: str) -> None:
    RISK_REFUSALS.labels(_bounded(mode, MODES), _bounded(rule)).inc()


@_never_raise
def count_reconciliation_difference(bot, kind: str = "position") -> None:
    """A difference the reconciliation found between the ledger and the exchange (kind: position, order,
    balance, ...: a short word, not an id)."""
    exchange, mode, _ = _bot_labels(bot)
    RECONCILIATION_DIFFERENCES.labels(exchange, mode, _bounded(kind)).inc()


@_never_raise
def count_live_message(group: str) -> None:
    """A live-update message published to a group (`bot-7`, `user-3`: only the kind before the id is kept)."""
    LIVE_MESSAGES.labels(_bounded(str(group).split("-", 1)[0])).inc()


@_never_raise
def websocket_opened() -> bool:
    WEBSOCKET_CLIENTS.inc()
    return True


@_never_raise
def websocket_closed(opened) -> None:
    if opened:
        WEBSOCKET_CLIENTS.dec()


@contextmanager
def backtest_run(strategy: str, kind: str = "backtest"):
    """`with backtest_run(name):` around a backtest (kind="optimisation" around an optimisation): counts it with
    its outcome and observes its duration. Exceptions pass through unchanged."""
    started = time.perf_counter()
    outcome = "failed"
    try:
        yield
        outcome = "done"
    finally:
        _observe_backtest(kind, strategy, outcome, time.perf_counter() - started)


@_never_raise
def _observe_backtest(kind: str, strategy: str, outcome: str, seconds: float) -> None:
    kind, strategy = _bounded(kind), _bounded(strategy)
    BACKTEST_RUNS.labels(kind, strategy, outcome).inc()
    BACKTEST_SECONDS.labels(kind, strategy).observe(seconds)


RATE_LIMIT_CLASSES = {"RateLimitExceeded", "DDoSProtection"}


@_never_raise
def count_exchange_request(exchange_id: str, error: BaseException | None = None) -> None:
    exchange = _bounded(exchange_id)
    EXCHANGE_REQUESTS.labels(exchange).inc()
    if error is not None:
        name = type(error).__name__
        EXCHANGE_ERRORS.labels(exchange, name if _CLASS_NAME.fullmatch(name) else "other").inc()
        if name in RATE_LIMIT_CLASSES:
            RATE_LIMIT_HITS.labels(exchange).inc()


def instrument_exchange(exchange):
    """Count every HTTP request a ccxt exchange object makes (and its errors by class) by wrapping its
    `fetch`, the one method all of ccxt's requests go through. Returns the exchange."""
    try:
        if getattr(exchange, "_tradingbot_metrics", False):
            return exchange
        fetch = exchange.fetch
        exchange_id = getattr(exchange, "id", "") or ""

        def counted_fetch(*args, **kwargs):
            try:
                answer = fetch(*args, **kwargs)
            except BaseException as exc:
                count_exchange_request(exchange_id, exc)
                raise
            count_exchange_request(exchange_id)
            return answer

        exchange.fetch = counted_fetch
        exchange._tradingbot_metrics = True
    except Exception:
        log.debug("could not instrument %r", exchange, exc_info=True)
    return exchange
