"""The one function every door of the assistant calls (command box, manage.py assistant, Telegram, REST API).

    reply = ask(user, "buy 100 USDT of BTC", door="web")
    reply.kind          answer | question | confirm | done | refused
    reply.text          what to show
    reply.pending_id    with kind "confirm": the command service's one-time id, `reply.sentence` names the
                        exact amounts, `reply.expires_at` when it lapses
    reply = confirm(user, reply.pending_id, door="web")      # runs it, once (kind "done" or "refused")
    reply = cancel(user, reply.pending_id, door="web")

Steps of `ask`, in order:
1. understand the text (assistant.understanding: length check, key masking, the per-user rate limit, the
   LLM or offline engine within its limits and token budget, resolution against the user's rows, one audit
   row);
2. not understood, help, or refused: say so (kind "answer" / "refused");
3. something missing or ambiguous: the question and the suggested ticket, never a guess (kind "question");
4. a read-only query (price, portfolio, bot status): the answer at once (kind "answer");
5. anything that changes something: one command to the command service with `confirm=True`, so it comes
   back pending with its sentence (kind "confirm"), whatever the engine or the text said. The audit row is
   linked to the command's Activity (`command_ref` "activity:<id>") and follows it to its outcome.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.utils.translation import gettext as _

from assistant.models import AssistantRequest
from assistant.resolution import NEEDS_INPUT, Resolution
from assistant.understanding import understand
from commands import definitions, service

log = logging.getLogger(__name__)
ANSWER, QUESTION, CONFIRM, DONE, REFUSED = "answer", "question", "confirm", "done", "refused"
KINDS = (ANSWER, QUESTION, CONFIRM, DONE, REFUSED)
Status = AssistantRequest.Status
Outcome = AssistantRequest.Outcome

# The assistant's door names (its audit) -> the command service's (its Activity).
SERVICE_DOORS = {"web": "web", "cli": "command", "telegram": "telegram", "api": "api"}

# What text may propose (always confirmed); anything else is answered at once or asked about.
CHANGES_SOMETHING = frozenset({"buy", "sell", "close_position", "cancel_order", "alert", "bot_start", "bot_stop"})


@dataclass(frozen=True)
class Reply:
    text: str
    kind: str
    pending_id: str | None = None
    sentence: str | None = None
    expires_at: datetime | None = None
    parse: dict | None = None  # the `manage.py parse_command --json` object
    request_id: int | None = None  # the AssistantRequest (audit) row
    activity_id: int | None = None  # the command service's Activity, once a command was submitted
    ticket: dict | None = None  # with kind "question": what is known so far, to pre-fill a ticket
    choices: tuple = ()  # with kind "question": (key, label) pairs when there are a few options
    asks: str | None = None  # what the choices are: "account" or "bot" (a door sends the key back as a pick)
    notes: tuple = field(default=())  # how the text was read (LLM fallback, typo corrected, key hidden)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown reply kind {self.kind!r}")

    def as_dict(self) -> dict:
        return {"text": self.text, "kind": self.kind, "pending_id": self.pending_id, "sentence": self.sentence,
                "expires_at": self.expires_at.isoformat() if self.expires_at else None, "parse": self.parse,
                "request_id": self.request_id, "activity_id": self.activity_id, "ticket": self.ticket,
                "choices": [list(c) for c in self.choices], "asks": self.asks, "notes": list(self.notes)}


def _door(door: str) -> str:
    if door not in SERVICE_DOORS:
        raise ValueError(f"unknown door {door!r} (one of {', '.join(SERVICE_DOORS)})")
    return door


class _NeedsInput(Exception):
    def __init__(self, question: str, choices=(), asks: str | None = None):
        super().__init__(question)
        self.question, self.choices, self.asks = question, tuple(choices), asks if choices else None


PICKS = ("account", "bot")  # the choices a door can send back with the same text


def ask(user, text: str, *, door: str, account_id=None, bot_id=None) -> Reply:
    """Understand `text` for `user` and answer, ask, or propose one command for confirmation (module docstring).
    account_id / bot_id: the user's pick from a question's choices (asked again with the same text)."""
    door = _door(door)
    understood = understand(text, user=user, door=door, account_id=account_id, bot_id=bot_id)
    request = understood.request
    parsed = understood.parsed
    base = {"parse": parsed.as_json() if parsed is not None else None,
            "request_id": request.pk if request is not None else None,
            "notes": tuple(str(n) for n in understood.notes)}
    if understood.status in (Status.REFUSED, Status.RATE_LIMITED, Status.NOT_POSSIBLE):
        return Reply(understood.message, REFUSED, **base)
    if understood.status == Status.UNKNOWN or parsed.intent in ("help", "unknown"):
        return Reply(understood.message, ANSWER, **base)
    resolution = understood.resolution
    if understood.status == Status.NEEDS_INPUT or resolution is None or resolution.status == NEEDS_INPUT:
        return _question(understood.message, resolution, base)
    if parsed.intent not in CHANGES_SOMETHING:
        try:
            answer = _query(user, resolution)
        except Exception as exc:  # a report or an adapter failing: say so, never a traceback
            log.exception("assistant query %s of user %s failed", parsed.intent, user.pk)
            answer = _("Sorry, that could not be answered right now (%(error)s).") % {"error": type(exc).__name__}
            _record(request, Outcome.FAILED, answer)
            return Reply(answer, REFUSED, **base)
        _record(request, Outcome.EXECUTED, answer)
        return Reply(answer, ANSWER, **base)
    try:
        command = command_for(resolution)
    except _NeedsInput as asked:
        _record(request, Outcome.NONE, asked.question)
        return Reply(asked.question, QUESTION, ticket=resolution.ticket, choices=asked.choices, asks=asked.asks,
                     **base)
    outcome = service.submit(user, command, door=SERVICE_DOORS[door], source_text=understood.text, confirm=True)
    return _from_outcome(outcome, request, base)


def confirm(user, pending_id: str, *, door: str) -> Reply:
    """Confirm the user's pending command (the command service runs it, once) and close its audit row."""
    outcome = service.confirm(user, pending_id, door=SERVICE_DOORS[_door(door)])
    return _from_outcome(outcome, _request_of(user, outcome), {})


