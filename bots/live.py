"""Live updates: render a bot's changed HTML fragments and deliver them to the pages watching it.

Design (works with and without Redis):
- `publish(group, html)` always writes a `LiveMessage` row: it is the catch-up log a reconnecting page
  reads (`ws/live/?after=<last id seen>`), and, without Redis, the relay between processes.
- With `REDIS_URL` set the message is also `group_send` through channels-redis at once, from whichever
  process published it (usually the worker).
- Without Redis (the embedded default: SQLite, worker and web server are separate processes) the
  in-memory channel layer does not cross processes, so `bots.relay` runs one task inside each web
  process that tails `LiveMessage` by id every ~150 ms and `group_send`s the new rows to that process's
  in-memory layer. The browser never polls; the server tails its own database.
- Every message carries the whole current state of what it shows (htmx out-of-band swaps that replace
  elements with stable ids, so the trade log is replaced with its newest rows rather than appended to),
  prefixed by a cursor element with its row id. A duplicate (catch-up racing the relay) is harmless and
  dropped by static/js/live.js, which also remembers the newest id and asks for what came after it when
  the htmx ws extension reconnects. A page renders its group's newest id as its starting cursor, so
  nothing published between the page render and the socket opening is lost.
- Times: the worker knows no user's time zone; fragments carry <time datetime> in UTC and
  static/js/timezone.js shows them in the browser's zone (pages render in it already, bots.timezone).
Groups: `user-<id>` (the dashboard's fragments) and `bot-<id>` (the bot page's fragments).
"""

import json
import logging
import re
import time as monotonic_clock
from datetime import timedelta
from decimal import Decimal

from asgiref.sync import async_to_sync
from django.conf import settings
from django.db.models import Max
from django.template.loader import render_to_string
from django.utils import timezone, translation

from bots.models import Bot, BotEvent, Fill, LiveMessage, LiveWatch, Order, PnLSnapshot, Position
from bots.templatetags.bot_display import base_currency, downsample, quote_currency
from metrics import instruments

log = logging.getLogger(__name__)

# Catch-up older than this is useless (the page reloads anyway); the rows are pruned after it.
KEEP_MESSAGES = timedelta(hours=1)
CURSOR_RE = re.compile(r'data-live-id="(\d+)"')


def user_group(user_id) -> str:
    return f"user-{user_id}"


def notify_group(user_id) -> str:
    """Notifications for a user (a fired price alert): every page's socket joins it (see consumers)."""
    return f"notify-{user_id}"


def bot_group(bot_id) -> str:
    return f"bot-{bot_id}"


def wrap(message_id: int, html: str) -> str:
    """The text a websocket client receives: a cursor element (its id for catch-up) then the fragments."""
    return f'<div id="live-cursor" hx-swap-oob="true" data-live-id="{message_id}"></div>\n{html}'


def message_id_of(text: str) -> int | None:
    match = CURSOR_RE.search(text)
    return int(match.group(1)) if match else None


def redis_enabled() -> bool:
    return "RedisChannelLayer" in settings.CHANNEL_LAYERS.get("default", {}).get("BACKEND", "")


def publish(group: str, html: str) -> LiveMessage:
    """Log one update for a group and, with Redis, deliver it at once. Delivery failure never raises:
    the row is written first, so a page that missed it catches up on reconnect."""
    message = LiveMessage.objects.create(group=group, html=html)
    instruments.count_live_message(group)
    if redis_enabled():
        from channels.layers import get_channel_layer

        try:
            async_to_sync(get_channel_layer().group_send)(
                group, {"type": "live.update", "id": message.pk, "html": wrap(message.pk, html)}
            )
        except Exception:  # Redis down: the catch-up log still has it
            log.warning("live update for %s not sent through Redis", group, exc_info=True)
    return message


def publish_many(messages: list[tuple[str, str]]) -> list[LiveMessage]:
    """publish() for several (group, html) at once: one INSERT, and with Redis one trip for all the sends."""
    if not messages:
        return []
    rows = LiveMessage.objects.bulk_create([LiveMessage(group=group, html=html) for group, html in messages])
    for group, _html in messages:
        instruments.count_live_message(group)
    if any(row.pk is None for row in rows):  # a backend that does not return ids: read them back
        newest = list(LiveMessage.objects.order_by("-pk")[:len(rows)])
        rows = list(reversed(newest))
    if redis_enabled():
        from channels.layers import get_channel_layer

        layer = get_channel_layer()

        async def send_all():
            for row in rows:
                await layer.group_send(row.group, {"type": "live.update", "id": row.pk, "html": wrap(row.pk, row.html)})

        try:
            async_to_sync(send_all)()
        except Exception:  # Redis down: the catch-up log still has them
            log.warning("live updates not sent through Redis", exc_info=True)
    return rows


