"""The commands a person (or a later door: assistant, Telegram, REST API, webhook) can ask for, as plain
frozen dataclasses with validated fields. `clean()` returns a normalised copy or raises CommandInvalid with a
message fit to show; `payload()` / `from_payload()` turn one into JSON and back (for the audit and for a
pending command waiting for its confirmation).

Money and amounts are Decimal. `PlaceOrder.unit` says what `amount` counts: "base" (0.01 BTC), "quote"
(100 USDT worth of BTC) or "percent" (of the free quote balance for a buy; of the free base balance, less
what the account's bots hold, for a sell).
"""

import dataclasses
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import ClassVar

from django.utils.translation import gettext as _

SIDES = ("buy", "sell")
UNITS = ("base", "quote", "percent")
ORDER_TYPES = ("market", "limit")
DIRECTIONS = ("above", "below")
BOT_ACTIONS = ("start", "stop", "pause", "resume")


class CommandInvalid(Exception):
    """A field is missing or wrong; `message` is fit to show (translated), `code` is stable."""

    def __init__(self, message: str, code: str = "invalid", field: str = ""):
        super().__init__(message)
        self.message, self.code, self.field = message, code, field


def as_decimal(value, name: str, *, positive: bool = True, optional: bool = False) -> Decimal | None:
    if value is None or value == "":
        if optional:
            return None
        raise CommandInvalid(_("%(field)s is required.") % {"field": name}, "missing", name)
    if isinstance(value, bool):
        raise CommandInvalid(_("%(field)s must be a number.") % {"field": name}, "invalid", name)
    try:
        number = Decimal(str(value).strip().replace(",", "")) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError):
        raise CommandInvalid(_("%(field)s must be a number, not %(value)s.") % {"field": name, "value": value},
                             "invalid", name)
    if not number.is_finite() or (positive and number <= 0):
        raise CommandInvalid(_("%(field)s must be a positive number, not %(value)s.")
                             % {"field": name, "value": value}, "invalid", name)
    if number.adjusted() > 15:
        raise CommandInvalid(_("%(field)s is too large.") % {"field": name}, "invalid", name)
    return number


def as_id(value, name: str, *, optional: bool = False) -> int | None:
    if value is None or value == "":
        if optional:
            return None
        raise CommandInvalid(_("%(field)s is required.") % {"field": name}, "missing", name)
    try:
        number = int(str(value).strip()) if not isinstance(value, bool) else None
    except ValueError:
        number = None
    if number is None or number <= 0:
        raise CommandInvalid(_("%(field)s must be a positive whole number, not %(value)s.")
                             % {"field": name, "value": value}, "invalid", name)
    return number


def as_uuid_text(value, name: str, *, optional: bool = False) -> str | None:
    import uuid

    if value is None or value == "":
        if optional:
            return None
        raise CommandInvalid(_("%(field)s is required.") % {"field": name}, "missing", name)
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise CommandInvalid(_("No such exchange account."), "not_found", name)


def as_choice(value, name: str, choices) -> str:
    text = str(value or "").strip().lower()
    if text not in choices:
        raise CommandInvalid(_("%(field)s must be one of %(choices)s, not %(value)s.")
                             % {"field": name, "choices": ", ".join(choices), "value": value}, "invalid", name)
    return text


def as_symbol(value, name: str = "symbol") -> str:
    text = str(value or "").strip().upper().replace("-", "/")
    if "/" not in text or len(text) > 30 or not all(part.isalnum() for part in text.split(":")[0].split("/")):
        raise CommandInvalid(_("The market must look like BASE/QUOTE, e.g. BTC/USDT, not %(value)s.")
                             % {"value": value}, "invalid", name)
    return text


