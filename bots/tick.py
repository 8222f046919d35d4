"""One tick of one bot: reconcile, read closed candles, decide, ask the risk manager, trade, book, publish.

`tick_bot(bot_id)` is what the dispatcher runs (inline or as a django-q2 task), what `manage.py bot tick`
and `runbot` call, and what the tests drive. It never raises: a temporary exchange error is retried on
the next candle; a permanent one puts the bot in `error` with the reason.
"""

import dataclasses
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from bots import entries, ledger, orders, risk, scheduler
from bots.crashpoints import crashpoint
from bots.models import Bot, BotEvent, Order, Position
from exchanges.errors import (
    AuthenticationFailed,
    ExchangeError,
    OrderNotFound,
    OrderOutcomeUnknown,
    OrderRefused,
    RateLimited,
    TemporaryExchangeError,
)
from metrics import instruments
from tradingbot.log_redaction import redact

log = logging.getLogger(__name__)

BRACKET_TAG = "p"  # client order id suffix of the protective (stop-loss/take-profit) exit of an entry
STOP_TAG = "s"  # client order id suffix of a live position's stop-loss order on the exchange
STOP_TYPES = orders.STOP_TYPES
PROTECTIVE_TYPES = orders.PROTECTIVE_TYPES
# A stop-limit's limit sits this far below its stop price, so that it still fills in a fast fall.
STOP_LIMIT_OFFSET = Decimal("0.005")


class PermanentTickError(Exception):
    """Something the next candle will not fix (bad settings, no such market): the bot goes to `error`."""


class OrdersUnsettled(OrderOutcomeUnknown):
    """An order of this bot is still of unknown outcome: the tick stops before deciding anything."""


# While an order's outcome is unknown the bot is ticked again this soon (not a candle later) to look it up.
SETTLE_RETRY = 5.0


@dataclass
class TickResult:
    bot_id: int
    outcome: str  # busy | inactive | waiting | ticked | finished (end of a replay) | error | retry
    candle_at: datetime | None = None
    signal: str = ""
    orders: list[str] = field(default_factory=list)
    seconds: float = 0.0  # the whole tick, its live update included
    publish_seconds: float = 0.0


# Candles for one (source, exchange, symbol, timeframe, last closed candle) are fetched once and shared
# by every bot on it during that candle: one fetch per symbol per candle, not one per bot.
CANDLE_CACHE_SIZE = 256
_candle_cache: OrderedDict = OrderedDict()
candle_fetches = 0  # how many times the cache missed (the benchmark prints it)


def closed_candles(client, bot: Bot, last_closed: datetime, limit: int):
    global candle_fetches
    source = "replay" if bot.mode == Bot.Mode.REPLAY else "exchange"
    key = (source, bot.exchange_account.exchange_id, bot.symbol, bot.timeframe, last_closed, limit)
    candles = _candle_cache.get(key)
    if candles is not None:
        _candle_cache.move_to_end(key)
        return candles
    tf = timedelta(seconds=_tf_seconds(bot.timeframe))
    candles = client.fetch_candles(bot.symbol, bot.timeframe, since=last_closed - tf * (limit - 1), limit=limit)
    candles = candles[candles.index <= last_closed]
    candle_fetches += 1
    _candle_cache[key] = candles
    if len(_candle_cache) > CANDLE_CACHE_SIZE:
        _candle_cache.popitem(last=False)
    return candles


def clear_candle_cache() -> None:
    _candle_cache.clear()


def _tf_seconds(timeframe: str) -> int:
    from exchanges.candles import timeframe_seconds

    return timeframe_seconds(timeframe)


def last_closed_candle(now: datetime, timeframe: str) -> datetime:
    """Open time of the last candle that has closed at `now` (a candle [t, t+tf) closes at t+tf)."""
    step = _tf_seconds(timeframe)
    epoch = int(now.timestamp()) // step * step
    return datetime.fromtimestamp(epoch - step, tz=now.tzinfo)


def client_for_bot(bot: Bot):
    """The exchange client a bot trades through: its own simulated wallet for replay and paper."""
    from exchanges.clients import ReplayClock, client_for
    from exchanges.clients.replay import CandleCursor

    account = bot.exchange_account
    if bot.mode == Bot.Mode.LIVE:
        # settings.BOT_EXCHANGE_CLIENT_OPTIONS: the ccxt client's retries, backoff and timeout for bots.
        options = dict(getattr(settings, "BOT_EXCHANGE_CLIENT_OPTIONS", None) or {})
        return client_for(account, mode="testnet" if account.mode == account.Mode.TESTNET else "live", **options)
    options = {"wallet_key": bot.wallet_key, "starting_balance": bot.starting_balance, "fee": float(bot.fee),
               "quote_currency": bot.symbol.split("/")[-1], "timeframe": bot.timeframe}
    if bot.mode == Bot.Mode.REPLAY:
        options["replay"] = ReplayClock(start=bot.replay_start, speed=bot.replay_speed,
                                        wall_start=bot.replay_started_at, offset=bot.replay_offset)
        # One stored candle per tick, in order (see ReplayClient): a bot that fell behind (a gap between
        # dispatcher rounds, a restart) or started late replays every candle it missed, with the backtester's
        # fills, instead of jumping to the newest one; a gap in the stored candles is skipped as the
        # backtester skips it.
        options["cursor"] = CandleCursor(bot.symbol, bot.last_candle_at)
    return client_for(account, mode=bot.mode, **options)


