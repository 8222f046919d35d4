"""The JSON schema an LLM must answer with, the validator that holds it to that schema, and the checks
that tie its answer to the text (a model cannot add an amount, a coin or a bot the text does not name).

The same ANSWER_SCHEMA is sent to the model (as the tool's parameters or as the json_schema response
format) and used here to validate what comes back; the validator covers the subset of JSON Schema the
schema uses (type, enum, required, properties, additionalProperties, minimum, maximum, maxLength).
"""

import re
from decimal import Decimal, InvalidOperation

from assistant import lexicon
from assistant.offline import coins_in, normalise, numbers_in
from assistant.parse import DIRECTIONS, INTENTS, ORDER_TYPES, UNITS, ParsedCommand


def _nullable(kind: str, description: str, **more) -> dict:
    return {"type": [kind, "null"], "description": description, **more}


ANSWER_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["intent", "base", "quote", "amount", "unit", "order_type", "price", "direction", "bot",
                 "account", "everything", "confidence"],
    "properties": {
        "intent": {"type": "string", "enum": list(INTENTS), "description": "What the user asks for."},
        "base": _nullable("string", "The coin's ticker in capitals (BTC), as the text names it.", maxLength=15),
        "quote": _nullable("string", "The quote currency's ticker, only if the text names one (USDT, THB).",
                           maxLength=15),
        "amount": _nullable("number", "The amount written in the text; a share as a percent (half is 50).",
                            minimum=0),
        "unit": {"type": ["string", "null"], "enum": [*UNITS, None],
                 "description": "What the amount counts: base coins, quote currency, or percent."},
        "order_type": {"type": ["string", "null"], "enum": [*ORDER_TYPES, None]},
        "price": _nullable("number", "A limit price, or an alert's price, as written.", minimum=0),
        "direction": {"type": ["string", "null"], "enum": [*DIRECTIONS, None],
                      "description": "For an alert: above or below."},
        "bot": _nullable("string", "A bot's name exactly as written.", maxLength=100),
        "account": _nullable("string", "An exchange, account label or mode (paper, live) as written.",
                             maxLength=100),
        "everything": {"type": "boolean", "description": "True when all orders, positions or bots are meant."},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
    },
}
TOOL_NAME = "propose_command"
_TYPES = {"string": str, "number": (int, float), "integer": int, "object": dict, "array": list,
          "boolean": bool, "null": type(None)}
_TICKER = re.compile(r"[A-Z0-9]{1,15}")


class InvalidAnswer(Exception):
    """The model's answer is not a valid proposal; `code` is stable English, the message says why."""

    def __init__(self, code: str, detail: str):
        super().__init__(detail)
        self.code = code
        self.detail = detail


def _type_ok(value, kinds) -> bool:
    kinds = kinds if isinstance(kinds, list) else [kinds]
    for kind in kinds:
        if kind in ("number", "integer") and isinstance(value, bool):
            continue
        if isinstance(value, _TYPES[kind]):
            return True
    return False


def schema_errors(instance, schema: dict, path: str = "") -> list[str]:
    """Where `instance` breaks `schema` (empty when it is valid)."""
    where = path or "the answer"
    if "type" in schema and not _type_ok(instance, schema["type"]):
        return [f"{where} must be {schema['type']}, not {type(instance).__name__}"]
    errors = []
    if "enum" in schema and instance not in schema["enum"]:
        errors.append(f"{where} must be one of {schema['enum']}, not {instance!r}")
    if isinstance(instance, (int, float)) and not isinstance(instance, bool):
        if "minimum" in schema and instance < schema["minimum"]:
            errors.append(f"{where} must be at least {schema['minimum']}")
        if "maximum" in schema and instance > schema["maximum"]:
            errors.append(f"{where} must be at most {schema['maximum']}")
        if instance != instance or instance in (float("inf"), float("-inf")):
            errors.append(f"{where} must be a finite number")
    if isinstance(instance, str) and "maxLength" in schema and len(instance) > schema["maxLength"]:
        errors.append(f"{where} is longer than {schema['maxLength']} characters")
    if isinstance(instance, dict):
        properties = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in instance:
                errors.append(f"{key} is missing")
        if schema.get("additionalProperties") is False:
            for key in instance:
                if key not in properties:
                    errors.append(f"{key} is not a field of a command")
        for key, value in instance.items():
            if key in properties:
                errors += schema_errors(value, properties[key], key)
    return errors


def _number(value) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, ValueError):
        return None


def _close_to_any(value: Decimal, candidates) -> bool:
    return any(abs(value - c) <= abs(c) * Decimal("1e-9") + Decimal("1e-12") for c in candidates)


def parsed_from_answer(answer: dict, text: str, *, default_quote: str) -> ParsedCommand:
    """A ParsedCommand from a model's answer, or InvalidAnswer: the schema, then the answer against the text."""
    errors = schema_errors(answer, ANSWER_SCHEMA)
    if errors:
        raise InvalidAnswer("schema", "; ".join(errors[:5]))
    base = answer["base"].strip().upper() if answer["base"] else None
    quote = answer["quote"].strip().upper() if answer["quote"] else None
    for name, ticker in (("base", base), ("quote", quote)):
        if ticker is not None and not _TICKER.fullmatch(ticker):
            raise InvalidAnswer("schema", f"{name} {ticker!r} is not a ticker")
    amount, price = _number(answer["amount"]), _number(answer["price"])
    unit = answer["unit"]
    if unit == "percent" and amount is not None and not (0 < amount <= 100):
        raise InvalidAnswer("schema", "a percent amount must be more than 0 and at most 100")
    if amount is not None and amount <= 0 or price is not None and price <= 0:
        raise InvalidAnswer("schema", "amounts and prices must be more than 0")

    # Grounding: every number, coin, bot and account in the answer must be in the text.
    numbers = numbers_in(text)
    for name, value in (("amount", amount), ("price", price)):
        if value is not None and not _close_to_any(value, numbers):
            raise InvalidAnswer("ungrounded", f"the {name} {value} is not written in the text")
    mentioned = coins_in(text)
    if "USD" in mentioned:
        mentioned |= lexicon.USD_LIKE  # "$100" may come back as USDT
    for name, ticker in (("base", base), ("quote", quote)):
        if ticker is not None and ticker not in mentioned and not (name == "quote" and ticker == default_quote):
            raise InvalidAnswer("ungrounded", f"the {name} {ticker} is not named in the text")
    folded = normalise(text).casefold()
    for name in ("bot", "account"):
        value = answer[name]
        if value is not None and normalise(value).casefold() not in folded:
            raise InvalidAnswer("ungrounded", f"the {name} {value!r} is not named in the text")

    if quote == "USD" and default_quote in lexicon.USD_LIKE:
        quote = default_quote
    implied = False
    if base is not None and quote is None and base != default_quote:
        quote, implied = default_quote, True
    intent = answer["intent"]
    order_type = answer["order_type"]
    if intent in ("buy", "sell") and order_type is None:
        order_type = "limit" if price is not None else "market"
    parsed = ParsedCommand(
        intent=intent, base=base, quote=quote, quote_implied=implied, amount=amount, unit=unit,
        order_type=order_type, price=price, direction=answer["direction"], bot=answer["bot"],
        account=answer["account"], everything=answer["everything"], engine="llm",
        confidence=float(answer["confidence"]),
    )
    return parsed.tidy()