def cancel(user, pending_id: str, *, door: str) -> Reply:
    """Cancel the user's pending command: nothing is done."""
    outcome = service.cancel_pending(user, pending_id, door=SERVICE_DOORS[_door(door)])
    request = _request_of(user, outcome)
    if outcome.done:
        _record(request, Outcome.CANCELLED, outcome.message)
    return Reply(outcome.message, DONE if outcome.done else REFUSED, sentence=outcome.sentence or None,
                 request_id=request.pk if request else None, activity_id=outcome.activity_id)


def _question(message: str, resolution: Resolution | None, base: dict) -> Reply:
    if resolution is None:
        return Reply(message, QUESTION, **base)
    asks = resolution.asks
    choices = tuple((c.key, c.label) for c in resolution.choices)
    if asks == "position":  # a position is picked by its book (each open position is its book's only one)
        books = {str(p.pk): str(p.bot_id) for p in resolution.positions}
        choices, asks = tuple((books[key], label) for key, label in choices if key in books), "bot"
    return Reply(message, QUESTION, ticket=resolution.ticket, choices=choices,
                 asks=asks if asks in PICKS and choices else None, **base)


def _from_outcome(outcome: service.Outcome, request: AssistantRequest | None, base: dict) -> Reply:
    ref = f"activity:{outcome.activity_id}" if outcome.activity_id else ""
    common = {"sentence": outcome.sentence or None, "activity_id": outcome.activity_id,
              "request_id": request.pk if request is not None else None,
              **{k: v for k, v in base.items() if k != "request_id"}}
    if outcome.needs_confirmation:
        if request is not None:
            request.record_outcome(Outcome.PROPOSED, outcome.sentence, command_ref=ref)
        return Reply(outcome.sentence or outcome.message, CONFIRM, pending_id=outcome.pending_id,
                     expires_at=outcome.expires_at, **common)
    if outcome.status in (service.Outcome.DONE, service.Outcome.UNKNOWN):
        _record(request, Outcome.EXECUTED, outcome.message, ref)
        return Reply(outcome.message, DONE, **common)
    if outcome.code == "expired":
        _record(request, Outcome.EXPIRED, outcome.message, ref)
    elif outcome.status == service.Outcome.FAILED:
        _record(request, Outcome.FAILED, outcome.message, ref)
    elif not outcome.code.startswith("already_") and outcome.code != "not_found":
        _record(request, Outcome.REJECTED, outcome.message, ref)
    return Reply(outcome.message, REFUSED, **common)