def tick_bot(bot_id: int, lease: datetime | None = None) -> TickResult:
    """One tick. Steps:
    1. renew the lease this caller holds (or take a free one): only one tick of a bot runs at a time;
    2. settle orders in an unknown state with the exchange, then (after a start) compare open orders
       and the position with the exchange;
    3. load the closed candles (shared cache) and stop here if no new candle has closed;
    4. the strategy's signal on the last closed candle, the halt rules, the risk manager's review;
    5. place the order (recorded first, with a client order id derived from bot, candle and side),
       book its fills, protect a new position with a stop-loss/take-profit;
    6. book a P&L snapshot, give back the lease with the next due time, publish a live update.
    """
    started = time.perf_counter()
    now = timezone.now()
    held = _renew(bot_id, lease, now)
    if held is None:
        return TickResult(bot_id, "busy")
    crashpoint("tick_claimed")
    try:
        bot = Bot.objects.select_related("exchange_account", "strategy", "owner").get(pk=bot_id)
    except Bot.DoesNotExist:
        held.release(None)
        return TickResult(bot_id, "inactive")
    if bot.status not in scheduler.ACTIVE:
        held.release(None)
        return TickResult(bot_id, "inactive")
    result = TickResult(bot_id, "ticked")
    status = bot.status
    next_due = None
    client = None
    try:
        client = client_for_bot(bot)
        next_due = _tick(bot, client, result)
    except OrderOutcomeUnknown as exc:
        # Sent, and the exchange has not said what became of it: ask again in a few seconds; nothing else
        # is sent meanwhile (settle_unknown_orders runs first on every tick).
        result.outcome = "retry"
        if not isinstance(exc, OrdersUnsettled):
            _event(bot, BotEvent.Kind.ERROR, gettext_noop("Order outcome unknown, looking it up: %(error)s") % {
                "error": exc}, {"error": str(exc), "temporary": True})
        next_due = timezone.now() + timedelta(seconds=SETTLE_RETRY)
        paused = _paused_until(client)
        if paused is not None:
            next_due = max(next_due, paused)  # asking again during a ban makes it longer
    except RateLimited as exc:
        result.outcome = "retry"
        _event(bot, BotEvent.Kind.ERROR, gettext_noop(
            "The exchange asked us to wait: %(error)s. The bot resumes by itself then.") % {"error": exc},
            {"error": str(exc), "temporary": True, "paused_until": exc.until})
        next_due = max(_next_due(bot, client, retry=True), exc.until)
    except TemporaryExchangeError as exc:
        result.outcome = "retry"
        _event(bot, BotEvent.Kind.ERROR,
               gettext_noop("Temporary exchange error, trying again next candle: %(error)s") % {"error": exc},
               {"error": str(exc), "temporary": True})
        next_due = _next_due(bot, client, retry=True)
    except (OperationalError, InterfaceError):
        # The database itself (locked, restarting): nothing about the bot is wrong; try the next candle.
        log.exception("tick of bot %s: database error, retrying next candle", bot_id, extra={"bot_id": bot_id})
        result.outcome = "retry"
        next_due = _next_due(bot, client, retry=True)
    except (PermanentTickError, OrderRefused, AuthenticationFailed, ExchangeError) as exc:
        result.outcome = "error"
        _fail(bot, str(exc))
    except Exception as exc:  # a bug must not crash-loop the bot: stop it and say why
        log.exception("tick of bot %s failed", bot_id, extra={"bot_id": bot_id})
        result.outcome = "error"
        _fail(bot, f"Unexpected {type(exc).__name__}: {exc}")
    finally:
        if client is not None:
            try:
                client.close()
            except Exception:
                log.warning("closing the exchange client of bot %s failed", bot_id, exc_info=True)
    crashpoint("before_release")
    held.release(next_due)
    publishing = time.perf_counter()
    publish(bot_id, force=bool(result.orders) or result.outcome in ("error", "retry") or bot.status != status)
    result.publish_seconds = time.perf_counter() - publishing
    result.seconds = time.perf_counter() - started
    instruments.observe_tick(bot, result)
    return result


# A replay bot may tick many times a second; pages cannot show more than a few updates a second, so
# uneventful ticks publish at most this often per bot (a trade, an error or a status change always does).
PUBLISH_INTERVAL = 0.5
_published_at: dict[int, float] = {}


def publish(bot_id: int, force: bool = False) -> bool:
    from bots.live import publish_bot_update

    now = time.monotonic()
    if not force and now - _published_at.get(bot_id, -PUBLISH_INTERVAL) < PUBLISH_INTERVAL:
        return False
    _published_at[bot_id] = now
    publish_bot_update(bot_id)
    return True


def _renew(bot_id: int, lease: datetime | None, now: datetime) -> "scheduler.Lease | None":
    """The lease the tick runs under (renewed in the background until released; see bots.scheduler)."""
    return scheduler.hold(bot_id, lease, now)


def _paused_until(client) -> datetime | None:
    from exchanges import rate_limits

    key = getattr(client, "pause_key", None)
    paused = rate_limits.paused_until(key) if key else None
    return paused[0] if paused else None


def _event(bot: Bot, kind: str, message: str, data: dict | None = None, *, exchange_time: datetime | None = None,
           source: str = "worker") -> BotEvent:
    """An audit event, stamped with the wall clock (the order people did things in); a replay bot's
    exchange-clock time goes in its data."""
    data = dict(data or {})
    if exchange_time is not None:
        data["exchange_time"] = exchange_time
    instruments.count_bot_event(bot, kind, data)
    return BotEvent.objects.create(bot=bot, kind=kind, message=message[:1000], data=data, source=source)


def _fail(bot: Bot, reason: str) -> None:
    reason = redact(reason)[:480]  # an unexpected exception's text may quote a request, keys included
    Bot.objects.filter(pk=bot.pk).update(status=Bot.Status.ERROR, status_reason=reason,
                                         status_changed_at=timezone.now())
    _event(bot, BotEvent.Kind.ERROR, gettext_noop("Bot stopped with an error: %(reason)s") % {"reason": reason},
           {"error": reason})


