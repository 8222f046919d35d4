"""The answers to the reading commands (/status, /profit, /daily, /balance, /trades, /bots) as short plain
text, from the user's books: every number with its currency, amounts of different currencies never added.

Each function takes the user and reads only their rows (`for_user`). Times are shown in the active time
zone (the dispatcher activates the user's); a replay bot's trades carry its replay clock's times.
"""

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from bots import live
from bots.models import Bot, PnLSnapshot, Position
from bots.templatetags.bot_display import amount, base_currency, money, quote_currency
from exchanges.models import ExchangeAccount, SimBalance

ZERO = Decimal("0")
STATUS_ORDER = (Bot.Status.RUNNING, Bot.Status.HALTED, Bot.Status.ERROR, Bot.Status.PAUSED, Bot.Status.STOPPED)


def signed(value: Decimal, currency: str) -> str:
    """+12.30 USDT / -4.00 USDT / 0.00 USDT."""
    text = money(value, currency)
    return f"+{text}" if value > 0 else text


def per_currency(totals: dict[str, Decimal]) -> str:
    """{"USDT": 12.3, "BTC": -0.001} -> "+12.30 USDT, -0.00100000 BTC" (never summed across currencies)."""
    if not totals:
        return signed(ZERO, "")
    return ", ".join(signed(value, currency) for currency, value in sorted(totals.items()))


