"""The answer schema and the checks that tie an LLM's answer to the text."""

from decimal import Decimal

import pytest

from assistant.schema import ANSWER_SCHEMA, InvalidAnswer, parsed_from_answer, schema_errors

BASE = {"intent": "buy", "base": "BTC", "quote": "USDT", "amount": 100, "unit": "quote", "order_type": "market",
        "price": None, "direction": None, "bot": None, "account": None, "everything": False, "confidence": 0.8}


def test_a_valid_answer_becomes_a_parse():
    parsed = parsed_from_answer(BASE, "buy 100 usdt of btc", default_quote="USDT")
    assert (parsed.intent, parsed.symbol, parsed.amount, parsed.unit, parsed.engine) == (
        "buy", "BTC/USDT", Decimal(100), "quote", "llm")


@pytest.mark.parametrize("change,message", [
    ({"orders": [{"side": "sell"}]}, "orders is not a field"),
    ({"execute": True}, "execute is not a field"),
    ({"intent": "transfer"}, "intent must be one of"),
    ({"amount": "100"}, "amount must be"),
    ({"amount": True}, "amount must be"),
    ({"confidence": 3}, "confidence must be at most 1"),
    ({"unit": "lots"}, "unit must be one of"),
    ({"bot": "x" * 101}, "bot is longer than 100"),
    ({"everything": "yes"}, "everything must be"),
])
def test_schema_violations_are_named(change, message):
    errors = schema_errors({**BASE, **change}, ANSWER_SCHEMA)
    assert any(message in e for e in errors), errors


def test_a_missing_field_and_a_non_object_are_violations():
    assert "quote is missing" in schema_errors({k: v for k, v in BASE.items() if k != "quote"}, ANSWER_SCHEMA)
    assert schema_errors(["buy"], ANSWER_SCHEMA)


@pytest.mark.parametrize("change,text,code", [
    ({"amount": 1000}, "buy 100 usdt of btc", "ungrounded"),  # an amount the text does not write
    ({"price": 42000, "order_type": "limit"}, "buy 100 usdt of btc", "ungrounded"),
    ({"base": "ETH"}, "buy 100 usdt of btc", "ungrounded"),  # a coin the text does not name
    ({"quote": "BUSD"}, "buy 100 usdt of btc", "ungrounded"),
    ({"intent": "bot_stop", "bot": "alpha"}, "buy 100 usdt of btc", "ungrounded"),
    ({"account": "kraken"}, "buy 100 usdt of btc", "ungrounded"),
    ({"unit": "percent", "amount": 150}, "buy 150 usdt of btc", "schema"),
    ({"base": "BTC USDT"}, "buy 100 usdt of btc", "schema"),
    ({"amount": 0}, "buy 0 usdt of btc", "schema"),
])
def test_answers_the_text_does_not_support_are_refused(change, text, code):
    with pytest.raises(InvalidAnswer) as error:
        parsed_from_answer({**BASE, **change}, text, default_quote="USDT")
    assert error.value.code == code


def test_grounding_accepts_the_forms_the_text_uses():
    half = {**BASE, "intent": "sell", "base": "ETH", "quote": None, "amount": 50, "unit": "percent"}
    assert parsed_from_answer(half, "ขายอีเธอเรียมครึ่งหนึ่ง", default_quote="USDT").symbol == "ETH/USDT"
    k = {**BASE, "amount": 1500}
    assert parsed_from_answer(k, "buy 1.5k usdt of bitcoin", default_quote="USDT").amount == 1500
    dollars = {**BASE, "quote": "USD", "amount": 250}
    assert parsed_from_answer(dollars, "buy $250 of btc", default_quote="USDT").symbol == "BTC/USDT"
    bot = {**BASE, "intent": "bot_stop", "base": None, "quote": None, "amount": None, "unit": None,
           "order_type": None, "bot": "Night Owl"}
    assert parsed_from_answer(bot, "stop the night owl bot", default_quote="USDT").bot == "Night Owl"


def test_fields_an_intent_does_not_use_are_dropped():
    answer = {**BASE, "intent": "price", "amount": 100, "unit": "quote", "direction": "above"}
    parsed = parsed_from_answer(answer, "price of 100 usdt of btc", default_quote="USDT")
    assert (parsed.amount, parsed.unit, parsed.order_type, parsed.direction) == (None, None, None, None)