def _record(request: AssistantRequest | None, outcome: str, detail: str, ref: str = "") -> None:
    if request is not None and outcome != Outcome.NONE:
        request.record_outcome(outcome, str(detail), command_ref=ref)


def _request_of(user, outcome: service.Outcome) -> AssistantRequest | None:
    if not outcome.activity_id:
        return None
    return AssistantRequest.objects.for_user(user).filter(command_ref=f"activity:{outcome.activity_id}").first()


def command_for(resolution: Resolution) -> definitions.Command:
    """The command service's command for a READY resolution that changes something (one command, or a
    question when the text names several targets that would each need their own confirmation)."""
    p = resolution.parsed
    account = resolution.account
    if p.intent in ("buy", "sell"):
        return definitions.PlaceOrder(account_id=str(account.pk), symbol=p.symbol, side=p.intent, amount=p.amount,
                                      unit=p.unit, order_type=p.order_type or "market", price=p.price)
    if p.intent == "alert":
        return definitions.CreateAlert(account_id=str(account.pk), symbol=p.symbol, direction=p.direction,
                                       price=p.price)
    if p.intent in ("bot_start", "bot_stop"):
        bots = [resolution.bot] if resolution.bot else resolution.bots
        if len(bots) != 1:
            raise _NeedsInput(_("Which bot? Name one: each bot is confirmed on its own."),
                              [(str(b.pk), b.name) for b in bots], "bot")
        return definitions.ControlBot(bot_id=bots[0].pk, action="start" if p.intent == "bot_start" else "stop")
    if p.intent == "close_position":
        positions = [resolution.position] if resolution.position is not None else resolution.positions
        if len(positions) != 1:
            raise _NeedsInput(_("Which position? Name one: each close is confirmed on its own."),
                              [(str(pos.bot_id), f"{pos.symbol}, {pos.bot.name}") for pos in positions], "bot")
        if p.unit == "percent" and p.amount is not None and p.amount < 100:
            raise _NeedsInput(_("A position is closed whole; to sell part of it, say how much to sell, for example "
                                "“sell %(amount)s %% of my %(base)s”.")
                              % {"amount": p.amount.normalize(), "base": positions[0].symbol.split("/")[0]})
        return definitions.ForceExit(position_id=positions[0].pk)
    if p.intent == "cancel_order":
        if resolution.bot is not None:
            return definitions.CancelOrders(bot_id=resolution.bot.pk, symbol=p.symbol if p.base else None)
        if len(resolution.accounts) == 1:
            return definitions.CancelOrders(account_id=str(resolution.accounts[0].pk),
                                            symbol=p.symbol if p.base else None)
        if p.base:
            return definitions.CancelOrders(symbol=p.symbol)
        raise _NeedsInput(_("Cancel the open orders of which account?"),
                          [(str(a.pk), str(a)) for a in resolution.accounts], "account")
    raise _NeedsInput(_("Sorry, I cannot do that from text yet."))


def _query(user, resolution: Resolution) -> str:
    """The answer to a read-only query, from the user's own rows (and the exchange's public prices)."""
    p = resolution.parsed
    if p.intent == "price":
        return _price(resolution.account, p.symbol)
    from telegram_bot import reports  # the platform's short plain-text reports (Telegram's /balance, /status)

    if p.intent == "portfolio":
        return reports.balance(user)
    return reports.status(user)


def _price(account, symbol: str) -> str:
    from bots.templatetags.bot_display import money
    from commands import execution
    from exchanges.errors import ExchangeError

    quote = symbol.split("/")[1]
    try:
        client = execution.account_client(account)
        try:
            ticker = client.fetch_ticker(symbol)
        finally:
            client.close()
    except ExchangeError:
        return _("%(exchange)s could not be reached for the price of %(symbol)s; try again later.") % {
            "exchange": account.exchange_id, "symbol": symbol}
    if not ticker.last:
        return _("%(exchange)s gives no price for %(symbol)s right now.") % {
            "exchange": account.exchange_id, "symbol": symbol}
    text = _("%(symbol)s on %(exchange)s: %(price)s") % {
        "symbol": symbol, "exchange": account.exchange_id, "price": money(ticker.last, quote)}
    if ticker.bid and ticker.ask:
        text += " " + _("(bid %(bid)s, ask %(ask)s)") % {"bid": money(ticker.bid, quote),
                                                         "ask": money(ticker.ask, quote)}
    return text