def local(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _latest_snapshots(bots: list[Bot]) -> dict[int, PnLSnapshot]:
    snapshots = PnLSnapshot.objects.in_bulk(live.latest_snapshot_ids([b.pk for b in bots]))
    return {s.bot_id: s for s in snapshots.values()}


def _status_line(bot: Bot) -> str:
    line = f"• {bot.name}: {bot.get_status_display()} · {bot.get_mode_display().split(' (')[0]} · " \
           f"{bot.symbol} {bot.timeframe}"
    if bot.status in (Bot.Status.HALTED, Bot.Status.ERROR) and bot.status_reason:
        line += f"\n  {bot.status_reason[:200]}"
    return line


def entries_line(user) -> str:
    from accounts.models import Profile

    profile = Profile.objects.filter(user=user).first()
    if profile is None or not profile.entries_stopped:
        return ""
    return _("New entries are stopped for all your bots since %(when)s (/resume_entries allows them).") % {
        "when": local(profile.entries_stopped_at)}


def status(user) -> str:
    """Bots and their states, open positions, today's P&L (each bot's day, as on the dashboard)."""
    bots = list(Bot.objects.for_user(user))
    if not bots:
        return _("You have no bots yet. Create one on the Bots page.")
    snapshots = _latest_snapshots(bots)
    counts = {status: sum(1 for b in bots if b.status == status) for status in STATUS_ORDER}
    shown = ", ".join(f"{n} {Bot.Status(status).label.lower()}" for status, n in counts.items() if n)
    lines = [_("Bots: %(counts)s") % {"counts": shown}]
    lines += [_status_line(bot) for bot in bots if bot.status != Bot.Status.STOPPED]
    positions = list(Position.objects.filter(bot__in=bots, status=Position.Status.OPEN).select_related("bot"))
    if positions:
        lines.append(_("Open positions:"))
        for p in positions:
            quote, snapshot = quote_currency(p.symbol), snapshots.get(p.bot_id)
            unrealised = snapshot.unrealised if snapshot and snapshot.time >= p.opened_at else ZERO
            lines.append(_("• %(bot)s: %(qty)s at %(price)s, %(pnl)s unrealised") % {
                "bot": p.bot.name, "qty": amount(p.quantity, base_currency(p.symbol)),
                "price": amount(p.average_entry, quote), "pnl": signed(unrealised, quote)})
    else:
        lines.append(_("No open positions."))
    today: dict[str, Decimal] = defaultdict(Decimal)
    for bot in bots:
        change = live.bot_money(bot, snapshots.get(bot.pk), known=True)["today_pnl"]
        if change is not None:
            today[quote_currency(bot.symbol)] += change
    lines.append(_("Today's P&L: %(pnl)s") % {"pnl": per_currency(dict(today))})
    stopped = entries_line(user)
    if stopped:
        lines.append(stopped)
    return "\n".join(lines)


def _closed(user, since: datetime | None = None):
    positions = Position.objects.filter(bot__owner=user, status=Position.Status.CLOSED)
    if since is not None:
        positions = positions.filter(closed_at__gte=since)
    return positions


def profit(user, days: int | None = None) -> str:
    """Closed trades over the last `days` days (all of them when None): count, wins, realised P&L per
    currency, the best and worst trade; and the open positions' unrealised P&L."""
    since = timezone.now() - timedelta(days=days) if days else None
    closed = list(_closed(user, since).select_related("bot").order_by("closed_at"))
    title = (ngettext("Profit, last %(days)d day:", "Profit, last %(days)d days:", days) % {"days": days}
             if days else _("Profit, all time:"))
    lines = [title]
    if not closed:
        lines.append(_("No closed trades."))
    else:
        realised: dict[str, Decimal] = defaultdict(Decimal)
        for p in closed:
            realised[quote_currency(p.symbol)] += p.realised_pnl
        wins = sum(1 for p in closed if p.realised_pnl > 0)
        lines.append(_("%(n)d closed trades: %(wins)d won, %(losses)d lost (win rate %(rate).1f %%)") % {
            "n": len(closed), "wins": wins, "losses": len(closed) - wins, "rate": 100 * wins / len(closed)})
        lines.append(_("Realised: %(pnl)s") % {"pnl": per_currency(dict(realised))})
        best = max(closed, key=lambda p: p.realised_pnl)
        worst = min(closed, key=lambda p: p.realised_pnl)
        lines.append(_("Best: %(best)s (%(best_bot)s) · worst: %(worst)s (%(worst_bot)s)") % {
            "best": signed(best.realised_pnl, quote_currency(best.symbol)), "best_bot": best.bot.name,
            "worst": signed(worst.realised_pnl, quote_currency(worst.symbol)), "worst_bot": worst.bot.name})
    unrealised = _unrealised(user)
    if unrealised:
        lines.append(_("Open positions: %(pnl)s unrealised") % {"pnl": per_currency(unrealised)})
    return "\n".join(lines)


def _unrealised(user) -> dict[str, Decimal]:
    positions = list(Position.objects.filter(bot__owner=user, status=Position.Status.OPEN).select_related("bot"))
    if not positions:
        return {}
    snapshots = _latest_snapshots([p.bot for p in positions])
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for p in positions:
        snapshot = snapshots.get(p.bot_id)
        totals[quote_currency(p.symbol)] += snapshot.unrealised if snapshot and snapshot.time >= p.opened_at else ZERO
    return dict(totals)


def daily(user, days: int = 7) -> str:
    """Realised P&L and trade count per calendar day (in the active time zone), the last `days` days."""
    zone = timezone.get_current_timezone()
    today = timezone.localdate()
    start = datetime.combine(today - timedelta(days=days - 1), datetime.min.time(), tzinfo=zone)
    rows = (
        _closed(user, start).annotate(day=TruncDate("closed_at", tzinfo=zone))
        .values("day", "symbol").annotate(total=Sum("realised_pnl"), n=Count("id"))
    )
    by_day: dict = defaultdict(lambda: {"totals": defaultdict(Decimal), "n": 0})
    for row in rows:
        entry = by_day[row["day"]]
        entry["totals"][quote_currency(row["symbol"])] += row["total"]
        entry["n"] += row["n"]
    lines = [_("Daily P&L (%(zone)s):") % {"zone": timezone.get_current_timezone_name()}]
    for k in range(days):
        day = today - timedelta(days=k)
        entry = by_day.get(day)
        if entry is None:
            lines.append(_("%(day)s  —  no trades") % {"day": day.isoformat()})
            continue
        lines.append(ngettext("%(day)s  %(pnl)s  (%(n)d trade)", "%(day)s  %(pnl)s  (%(n)d trades)", entry["n"]) % {
            "day": day.isoformat(), "pnl": per_currency(dict(entry["totals"])), "n": entry["n"]})
    return "\n".join(lines)


def trades(user, count: int = 10) -> str:
    """Open positions, then the newest `count` closed trades."""
    lines = []
    open_positions = list(Position.objects.filter(bot__owner=user, status=Position.Status.OPEN)
                          .select_related("bot").order_by("-opened_at")[:count])
    for p in open_positions:
        lines.append(_("• open %(bot)s %(symbol)s: %(qty)s at %(price)s since %(when)s") % {
            "bot": p.bot.name, "symbol": p.symbol, "qty": amount(p.quantity, base_currency(p.symbol)),
            "price": amount(p.average_entry, quote_currency(p.symbol)), "when": local(p.opened_at)})
    closed = list(_closed(user).select_related("bot").order_by("-closed_at", "-id")[:count])
    for p in closed:
        quote = quote_currency(p.symbol)
        lines.append(_("• %(when)s %(bot)s %(symbol)s: %(qty)s %(entry)s → %(exit)s, %(pnl)s (%(reason)s)") % {
            "when": local(p.closed_at), "bot": p.bot.name, "symbol": p.symbol,
            "qty": amount(p.entry_quantity, base_currency(p.symbol)), "entry": amount(p.average_entry, quote),
            "exit": amount(p.exit_price, quote), "pnl": signed(p.realised_pnl, quote),
            "reason": p.exit_reason or "—"})
    if not lines:
        return _("No trades yet.")
    return "\n".join([_("Trades (newest first):"), *lines])


def bots(user) -> str:
    bots = list(Bot.objects.for_user(user))
    if not bots:
        return _("You have no bots yet. Create one on the Bots page.")
    snapshots = _latest_snapshots(bots)
    lines = [ngettext("Your bot:", "Your %(n)d bots:", len(bots)) % {"n": len(bots)}]
    for bot in bots:
        equity = live.bot_money(bot, snapshots.get(bot.pk), known=True)["equity"]
        lines.append(_status_line(bot) + " · " + _("equity %(equity)s") % {
            "equity": money(equity, quote_currency(bot.symbol))})
    return "\n".join(lines)


def _balances_text(balances: dict) -> str:
    shown = [amount(total, asset) for asset, total in sorted(balances.items()) if total]
    return ", ".join(shown) if shown else _("empty")


def balance(user, *, fetch_live=True) -> str:
    """Each bot's equity from its books and what its simulated wallet holds; each exchange account's
    balances (a live or testnet account is asked, with a short timeout); equity totals per currency."""
    bots = list(Bot.objects.for_user(user).select_related("exchange_account"))
    snapshots = _latest_snapshots(bots)
    lines = []
    totals: dict[str, Decimal] = defaultdict(Decimal)
    wallets: dict[str, dict] = defaultdict(dict)
    for row in SimBalance.objects.filter(wallet__key__in=[b.wallet_key for b in bots]).values(
            "wallet__key", "asset", "free", "used"):
        wallets[row["wallet__key"]][row["asset"]] = row["free"] + row["used"]
    if bots:
        lines.append(_("Bots (books at their last candle):"))
    for bot in bots:
        quote = quote_currency(bot.symbol)
        equity = live.bot_money(bot, snapshots.get(bot.pk), known=True)["equity"]
        totals[quote] += equity
        line = _("• %(bot)s: equity %(equity)s") % {"bot": bot.name, "equity": money(equity, quote)}
        if bot.mode != Bot.Mode.LIVE and bot.wallet_key in wallets:
            line += " (" + _balances_text(wallets[bot.wallet_key]) + ")"
        lines.append(line)
    accounts = list(ExchangeAccount.objects.for_user(user))
    if accounts:
        lines.append(_("Exchange accounts:"))
    for account in accounts:
        lines.append(f"• {account.label} ({account.exchange_id}, {account.get_mode_display().split(' (')[0]}): "
                     + _account_balances(account, fetch_live))
    if totals:
        lines.append(_("Total bot equity: %(totals)s") % {
            "totals": ", ".join(money(v, c) for c, v in sorted(totals.items()))})
    return "\n".join(lines) if lines else _("No bots and no exchange accounts yet.")


def _account_balances(account: ExchangeAccount, fetch_live: bool) -> str:
    if account.mode == ExchangeAccount.Mode.PAPER:
        balances = {row["asset"]: row["free"] + row["used"] for row in SimBalance.objects.filter(
            wallet__key=f"account:{account.pk}").values("asset", "free", "used")}
        return _balances_text(balances) if balances else _("simulated (each bot has its own wallet)")
    if not fetch_live:
        return _("not asked")
    from exchanges.clients import client_for
    from exchanges.errors import AuthenticationFailed, ExchangeError

    client = None
    try:
        client = client_for(account, retries=0, timeout=5.0)
        return _balances_text({asset: b.total for asset, b in client.fetch_balance().items()})
    except AuthenticationFailed:
        return _("the exchange rejected the keys")
    except ExchangeError:
        # The exchange's own text can echo a request; only the kind of failure is shown here.
        return _("not reachable right now")
    finally:
        if client is not None:
            try:
                client.close()
            except Exception:
                pass
