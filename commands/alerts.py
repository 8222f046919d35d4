"""Price alerts: the create/cancel commands, and the worker's check once a minute.

`check_alerts()` (commands.tasks runs it every minute, from the django-q2 schedule of migration 0002):
1. every active alert, grouped by where its price comes from;
2. one ticker per (exchange, symbol) for all alerts on it (a replay bot's market: one per bot, on its clock);
3. each alert whose condition holds fires, claimed with a conditional UPDATE (one-shot: active -> fired;
   repeating: armed -> disarmed), so two workers or a restart never fire it twice; a repeating alert re-arms
   once the price is back on the other side;
4. a fired alert notifies its owner (commands.notifications: live on any open page, the Activity list, and
   the `user_notified` hook); a source whose price cannot be read is noted on its alerts and tried next minute.
"""

import logging
from decimal import Decimal

from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from bots.models import Bot
from bots.templatetags.bot_display import amount as show_price
from commands import execution
from commands.definitions import CancelAlert, CreateAlert
from commands.models import PriceAlert
from commands.service import Done, Plan, Refusal, RunContext, handles
from exchanges.errors import ExchangeError
from exchanges.models import ExchangeAccount

log = logging.getLogger(__name__)


def source_label(alert_or_source) -> str:
    bot = getattr(alert_or_source, "bot", None)
    if bot is not None:
        return _("replay bot %(name)s") % {"name": bot.name}
    account = alert_or_source.exchange_account
    return f"{account.label} ({account.exchange_id})"


@handles(CreateAlert)
class CreateAlertHandler:
    def prepare(self, user, cmd: CreateAlert) -> Plan:
        bot = account = None
        if cmd.bot_id is not None:
            bot = Bot.objects.for_user(user).listed().filter(pk=cmd.bot_id).first()
            if bot is None:
                raise Refusal(_("No such bot."), "not_found")
            if bot.mode != Bot.Mode.REPLAY:
                account, bot = bot.exchange_account, None  # a paper or live bot's prices are its exchange's
            elif cmd.symbol != bot.symbol:
                raise Refusal(_("A replay bot only replays %(symbol)s.") % {"symbol": bot.symbol}, "unknown_symbol")
        else:
            account = ExchangeAccount.objects.for_user(user).filter(pk=cmd.account_id).first()
            if account is None:
                raise Refusal(_("No such exchange account."), "not_found")
        if account is not None:
            client = execution.account_client(account)
            try:
                markets = client.load_markets()
            except ExchangeError as exc:
                raise Refusal(_("Could not load the markets of %(exchange)s to check %(symbol)s: %(error)s")
                              % {"exchange": account.exchange_id, "symbol": cmd.symbol, "error": exc},
                              "exchange_unavailable")
            finally:
                client.close()
            if cmd.symbol not in markets:
                raise Refusal(_("%(exchange)s has no market %(symbol)s.")
                              % {"exchange": account.exchange_id, "symbol": cmd.symbol}, "unknown_symbol")
        source = _("replay bot %(name)s") % {"name": bot.name} if bot else f"{account.label} ({account.exchange_id})"
        quote = cmd.symbol.split("/")[1]
        sentence = _("Tell me when %(symbol)s %(direction)s %(price)s on %(source)s%(repeat)s.") % {
            "symbol": cmd.symbol, "direction": PriceAlert.Direction(cmd.direction).label,
            "price": show_price(cmd.price, quote), "source": source,
            "repeat": _(" (every time)") if cmd.repeat else ""}
        return Plan(cmd, sentence, context={"account": account, "bot": bot})

    def run(self, user, plan: Plan, ctx: RunContext) -> Done:
        cmd: CreateAlert = plan.command
        alert = PriceAlert.objects.create(owner=user, exchange_account=plan.context["account"],
                                          bot=plan.context["bot"], symbol=cmd.symbol, direction=cmd.direction,
                                          price=cmd.price, repeat=cmd.repeat, note=cmd.note)
        return Done(_("Alert set: %(sentence)s") % {"sentence": plan.sentence}, {"alert_id": alert.pk})


@handles(CancelAlert)
class CancelAlertHandler:
    def prepare(self, user, cmd: CancelAlert) -> Plan:
        alert = PriceAlert.objects.for_user(user).filter(pk=cmd.alert_id).first()
        if alert is None:
            raise Refusal(_("No such alert."), "not_found")
        if alert.status != PriceAlert.Status.ACTIVE:
            raise Refusal(_("This alert is not active any more."), "not_active")
        return Plan(cmd, _("Cancel the alert %(alert)s.") % {"alert": str(alert)}, context={"alert": alert})

    def run(self, user, plan: Plan, ctx: RunContext) -> Done:
        PriceAlert.objects.filter(pk=plan.command.alert_id, status=PriceAlert.Status.ACTIVE).update(
            status=PriceAlert.Status.CANCELED)
        return Done(_("Alert canceled."), {"alert_id": plan.command.alert_id})


# --- the worker's check ---

