"""The resolution step: a parse matched to the user's accounts, markets, bots and positions.

    resolution = resolve(parsed, user)                       # one scoped query per kind of row
    resolution = resolve(parsed, user, account_id=..., bot_id=...)   # after the user picked a choice

Outcomes (`resolution.status`):
- READY: everything the command needs is known; `account`, `bot`, `position` are the rows it names.
- NEEDS_INPUT: a piece is missing or ambiguous; `question` asks for it, `asks` names it, `choices` are the
  options when there are a few (accounts, bots), and `ticket` holds everything already known (the
  suggested ticket the door pre-fills). Nothing is ever guessed: "buy BTC" asks how much.
- NOT_POSSIBLE: the command names something the user does not have ("close my SOL position" with none).
- HELP / UNKNOWN: no command; `question` says what the assistant can do.
Nothing here executes anything: assistant.conversation turns a READY resolution into a command.
"""

from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from assistant.market_listing import listed_symbols
from assistant.parse import ParsedCommand
from bots.models import Bot, Position
from exchanges.models import ExchangeAccount

READY, NEEDS_INPUT, NOT_POSSIBLE, HELP, UNKNOWN = "ready", "needs_input", "not_possible", "help", "unknown"
MARKET_INTENTS = ("buy", "sell", "price", "alert")


def help_text() -> str:
    return _(
        "You can type, in English or Thai: “buy 100 USDT of BTC”, “sell half my ETH”, "
        "“price of SOL”, “alert me when BTC goes above 70k”, “what's my balance”, "
        "“stop bot alpha”, “close my BTC position”, “ขาย ETH ทั้งหมด”."
    )


@dataclass(frozen=True)
class Choice:
    key: str  # what the door sends back (an account or bot id, "above", "base"...)
    label: str


@dataclass
class Resolution:
    status: str
    parsed: ParsedCommand
    question: str = ""
    asks: str | None = None  # symbol | amount | unit | price | direction | account | bot
    choices: list[Choice] = field(default_factory=list)
    account: ExchangeAccount | None = None
    accounts: list[ExchangeAccount] = field(default_factory=list)  # the accounts a query covers
    bot: Bot | None = None
    bots: list[Bot] = field(default_factory=list)
    position: Position | None = None
    positions: list[Position] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return self.status == READY

    @property
    def ticket(self) -> dict:
        """What is known so far, JSON-safe: the door pre-fills its order ticket / form with it."""
        p = self.parsed
        return {
            "intent": p.intent, "symbol": p.symbol, "base": p.base, "quote": p.quote,
            "amount": None if p.amount is None else str(p.amount), "unit": p.unit, "order_type": p.order_type,
            "price": None if p.price is None else str(p.price), "direction": p.direction,
            "account": str(self.account.pk) if self.account else None,
            "account_label": str(self.account) if self.account else None,
            "bot": self.bot.pk if self.bot else None, "bot_name": self.bot.name if self.bot else p.bot,
            "everything": p.everything,
        }

    def as_record(self) -> dict:
        return {"status": self.status, "asks": self.asks, "question": self.question,
                "choices": [{"key": c.key, "label": c.label} for c in self.choices], "ticket": self.ticket}


def _ask(parsed, asks, question, choices=(), **rows) -> Resolution:
    return Resolution(NEEDS_INPUT, parsed, question=question, asks=asks, choices=list(choices), **rows)


def _account_matches(account: ExchangeAccount, hint: str) -> bool:
    """Every word of the hint is the account's exchange, its mode, or a word of its label."""
    label = account.label.casefold()
    words = label.split()
    for word in hint.casefold().split():
        if word not in (account.exchange_id, account.mode) and word not in words and word != label:
            return False
    return True


def _accounts(user, parsed, account_id) -> tuple[list[ExchangeAccount], Resolution | None]:
    accounts = list(ExchangeAccount.objects.for_user(user))
    if account_id is not None:
        chosen = [a for a in accounts if str(a.pk) == str(account_id)]
        if not chosen:
            return [], _ask(parsed, "account", _("That account is not one of yours. Which account?"),
                            [Choice(str(a.pk), str(a)) for a in accounts])
        return chosen, None
    if not accounts:
        return [], Resolution(NOT_POSSIBLE, parsed, question=_(
            "You have no exchange account yet: add one (a paper account needs no keys), then try again."))
    if parsed.account:
        matching = [a for a in accounts if _account_matches(a, parsed.account)]
        if not matching:
            return [], _ask(parsed, "account", _("You have no account matching “%(hint)s”. Which account?")
                            % {"hint": parsed.account}, [Choice(str(a.pk), str(a)) for a in accounts])
        return matching, None
    return accounts, None