def _next_due(bot: Bot, client, retry: bool = False) -> datetime | None:
    """Wall-clock time when the candle after the last processed one will have closed; after a temporary
    error, when the candle now in progress will have closed (so a failing exchange is asked once a candle)."""
    tf = timedelta(seconds=_tf_seconds(bot.timeframe))
    if bot.last_candle_at is None or retry:
        if client is None:
            return timezone.now() + tf
        return scheduler.wall_time_of(bot, last_closed_candle(client.now(), bot.timeframe) + 2 * tf)
    return scheduler.wall_time_of(bot, bot.last_candle_at + 2 * tf)


def _tick(bot: Bot, client, result: TickResult) -> datetime | None:
    settle_unknown_orders(bot, client)
    sync_protective_exit(bot, client)
    if reconcile_due(bot, client):
        reconcile_with_exchange(bot, client)
    crashpoint("after_reconcile")

    exchange_now = client.now()
    last_closed = last_closed_candle(exchange_now, bot.timeframe)
    if bot.last_candle_at is not None and last_closed <= bot.last_candle_at:
        result.outcome = "waiting"
        return _next_due(bot, client)
    try:
        strategy = bot.strategy.build()
    except Exception as exc:
        raise PermanentTickError(gettext_noop("The strategy settings are invalid: %(error)s") % {"error": exc})
    candles = closed_candles(client, bot, last_closed, strategy.warmup)
    if len(candles) == 0:
        if bot.mode == Bot.Mode.REPLAY and bot.last_candle_at is not None:
            return _replay_finished(bot, bot.last_candle_at, result)
        if bot.mode == Bot.Mode.REPLAY:
            raise PermanentTickError(gettext_noop(
                "There are no stored %(symbol)s %(timeframe)s candles before the replay clock (%(now)s UTC): import "
                "some or move the replay start.") % {
                "symbol": bot.symbol, "timeframe": bot.timeframe, "now": f"{exchange_now:%Y-%m-%d %H:%M}"})
        raise TemporaryExchangeError(gettext_noop("No closed %(symbol)s %(timeframe)s candles yet.") % {
            "symbol": bot.symbol, "timeframe": bot.timeframe})
    candle_at = candles.index[-1].to_pydatetime()
    if bot.last_candle_at is not None and candle_at <= bot.last_candle_at:
        if bot.mode == Bot.Mode.REPLAY and last_closed > candle_at:
            return _replay_finished(bot, candle_at, result)
        result.outcome = "waiting"
        return _next_due(bot, client)
    result.candle_at = candle_at
    close = Decimal(repr(float(candles["close"].iloc[-1])))
    decision = strategy.execute(candles)
    if bot.signal_source == Bot.SignalSource.WEBHOOK:
        # External signals: its entries and exits come from webhook alerts through the command service
        # (api.signals); the tick still values the books, trips halts and runs the protective exits.
        decision = {**decision, "signal": "HOLD"}
    result.signal = decision["signal"]

    position = drop_dust(bot, client, ledger.open_position(bot))
    limits = risk.RiskLimits.from_bot(bot)
    state = _risk_state(bot, limits, exchange_now, close, position)
    _apply_halts(bot, client, limits, state, candle_at, position, result)

    if decision["signal"] != "HOLD":
        _event(bot, BotEvent.Kind.SIGNAL, gettext_noop("%(signal)s on the %(candle)s candle: %(reason)s") % {
               "signal": decision["signal"], "candle": f"{candle_at:%Y-%m-%d %H:%M}", "reason": decision["reason"]},
               {**decision, "candle_at": candle_at, "close": close},
               exchange_time=exchange_now)
    if result.orders:
        position = ledger.open_position(bot)
    if position is not None and not client.capabilities.simulated and limits.trailing_stop_pct:
        trail_exchange_stop(bot, client, limits, position, candles, candle_at)
    if position is not None and not client.capabilities.simulated:
        # No bracket on this exchange: the tick checks take-profit, trailing stop (and the stop-loss, where the
        # exchange holds none or a stop-limit was jumped) on each closed candle.
        reason = live_protective_exit(limits, position, candles)
        if reason:
            exit_position(bot, client, position, candle_at, reason, result)
            position = ledger.open_position(bot)
            if decision["signal"] == "BUY":
                decision = {**decision, "signal": "HOLD"}  # the backtester re-enters only on the next signal
    if decision["signal"] == "BUY" and position is None and bot.status == Bot.Status.RUNNING:
        review = risk.review_entry(limits, _with_entry_counts(bot, state, candle_at), bot.stake)
        if review.allowed:
            enter(bot, client, candle_at, review, close, result)
        elif not review.is_halt:
            _event(bot, BotEvent.Kind.RISK_REFUSAL, gettext_noop("BUY refused (%(rule)s): %(message)s") % {
                   "rule": review.rule, "message": review.message},
                   {"rule": review.rule, **review.numbers}, source="risk", exchange_time=exchange_now)
    elif decision["signal"] == "BUY" and position is None:
        _event(bot, BotEvent.Kind.RISK_REFUSAL, gettext_noop("BUY refused: the bot is halted (%(reason)s)") % {
               "reason": bot.status_reason},
               {"rule": "halted", "halted_until": bot.halted_until}, source="risk", exchange_time=exchange_now)
    elif decision["signal"] == "SELL" and position is not None:
        exit_position(bot, client, position, candle_at, "signal", result)

    books = ledger.books(bot, close) if result.orders else state.books
    updates = {"last_candle_at": candle_at}
    if bot.equity_peak is None or books.equity > bot.equity_peak:
        updates["equity_peak"] = books.equity
    with transaction.atomic():
        Bot.objects.filter(pk=bot.pk).update(**updates)
        ledger.snapshot(bot, candle_at, close, books)
    for name, value in updates.items():
        setattr(bot, name, value)
    return _next_due(bot, client)


