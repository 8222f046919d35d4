"""An external signal (a webhook alert) as a command of the command service: buy, sell or close on an
"external signals" bot, validated, risk-reviewed and confirmed like any other command, then executed the
way the bot's own tick trades (same ledger, same client order ids, same risk rules, same protective exit).

Long-only spot, one position per bot (the one execution model): "buy" opens the position with the bot's
stake (an alert's `amount`, in the quote currency, can only make it smaller; the risk rules cap it further),
"sell" and "close" sell the whole position at market. An alert's `price` is recorded, not used: the orders
are market orders and fill as the bot's own would.
"""

import dataclasses
from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from django.utils.translation import gettext as _

from bots import ledger, risk, tick
from bots.models import Bot, Order
from commands import definitions
from commands.definitions import Command, CommandInvalid, as_choice, as_decimal, as_id, as_symbol
from commands.service import Done, Plan, Refusal, RunContext, handles

SIGNAL_ACTIONS = ("buy", "sell", "close")


@dataclass(frozen=True)
class ExternalSignal(Command):
    name: ClassVar[str] = "external_signal"
    trades: ClassVar[bool] = True
    bot_id: int | None = None
    action: str = ""
    symbol: str = ""
    amount: Decimal | None = None  # buy only: at most this much quote currency
    alert_id: int | None = None  # the WebhookAlert it came from (audit)

    def clean(self) -> "ExternalSignal":
        action = as_choice(self.action, "action", SIGNAL_ACTIONS)
        return ExternalSignal(bot_id=as_id(self.bot_id, "bot_id"), action=action,
                              symbol=as_symbol(self.symbol) if self.symbol else "",
                              amount=as_decimal(self.amount, "amount", optional=True) if action == "buy" else None,
                              alert_id=as_id(self.alert_id, "alert_id", optional=True))


@dataclass(frozen=True)
class SetSignalSource(Command):
    """Switch a bot to external signals (a webhook, with the hash of its new secret: the secret itself is never
    in a command or its audit) or back to its strategy's signals."""

    name: ClassVar[str] = "set_signal_source"
    bot_id: int | None = None
    source: str = ""
    hook_id: str = ""
    secret_hash: str = ""
    allowed_actions: str = "buy,sell,close"
    live_confirmation: str = "ask"

    def clean(self) -> "SetSignalSource":
        source = as_choice(self.source, "source", ("strategy", "webhook"))
        actions = [a.strip() for a in str(self.allowed_actions or "").split(",") if a.strip()]
        for action in actions:
            as_choice(action, "allowed_actions", SIGNAL_ACTIONS)
        if source == "webhook" and (len(self.hook_id) < 16 or len(self.secret_hash) != 64 or not actions):
            raise CommandInvalid(_("A webhook needs its id, its secret's hash and at least one action."), "invalid")
        return SetSignalSource(bot_id=as_id(self.bot_id, "bot_id"), source=source, hook_id=self.hook_id,
                               secret_hash=self.secret_hash, allowed_actions=",".join(actions),
                               live_confirmation=as_choice(self.live_confirmation or "ask", "live_confirmation",
                                                           ("ask", "auto")))


for _command in (ExternalSignal, SetSignalSource):  # a pending one is rebuilt by name on confirmation
    definitions.COMMANDS[_command.name] = _command


@handles(SetSignalSource)
class SetSignalSourceHandler:
    def prepare(self, user, cmd: SetSignalSource) -> Plan:
        bot = Bot.objects.for_user(user).listed().filter(pk=cmd.bot_id).first()
        if bot is None:
            raise Refusal(_("No such bot."), "not_found")
        sentence = (_("Let webhook alerts trade %(bot)s instead of its strategy (a new URL and secret)?")
                    if cmd.source == "webhook" else _("Let %(bot)s trade on its strategy's signals again?")
                    ) % {"bot": bot.name}
        return Plan(cmd, sentence, context={"bot": bot})

    def run(self, user, plan: Plan, ctx: RunContext) -> Done:
        from django.db import transaction

        from api.models import WebhookEndpoint
        from bots.live import publish_bot_update
        from bots.models import BotEvent

        bot, cmd = plan.context["bot"], plan.command
        with transaction.atomic():
            if cmd.source == "webhook":
                WebhookEndpoint.objects.update_or_create(bot=bot, defaults={
                    "owner": bot.owner, "hook_id": cmd.hook_id, "secret_hash": cmd.secret_hash, "active": True,
                    "allowed_actions": cmd.allowed_actions, "live_confirmation": cmd.live_confirmation})
            else:
                WebhookEndpoint.objects.filter(bot=bot).update(active=False)
            Bot.objects.filter(pk=bot.pk).update(signal_source=cmd.source)
            message = (_("Signals: webhook alerts (actions %(actions)s, live alerts: %(live)s).")
                       % {"actions": cmd.allowed_actions, "live": cmd.live_confirmation}
                       if cmd.source == "webhook" else _("Signals: the strategy's."))
            BotEvent.objects.create(bot=bot, kind=BotEvent.Kind.SETTINGS, source=ctx.door, message=message,
                                    actor=ctx.actor if getattr(ctx.actor, "pk", None) else None,
                                    data={"changed": ["signal_source"], "signal_source": cmd.source})
        publish_bot_update(bot.pk)
        return Done(message, {"bot_id": bot.pk, "signal_source": cmd.source})


