"""What an engine understood from one command: the parse, plain data shared by both engines.

A parse is a proposal only. It names the pieces the text gave (or the engine was told), never balances or
ids; the resolution step (assistant.resolution) matches them to the user's accounts, markets and bots.
"""

from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal

INTENTS = (
    "buy", "sell", "price", "portfolio", "alert", "cancel_order", "bot_status", "bot_start", "bot_stop",
    "close_position", "help", "unknown",
)
UNITS = ("base", "quote", "percent")
ORDER_TYPES = ("market", "limit")
DIRECTIONS = ("above", "below")
ENGINES = ("offline", "llm")

# The keys of `parse_command --json`, in this order, and nothing else.
JSON_KEYS = ("intent", "symbol", "amount", "unit", "order_type", "price", "direction", "bot", "engine",
             "confidence")


_OPTIONAL_FIELDS = ("base", "quote", "amount", "unit", "order_type", "price", "direction", "bot", "account",
                    "everything")
_MARKET = ("base", "quote", "account")
_FIELDS_BY_INTENT = {
    "buy": (*_MARKET, "amount", "unit", "order_type", "price"),
    "sell": (*_MARKET, "amount", "unit", "order_type", "price"),
    "close_position": (*_MARKET, "amount", "unit", "bot", "everything"),
    "alert": (*_MARKET, "price", "direction"),
    "price": _MARKET,
    "portfolio": _MARKET,
    "cancel_order": (*_MARKET, "bot", "everything"),
    "bot_status": (*_MARKET, "bot", "everything"),
    "bot_start": (*_MARKET, "bot", "everything"),
    "bot_stop": (*_MARKET, "bot", "everything"),
    "help": (),
    "unknown": (),
}


@dataclass(frozen=True)
class ParsedCommand:
    intent: str
    base: str | None = None
    quote: str | None = None
    # True when the text named no quote currency and the user's default was used ("buy BTC" -> BTC/USDT).
    quote_implied: bool = False
    amount: Decimal | None = None
    unit: str | None = None  # base | quote | percent (percent as a number of percent: "half" is 50)
    order_type: str | None = None  # market | limit, for buy and sell
    price: Decimal | None = None  # the limit price of an order, or the price of an alert
    direction: str | None = None  # above | below, for an alert
    bot: str | None = None  # a bot's name as written
    account: str | None = None  # an exchange account as written: an exchange id, a label or a mode
    everything: bool = False  # "all" said of orders, positions or bots ("cancel all orders")
    engine: str = "offline"
    confidence: float = 0.0
    notes: tuple[str, ...] = field(default=(), compare=False)  # how the text was read (typos corrected...)

    def __post_init__(self):
        if self.intent not in INTENTS:
            raise ValueError(f"unknown intent {self.intent!r}")
        if self.unit is not None and self.unit not in UNITS:
            raise ValueError(f"unknown unit {self.unit!r}")
        if self.engine not in ENGINES:
            raise ValueError(f"unknown engine {self.engine!r}")

    @property
    def symbol(self) -> str | None:
        return f"{self.base}/{self.quote}" if self.base and self.quote else None

    def with_changes(self, **changes) -> "ParsedCommand":
        return replace(self, **changes)

    def tidy(self) -> "ParsedCommand":
        """The same command without the fields its intent does not use (both engines answer in this shape)."""
        keep = _FIELDS_BY_INTENT[self.intent]
        changes = {name: (False if name == "everything" else None)
                   for name in _OPTIONAL_FIELDS if name not in keep and getattr(self, name) not in (None, False)}
        if self.intent in ("bot_start", "bot_stop", "bot_status") and self.bot and self.base:
            changes.update(base=None, quote=None)
        if "base" in changes or ("base" not in keep):
            changes["quote_implied"] = False
            changes.setdefault("quote", None)
        if self.intent in ("close_position",) and self.unit not in (None, "percent"):
            changes.update(amount=None, unit=None)
        return replace(self, **changes) if changes else self

    def missing(self) -> tuple[str, ...]:
        """The pieces this intent needs that the text did not give (the resolution step asks for them)."""
        needed = []
        if self.intent in ("buy", "sell"):
            if not self.base:
                needed.append("symbol")
            if self.amount is None:
                needed.append("amount")
            elif self.unit is None:
                needed.append("unit")
            if self.order_type == "limit" and self.price is None:
                needed.append("price")
        elif self.intent == "alert":
            if not self.base:
                needed.append("symbol")
            if self.direction is None:
                needed.append("direction")
            if self.price is None:
                needed.append("price")
        elif self.intent == "price" and not self.base:
            needed.append("symbol")
        elif self.intent in ("bot_start", "bot_stop") and not self.bot and not self.everything:
            needed.append("bot")
        elif self.intent == "close_position" and not (self.base or self.bot or self.everything):
            needed.append("symbol")
        return tuple(needed)

    def as_json(self) -> dict:
        """The `parse_command --json` object: exactly JSON_KEYS, null where not given."""
        return {
            "intent": self.intent,
            "symbol": self.symbol,
            "amount": None if self.amount is None else float(self.amount),
            "unit": self.unit,
            "order_type": self.order_type,
            "price": None if self.price is None else float(self.price),
            "direction": self.direction,
            "bot": self.bot,
            "engine": self.engine,
            "confidence": round(float(self.confidence), 2),
        }

    def as_record(self) -> dict:
        """Everything, JSON-safe, for the audit row."""
        data = asdict(self)
        data["symbol"] = self.symbol
        data["notes"] = list(self.notes)
        for key in ("amount", "price"):
            if data[key] is not None:
                data[key] = str(data[key])
        return data
