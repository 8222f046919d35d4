"""Start, stop, pause and resume a bot: the one service behind the bot page, admin, commands and JSON API.

Each change is a conditional UPDATE from the states it is allowed from (so it cannot race a tick into a
state it did not expect), an audit event naming who did it, and a live update for the pages.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, pgettext_lazy

from bots.models import Bot, BotEvent


class BotControlError(Exception):
    """A change that is not possible now (the message says why, fit to show the user)."""


START_FROM = (Bot.Status.STOPPED, Bot.Status.ERROR)
STOP_FROM = (Bot.Status.RUNNING, Bot.Status.PAUSED, Bot.Status.HALTED, Bot.Status.ERROR)
PAUSE_FROM = (Bot.Status.RUNNING, Bot.Status.HALTED)
RESUME_FROM = (Bot.Status.PAUSED, Bot.Status.HALTED)


def replay_now(bot: Bot, wall_now: datetime | None = None) -> datetime | None:
    """The replay clock of a replay bot: replay_start, plus the replay time already run, plus the wall
    time since the last start multiplied by the speed. None for other modes or before a first start."""
    if bot.mode != Bot.Mode.REPLAY or bot.replay_start is None:
        return None
    elapsed = bot.replay_offset or timedelta(0)
    if bot.replay_started_at is not None:
        wall_now = wall_now or timezone.now()
        elapsed += (wall_now - bot.replay_started_at) * bot.replay_speed
    return bot.replay_start + elapsed


def _frozen_clock_fields(bot: Bot, now: datetime) -> dict:
    """Stop the replay clock where it is, so a later start or resume carries on from the same candle."""
    if bot.mode != Bot.Mode.REPLAY or bot.replay_started_at is None:
        return {}
    return {"replay_offset": replay_now(bot, now) - bot.replay_start, "replay_started_at": None}


# The verbs and statuses said in the refusal, in the reader's language (the message is shown at once, not stored).
ACTION_VERBS = {"start": pgettext_lazy("bot action", "start"), "stop": pgettext_lazy("bot action", "stop"),
                "pause": pgettext_lazy("bot action", "pause"), "resume": pgettext_lazy("bot action", "resume")}


def _status_word(status: str) -> str:
    """A bot status's label inside a sentence: lower case ("it is running"; Thai, Chinese and Japanese have no
    case, so this changes only English)."""
    try:
        return str(Bot.Status(status).label).lower()
    except ValueError:
        return str(status)


def _change(bot: Bot, allowed, fields: dict, kind: str, message: str, *, actor, source: str) -> Bot:
    now = timezone.now()
    fields = {"status_changed_at": now, **fields}
    with transaction.atomic():
        changed = Bot.objects.filter(pk=bot.pk, status__in=allowed).update(**fields)
        if not changed:
            current = Bot.objects.filter(pk=bot.pk).values_list("status", flat=True).first()
            raise BotControlError(_("Cannot %(action)s bot %(bot)s: it is %(status)s; %(action)s works from "
                                    "%(allowed)s.") % {
                "action": str(ACTION_VERBS.get(str(kind), kind)), "bot": repr(bot.name),
                "status": _status_word(current) if current else _("gone"),
                "allowed": ", ".join(_status_word(s) for s in allowed)})
        BotEvent.objects.create(
            bot=bot, kind=kind, message=message, actor=actor if getattr(actor, "pk", None) else None, source=source
        )
    bot.refresh_from_db()
    from bots.live import publish_bot_update

    publish_bot_update(bot.pk)
    return bot


def _who(actor, source: str) -> str:
    name = getattr(actor, "get_username", lambda: "")()
    return f"{source} ({name})" if name else source


def start_bot(bot: Bot, *, actor=None, source: str = "web") -> Bot:
    """stopped/error -> running. The first tick reconciles open orders and the position with the exchange.
    A replay that would start before its strategy has enough history starts at the first candle that has it
    (and the status says so)."""
    problem = start_problem(bot)
    if problem:
        raise BotControlError(problem)
    now = timezone.now()
    fields = {
        "status": Bot.Status.RUNNING,
        "status_reason": gettext_noop("Started by %(who)s.") % {"who": _who(actor, source)},
        "started_at": now,
        "stopped_at": None, "halted_until": None, "needs_reconcile": True, "lease_until": None,
        "next_tick_at": None,
    }
    if bot.mode == Bot.Mode.REPLAY:
        fields["replay_started_at"] = now
        moved = replay_start_with_warmup(bot)
        if moved is not None:
            fields.update(replay_start=moved.start, replay_offset=None)
            fields["status_reason"] += " " + moved.message
    return _change(bot, START_FROM, fields, BotEvent.Kind.START, fields["status_reason"], actor=actor, source=source)


@dataclass(frozen=True)
class MovedStart:
    start: datetime
    message: str


def replay_start_with_warmup(bot: Bot) -> MovedStart | None:
    """Where a replay that has not processed a candle yet must start so that its first candle has the
    strategy's warm-up history (`Strategy.warmup` candles, itself included) among the stored candles; None
    when its start is fine as it is (or there is nothing to decide it from: the first tick reports that)."""
    if bot.mode != Bot.Mode.REPLAY or bot.replay_start is None or bot.last_candle_at is not None:
        return None
    try:
        warmup = bot.strategy.build().warmup
    except Exception:  # invalid settings: the first tick says so
        return None
    from exchanges.candles import timeframe_seconds
    from exchanges.models import Candle

    stored = (Candle.objects.filter(exchange=bot.exchange_account.exchange_id, symbol=bot.symbol,
                                    timeframe=bot.timeframe).order_by("time").values_list("time", flat=True))
    nth = list(stored[warmup - 1:warmup])
    if not nth:
        return None  # fewer stored candles than the warm-up: the replay uses what there is
    # The first tick processes the candle that has closed when the replay clock starts.
    earliest = nth[0] + timedelta(seconds=timeframe_seconds(bot.timeframe))
    if bot.replay_start + (bot.replay_offset or timedelta(0)) >= earliest:
        return None
    first = stored.first()
    # Stored in English (the status reason and the start event); shown translated (tradingbot.stored_text).
    return MovedStart(earliest, gettext_noop(
        "The stored candles begin at %(first)s and the strategy needs %(warmup)s candles of history, so the "
        "replay starts at %(start)s instead of %(asked)s.") % {
        "first": f"{first:%Y-%m-%d %H:%M} UTC", "warmup": warmup, "start": f"{earliest:%Y-%m-%d %H:%M} UTC",
        "asked": f"{bot.replay_start:%Y-%m-%d %H:%M} UTC"})


def start_problem(bot: Bot) -> str:
    """Why this bot cannot start, or "" when it can."""
    account = bot.exchange_account
    if account.status == account.Status.INVALID:
        return _("The exchange account %(account)s has rejected keys: fix them before starting the bot.") % {
            "account": repr(account.label)}
    if bot.mode == Bot.Mode.LIVE and account.mode == account.Mode.PAPER:
        return _("A live bot needs a live or testnet exchange account; %(account)s is a paper account.") % {
            "account": repr(account.label)}
    if bot.mode == Bot.Mode.REPLAY and bot.replay_start is None:
        return _("A replay bot needs a replay start time (the first candle to replay from).")
    if getattr(bot, "strategy_id", True) is None:
        return _("The bot has no strategy configured.")
    if bot.mode == Bot.Mode.LIVE:
        other = sharing_bot(bot)
        if other is not None:
            return _("Another live bot, %(other)s, trades %(coin)s on the exchange account %(account)s: two bots on "
                     "one account and one coin would sell each other's coins. Stop that bot (and close its position) "
                     "or give this one its own exchange account.") % {
                "other": repr(other.name), "coin": other.symbol.split("/")[0], "account": repr(account.label)}
    return ""


def sharing_bot(bot: Bot) -> Bot | None:
    """Another live strategy bot on the same exchange account and the same coin that is active or holds a
    position (as freqtrade warns: bots on one account may steal each other's assets)."""
    base = bot.symbol.split("/")[0]
    others = (Bot.objects.filter(exchange_account_id=bot.exchange_account_id, mode=Bot.Mode.LIVE,
                                 kind=Bot.Kind.STRATEGY, symbol__startswith=f"{base}/")
              .exclude(pk=bot.pk))
    busy = others.filter(status__in=(Bot.Status.RUNNING, Bot.Status.PAUSED, Bot.Status.HALTED))
    holding = others.filter(positions__status="open")
    return busy.first() or holding.first()


def stop_bot(bot: Bot, *, actor=None, source: str = "web") -> Bot:
    """Any active state -> stopped. An open position stays open (and its protective orders in place)."""
    now = timezone.now()
    fields = {
        "status": Bot.Status.STOPPED,
        "status_reason": gettext_noop("Stopped by %(who)s.") % {"who": _who(actor, source)},
        "stopped_at": now,
        "lease_until": None, **_frozen_clock_fields(bot, now),
    }
    return _change(bot, STOP_FROM, fields, BotEvent.Kind.STOP, fields["status_reason"], actor=actor, source=source)


def pause_bot(bot: Bot, *, actor=None, source: str = "web") -> Bot:
    """running/halted -> paused: no ticks until resumed (the replay clock stands still)."""
    now = timezone.now()
    fields = {"status": Bot.Status.PAUSED,
              "status_reason": gettext_noop("Paused by %(who)s.") % {"who": _who(actor, source)},
              **_frozen_clock_fields(bot, now)}
    return _change(bot, PAUSE_FROM, fields, BotEvent.Kind.PAUSE, fields["status_reason"], actor=actor, source=source)


def resume_bot(bot: Bot, *, actor=None, source: str = "web") -> Bot:
    """paused/halted -> running. Resuming a halted bot clears the halt: the drawdown rule then measures
    from the equity at resume (a new peak), as the user has accepted the loss so far."""
    now = timezone.now()
    fields = {
        "status": Bot.Status.RUNNING,
        "status_reason": gettext_noop("Resumed by %(who)s.") % {"who": _who(actor, source)},
        "halted_until": None,
        "needs_reconcile": True,
    }
    if bot.status == Bot.Status.HALTED:
        fields["equity_peak"] = None
    if bot.mode == Bot.Mode.REPLAY and bot.replay_started_at is None:
        fields["replay_started_at"] = now
    return _change(bot, RESUME_FROM, fields, BotEvent.Kind.RESUME, fields["status_reason"], actor=actor,
                   source=source)


ACTIONS = {"start": start_bot, "stop": stop_bot, "pause": pause_bot, "resume": resume_bot}