def _trading_account(parsed, accounts) -> tuple[ExchangeAccount | None, Resolution | None]:
    """The one account that lists the symbol, or a question (none lists it / several do)."""
    listing = {a.pk: listed_symbols(a) for a in accounts}
    candidates = [a for a in accounts if listing[a.pk] is None or parsed.symbol in listing[a.pk]]
    if not candidates:
        return None, Resolution(NOT_POSSIBLE, parsed, question=_(
            "None of your accounts trades %(symbol)s.") % {"symbol": parsed.symbol}, accounts=accounts)
    if parsed.intent in ("price", "alert"):
        # A price is the exchange's, not the wallet's: several accounts on one exchange are not ambiguous.
        exchanges = {a.exchange_id for a in candidates}
        if len(exchanges) == 1:
            return candidates[0], None
    if len(candidates) > 1:
        question = _("%(symbol)s is on more than one of your accounts. Which one?") % {"symbol": parsed.symbol}
        return None, _ask(parsed, "account", question, [Choice(str(a.pk), str(a)) for a in candidates],
                          accounts=candidates)
    return candidates[0], None


def _bot(user, parsed, bot_id) -> tuple[Bot | None, list[Bot], Resolution | None]:
    bots = list(Bot.objects.for_user(user).select_related("exchange_account").order_by("name"))
    choices = [Choice(str(b.pk), b.name) for b in bots]
    if bot_id is not None:
        chosen = [b for b in bots if str(b.pk) == str(bot_id)]
        if not chosen:
            return None, bots, _ask(parsed, "bot", _("That bot is not one of yours. Which bot?"), choices)
        return chosen[0], bots, None
    if not parsed.bot:
        return None, bots, None
    name = parsed.bot.casefold()
    found = [b for b in bots if b.name.casefold() == name]
    if not found:
        found = [b for b in bots if b.name.casefold().startswith(name)] or \
            [b for b in bots if name in b.name.casefold()]
    if not found:  # "stop my btc bot": the bots trading that coin
        found = [b for b in bots if b.symbol.split("/")[0].casefold() == name]
    if len(found) == 1:
        return found[0], bots, None
    if not found:
        if not bots:
            return None, bots, Resolution(NOT_POSSIBLE, parsed, question=_("You have no bots yet."))
        return None, bots, _ask(parsed, "bot", _("You have no bot named “%(name)s”. Which bot?")
                                % {"name": parsed.bot}, choices)
    return None, bots, _ask(parsed, "bot", _("More than one bot matches “%(name)s”. Which one?")
                            % {"name": parsed.bot}, [Choice(str(b.pk), b.name) for b in found])


def question_for(parsed: ParsedCommand, piece: str) -> tuple[str, list[Choice]]:
    """The question that asks for one missing piece, and its choices when there are a few."""
    coin = parsed.base or _("the coin")
    quote = parsed.quote or _("the quote currency")
    if piece == "symbol":
        if parsed.intent == "buy":
            return _("Which coin do you want to buy?"), []
        if parsed.intent == "sell":
            return _("Which coin do you want to sell?"), []
        if parsed.intent == "close_position":
            return _("Which position: which coin, or which bot?"), []
        return _("Which coin?"), []
    if piece == "amount":
        verb = _("buy") if parsed.intent == "buy" else _("sell")
        return _("How much %(coin)s do you want to %(verb)s? For example %(example)s.") % {
            "coin": coin, "verb": verb,
            "example": f"100 {quote}, 0.01 {coin}, 25 %" if parsed.intent == "buy" else f"0.01 {coin}, 50 %",
        }, []
    if piece == "unit":
        return _("%(amount)s of what?") % {"amount": parsed.amount}, [
            Choice("base", f"{parsed.amount} {coin}"), Choice("quote", f"{parsed.amount} {quote}")]
    if piece == "price":
        return _("At what price, in %(quote)s?") % {"quote": quote}, []
    if piece == "direction":
        return _("Tell you when %(symbol)s goes above or below %(price)s?") % {
            "symbol": parsed.symbol, "price": parsed.price}, [Choice("above", _("above")), Choice("below", _("below"))]
    if piece == "bot":
        return _("Which bot?"), []
    return _("What is missing: %(piece)s?") % {"piece": piece}, []