# --- who watches: only watched groups get their fragments rendered on a tick -------------------------------
# A page registers its groups when it renders and its socket renews them while open; a watch outlives the
# socket by WATCH_SECONDS, so a page reconnecting after a server restart still finds its updates waiting.
WATCH_SECONDS = 60.0
RENEW_SECONDS = 20.0
# A publishing process re-reads the watched groups at most this often (one query, whatever the bots).
WATCHED_CACHE_SECONDS = 1.0
# A change nobody watched is logged as this marker (no rendering): a socket that finds one in its
# catch-up, or receives one, renders that group's fragments fresh (bots.consumers).
MARKER_RE = re.compile(r"^<!--changed bot=(\d+)-->$")

_watched: dict = {"groups": frozenset(), "read_at": None}


def marker(bot_id) -> str:
    return f"<!--changed bot={bot_id}-->"


def marker_bot_id(html: str) -> int | None:
    match = MARKER_RE.match(html)
    return int(match.group(1)) if match else None


def watch(groups: list[str], now=None) -> None:
    """Someone watches these groups for the next WATCH_SECONDS (a page rendered, a socket is open)."""
    now = now or timezone.now()
    until = now + timedelta(seconds=WATCH_SECONDS)
    existing = set(LiveWatch.objects.filter(group__in=groups).values_list("group", flat=True))
    LiveWatch.objects.filter(group__in=existing).update(until=until)
    new = [LiveWatch(group=g, until=until) for g in set(groups) - existing]
    if new:
        LiveWatch.objects.bulk_create(new, ignore_conflicts=True)
    if _watched["read_at"] is not None:  # this process publishes too: it knows at once
        _watched["groups"] = _watched["groups"] | frozenset(groups)


def watched_groups(now=None) -> frozenset:
    """The groups someone watches now, re-read from the database at most every WATCHED_CACHE_SECONDS."""
    clock = monotonic_clock.monotonic()
    read_at = _watched["read_at"]
    if read_at is None or clock - read_at >= WATCHED_CACHE_SECONDS:
        now = now or timezone.now()
        _watched["groups"] = frozenset(LiveWatch.objects.filter(until__gt=now).values_list("group", flat=True))
        _watched["read_at"] = clock
    return _watched["groups"]


def forget_watched_cache() -> None:
    _watched["read_at"] = None
    _watched["groups"] = frozenset()


def prune_watches(now=None) -> int:
    deleted, _ = LiveWatch.objects.filter(until__lt=(now or timezone.now()) - timedelta(hours=1)).delete()
    return deleted


TRADE_LOG_ROWS = 50
EVENT_ROWS = 30
CHART_POINTS = 300
TOTAL_CHART_SNAPSHOTS = 1500  # the same for the dashboard's total, which every bot's tick re-renders
RECENT_TRADES = 20


def bot_money(bot, snapshot=None, known=False) -> dict:
    """Equity and P&L of a bot from its newest snapshot (or its starting balance before the first).
    known=True: `snapshot` is already the newest (None meaning there is none)."""
    if snapshot is None and not known:
        snapshot = PnLSnapshot.objects.filter(bot=bot).order_by("-time", "-id").first()
    equity = snapshot.equity if snapshot else bot.starting_balance
    return {
        "snapshot": snapshot,
        "equity": equity,
        "total_pnl": equity - bot.starting_balance,
        "today_pnl": equity - bot.day_start_equity if bot.day_start_equity is not None else None,
        "realised": snapshot.realised if snapshot else Decimal("0"),
        "unrealised": snapshot.unrealised if snapshot else Decimal("0"),
    }


_UNSET = object()