def _replay_finished(bot: Bot, candle_at: datetime, result: TickResult) -> None:
    """The replay clock has passed the last stored candle: the bot stops (an open position stays open)."""
    reason = gettext_noop("The replay reached the end of the stored candles (%(symbol)s %(timeframe)s, last "
                          "%(last)s UTC).") % {
        "symbol": bot.symbol, "timeframe": bot.timeframe, "last": f"{candle_at:%Y-%m-%d %H:%M}"}
    now = timezone.now()
    Bot.objects.filter(pk=bot.pk, status__in=scheduler.ACTIVE).update(
        status=Bot.Status.STOPPED, status_reason=reason, status_changed_at=now, stopped_at=now)
    bot.status = Bot.Status.STOPPED
    _event(bot, BotEvent.Kind.STOP, reason)
    result.outcome = "finished"
    return None


def live_protective_exit(limits: risk.RiskLimits, position: Position, candles) -> str:
    """A live position's stop-loss/take-profit/trailing stop, checked on the last closed candle with the
    execution rules of the backtester ("" when it holds). Executed as a market sell by the caller."""
    from exchanges import execution

    entry = float(position.average_entry)
    since = candles[candles.index >= position.opened_at.replace(second=0, microsecond=0)]
    before = since.iloc[:-1]
    peak = max(entry, float(before["high"].max())) if len(before) else entry
    stop_loss, take_profit, trailing = (float(limits.stop_loss_pct), float(limits.take_profit_pct),
                                        float(limits.trailing_stop_pct))
    stop = execution.stop_level(entry, stop_loss, trailing, peak)
    target = entry * (1.0 + take_profit) if take_profit > 0 else 0.0
    last = candles.iloc[-1]
    _, code = execution.protective_exit(float(last["open"]), float(last["high"]), float(last["low"]), stop, target,
                                        execution.stop_is_trailing(entry, stop_loss, trailing, peak))
    return execution.EXIT_REASONS.get(int(code), "")


@dataclass(frozen=True)
class TickState(risk.RiskState):
    books: ledger.Books | None = None


def _risk_state(bot: Bot, limits: risk.RiskLimits, exchange_now: datetime, close: Decimal,
                position: Position | None) -> TickState:
    """What the halt rules need; the entry counts are added only when an entry is considered."""
    books = ledger.books(bot, close, position)
    today = exchange_now.date()
    if bot.day_start != today or bot.day_start_equity is None:
        # The first tick of a UTC day (on the exchange clock) fixes the equity the daily loss counts from.
        bot.day_start, bot.day_start_equity = today, books.equity
        Bot.objects.filter(pk=bot.pk).update(day_start=today, day_start_equity=books.equity)
    if bot.equity_peak is None:
        bot.equity_peak = books.equity
        Bot.objects.filter(pk=bot.pk).update(equity_peak=books.equity)
    streak, last_loss = ledger.loss_streak(bot) if limits.max_consecutive_losses else (0, None)
    return TickState(
        now=exchange_now,
        equity=books.equity,
        equity_peak=max(bot.equity_peak, books.equity),
        day_start_equity=bot.day_start_equity,
        consecutive_losses=streak,
        last_loss_at=last_loss,
        books=books,
    )


def _with_entry_counts(bot: Bot, state: TickState, candle_at: datetime) -> TickState:
    """Orders of the last hour (protective exits not counted) and the owner's open positions."""
    recent = (Order.objects.filter(bot=bot, candle_at__gt=candle_at - timedelta(hours=1))
              .exclude(type__in=PROTECTIVE_TYPES))
    return dataclasses.replace(
        state,
        orders_last_hour=recent.count(),
        open_positions=Position.objects.filter(bot__owner_id=bot.owner_id, status=Position.Status.OPEN).count(),
        entries_stopped=entries.entries_stopped_for(bot.owner_id),
    )


def _apply_halts(bot, client, limits, state, candle_at, position, result) -> None:
    """Trip a halt rule (the bot stops opening positions), or lift a timed halt that has ended."""
    halt = risk.check_halts(limits, state)
    if halt is not None and bot.status == Bot.Status.RUNNING:
        bot.status, bot.status_reason, bot.halted_until = Bot.Status.HALTED, halt.message[:500], halt.halt_until
        Bot.objects.filter(pk=bot.pk, status=Bot.Status.RUNNING).update(
            status=bot.status, status_reason=bot.status_reason, halted_until=bot.halted_until,
            status_changed_at=timezone.now())
        _event(bot, BotEvent.Kind.HALT, gettext_noop("Halted (%(rule)s): %(message)s") % {
               "rule": halt.rule, "message": halt.message}, {"rule": halt.rule, **halt.numbers},
               source="risk", exchange_time=state.now)
        if limits.flatten_on_halt and position is not None:
            exit_position(bot, client, position, candle_at, "flatten_on_halt", result)
        return
    if bot.status == Bot.Status.HALTED and halt is None and bot.halted_until is not None \
            and state.now >= bot.halted_until:
        Bot.objects.filter(pk=bot.pk, status=Bot.Status.HALTED).update(
            status=Bot.Status.RUNNING, status_reason=gettext_noop("The halt ended."), halted_until=None,
            status_changed_at=timezone.now())
        bot.status, bot.halted_until = Bot.Status.RUNNING, None
        _event(bot, BotEvent.Kind.RESUME, gettext_noop("The halt ended: the bot may open positions again."),
               source="risk",
               exchange_time=state.now)


def _quantize_down(amount: Decimal, step: Decimal | None) -> Decimal:
    if not step:
        return amount.quantize(Decimal("1e-16"), rounding=ROUND_DOWN)
    return (amount / step).to_integral_value(rounding=ROUND_DOWN) * step