def _quote(symbol: str) -> str:
    return symbol.split("/")[-1].split(":")[0]


@handles(ExternalSignal)
class ExternalSignalHandler:
    def prepare(self, user, cmd: ExternalSignal) -> Plan:
        bot = Bot.objects.for_user(user).listed().select_related("exchange_account").filter(pk=cmd.bot_id).first()
        if bot is None:
            raise Refusal(_("No such bot."), "not_found")
        if bot.signal_source != Bot.SignalSource.WEBHOOK:
            raise Refusal(_("%(bot)s trades on its strategy, not on external signals.") % {"bot": bot.name},
                          "not_a_webhook_bot")
        endpoint = getattr(bot, "webhook", None)
        if endpoint is not None and cmd.action not in endpoint.actions():
            raise Refusal(_("%(bot)s does not allow the action %(action)s.") % {"bot": bot.name,
                                                                                "action": cmd.action},
                          "action_not_allowed")
        if cmd.symbol and cmd.symbol != bot.symbol:
            raise Refusal(_("%(bot)s trades %(bot_symbol)s, not %(symbol)s.")
                          % {"bot": bot.name, "bot_symbol": bot.symbol, "symbol": cmd.symbol}, "wrong_symbol")
        position = ledger.open_position(bot)
        values = {"bot": bot.name, "mode": bot.mode, "symbol": bot.symbol, "base": bot.symbol.split("/")[0]}
        if cmd.action == "buy":
            if bot.status != Bot.Status.RUNNING:
                raise Refusal(_("%(bot)s is %(status)s: it opens no position.")
                              % {"bot": bot.name, "status": bot.get_status_display().lower()}, "bot_not_running")
            if position is not None:
                raise Refusal(_("%(bot)s already holds a position (one per bot): the buy is ignored.") % values,
                              "position_open")
            sentence = _("Buy %(symbol)s at market for bot %(bot)s (%(mode)s) with its stake") % values
            if cmd.amount:
                sentence += _(", at most %(amount)s %(quote)s") % {"amount": cmd.amount, "quote": _quote(bot.symbol)}
            sentence += "?"
        else:
            if position is None:
                raise Refusal(_("%(bot)s has no open position to sell.") % values, "no_position")
            values["amount"] = ledger.shown(position.quantity)
            sentence = _("Sell %(amount)s %(base)s, the whole position of bot %(bot)s (%(mode)s), at market?") % values
        return Plan(cmd, sentence, real_money=bot.mode == Bot.Mode.LIVE, trades=True, context={"bot": bot})

    def run(self, user, plan: Plan, ctx: RunContext) -> Done:
        from commands import execution

        bot: Bot = plan.context["bot"]
        cmd: ExternalSignal = plan.command
        client = tick.client_for_bot(bot)
        result = tick.TickResult(bot.pk, "webhook")
        try:
            with execution.holding(bot):
                bot.refresh_from_db()
                exchange_now = client.now()
                last_closed = tick.last_closed_candle(exchange_now, bot.timeframe)
                candles = tick.closed_candles(client, bot, last_closed, 2)
                if len(candles) == 0:
                    raise Refusal(_("No closed %(symbol)s candle to price the order.") % {"symbol": bot.symbol},
                                  "no_price")
                candle_at = candles.index[-1].to_pydatetime()
                close = Decimal(repr(float(candles["close"].iloc[-1])))
                position = ledger.open_position(bot)
                if cmd.action == "buy":
                    if position is not None:
                        return Done(_("The bot holds a position already; nothing was sent."), {"bot_id": bot.pk})
                    limits = risk.RiskLimits.from_bot(bot)
                    state = tick._with_entry_counts(bot, tick._risk_state(bot, limits, exchange_now, close, position),
                                                    candle_at)
                    review = risk.review_entry(limits, state, bot.stake)
                    if not review.allowed:
                        raise Refusal(_("Refused by the risk rule %(rule)s: %(message)s")
                                      % {"rule": review.rule, "message": review.message}, f"risk_{review.rule}")
                    if cmd.amount:
                        review = dataclasses.replace(review, cash=min(review.cash, cmd.amount))
                    tick.enter(bot, client, candle_at, review, close, result)
                elif position is None:
                    return Done(_("The position was already closed; nothing was sent."), {"bot_id": bot.pk})
                else:
                    tick.exit_position(bot, client, position, candle_at, "webhook", result)
        except execution.BookBusy:
            raise Refusal(_("The bot is busy (a tick is running); try again."), "busy")
        finally:
            client.close()
        tick.publish(bot.pk, force=True)
        orders = [order_summary(o) for o in Order.objects.filter(client_order_id__in=result.orders)]
        if not orders:
            return Done(_("Nothing was sent (an order for this candle exists already)."), {"bot_id": bot.pk})
        side = Order.Side.BUY if cmd.action == "buy" else Order.Side.SELL  # "close" sells the position
        return Done(_("%(side)s order sent for bot %(bot)s.") % {"side": side.label, "bot": bot.name},
                    {"bot_id": bot.pk, "orders": orders},
                    settled=all(o["status"] not in Order.UNSETTLED for o in orders))


def order_summary(order: Order) -> dict:
    return {"id": order.pk, "client_order_id": order.client_order_id, "side": order.side, "type": order.type,
            "amount": format(order.amount, "f"), "status": order.status, "filled": format(order.filled, "f")}


__all__ = ["ExternalSignal", "CommandInvalid"]