def bot_page_context(bot, money: dict | None = None, position=_UNSET) -> dict:
    """What the bot page shows that changes as it trades (the page and each live update use it). The chart
    draws from its own endpoint (bots.charts.bot_chart); each update carries only its newest points.
    `money` (bot_money) and `position` (the open one or None): when the caller has read them already."""
    from bots.charts import chart_tail

    fills = list(Fill.objects.filter(bot=bot).select_related("order").order_by("-time", "-id")[:TRADE_LOG_ROWS])
    if position is _UNSET:
        position = open_position(bot)
    return {
        "bot": bot,
        "quote": quote_currency(bot.symbol),
        "base": base_currency(bot.symbol),
        **(money if money is not None else bot_money(bot)),
        "position": position,
        "open_orders": list(
            Order.objects.filter(bot=bot, status__in=[Order.Status.OPEN, *Order.UNSETTLED]).order_by("-created_at")
        ),
        "fills": fills,
        "fill_count": Fill.objects.filter(bot=bot).count(),
        # Newest first as they happened (by id): a replay bot's events carry replay time, the others wall time.
        "events": list(BotEvent.objects.filter(bot=bot).order_by("-id")[:EVENT_ROWS]),
        "chart_tail": chart_tail(bot, fills),
    }


def open_position(bot):
    return Position.objects.filter(bot=bot, status=Position.Status.OPEN).first()


def dashboard_row_context(bot, money: dict | None = None, position=_UNSET) -> dict:
    """What the dashboard shows of one bot (its row)."""
    return {
        "bot": bot,
        "quote": quote_currency(bot.symbol),
        "base": base_currency(bot.symbol),
        **(money if money is not None else bot_money(bot)),
        "position": open_position(bot) if position is _UNSET else position,
    }


def dashboard_bot_context(bot, money: dict | None = None, position=_UNSET) -> dict:
    """What the dashboard shows of one bot, plus the user-wide parts one bot's tick changes."""
    return {**dashboard_row_context(bot, money, position), **dashboard_totals(bot.owner)}


def dashboard_totals(user, latest: dict | None = None) -> dict:
    """Totals per quote currency, the total equity curve of the main currency, and the latest trades.
    `latest`: {bot id: equity of its newest snapshot}, when the caller has it already (for some bots).

    The P&L totals count every book of the user: bots, archived bots (their trades stay in the history) and
    manual books (orders placed by hand, equity = their P&L); equity and the curve count the listed bots."""
    bots = list(Bot.objects.for_user(user).only("id", "symbol", "starting_balance", "day_start_equity", "kind",
                                                "archived_at"))
    latest = dict(latest or {})
    missing = [b.pk for b in bots if b.pk not in latest]
    if missing:
        latest.update(
            PnLSnapshot.objects.filter(pk__in=latest_snapshot_ids(missing)).values_list("bot_id", "equity")
        )
    totals: dict[str, dict] = {}
    for b in bots:
        quote = quote_currency(b.symbol)
        equity = latest.get(b.pk, b.starting_balance)
        t = totals.setdefault(quote, {"currency": quote, "equity": Decimal("0"), "pnl": Decimal("0"),
                                      "today": Decimal("0"), "bots": [], "manual_pnl": Decimal("0"),
                                      "manual": 0})
        t["pnl"] += equity - b.starting_balance
        if b.day_start_equity is not None:
            t["today"] += equity - b.day_start_equity
        if b.kind == Bot.Kind.MANUAL:
            t["manual_pnl"] += equity - b.starting_balance
            t["manual"] += 1
            continue
        if b.archived_at is not None:
            continue
        t["equity"] += equity
        t["bots"].append(b)
    main = max(totals.values(), key=lambda t: len(t["bots"]), default=None)
    if main is not None and not main["bots"]:
        main = None  # only manual books or archived bots: no equity curve to draw
    curve = []
    if main is not None:
        # Sum each bot's equity as it stood at every snapshot time (carried forward between its snapshots).
        # The newest CHART_SNAPSHOTS snapshots of these bots, summed as they come: a bot without one in this
        # window stood at its latest equity all along; one with some starts at its first in the window.
        current = {b.pk: latest.get(b.pk, b.starting_balance) for b in main["bots"]}
        rows = list(
            PnLSnapshot.objects.filter(bot_id__in=list(current)).order_by("-time", "-id")
            .values_list("bot_id", "equity", "time")[:TOTAL_CHART_SNAPSHOTS]
        )
        rows.reverse()
        first_in_window: dict = {}
        for bot_id, equity, _time in rows:
            first_in_window.setdefault(bot_id, equity)
        current.update(first_in_window)
        total = sum(current.values())
        for bot_id, equity, time in rows:
            total += equity - current[bot_id]
            current[bot_id] = equity
            curve.append((time, total))
        curve = downsample(curve, CHART_POINTS)
    # Ids first, rows second: with the joins SQLite sorts every fill of the user (0.6 s at 100,000 fills);
    # without them the newest ids come from the bot index alone (5 ms).
    newest_fills = Fill.objects.filter(bot_id__in=[b.pk for b in bots]).order_by("-id")
    recent_ids = list(newest_fills.values_list("pk", flat=True)[:RECENT_TRADES])
    recent = list(Fill.objects.filter(pk__in=recent_ids).select_related("bot", "order").order_by("-id"))
    return {"totals": sorted(totals.values(), key=lambda t: t["currency"]), "main_total": main,
            "total_curve": curve, "total_curve_json": curve_json(curve), "recent_fills": recent}