def as_bool(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


@dataclass(frozen=True)
class Command:
    name: ClassVar[str] = ""
    trades: ClassVar[bool] = False  # places or cancels orders (so a live account's needs confirmation)

    def clean(self) -> "Command":
        return self

    def payload(self) -> dict:
        data = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            data[f.name] = format(value, "f") if isinstance(value, Decimal) else list(value) if isinstance(
                value, tuple) else value
        return data

    @classmethod
    def from_payload(cls, data: dict) -> "Command":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise CommandInvalid(_("Unknown fields: %(fields)s.") % {"fields": ", ".join(sorted(unknown))})
        return cls(**data).clean()


@dataclass(frozen=True)
class PlaceOrder(Command):
    """Buy or sell on an exchange account, by hand (booked in the account's manual book of the symbol)."""

    name: ClassVar[str] = "place_order"
    trades: ClassVar[bool] = True
    account_id: str = ""
    symbol: str = ""
    side: str = ""
    amount: Decimal | None = None
    unit: str = "base"
    order_type: str = "market"
    price: Decimal | None = None

    def clean(self) -> "PlaceOrder":
        order_type = as_choice(self.order_type or "market", "order_type", ORDER_TYPES)
        unit = as_choice(self.unit or "base", "unit", UNITS)
        amount = as_decimal(self.amount, "amount")
        if unit == "percent" and amount > 100:
            raise CommandInvalid(_("A percentage is at most 100."), "invalid", "amount")
        price = as_decimal(self.price, "price", optional=order_type == "market")
        return PlaceOrder(account_id=as_uuid_text(self.account_id, "account_id"), symbol=as_symbol(self.symbol),
                          side=as_choice(self.side, "side", SIDES), amount=amount, unit=unit, order_type=order_type,
                          price=price if order_type == "limit" else None)


@dataclass(frozen=True)
class ClosePosition(Command):
    """Sell a bot's open position at market (optionally stopping the bot first, so it does not buy again)."""

    name: ClassVar[str] = "close_position"
    trades: ClassVar[bool] = True
    bot_id: int | None = None
    stop_bot: bool = False
    quantity: Decimal | None = None  # set once validated: a confirmation sells exactly what the user saw

    def clean(self) -> "ClosePosition":
        return ClosePosition(bot_id=as_id(self.bot_id, "bot_id"), stop_bot=as_bool(self.stop_bot),
                             quantity=as_decimal(self.quantity, "quantity", optional=True))


@dataclass(frozen=True)
class ForceExit(Command):
    """Sell any open position (a bot's or a manual one) at market, by its id."""

    name: ClassVar[str] = "force_exit"
    trades: ClassVar[bool] = True
    position_id: int | None = None
    quantity: Decimal | None = None  # set once validated, as ClosePosition's

    def clean(self) -> "ForceExit":
        return ForceExit(position_id=as_id(self.position_id, "position_id"),
                         quantity=as_decimal(self.quantity, "quantity", optional=True))


@dataclass(frozen=True)
class CancelOrders(Command):
    """Cancel one open order, or every open order of a bot, of an account (optionally one symbol), or of a
    symbol on all accounts. Protective exits (a position's stop-loss/take-profit) are left alone."""

    name: ClassVar[str] = "cancel_orders"
    trades: ClassVar[bool] = True
    order_id: int | None = None
    bot_id: int | None = None
    account_id: str | None = None
    symbol: str | None = None
    order_ids: tuple = ()  # set once validated: a confirmation cancels exactly the orders the user saw

    def clean(self) -> "CancelOrders":
        order_id = as_id(self.order_id, "order_id", optional=True)
        bot_id = as_id(self.bot_id, "bot_id", optional=True)
        account_id = as_uuid_text(self.account_id, "account_id", optional=True)
        symbol = as_symbol(self.symbol) if self.symbol else None
        if sum(x is not None for x in (order_id, bot_id, account_id)) > 1:
            raise CommandInvalid(_("Name one order, one bot or one account, not several."), "invalid")
        if order_id is None and bot_id is None and account_id is None and symbol is None:
            raise CommandInvalid(_("Which orders? Name an order, a bot, an account or a symbol."), "missing")
        order_ids = tuple(as_id(value, "order_ids") for value in (self.order_ids or ()))
        return CancelOrders(order_id=order_id, bot_id=bot_id, account_id=account_id, symbol=symbol,
                            order_ids=order_ids)


@dataclass(frozen=True)
class CreateAlert(Command):
    """Tell me when SYMBOL goes above/below PRICE: on an exchange account's prices, or a replay bot's."""

    name: ClassVar[str] = "create_alert"
    symbol: str = ""
    direction: str = ""
    price: Decimal | None = None
    account_id: str | None = None
    bot_id: int | None = None
    repeat: bool = False
    note: str = ""

    def clean(self) -> "CreateAlert":
        account_id = as_uuid_text(self.account_id, "account_id", optional=True)
        bot_id = as_id(self.bot_id, "bot_id", optional=True)
        if (account_id is None) == (bot_id is None):
            raise CommandInvalid(_("Choose where the price comes from: an exchange account or a replay bot."),
                                 "missing", "source")
        return CreateAlert(symbol=as_symbol(self.symbol), direction=as_choice(self.direction, "direction", DIRECTIONS),
                           price=as_decimal(self.price, "price"), account_id=account_id, bot_id=bot_id,
                           repeat=as_bool(self.repeat), note=str(self.note or "").strip()[:200])


@dataclass(frozen=True)
class CancelAlert(Command):
    name: ClassVar[str] = "cancel_alert"
    alert_id: int | None = None

    def clean(self) -> "CancelAlert":
        return CancelAlert(alert_id=as_id(self.alert_id, "alert_id"))


@dataclass(frozen=True)
class ControlBot(Command):
    """Start, stop, pause or resume a bot (bots.control does it)."""

    name: ClassVar[str] = "control_bot"
    bot_id: int | None = None
    action: str = ""

    def clean(self) -> "ControlBot":
        return ControlBot(bot_id=as_id(self.bot_id, "bot_id"), action=as_choice(self.action, "action", BOT_ACTIONS))


@dataclass(frozen=True)
class EditBot(Command):
    """Change a bot's settings: `changes` maps Bot field names to values in model units (fractions for
    percentages). A running bot's risk limits and stake only; everything of a stopped one."""

    name: ClassVar[str] = "edit_bot"
    bot_id: int | None = None
    changes: dict = field(default_factory=dict)

    def clean(self) -> "EditBot":
        if not isinstance(self.changes, dict) or not self.changes:
            raise CommandInvalid(_("Nothing to change."), "missing", "changes")
        return EditBot(bot_id=as_id(self.bot_id, "bot_id"), changes=dict(self.changes))

    def payload(self) -> dict:
        import json

        from django.core.serializers.json import DjangoJSONEncoder

        return {"bot_id": self.bot_id, "changes": json.loads(json.dumps(self.changes, cls=DjangoJSONEncoder))}


@dataclass(frozen=True)
class CloneBot(Command):
    name: ClassVar[str] = "clone_bot"
    bot_id: int | None = None
    new_name: str = ""

    def clean(self) -> "CloneBot":
        return CloneBot(bot_id=as_id(self.bot_id, "bot_id"), new_name=str(self.new_name or "").strip()[:100])


@dataclass(frozen=True)
class ArchiveBot(Command):
    """Hide a stopped bot with no open position or orders; its trades stay in the P&L history."""

    name: ClassVar[str] = "archive_bot"
    bot_id: int | None = None
    restore: bool = False

    def clean(self) -> "ArchiveBot":
        return ArchiveBot(bot_id=as_id(self.bot_id, "bot_id"), restore=as_bool(self.restore))


@dataclass(frozen=True)
class DeleteBot(Command):
    """Delete a stopped bot with no open position or orders, with its trades."""

    name: ClassVar[str] = "delete_bot"
    bot_id: int | None = None

    def clean(self) -> "DeleteBot":
        return DeleteBot(bot_id=as_id(self.bot_id, "bot_id"))


@dataclass(frozen=True)
class SetManualLimits(Command):
    """The risk limits of trading by hand on an exchange account (every manual book of it)."""

    name: ClassVar[str] = "set_manual_limits"
    account_id: str = ""
    limits: dict = field(default_factory=dict)

    def clean(self) -> "SetManualLimits":
        if not isinstance(self.limits, dict) or not self.limits:
            raise CommandInvalid(_("Nothing to change."), "missing", "limits")
        return SetManualLimits(account_id=as_uuid_text(self.account_id, "account_id"), limits=dict(self.limits))

    def payload(self) -> dict:
        import json

        from django.core.serializers.json import DjangoJSONEncoder

        return {"account_id": self.account_id, "limits": json.loads(json.dumps(self.limits, cls=DjangoJSONEncoder))}


COMMANDS: dict[str, type[Command]] = {
    cls.name: cls for cls in (PlaceOrder, ClosePosition, ForceExit, CancelOrders, CreateAlert, CancelAlert,
                              ControlBot, EditBot, CloneBot, ArchiveBot, DeleteBot, SetManualLimits)
}


def command_from_payload(name: str, data: dict) -> Command:
    cls = COMMANDS.get(name)
    if cls is None:
        raise CommandInvalid(_("Unknown command %(name)s.") % {"name": name}, "unknown_command")
    return cls.from_payload(data)