def enter(bot: Bot, client, candle_at: datetime, review: risk.Decision, close: Decimal, result: TickResult):
    """Buy with `review.cash` of quote currency, then protect the position."""
    if not client.capabilities.simulated:
        # A whole number of the market's amount steps, so the exit can sell exactly what was bought.
        fee = Decimal("0.001")
        step = _amount_step(client, bot)
        amount = _quantize_down(review.cash / (close * (1 + fee)), step)
        params = None
        if amount <= 0:
            message = gettext_noop("BUY skipped: %(cash)s buys less than one amount step (%(step)s) of %(symbol)s.") % {
                "cash": f"{review.cash:.2f}", "step": step, "symbol": bot.symbol}
            _event(bot, BotEvent.Kind.RISK_REFUSAL, message, {"rule": "min_amount", "cash": review.cash, "step": step},
                   source="risk")
            return
    else:
        # The simulated exchanges spend exactly the cash (quote_amount) at the next open, as the backtester
        # does; the amount is only an estimate at the last close. The wallet rounds its balances, so the
        # ledger's equity may exceed what is free by a rounding dust.
        quote = bot.symbol.split("/")[-1]
        free = client.fetch_balance().get(quote)
        cash = min(review.cash, free.free) if free is not None else review.cash
        review = risk.Decision(True, numbers=review.numbers, cash=cash)
        amount = _quantize_down(cash / (close * (1 + bot.fee)), None)
        params = {"quote_amount": cash}
    crashpoint("before_order_recorded")
    order, created = ledger.record_intent(bot, side="buy", amount=amount, candle_at=candle_at, reason="signal")
    if not created and not _may_send(order):
        return
    _event(bot, BotEvent.Kind.ORDER,
           gettext_noop("BUY %(amount)s %(symbol)s (about %(cash)s %(quote)s, %(fraction)s of equity)") % {
               "amount": ledger.shown(amount), "symbol": bot.symbol, "cash": f"{review.cash:.2f}",
               "quote": bot.symbol.split("/")[-1], "fraction": f"{review.numbers.get('fraction', 0):.2%}"},
           {"client_order_id": order.client_order_id, "cash": review.cash, **review.numbers})
    send(bot, client, order, params=params)
    result.orders.append(order.client_order_id)
    order.refresh_from_db()
    if order.filled > 0:
        protect(bot, client, order, candle_at, result)


_markets: dict = {}
MARKETS_TTL = 3600.0


def _market(client, bot: Bot):
    """The bot's market, from markets loaded at most once an hour per process and exchange."""
    key = bot.exchange_account.exchange_id
    loaded = _markets.get(key)
    if loaded is None or time.monotonic() - loaded[0] > MARKETS_TTL:
        loaded = (time.monotonic(), client.load_markets())
        _markets[key] = loaded
    market = loaded[1].get(bot.symbol)
    if market is None:
        raise PermanentTickError(f"{bot.exchange_account.exchange_id} has no market {bot.symbol}.")
    return market


def _amount_step(client, bot: Bot) -> Decimal | None:
    return _market(client, bot).amount_step


def send(bot: Bot, client, order: Order, params: dict | None = None) -> Order:
    """Send a recorded order (bots.orders.send): an unknown outcome leaves it `unknown` and the next tick,
    a few seconds later, asks the exchange before doing anything else."""
    orders.send(order, client, params=params)
    return order


def protect(bot: Bot, client, entry: Order, candle_at: datetime, result: TickResult | None = None) -> None:
    """Place the stop-loss/take-profit exit of a new position (a bracket on the simulated exchanges; a
    live bot's protective exit is checked by the tick itself against each closed candle)."""
    limits = risk.RiskLimits.from_bot(bot)
    levels = risk.protective_levels(limits, entry.average or Decimal("0"))
    if not client.capabilities.simulated:
        protect_on_exchange(bot, client, limits, candle_at, result)
        return
    if not (levels["stop_loss"] or levels["take_profit"] or levels["trailing"]):
        return
    position = ledger.open_position(bot)
    if position is None:
        return
    held = client.fetch_balance().get(bot.symbol.split("/")[0])
    amount = min(position.quantity, held.free) if held is not None else position.quantity
    order, created = ledger.record_intent(bot, side="sell", amount=amount, candle_at=candle_at,
                                          reason="protective", type="bracket", tag=BRACKET_TAG)
    if not created and not _may_send(order):
        return
    crashpoint("before_bracket_sent")
    instruments.count_order("submitted", bot, "sell")
    params = {"stop_loss": limits.stop_loss_pct, "take_profit": limits.take_profit_pct,
              "trailing": limits.trailing_stop_pct, "entry_price": entry.average}
    try:
        answer = client.create_order(bot.symbol, "sell", "bracket", amount, None,
                                     client_order_id=order.client_order_id, params=params)
    except TemporaryExchangeError as exc:
        Order.objects.filter(pk=order.pk).update(status=Order.Status.UNKNOWN, error=str(exc)[:500])
        raise
    crashpoint("after_bracket_sent")
    ledger.apply_result(order, answer)