def curve_json(curve) -> str:
    """[[epoch s, value], ...] for the dashboard chart (static/js/charts.js); one value per second, the last."""
    points: dict[int, float] = {}
    for time, value in curve:
        points[int(time.timestamp())] = float(value)
    return json.dumps(sorted(points.items()), separators=(",", ":"))


def open_positions_for(bot_ids: list) -> list:
    return list(Position.objects.filter(bot_id__in=bot_ids, status=Position.Status.OPEN))


def latest_snapshot_ids(bot_ids: list) -> list:
    """The id of each bot's newest snapshot, in one grouped query on the bot index. Ticks write a bot's
    snapshots in time order, so its newest is its highest id."""
    rows = PnLSnapshot.objects.filter(bot_id__in=bot_ids).values("bot_id").annotate(last=Max("id"))
    return [row["last"] for row in rows]


def render_bot_page_fragments(bot, money: dict | None = None, position=_UNSET) -> str:
    """The bot page's changing parts, as out-of-band swap fragments."""
    return render_to_string("bots/live/bot_fragments.html", {**bot_page_context(bot, money, position), "oob": True})


def render_dashboard_fragments(bot, money: dict | None = None, position=_UNSET) -> str:
    """The dashboard's parts that one bot's tick changes, as out-of-band swap fragments."""
    return render_to_string("bots/live/dashboard_fragments.html",
                            {**dashboard_bot_context(bot, money, position), "oob": True})


def render_dashboard_row(bot, money: dict | None = None, position=_UNSET) -> str:
    """One bot's row of the dashboard only (the user-wide totals follow, coalesced)."""
    if bot.is_manual or bot.archived_at:
        return ""
    return render_to_string("bots/parts/dash_row.html", {**dashboard_row_context(bot, money, position), "oob": True})


def render_dashboard_totals(user) -> str:
    """The user-wide parts of the dashboard (totals, total curve, latest trades)."""
    return render_to_string("bots/live/dashboard_totals_fragments.html", {**dashboard_totals(user), "oob": True})


# --- the user-wide dashboard part, coalesced ---------------------------------------------------------------
# Inside a dispatcher round (coalescing()), the totals of a user's dashboard are rendered at most once per
# DASHBOARD_INTERVAL in this process, however many of the user's bots tick: each tick sends its bot's row;
# the totals follow at the end of the interval (flush_dashboards, called by the dispatcher loop and at the
# start of every publish) and, at the latest, when the round ends. Outside a round (a person starting a
# bot, a test) every update carries the totals at once.
DASHBOARD_INTERVAL = 1.0
_coalescing = {"depth": 0}
_totals_rendered_at: dict[int, float] = {}  # user id -> monotonic time of the last totals render
_totals_pending: dict[int, object] = {}  # user id -> the user, whose totals changed since


class coalescing:
    """Context manager: the dispatcher's ticks run inside it (bots.scheduler.dispatch)."""

    def __enter__(self):
        _coalescing["depth"] += 1
        return self

    def __exit__(self, *exc):
        _coalescing["depth"] -= 1
        if _coalescing["depth"] == 0:
            flush_dashboards(force=True)
        return False


def flush_dashboards(force: bool = False) -> int:
    """Render and publish the totals of the users whose interval has passed (all of them with force)."""
    if not _totals_pending:
        return 0
    clock = monotonic_clock.monotonic()
    due = [uid for uid in _totals_pending
           if force or clock - _totals_rendered_at.get(uid, -DASHBOARD_INTERVAL) >= DASHBOARD_INTERVAL]
    messages = []
    for uid in due:
        user = _totals_pending.pop(uid)
        _totals_rendered_at[uid] = clock
        try:
            if user_group(uid) in watched_groups():
                from accounts.language import language_of

                with translation.override(language_of(user)):
                    messages.append((user_group(uid), render_dashboard_totals(user)))
        except Exception:
            log.exception("live dashboard totals for user %s failed", uid)
    try:
        publish_many(messages)
    except Exception:
        log.exception("live dashboard totals not published")
    return len(due)


