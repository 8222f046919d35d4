"""The hand-off to the command service (issue 11): a READY resolution becomes one command, and nothing else.

    proposed = command_for(resolution, request=understanding.request)   # ProposedCommand, or NotReady
    command = build(proposed, commands_module)                           # the command service's dataclass

This is the only place that knows the command service's names. `COMMAND_CLASSES` maps each kind to the
dataclass the command service exposes, and `ProposedCommand.fields` are that dataclass's keyword arguments;
when the service lands, only these two tables change (see docs/architecture.md, "assistant").

Every command that changes something is marked `confirm=True`: text never runs an order, a cancel, an
alert or a bot change without the confirmation step, whatever the account's mode (the command service
would otherwise confirm only live accounts). The read-only queries (price, portfolio, bot status) run at once.
"""

from dataclasses import dataclass, field

from assistant.resolution import Resolution

# kind -> the command service's dataclass (names to adapt when issue 11 is on main).
COMMAND_CLASSES = {
    "buy": "PlaceOrder", "sell": "PlaceOrder", "close_position": "ClosePosition", "cancel_order": "CancelOrders",
    "alert": "CreateAlert", "bot_start": "StartBot", "bot_stop": "StopBot",
    "price": "PriceQuery", "portfolio": "PortfolioQuery", "bot_status": "BotStatusQuery",
}
CHANGES_SOMETHING = frozenset({"buy", "sell", "close_position", "cancel_order", "alert", "bot_start", "bot_stop"})


class NotReady(Exception):
    """The resolution still needs an answer from the user (or names nothing that can be done)."""


@dataclass(frozen=True)
class ProposedCommand:
    kind: str
    fields: dict
    confirm: bool  # the door must show the command back and wait for an explicit yes
    origin: str = "assistant"
    origin_text: str = ""
    assistant_request_id: int | None = None
    meta: dict = field(default_factory=dict)


def _fields(resolution: Resolution) -> dict:
    p = resolution.parsed
    account = resolution.account
    if p.intent in ("buy", "sell"):
        return {"account_id": account.pk, "symbol": p.symbol, "side": p.intent, "amount": p.amount,
                "amount_unit": p.unit, "order_type": p.order_type, "price": p.price}
    if p.intent == "close_position":
        positions = resolution.positions if p.everything else [resolution.position]
        return {"position_ids": [pos.pk for pos in positions if pos is not None],
                "percent": p.amount if p.unit == "percent" else None}
    if p.intent == "cancel_order":
        return {"account_ids": [a.pk for a in resolution.accounts], "bot_id": resolution.bot.pk if resolution.bot
                else None, "symbol": p.symbol if p.base else None, "all_open": p.everything or not p.base}
    if p.intent == "alert":
        return {"account_id": account.pk, "symbol": p.symbol, "direction": p.direction, "price": p.price}
    if p.intent in ("bot_start", "bot_stop", "bot_status"):
        bots = [resolution.bot] if resolution.bot else resolution.bots
        return {"bot_ids": [b.pk for b in bots]}
    if p.intent == "price":
        return {"account_id": account.pk, "symbol": p.symbol}
    if p.intent == "portfolio":
        return {"account_ids": [a.pk for a in resolution.accounts], "asset": p.base}
    raise NotReady(f"no command for intent {p.intent}")


def command_for(resolution: Resolution, *, request=None) -> ProposedCommand:
    """The command a READY resolution stands for; NotReady for anything else."""
    if not resolution.ready:
        raise NotReady(f"the resolution is {resolution.status}, not ready")
    p = resolution.parsed
    return ProposedCommand(
        kind=p.intent, fields=_fields(resolution), confirm=p.intent in CHANGES_SOMETHING,
        origin_text=request.text if request is not None else "",
        assistant_request_id=request.pk if request is not None else None,
        meta={"engine": p.engine, "confidence": p.confidence},
    )


def build(proposed: ProposedCommand, commands_module):
    """The command service's own command object (its dataclass named in COMMAND_CLASSES)."""
    cls = getattr(commands_module, COMMAND_CLASSES[proposed.kind])
    return cls(**proposed.fields)