def protect_on_exchange(bot: Bot, client, limits: risk.RiskLimits, candle_at: datetime,
                        result: TickResult | None = None, stop: Decimal | None = None) -> None:
    """A live position's stop-loss as an order on the exchange (stop-limit or stop-market, by the capability
    table), so it stays protected while no worker runs. Where the exchange holds none, the tick checks the
    stop-loss on each closed candle (live_protective_exit) and an event says so."""
    if not (limits.stop_loss_pct or stop):
        return
    position = ledger.open_position(bot)
    if position is None:
        return  # never a stop for a closed position
    kind = client.capabilities.protective_order_type
    if kind not in STOP_TYPES:
        if not BotEvent.objects.filter(bot=bot, data__candle_stop=True, time__gte=position.opened_at).exists():
            _event(bot, BotEvent.Kind.ORDER, gettext_noop(
                "%(exchange)s holds no stop-loss orders: the bot checks the stop-loss on each closed candle (it "
                "cannot act while no worker runs).") % {"exchange": bot.exchange_account.exchange_id},
                {"candle_stop": True})
        return
    if Order.objects.filter(bot=bot, type__in=STOP_TYPES, status__in=(Order.Status.OPEN, *Order.UNSETTLED)).exists():
        return
    market = _market(client, bot)
    held = client.fetch_balance().get(bot.symbol.split("/")[0])
    amount = _quantize_down(min(position.quantity, held.free) if held is not None else position.quantity,
                            market.amount_step)
    if amount <= 0:
        return
    if stop is None:
        stop = position.average_entry * (1 - limits.stop_loss_pct)
    stop = _quantize_down(stop, market.price_step)
    limit = _quantize_down(stop * (1 - STOP_LIMIT_OFFSET), market.price_step) if kind == "stop_limit" else None
    # A stop placed again (after a cancel on the exchange) gets a new id, even on the same candle.
    earlier = Order.objects.filter(bot=bot, type__in=STOP_TYPES, candle_at=candle_at).exclude(
        status__in=(Order.Status.OPEN, *Order.UNSETTLED)).exclude(error__startswith=NEVER_SENT).count()
    order, created = ledger.record_intent(bot, side="sell", amount=amount, candle_at=candle_at, reason="stop_loss",
                                          type=kind, price=limit, tag=f"{STOP_TAG}{earlier or ''}")
    if not created and not _may_send(order):
        return
    crashpoint("before_bracket_sent")
    try:
        orders.send(order, client, stop_price=stop)
    except OrderRefused as exc:
        if "insufficient" in exc.reason.lower():
            # Coins missing for the stop: an alert; the candle check still watches the position.
            _event(bot, BotEvent.Kind.ERROR, gettext_noop(
                "The stop-loss could not be placed on the exchange (%(reason)s): the bot checks it on each closed "
                "candle instead. Check the account's balance.") % {"reason": exc.reason},
                {"error": exc.reason, "alert": True})
            return
        # An invalid stop (most often: the price has already passed it): the position is sold at market now.
        _event(bot, BotEvent.Kind.ERROR, gettext_noop(
            "The stop-loss was refused by the exchange (%(reason)s): the position is sold at market.") % {
            "reason": exc.reason}, {"error": exc.reason, "temporary": True})
        exit_position(bot, client, position, candle_at, "stop_loss", result or TickResult(bot.pk, "ticked"))
        return
    crashpoint("after_bracket_sent")
    words = {"type": kind.replace("_", "-"), "amount": ledger.shown(amount), "symbol": bot.symbol,
             "stop": ledger.shown(stop), "limit": ledger.shown(limit) if limit is not None else ""}
    _event(bot, BotEvent.Kind.ORDER, (
        gettext_noop("Stop-loss on the exchange: %(type)s sell %(amount)s %(symbol)s at %(stop)s.") if limit is None
        else gettext_noop("Stop-loss on the exchange: %(type)s sell %(amount)s %(symbol)s at %(stop)s "
                          "(limit %(limit)s).")) % words,
        {"client_order_id": order.client_order_id, "stop_price": stop, "limit": limit, "type": kind})


TRAIL_EVERY = timedelta(seconds=60)  # an exchange stop is moved up by cancel-and-replace at most this often


def trail_exchange_stop(bot: Bot, client, limits: risk.RiskLimits, position: Position, candles,
                        candle_at: datetime) -> None:
    """Move a live position's exchange stop up to its trailing level (the highest price over the closed
    candles since entry, less the trailing distance) by cancel-and-replace, at most once a minute; a stop that
    filled meanwhile is booked and not replaced."""
    from exchanges import execution

    order = Order.objects.filter(bot=bot, type__in=STOP_TYPES, status=Order.Status.OPEN).first()
    current = (order.raw or {}).get("stopPrice") if order is not None else None
    if order is None or not current:
        return
    since = candles[candles.index >= position.opened_at.replace(second=0, microsecond=0)]
    entry = float(position.average_entry)
    peak = max(entry, float(since["high"].max())) if len(since) else entry
    level = execution.stop_level(entry, float(limits.stop_loss_pct), float(limits.trailing_stop_pct), peak)
    market = _market(client, bot)
    level = _quantize_down(Decimal(repr(level)), market.price_step)
    if level <= Decimal(str(current)) or (order.sent_at and timezone.now() - order.sent_at < TRAIL_EVERY):
        return
    try:
        answer = client.cancel_order(order.symbol, client_order_id=order.client_order_id)
    except OrderNotFound:
        answer = client.fetch_order(order.symbol, client_order_id=order.client_order_id)
    ledger.apply_result(order, answer)
    if answer.filled > 0 or ledger.open_position(bot) is None:
        return
    _event(bot, BotEvent.Kind.ORDER, gettext_noop("Trailing stop: moving the stop-loss from %(from)s to %(to)s.") % {
        "from": current, "to": ledger.shown(level)},
        {"client_order_id": order.client_order_id, "from": str(current), "to": level})
    protect_on_exchange(bot, client, limits, candle_at, stop=level)