def publish_bot_update(bot_id) -> None:
    """Called after every tick and after start/stop/pause/resume. For each of `bot-<id>` and
    `user-<owner id>`: if someone watches it, its fragments rendered from one read of the bot, its newest
    snapshot and its position; if not, a tiny marker and no rendering. All in one INSERT. Never raises:
    a failure to render or deliver must not fail the tick that called it."""
    try:
        flush_dashboards()
        bot = Bot.objects.select_related("owner", "exchange_account").get(pk=bot_id)
    except Bot.DoesNotExist:
        return
    except Exception:
        log.exception("live update for bot %s failed", bot_id)
        return
    try:
        watched = watched_groups()
        groups = [bot_group(bot.pk), user_group(bot.owner_id)]
        messages = [(group, marker(bot.pk)) for group in groups if group not in watched]
        if len(messages) < len(groups):
            # Rendered once for every page of the owner that listens (and replayed to late sockets): in the
            # owner's language, whichever process (a tick, a request) published it.
            from accounts.language import language_of

            with translation.override(language_of(bot.owner)):
                money, position = bot_money(bot), open_position(bot)
                if groups[0] in watched:
                    messages.append((groups[0], render_bot_page_fragments(bot, money, position)))
                if groups[1] in watched:
                    messages.append((groups[1], dashboard_update(bot, money, position)))
        publish_many(messages)
    except Exception:
        log.exception("live update for bot %s failed", bot_id)
    prune_old_messages_sometimes()


def dashboard_update(bot, money: dict, position) -> str:
    """The dashboard's fragments for one bot's change: its row, and the totals unless coalesced."""
    uid = bot.owner_id
    clock = monotonic_clock.monotonic()
    if _coalescing["depth"] and clock - _totals_rendered_at.get(uid, -DASHBOARD_INTERVAL) < DASHBOARD_INTERVAL:
        _totals_pending[uid] = bot.owner
        return render_dashboard_row(bot, money, position) or "<!-- totals follow -->"
    _totals_rendered_at[uid] = clock
    _totals_pending.pop(uid, None)
    return render_dashboard_fragments(bot, money, position)


def render_fresh(group: str, bot_ids: set[int]) -> list[str]:
    """Fragments rendered now for a group that was not watched when its bots changed (markers)."""
    from accounts.language import language_of

    bots = list(Bot.objects.select_related("owner", "exchange_account").filter(pk__in=bot_ids))
    if not bots:
        return []
    with translation.override(language_of(bots[0].owner)):  # the owner's pages, in the owner's language
        if group.startswith("bot-"):
            return [render_bot_page_fragments(bot) for bot in bots]
        rows = [render_dashboard_row(bot) for bot in bots]
        rows.append(render_dashboard_totals(bots[0].owner))
    return [html for html in rows if html]


def messages_after(group: str, after_id: int, limit: int = 200) -> list[LiveMessage]:
    """Catch-up: the newest `limit` messages of a group after an id, oldest first."""
    rows = list(LiveMessage.objects.filter(group=group, pk__gt=after_id).order_by("-pk")[:limit])
    rows.reverse()
    return rows


def last_message_id(*groups: str) -> int:
    """A page renders this as its starting cursor, so updates between render and connect are not lost
    (the newest of its groups: ids are one sequence, so one cursor serves them all)."""
    return max((LiveMessage.objects.filter(group=group).order_by("-pk").values_list("pk", flat=True).first() or 0
                for group in groups), default=0)


_last_prune = None


def prune_old_messages_sometimes(now=None) -> int:
    """Delete catch-up rows older than KEEP_MESSAGES, at most once a minute per process."""
    global _last_prune
    now = now or timezone.now()
    if _last_prune is not None and now - _last_prune < timedelta(minutes=1):
        return 0
    _last_prune = now
    deleted, _ = LiveMessage.objects.filter(created_at__lt=now - KEEP_MESSAGES).delete()
    prune_watches(now)
    return deleted