def resolve(parsed: ParsedCommand, user, *, account_id=None, bot_id=None) -> Resolution:
    """Match a parse to the user's rows (see the module docstring). Reads only the user's own rows."""
    if parsed.intent == "unknown":
        return Resolution(UNKNOWN, parsed, question=_("Sorry, I did not understand that. ") + help_text())
    if parsed.intent == "help":
        return Resolution(HELP, parsed, question=help_text())

    bot, bots, asked = _bot(user, parsed, bot_id)
    if asked:
        return asked
    missing = parsed.missing()
    if bot is not None and "symbol" in missing and parsed.intent == "close_position":
        missing = tuple(m for m in missing if m != "symbol")
    if missing and missing[0] == "bot":
        if not bots:
            return Resolution(NOT_POSSIBLE, parsed, question=_("You have no bots yet."))
        return _ask(parsed, "bot", _("Which bot?"), [Choice(str(b.pk), b.name) for b in bots])
    if missing and missing[0] == "symbol":
        question, choices = question_for(parsed, "symbol")
        return _ask(parsed, "symbol", question, choices, bot=bot)

    if parsed.intent in ("bot_start", "bot_stop", "bot_status"):
        return Resolution(READY, parsed, bot=bot, bots=[bot] if bot else bots)

    accounts, asked = _accounts(user, parsed, account_id if bot is None else None)
    if asked:
        return asked
    if bot is not None:
        accounts = [bot.exchange_account]

    if parsed.intent == "portfolio":
        return Resolution(READY, parsed, accounts=accounts)
    if parsed.intent == "cancel_order":
        if not (parsed.base or bot or parsed.everything or parsed.account):
            return _ask(parsed, "orders", _("Cancel which orders: of one coin, of one bot, or all open orders?"),
                        [Choice("all", _("All open orders"))], accounts=accounts)
        return Resolution(READY, parsed, bot=bot, accounts=accounts)
    if parsed.intent == "close_position":
        return _resolve_close(parsed, user, bot, accounts)

    account, asked = _trading_account(parsed, accounts)
    if asked:
        return asked
    for piece in missing:
        question, choices = question_for(parsed, piece)
        return _ask(parsed, piece, question, choices, account=account, accounts=[account])
    return Resolution(READY, parsed, account=account, accounts=[account])


def _resolve_close(parsed, user, bot, accounts) -> Resolution:
    positions = Position.objects.filter(bot__owner=user, status=Position.Status.OPEN).select_related(
        "bot", "bot__exchange_account")
    if bot is not None:
        positions = positions.filter(bot=bot)
    else:
        positions = positions.filter(bot__exchange_account__in=accounts)
    if parsed.base:
        positions = positions.filter(symbol__startswith=f"{parsed.base}/")
        if not parsed.quote_implied:
            positions = positions.filter(symbol=parsed.symbol)
    positions = list(positions)
    what = parsed.symbol if parsed.base and not parsed.quote_implied else (parsed.base or (bot.name if bot else ""))
    if not positions:
        return Resolution(NOT_POSSIBLE, parsed, question=_("You have no open position in %(what)s.") % {
            "what": what} if what else _("You have no open positions."), bot=bot)
    if len(positions) > 1 and not parsed.everything:
        choices = [Choice(str(p.pk), f"{p.symbol}, {p.bot.name}") for p in positions]
        return _ask(parsed, "position", _("You have more than one open position here. Which one?"), choices,
                    bot=bot, positions=positions)
    one = positions[0] if len(positions) == 1 else None
    return Resolution(READY, parsed, bot=bot or (one.bot if one else None), position=one, positions=positions,
                      account=one.bot.exchange_account if one else None)