def sync_exchange_stops(bot: Bot, client) -> None:
    """A live position's stop on the exchange since the last tick: a fill is booked from the exchange's fill
    (the position closes with reason stop_loss); a stop canceled on the exchange (by hand) while the position
    is open is placed again and reported; a position without its stop (a crash, a refusal) gets it."""
    limits = risk.RiskLimits.from_bot(bot)
    for order in Order.objects.filter(bot=bot, type__in=STOP_TYPES, status=Order.Status.OPEN):
        try:
            answer = client.fetch_order(order.symbol, client_order_id=order.client_order_id)
        except OrderNotFound:
            orders.settle(order, client)
            continue
        if answer.status == order.status and answer.filled == order.filled:
            continue
        ledger.apply_result(order, answer)
        if answer.filled > order.filled:
            _event(bot, BotEvent.Kind.ORDER, gettext_noop(
                "The stop-loss %(order)s filled on the exchange: %(filled)s %(symbol)s at %(price)s.") % {
                "order": order.client_order_id, "filled": ledger.shown(answer.filled), "symbol": bot.symbol,
                "price": ledger.shown(answer.average or 0)},
                {"client_order_id": order.client_order_id, "filled": answer.filled})
        elif answer.status == Order.Status.CANCELED and ledger.open_position(bot) is not None:
            _event(bot, BotEvent.Kind.ERROR, gettext_noop(
                "The stop-loss %(order)s was canceled on the exchange (by hand?): it is placed again.") % {
                "order": order.client_order_id}, {"error": "stop canceled on the exchange", "temporary": True,
                                                  "client_order_id": order.client_order_id})
    position = ledger.open_position(bot)
    if position is not None and limits.stop_loss_pct and client.capabilities.protective_order_type in STOP_TYPES:
        protect_on_exchange(bot, client, limits, last_closed_candle(client.now(), bot.timeframe))


def exit_position(bot: Bot, client, position: Position, candle_at: datetime, reason: str, result: TickResult):
    """Sell the whole position at market; cancel its protective exit first (unless that already sold)."""
    bracket = Order.objects.filter(bot=bot, type__in=PROTECTIVE_TYPES, status=Order.Status.OPEN).first()
    if bracket is not None:
        try:
            answer = client.cancel_order(bot.symbol, client_order_id=bracket.client_order_id)
        except OrderNotFound:
            answer = client.fetch_order(bot.symbol, client_order_id=bracket.client_order_id)
        ledger.apply_result(bracket, answer)
        position.refresh_from_db()
        if position.status != Position.Status.OPEN:
            return
    amount = position.quantity
    held = client.fetch_balance().get(bot.symbol.split("/")[0])
    if client.capabilities.simulated:
        # The bot's own simulated wallet holds exactly the position; the ledger's 12 decimals may round up.
        amount = min(amount, held.free) if held is not None else amount
    else:
        # Sell what is there (a fee taken from the bought coin leaves less than was bought), in whole amount
        # steps; what is left below one step is dust, recorded when the position closes.
        step = _amount_step(client, bot)
        amount = _quantize_down(min(amount, held.free) if held is not None else amount, step)
        if amount <= 0:
            ledger.close_as_dust(position)
            return
    crashpoint("before_order_recorded")
    order, created = ledger.record_intent(bot, side="sell", amount=amount, candle_at=candle_at, reason=reason)
    if not created and not _may_send(order):
        return
    _event(bot, BotEvent.Kind.ORDER, gettext_noop("SELL %(amount)s %(symbol)s (%(reason)s)") % {
               "amount": ledger.shown(amount), "symbol": bot.symbol, "reason": reason},
           {"client_order_id": order.client_order_id, "reason": reason})
    send(bot, client, order)
    result.orders.append(order.client_order_id)
    if not client.capabilities.simulated:
        drop_dust(bot, client, ledger.open_position(bot))


def drop_dust(bot: Bot, client, position: Position | None) -> Position | None:
    """A live position smaller than one amount step cannot be sold: close it as dust (recorded on the
    position and in an event) so that it blocks neither the next BUY nor a SELL. Returns what is left open."""
    if position is None or client.capabilities.simulated:
        return position
    step = _amount_step(client, bot)
    if step and position.quantity < step:
        ledger.close_as_dust(position)
        return None
    return position


NEVER_SENT = orders.NEVER_SENT


def _may_send(order: Order) -> bool:
    """An order already recorded for this candle is sent again only if the exchange never got it (it was
    settled as never sent at the start of this tick, which is still on the same candle)."""
    if order.status == Order.Status.CANCELED and order.error.startswith(NEVER_SENT):
        Order.objects.filter(pk=order.pk).update(status=Order.Status.PENDING, error="")
        order.status, order.error = Order.Status.PENDING, ""
        return True
    return order.status in Order.UNSETTLED


def settle_unknown_orders(bot: Bot, client) -> None:
    """Orders recorded but not known to be acknowledged (a crash, a timeout, an answer lost after the exchange
    took it): ask the exchange about each before anything else happens (bots.orders.settle). While one is
    still unknown the tick stops here (OrdersUnsettled): no other order is sent for the same intent."""
    still_unknown = []
    for order in orders.unsettled(bot):
        outcome = orders.settle(order, client)
        if outcome == orders.UNKNOWN:
            still_unknown.append(order.client_order_id)
            continue
        if outcome != orders.SETTLED:
            continue
        order.refresh_from_db()
        if order.side == "buy" and order.filled > 0 and order.type != "bracket":
            protect(bot, client, order, order.candle_at)
    if still_unknown:
        raise OrdersUnsettled(f"order(s) {', '.join(still_unknown)} not shown by the exchange yet; asked again "
                              f"in {SETTLE_RETRY:.0f} s, nothing else is sent meanwhile")