def source_key(alert: PriceAlert) -> tuple:
    """Alerts with the same key share one ticker fetch."""
    if alert.bot_id is not None:
        return ("replay", alert.bot_id, alert.symbol)
    account = alert.exchange_account
    return ("exchange", account.exchange_id, account.mode == ExchangeAccount.Mode.TESTNET, alert.symbol)


class TickerBoard:
    """Last prices fetched once per key during one check (alerts and manual-book snapshots share it)."""

    def __init__(self):
        self.prices: dict[tuple, Decimal] = {}
        self.errors: dict[tuple, str] = {}
        self.fetches = 0

    def price(self, key: tuple, fetch) -> Decimal | None:
        if key in self.prices:
            return self.prices[key]
        if key in self.errors:
            return None
        self.fetches += 1
        try:
            ticker = fetch()
            last = ticker.last or ticker.bid or ticker.ask
        except ExchangeError as exc:
            self.errors[key] = str(exc)[:300]
            return None
        except Exception as exc:  # an adapter bug must not stop the other sources
            log.exception("ticker %s failed", key)
            self.errors[key] = type(exc).__name__
            return None
        if last is None:
            self.errors[key] = "no price yet"
            return None
        self.prices[key] = Decimal(last)
        return self.prices[key]

    def for_account(self, account, symbol: str) -> Decimal | None:
        key = ("exchange", account.exchange_id, account.mode == ExchangeAccount.Mode.TESTNET, symbol)
        return self.price(key, lambda: _public_ticker(account, symbol))

    def for_replay_bot(self, bot, symbol: str) -> Decimal | None:
        def fetch():
            client = execution.client_for_book(bot)
            try:
                return client.fetch_ticker(symbol)
            finally:
                client.close()

        return self.price(("replay", bot.pk, symbol), fetch)


def _public_ticker(account, symbol):
    """A ticker needs no keys: the exchange's public endpoint (the testnet's for a testnet account)."""
    from exchanges.clients.ccxt_client import CcxtClient, build_exchange

    client = CcxtClient(account, exchange=build_exchange(account.exchange_id,
                                                         sandbox=account.mode == ExchangeAccount.Mode.TESTNET,
                                                         timeout=8.0), retries=1, backoff=0.2)
    try:
        return client.fetch_ticker(symbol)
    finally:
        client.close()


def check_alerts(board: TickerBoard | None = None, now=None) -> dict:
    """One round over every active alert (see the module docstring). Returns counts for logs and tests."""
    board = board or TickerBoard()
    now = now or timezone.now()
    fired = checked = 0
    alerts = list(PriceAlert.objects.filter(status=PriceAlert.Status.ACTIVE)
                  .select_related("owner", "exchange_account", "bot", "bot__exchange_account").order_by("pk"))
    by_source: dict[tuple, list[PriceAlert]] = {}
    for alert in alerts:
        by_source.setdefault(source_key(alert), []).append(alert)
    for key, group in by_source.items():
        first = group[0]
        if first.bot_id is not None:
            last = board.for_replay_bot(first.bot, first.symbol)
        else:
            last = board.for_account(first.exchange_account, first.symbol)
        pks = [a.pk for a in group]
        if last is None:
            PriceAlert.objects.filter(pk__in=pks).update(last_checked_at=now,
                                                         last_error=board.errors.get(key, "")[:300])
            continue
        checked += len(group)
        PriceAlert.objects.filter(pk__in=pks).update(last_price=last, last_checked_at=now, last_error="")
        for alert in group:
            if alert.is_met(last):
                if _claim(alert, now):
                    fired += 1
                    _fire(alert, last)
            elif alert.repeat and not alert.armed:
                PriceAlert.objects.filter(pk=alert.pk, armed=False).update(armed=True)
    return {"alerts": len(alerts), "checked": checked, "fired": fired, "fetches": board.fetches}


def _claim(alert: PriceAlert, now) -> bool:
    """Only the worker whose UPDATE changed the row fires the alert."""
    rows = PriceAlert.objects.filter(pk=alert.pk, status=PriceAlert.Status.ACTIVE)
    if alert.repeat:
        changed = rows.filter(armed=True).update(armed=False, fired_at=now, fire_count=F("fire_count") + 1)
    else:
        changed = rows.update(status=PriceAlert.Status.FIRED, armed=False, fired_at=now,
                              fire_count=F("fire_count") + 1)
    return changed == 1


def _fire(alert: PriceAlert, last: Decimal) -> None:
    from commands.notifications import notify

    quote = alert.symbol.split("/")[1]
    # The worker knows no user's language: stored in the default one, shown translated (tradingbot.stored_text),
    # which needs one whole sentence per direction (a lone "went above" would not be found again in the text).
    template = (_("%(symbol)s went above %(price)s: now %(last)s on %(source)s.") if alert.direction == "above"
                else _("%(symbol)s went below %(price)s: now %(last)s on %(source)s."))
    message = template % {"symbol": alert.symbol, "price": show_price(alert.price, quote),
                          "last": show_price(last, quote), "source": source_label(alert)}
    if alert.note:
        message += f" {alert.note}"
    notify(alert.owner, "alert_fired", message, result={"alert_id": alert.pk, "price": str(last)},
           alert=alert, price=last)