def sync_protective_exit(bot: Bot, client) -> None:
    """Has the exchange executed the open position's stop-loss/take-profit since the last tick? And a
    position whose bracket never reached the exchange (a crash between entry and bracket) gets it now."""
    if not client.capabilities.simulated:
        sync_exchange_stops(bot, client)
        return
    brackets = list(Order.objects.filter(bot=bot, type="bracket", status=Order.Status.OPEN))
    for order in brackets:
        answer = client.fetch_order(order.symbol, client_order_id=order.client_order_id)
        if answer.status == order.status and answer.filled == order.filled:
            continue
        if answer.filled > 0:
            # stop_loss / take_profit / trailing_stop, as the exchange says, becomes the position's exit reason.
            reason = (answer.raw or {}).get("reason") or "protective"
            Order.objects.filter(pk=order.pk).update(reason=reason)
            instruments.count_order("filled", bot, order.side)
        ledger.apply_result(order, answer)
    if brackets:
        return
    limits = risk.RiskLimits.from_bot(bot)
    if not (limits.stop_loss_pct or limits.take_profit_pct or limits.trailing_stop_pct):
        return
    position = ledger.open_position(bot)
    if position is not None:
        entry = Order.objects.filter(bot=bot, side="buy", filled__gt=0).order_by("-candle_at").first()
        if entry is not None:
            protect(bot, client, entry, entry.candle_at)


def reconcile_with_exchange(bot: Bot, client) -> None:
    """On start and resume, and every RECONCILE_EVERY for a bot on a real exchange: the ledger against the
    exchange's truth.
    1. orders of this bot open on the exchange but not in the ledger are adopted (an event says so);
    2. orders the ledger has open are asked for by client order id: a fill or cancel meanwhile is booked, one
       the exchange does not know (after its lookup window) is marked lost with an alert;
    3. the position against the balance: a simulated wallet is the bot's alone, the ledger follows it; on a
       real account a position the balance cannot cover is flagged (event), never silently corrected."""
    prefix = ledger.client_order_prefix(bot.pk)
    known = set(Order.objects.filter(bot=bot).values_list("client_order_id", flat=True))
    imported = 0
    for answer in client.fetch_open_orders(bot.symbol):
        cid = answer.client_order_id or ""
        if cid.startswith(prefix) and cid not in known:
            order = Order.objects.create(bot=bot, client_order_id=cid, symbol=answer.symbol, side=answer.side,
                                         type=answer.type, amount=answer.amount or 0, candle_at=answer.timestamp
                                         or timezone.now(), reason="imported", status=Order.Status.UNKNOWN,
                                         sent_at=answer.timestamp or timezone.now())
            ledger.apply_result(order, answer)
            _event(bot, BotEvent.Kind.RECONCILE, gettext_noop(
                "Order %(order)s found open on the exchange and not in the ledger: adopted.") % {"order": cid},
                {"client_order_id": cid, "adopted": True})
            imported += 1
            instruments.count_reconciliation_difference(bot, "order")
    if not client.capabilities.simulated:
        for order in Order.objects.filter(bot=bot, status=Order.Status.OPEN):
            if order.sent_at is None:
                order.sent_at = order.updated_at
            if orders.settle(order, client) == orders.LOST:
                log.warning("bot %s: open order %s unknown to the exchange: lost", bot.pk, order.client_order_id)
                instruments.count_reconciliation_difference(bot, "lost_order")
    details = {"imported_orders": imported}
    base = bot.symbol.split("/")[0]
    balance = client.fetch_balance().get(base)
    held = balance.total if balance else Decimal("0")
    position = ledger.open_position(bot)
    booked = position.quantity if position else Decimal("0")
    details.update({"exchange_quantity": held, "ledger_quantity": booked})
    now = timezone.now()
    if client.capabilities.simulated and abs(held - booked) > ledger.DUST:
        instruments.count_reconciliation_difference(bot, "position")
        _event(bot, BotEvent.Kind.RECONCILE,
               gettext_noop("The exchange holds %(held)s %(base)s, the ledger %(booked)s: "
                            "the ledger follows the exchange.") % {
                   "held": ledger.shown(held), "base": base, "booked": ledger.shown(booked)}, details)
        _correct_position(bot, position, held)
    elif not client.capabilities.simulated and booked - held > ledger.DUST:
        # A live account may hold more than this bot bought (the user's own coins); less is a problem to show.
        instruments.count_reconciliation_difference(bot, "position")
        _event(bot, BotEvent.Kind.RECONCILE, gettext_noop(
            "Position differs from the exchange: the ledger holds %(booked)s %(base)s, the account %(held)s. Not "
            "corrected: check the account (coins moved or sold outside the bot?) and close or adjust the "
            "position.") % {"booked": ledger.shown(booked), "base": base, "held": ledger.shown(held)},
            {**details, "mismatch": True})
    Bot.objects.filter(pk=bot.pk).update(needs_reconcile=False, reconciled_at=now)
    bot.needs_reconcile, bot.reconciled_at = False, now
    _event(bot, BotEvent.Kind.RECONCILE, gettext_noop("Reconciled with the exchange (%(count)s orders imported).") % {
        "count": imported}, details)


def reconcile_due(bot: Bot, client, now: datetime | None = None) -> bool:
    """On start/resume, and every RECONCILE_EVERY for a bot on a real exchange."""
    if bot.needs_reconcile:
        return True
    if client.capabilities.simulated:
        return False
    every = timedelta(minutes=getattr(settings, "RECONCILE_EVERY_MINUTES", 15))
    return bot.reconciled_at is None or (now or timezone.now()) - bot.reconciled_at >= every


def _correct_position(bot: Bot, position: Position | None, held: Decimal) -> None:
    now = timezone.now()
    if position is None:
        Position.objects.create(bot=bot, symbol=bot.symbol, quantity=held, entry_quantity=held, opened_at=now)
    elif held <= ledger.DUST:
        position.quantity, position.status, position.closed_at = Decimal("0"), Position.Status.CLOSED, now
        position.exit_reason = "reconciled"
        position.realised_pnl = position.proceeds - position.cost
        position.save()
    else:
        position.quantity = held
        position.save()
