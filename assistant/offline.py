"""The offline engine: a deterministic parser of trading commands, no network, no database, well under 1 ms.

    parse_offline("buy 100 USDT of BTC")            -> ParsedCommand(intent="buy", base="BTC", quote="USDT", ...)
    parse_offline("ขายอีเธอเรียมครึ่งหนึ่ง", default_quote="USDT")

The steps, in order:
1. normalise: Unicode NFKC (full-width digits and letters), Thai digits to ASCII, zero-width spaces out;
2. split into raw pieces: numbers ("2,500", "1.5k"), Latin words, runs of Thai/Chinese/Japanese, symbols;
3. read the pieces: Latin words and phrases by dictionary (with plural, repeated-letter and one-edit typo
   correction towards long words only), script runs by longest match, since Thai has no spaces between words;
4. bind numbers: a multiplier ("70 k", "7 หมื่น"), a currency or "%" after it, a price marker before it;
5. choose the intent from its cue words, then the symbol, amount, order type, price, direction, bot, account.
Nothing is guessed: a piece the text does not give stays None (ParsedCommand.missing() lists what to ask).
"""

import re
import unicodedata
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from assistant import lexicon as lx
from assistant.parse import ParsedCommand

NUM = "num"
UNK = "unk"
QUOTED = "quoted"
PAIR = "pair"
SYM = "sym"

_THAI_DIGITS = {ord("๐") + k: str(k) for k in range(10)}
_ZERO_WIDTH = {0x200B: None, 0x200C: None, 0x200D: None, 0xFEFF: None, 0x00AD: None}
_PUNCT = {ord(a): b for a, b in (("’", "'"), ("‘", "'"), ("“", '"'), ("”", '"'), ("＄", "$"), ("，", ","),
                                  ("。", " "), ("、", " "), ("？", "?"), ("！", "!"), ("：", ":"))}
_TRANSLATE = {**_THAI_DIGITS, **_ZERO_WIDTH, **_PUNCT}

_PIECE = re.compile(
    r"""(?P<quoted>"[^"\n]{1,80}"|(?<![\w'])'[^'\n]{1,80}'(?!\w))
      |(?P<num>(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+,\d{1,2}(?![\d,])|\d+|(?=\.\d))(?:\.\d+)?(?:(?P<suffix>k|mn|m|bn|b)(?![a-z]))?)
      |(?P<latin>[a-z][a-z0-9']*(?:[/\-_.][a-z0-9]+)*)
      |(?P<script>[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+
                 (?:\ [\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)*)
      |(?P<sym>[$%@<>€?])""",
    re.X,
)
_SUFFIX = {"k": Decimal(1000), "m": Decimal(1000000), "mn": Decimal(1000000), "b": Decimal(1000000000),
           "bn": Decimal(1000000000)}
_SYMBOLS = {"$": lx.Entry(lx.CUR, "USD"), "€": lx.Entry(lx.CUR, "EUR"), "%": lx.Entry(lx.PCTSIGN),
            "@": lx.Entry(lx.PMARK), ">": lx.Entry(lx.DIR, "above"), "<": lx.Entry(lx.DIR, "below"),
            "?": lx.Entry(lx.QMARK)}
_PAIR_QUOTES = ("USDT", "USDC", "FDUSD", "BUSD", "TUSD", "DAI", "USD", "BTC", "ETH", "BNB", "EUR", "THB", "TRY",
                "JPY")
ACTION_CUES = frozenset({"buy", "sell", "getme", "start", "stop", "close", "closepos", "cancel", "alert"})


class Token:
    """One piece of the command as read: a lexicon kind and value, with its original text."""

    __slots__ = ("kind", "value", "text", "corrected", "used")

    def __init__(self, kind, value=None, text="", corrected=False):
        self.kind = kind
        self.value = value
        self.text = text
        self.corrected = corrected  # a typo was corrected to read it
        self.used = False  # taken by a number, a bot name or an account label

    def __repr__(self):
        return f"Token({self.kind}, {self.value!r}, {self.text!r})"


class Amount:
    __slots__ = ("value", "currency", "flag", "role", "direction", "hint", "index", "currency_token")

    def __init__(self, value, index):
        self.value = value
        self.index = index
        self.currency = None  # ticker written with the number
        self.flag = None  # "pct" (a percent) | "base" (counted in coins)
        self.role = "amount"  # amount | price
        self.direction = None  # above | below | cross, when a direction word binds it
        self.hint = None  # quote | base, from a connector before it ("with 0.1 BTC")
        self.currency_token = None  # the coin token the currency was read from


# --- 1. normalise and 2. split ---

def normalise(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).translate(_TRANSLATE).split())


def _decimal(raw: str, suffix: str | None) -> Decimal | None:
    if suffix:
        raw = raw[: -len(suffix)]
    if re.fullmatch(r"\d+,\d{1,2}", raw):
        raw = raw.replace(",", ".")  # a decimal comma ("1,5")
    else:
        raw = raw.replace(",", "")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        return None
    return value * _SUFFIX[suffix] if suffix else value


def tokenize(text: str) -> list[Token]:
    """The command as a list of Tokens (see the module docstring, steps 1-3)."""
    text = normalise(text)
    lowered = text.lower()
    if len(lowered) != len(text):  # a rare letter whose lower case is longer ("İ"): keep positions aligned
        lowered = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    tokens: list[Token] = []
    latin_run: list[tuple[str, str]] = []
    for match in _PIECE.finditer(lowered):
        kind = match.lastgroup if match.lastgroup != "suffix" else "num"
        original = text[match.start():match.end()]
        if kind == "latin":
            latin_run.append((match.group().replace("'", ""), original))
            if match.end() < len(lowered) and lowered[match.end()] not in " ":
                _read_latin(latin_run, tokens)  # punctuation ends a phrase
                latin_run = []
            continue
        if latin_run:
            _read_latin(latin_run, tokens)
            latin_run = []
        if match.group("num") is not None:
            value = _decimal(match.group("num"), match.group("suffix"))
            if value is not None:
                tokens.append(Token(NUM, value, original))
        elif kind == "quoted":
            tokens.append(Token(QUOTED, original[1:-1].strip(), original))
        elif kind == "script":
            # Spaces inside Thai are optional and sometimes split a word ("ครึ่ง หนึ่ง"): read the run whole.
            _read_script(original.replace(" ", ""), tokens)
        elif kind == "sym":
            entry = _SYMBOLS[original]
            tokens.append(Token(entry.kind, entry.value, original))
    if latin_run:
        _read_latin(latin_run, tokens)
    return tokens


# --- 3. read words ---

def _read_latin(run: list[tuple[str, str]], tokens: list[Token]) -> None:
    i = 0
    while i < len(run):
        for length in range(min(lx.LONGEST_PHRASE, len(run) - i), 1, -1):
            entry = lx.LATIN_PHRASES.get(tuple(word for word, _ in run[i:i + length]))
            if entry is not None:
                tokens.append(Token(entry.kind, entry.value, " ".join(o for _, o in run[i:i + length])))
                i += length
                break
        else:
            word, original = run[i]
            token = _read_word(word, original)
            if token.kind == UNK and _MIXED.fullmatch(word):
                pieces = _split_mixed(word, original)
                if pieces is not None:  # "btc100usdt" written together
                    tokens.extend(pieces)
                    i += 1
                    continue
            tokens.append(token)
            i += 1


_MIXED = re.compile(r"[a-z]+(?:\d+(?:\.\d+)?[kmb]?[a-z]*)+")


def _split_mixed(word: str, original: str) -> list[Token] | None:
    """Letters and digits run together: read as words and numbers if a word is known, else keep it whole
    (a bot named "grid1")."""
    pieces = []
    for match in re.finditer(r"(\d+(?:\.\d+)?)(?:([kmb])(?![a-z]))?|([a-z]+)", word):
        if match.group(3):
            pieces.append(_read_word(match.group(3), original[match.start():match.end()]))
        else:
            raw, suffix = match.group(1), match.group(2)
            pieces.append(Token(NUM, _decimal(raw + (suffix or ""), suffix), original[match.start():match.end()]))
    if not any(p.kind not in (UNK, NUM) for p in pieces):
        return None
    return pieces


def _read_word(word: str, original: str) -> Token:
    if word in lx.CASE_SENSITIVE_TICKERS:
        # TON, DOT, LINK, NEAR...: coins only when written in capitals; otherwise ordinary words.
        return Token(lx.CUR, word.upper(), original) if original.isupper() else Token(UNK, None, original)
    entry = lx.LATIN_WORDS.get(word)
    if entry is not None:
        return Token(entry.kind, entry.value, original)
    pair = _read_pair(word)
    if pair is not None:
        return Token(PAIR, pair, original)
    corrected = _correct(word)
    if corrected is not None:
        entry = lx.LATIN_WORDS[corrected]
        return Token(entry.kind, entry.value, original, corrected=True)
    return Token(UNK, None, original)


def _ticker(word: str) -> str | None:
    if word in lx.CASE_SENSITIVE_TICKERS:
        return word.upper()
    entry = lx.LATIN_WORDS.get(word)
    return entry.value if entry is not None and entry.kind == lx.CUR else None


def _read_pair(word: str) -> tuple[str, str] | None:
    """BTC/USDT, btc-usdt, eth_btc, and run-together ones such as btcusdt."""
    parts = re.split(r"[/\-_]", word)
    if len(parts) == 2:
        base, quote = _ticker(parts[0]), _ticker(parts[1])
        return (base, quote) if base and quote and base != quote else None
    if len(word) >= 6 and word.isalpha():
        for quote in _PAIR_QUOTES:
            q = quote.lower()
            if word.endswith(q) and len(word) > len(q):
                base = _ticker(word[: -len(q)])
                if base and base != quote:
                    return base, quote
    return None


def _deletions(word: str) -> set[str]:
    return {word[:k] + word[k + 1:] for k in range(len(word))}


def _build_fuzzy() -> dict[str, str]:
    index: dict[str, str] = {}
    for target in lx.FUZZY_TARGETS:
        for variant in _deletions(target) | {target}:
            index.setdefault(variant, target)
    return index


_FUZZY = _build_fuzzy()


def _correct(word: str) -> str | None:
    """A known word this one is a typo of: a plural, repeated letters, or one edit from a long word."""
    if len(word) > 3 and word.endswith("s") and word[:-1] in lx.LATIN_WORDS:
        return word[:-1]
    squeezed = re.sub(r"(.)\1+", r"\1\1", word)
    if squeezed != word and squeezed in lx.LATIN_WORDS:
        return squeezed
    single = re.sub(r"(.)\1+", r"\1", word)
    if single != word and single in lx.LATIN_WORDS:
        return single
    if len(word) < 5 or not word.isalpha():
        return None
    # One deletion, insertion, substitution or swap away (symmetric deletions, as SymSpell does).
    if word in _FUZZY:
        return _FUZZY[word]
    for variant in _deletions(word):
        if variant in _FUZZY:
            target = _FUZZY[variant]
            if abs(len(target) - len(word)) <= 1:
                return target
    return None


def _read_script(run: str, tokens: list[Token]) -> None:
    """Longest match of the lexicon inside a run of Thai/Chinese/Japanese; unknown letters stay together."""
    i, unknown_from, n = 0, None, len(run)
    while i < n:
        for length in lx.SCRIPT_LENGTHS.get(run[i], ()):
            if i + length <= n and run[i:i + length] in lx.SCRIPT:
                if unknown_from is not None:
                    tokens.append(Token(UNK, None, run[unknown_from:i]))
                    unknown_from = None
                entry = lx.SCRIPT[run[i:i + length]]
                tokens.append(Token(entry.kind, entry.value, run[i:i + length]))
                i += length
                break
        else:
            if unknown_from is None:
                unknown_from = i
            i += 1
    if unknown_from is not None:
        tokens.append(Token(UNK, None, run[unknown_from:]))


# --- 4. numbers ---

def _compose_numbers(tokens: list[Token]) -> list[Token]:
    """Numbers with multipliers ("70 k", "2 thousand", "7หมื่น") and numbers in words ("สองพันห้าร้อย")."""
    out: list[Token] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.kind == NUM:
            value, j = tok.value, i + 1
            while j < len(tokens) and tokens[j].kind == lx.MULT:
                value *= tokens[j].value
                j += 1
            out.append(Token(NUM, value, tok.text))
            i = j
        elif tok.kind == lx.NUMWORD or (tok.kind == lx.MULT and tok.text != "k"):
            total, current, last_mult, j = Decimal(0), None, None, i
            while j < len(tokens) and tokens[j].kind in (lx.NUMWORD, lx.MULT):
                t = tokens[j]
                if t.kind == lx.NUMWORD:
                    current = t.value if current is None else current + t.value
                elif t.value >= 1000000:
                    total, current = (total + (current or 1)) * t.value, None
                elif current is None and total and last_mult is not None and t.value > last_mult:
                    total *= t.value
                else:
                    total, current = total + (current or 1) * t.value, None
                if t.kind == lx.MULT:
                    last_mult = t.value
                j += 1
            out.append(Token(NUM, total + (current or 0), " ".join(t.text for t in tokens[i:j])))
            i = j
        elif tok.kind == lx.MULT:  # a lone "k"
            out.append(Token(lx.FILLER, None, tok.text))
            i += 1
        else:
            out.append(tok)
            i += 1
    return out


def _next(tokens, i, skip=(lx.FILLER,)):
    j = i + 1
    while j < len(tokens) and tokens[j].kind in skip:
        j += 1
    return j if j < len(tokens) else None


def _prev(tokens, i, skip=(lx.FILLER,)):
    j = i - 1
    while j >= 0 and tokens[j].kind in skip:
        j -= 1
    return j if j >= 0 else None


def _bind_numbers(tokens: list[Token], trade: bool) -> list[Amount]:
    """Each number's currency or percent sign, and whether it is a price (after "at", "limit", "above")."""
    amounts = []
    for i, tok in enumerate(tokens):
        if tok.kind != NUM:
            continue
        amount = Amount(tok.value, i)
        p = _prev(tokens, i, skip=(lx.FILLER, lx.MY))
        if p is not None and tokens[p].kind == lx.CUR and tokens[p].text == "$":
            amount.currency = "USD"
            tokens[p].used = True
            p = _prev(tokens, p, skip=(lx.FILLER, lx.MY))
        if p is not None:
            before = tokens[p]
            if before.kind == lx.PCTSIGN and before.value == "before":  # "ร้อยละ 20"
                amount.flag, before.used = "pct", True
            elif before.kind == lx.PMARK or (before.kind == lx.OTYPE and before.value == "limit"):
                amount.role = "price"
            elif before.kind == lx.CUE and before.value == "price" and trade:
                amount.role = "price"
            elif before.kind == lx.DIR:
                amount.role, amount.direction = "price", before.value
            elif before.kind == lx.CONN and before.value in ("quote", "base"):
                amount.hint = before.value
        n = i + 1 if i + 1 < len(tokens) else None
        if n is not None:
            after = tokens[n]
            if after.kind == lx.PCTSIGN:
                amount.flag, after.used = "pct", True
            elif after.kind == lx.CUR and amount.currency is None:
                amount.currency, after.used, amount.currency_token = after.value, True, after
            elif after.kind == lx.UNITWORD:
                amount.flag, after.used = "base", True
                m = _next(tokens, n)
                if m is not None and tokens[m].kind == lx.CUR and not tokens[m].used:
                    amount.currency, tokens[m].used, amount.currency_token = tokens[m].value, True, tokens[m]
        if amount.currency is None and amount.flag is None and amount.role == "amount":
            # "BTC 0.01", "ซื้อ ETH 2", "BTC ราคาตลาด 0.01": a number right after a coin counts that coin.
            c = _prev(tokens, i, skip=(lx.FILLER, lx.OTYPE))
            if c is not None and tokens[c].kind in (lx.CUR, PAIR) and not tokens[c].used:
                coin = tokens[c]
                if coin.kind == PAIR:
                    amount.currency = coin.value[0]
                elif coin.value not in lx.QUOTE_ONLY:
                    amount.currency, coin.used, amount.currency_token = coin.value, True, coin
                if amount.currency:
                    amount.flag = "base"
        amounts.append(amount)
    # A direction written after its number ("7万ドルを超えたら", "70000 above") binds backwards.
    for i, tok in enumerate(tokens):
        if tok.kind == lx.DIR and tok.value != "cross":
            j = _next(tokens, i, skip=(lx.FILLER, lx.CUR))
            if j is not None and tokens[j].kind == NUM:
                continue
            for amount in reversed(amounts):
                if amount.index < i and i - amount.index <= 4 and amount.role == "amount" and amount.flag is None:
                    amount.role, amount.direction = "price", tok.value
                    break
    return amounts


# --- 5. the command ---

def _bot_name(tokens: list[Token], cue_index: int | None) -> str | None:
    """A bot's name: quoted, or the unknown word(s) after "bot"/"named" (or before "bot": "the alpha bot")."""
    for tok in tokens:
        if tok.kind == QUOTED:
            tok.used = True
            return tok.value
    anchors = [i for i, t in enumerate(tokens) if t.kind in (lx.BOT, lx.NAMED)]
    for i in anchors:
        j = _next(tokens, i, skip=(lx.FILLER, lx.NAMED))
        name = _name_at(tokens, j)
        if name:
            return name
    for i in anchors:
        if tokens[i].kind != lx.BOT:
            continue
        j = i - 1
        words = []
        while j >= 0 and tokens[j].kind == UNK and len(words) < 3:
            words.insert(0, tokens[j])
            j -= 1
        if not words and j >= 0 and tokens[j].kind == lx.CUR and not tokens[j].used:
            words = [tokens[j]]
        if words:
            for w in words:
                w.used = True
            return " ".join(w.text for w in words)
    if not anchors and cue_index is not None:  # "start alpha"
        j = _next(tokens, cue_index, skip=(lx.FILLER, lx.MY))
        if j is not None and tokens[j].kind == UNK:
            return _name_at(tokens, j)
    return None


def _name_at(tokens, j) -> str | None:
    if j is None:
        return None
    words = []
    while j < len(tokens) and len(words) < 3 and (tokens[j].kind == UNK or (not words and tokens[j].kind == NUM)):
        words.append(tokens[j])
        j += 1
    if not words and j < len(tokens) and tokens[j].kind == lx.CUR and not tokens[j].used:
        words = [tokens[j]]
    for w in words:
        w.used = True
    return " ".join(w.text for w in words) or None


def _account(tokens: list[Token]) -> str | None:
    """An exchange account as written: a label next to "account", an exchange name, a mode (paper / live)."""
    parts = []
    for i, tok in enumerate(tokens):
        if tok.kind == lx.ACCOUNT:
            for j in (i - 1, i + 1):
                if 0 <= j < len(tokens) and tokens[j].kind in (UNK, QUOTED) and not tokens[j].used:
                    tokens[j].used = True
                    parts.append(tokens[j].value if tokens[j].kind == QUOTED else tokens[j].text)
                    break
        elif tok.kind == lx.EXCHANGE:
            parts.append(tok.value)
        elif tok.kind == lx.MODE:
            parts.append(tok.value)
    seen = []
    for part in parts:
        if part not in seen:
            seen.append(part)
    return " ".join(seen) or None


def _symbol(tokens: list[Token], amount: Amount | None, default_quote: str, amounts: list[Amount],
            side: str | None = None):
    """(base, quote, quote_implied, unit of the amount, notes) from pairs, coins, connectors and the amount."""
    notes = []
    # Coins written with a number that is not this command's amount still name the market
    # ("how much is 1 BTC in USDT").
    freed = {id(a.currency_token) for a in amounts if a is not amount and a.currency_token is not None}
    base = quote = None
    coins: list[tuple[str, str | None]] = []  # (ticker, hint)
    pending = None
    for i, tok in enumerate(tokens):
        if tok.kind == PAIR and base is None:
            base, quote = tok.value
        elif tok.kind == lx.CONN:
            pending = tok.value if tok.value in ("quote", "base") else None
        elif tok.kind == lx.CUR and (not tok.used or id(tok) in freed) and tok.text not in ("$", "€"):
            p = _prev(tokens, i)
            if side is not None and p is not None and tokens[p].kind == lx.MY:
                # "my USDT" is money held: what a buy spends (the quote), what a sell sells (the base).
                pending = "quote" if side == "buy" else "base"
            coins.append((tok.value, pending))
            pending = None
        elif tok.kind in (lx.CUE, lx.DIR, lx.PMARK, lx.BOT, lx.ACCOUNT):
            pending = None
    currency = amount.currency if amount is not None else None
    if currency == "USD" and default_quote in lx.USD_LIKE and default_quote != "USD":
        notes.append(_("Read dollars as %(quote)s.") % {"quote": default_quote})
        currency = default_quote
    coins = [(default_quote if t == "USD" and default_quote in lx.USD_LIKE else t, h) for t, h in coins]
    pair_given = base is not None
    if not pair_given:
        for ticker, hint in coins:
            if hint == "quote" and quote is None and ticker != currency:
                quote = ticker
            elif hint == "base" and base is None:
                base = ticker
    unit = None
    if amount is not None and amount.flag == "pct":
        unit = "percent"
    elif currency is not None:
        hint = amount.hint
        if base is None and quote is None:
            others = [t for t, _h in coins if t != currency]
            if hint == "quote" and others:
                base, quote, unit = others[0], currency, "quote"
            elif others:
                base, quote, unit = others[0], currency, "quote"
            elif currency in lx.QUOTE_ONLY:
                quote, unit = currency, "quote"
            else:
                base, unit = currency, "base"
        elif base is not None and currency == base:
            unit = "base"
        elif quote is not None and currency == quote:
            unit = "quote"
        elif base is None:
            base, unit = currency, "base"
        elif quote is None:
            quote, unit = currency, "quote"
        else:
            notes.append(_("The amount's currency %(currency)s is neither %(base)s nor %(quote)s.")
                         % {"currency": currency, "base": base, "quote": quote})
    elif amount is not None and amount.flag == "base":
        unit = "base"
    elif amount is not None and amount.hint == "quote":
        unit = "quote"  # "buy BTC for 100": what is paid is counted in the quote currency
    if not pair_given:
        for ticker, _hint in coins:
            if base is None and ticker != quote:
                base = ticker
            elif quote is None and ticker != base:
                quote = ticker
        if base is None and quote is not None and quote not in lx.QUOTE_ONLY and unit != "quote":
            base, quote = quote, None  # "alert for ETH": the coin named after "for" is the subject
    implied = False
    if base is not None and quote is None and base != default_quote:
        quote, implied = default_quote, True
    if base is not None and base == quote:
        quote, implied = None, False
    return base, quote, implied, unit, notes


def _intent(tokens: list[Token], amounts: list[Amount]) -> tuple[str, float, int | None, str | None]:
    """(intent, strength 0..1, index of its cue, a note) from the cue words (the module docstring, step 5)."""
    cues: dict[str, int] = {}
    kinds = set()
    for i, tok in enumerate(tokens):
        kinds.add(tok.kind)
        if tok.kind == lx.CUE:
            cues.setdefault(tok.value, i)
    first_action = min((i for c, i in cues.items() if c in ACTION_CUES), default=None)
    if first_action is not None:
        negated = any(t.kind == lx.NEG for t in tokens[:first_action])
        stop_buying = "stop" in cues and any(
            c in cues and cues[c] == cues["stop"] + 1 for c in ("buy", "sell"))
        if negated or stop_buying:
            return "unknown", 0.0, None, _("The command is negated (\"don't...\"), so nothing is proposed.")
    if lx.UNSUPPORTED in kinds:
        return "unknown", 0.0, None, _("Moving funds (withdraw, transfer, send) is not something the assistant does.")
    coin = any(t.kind in (lx.CUR, PAIR) for t in tokens)
    has_price = any(a.role == "price" for a in amounts)
    trade = "buy" in cues or "sell" in cues
    if "cancel" in cues:
        if "alert" in cues:
            return "unknown", 0.0, None, None
        return "cancel_order", 1.0, cues["cancel"], None
    if "alert" in cues or (lx.TELL in kinds and lx.WHEN in kinds):
        return "alert", 1.0, cues.get("alert"), None
    if "closepos" in cues:
        return "close_position", 1.0, cues["closepos"], None
    if "close" in cues:
        if lx.BOT in kinds and lx.POSITION not in kinds:
            return "bot_stop", 1.0, cues["close"], None
        if lx.ORDER in kinds and lx.POSITION not in kinds:
            return "cancel_order", 0.9, cues["close"], None
        if not trade:
            return "close_position", 1.0 if (lx.POSITION in kinds or coin) else 0.8, cues["close"], None
    if trade:
        side = "buy" if cues.get("buy", 10**6) < cues.get("sell", 10**6) else "sell"
        return side, 1.0, cues[side], None
    if lx.WHEN in kinds and has_price and coin and any(a.direction in ("above", "below") for a in amounts):
        return "alert", 0.8, None, None
    bot_cues = [c for c in ("start", "stop", "status") if c in cues]
    if lx.BOT in kinds or ("start" in cues or "stop" in cues):
        if "start" in cues and ("stop" not in cues or cues["start"] < cues["stop"]):
            return "bot_start", 1.0 if lx.BOT in kinds else 0.8, cues["start"], None
        if "stop" in cues:
            return "bot_stop", 1.0 if lx.BOT in kinds else 0.8, cues["stop"], None
        if lx.BOT in kinds and "portfolio" not in cues and "price" not in cues:
            return "bot_status", 1.0, cues.get("status"), None
    if "status" in cues and "portfolio" not in cues and "price" not in cues and not coin \
            and lx.POSITION not in kinds and lx.ORDER not in kinds:
        return "bot_status", 0.8, cues["status"], None
    if "portfolio" in cues and not coin:
        return "portfolio", 1.0, cues["portfolio"], None
    if "price" in cues:
        if lx.HAVE in kinds or lx.MY in kinds and not coin:
            return "portfolio", 1.0, cues["price"], None
        return "price", 1.0, cues["price"], None
    if "portfolio" in cues or lx.POSITION in kinds or lx.ORDER in kinds or (lx.HAVE in kinds and coin):
        return "portfolio", 1.0 if "portfolio" in cues else 0.9, cues.get("portfolio"), None
    if "help" in cues:
        return "help", 1.0, cues["help"], None
    if lx.HAVE in kinds and UNK not in kinds:  # "what do I own"
        return "portfolio", 0.8, None, None
    if bot_cues and coin:  # "how is BTC doing"
        return "price", 0.7, None, None
    if coin and not kinds & {UNK, lx.WH, lx.GREET, QUOTED, NUM, lx.TELL}:
        return "price", 0.7, None, None  # a coin or a pair on its own: its price ("tell me about" is not)
    end = _prev(tokens, len(tokens), skip=(lx.FILLER, lx.QMARK))
    if coin and end is not None and tokens[end].kind == lx.PMARK:  # "what's BTC at (right now)?"
        return "price", 0.7, None, None
    if "getme" in cues and (coin or amounts):  # "get me 0.02 BTC"
        return "buy", 0.8, cues["getme"], None
    return "unknown", 0.0, None, None


def parse_offline(text: str, default_quote: str = "USDT") -> ParsedCommand:
    """Understand one command without network or database (see the module docstring)."""
    tokens = _compose_numbers(tokenize(text))
    if not tokens:
        return ParsedCommand(intent="unknown", engine="offline", confidence=0.0)
    if len(tokens) > 1 and tokens[0].kind == UNK and tokens[0].text.lower() == "by" and tokens[1].kind in (NUM, lx.CUR):
        tokens[0] = Token(lx.CUE, "buy", tokens[0].text, corrected=True)  # "by 100 usdt of btc": a typo of buy
    cue_values = {t.value for t in tokens if t.kind == lx.CUE}
    trade = bool(cue_values & {"buy", "sell", "getme"})
    amounts = _bind_numbers(tokens, trade)
    intent, strength, cue_index, note = _intent(tokens, amounts)
    notes = [note] if note else []
    corrected = [t for t in tokens if t.corrected]
    for t in corrected:
        notes.append(_("Read “%(word)s” as a known word.") % {"word": t.text})

    bot = account = None
    if intent in ("bot_start", "bot_stop", "bot_status", "close_position", "cancel_order"):
        bot = _bot_name(tokens, cue_index if intent in ("bot_start", "bot_stop") else None)
    if intent != "unknown":
        account = _account(tokens)

    # Unknown words left over: a command about nothing we know ("sell my car") is not a command.
    unknown = [t for t in tokens if t.kind == UNK and not t.used]
    coin = any(t.kind in (lx.CUR, PAIR) and not t.used for t in tokens)
    if not coin and intent in ("buy", "sell", "price", "alert", "close_position"):
        # "price of link": a ticker that is also a word, written in lower case, where a coin must be.
        words = [t for t in unknown if t.text.lower() in lx.CASE_SENSITIVE_TICKERS]
        if len(words) == 1:
            words[0].kind, words[0].value, coin = lx.CUR, words[0].text.upper(), True
            unknown.remove(words[0])
            amounts = _bind_numbers(tokens, trade)
    if intent in ("buy", "sell", "price", "alert", "close_position") and unknown and not coin and not amounts \
            and not any(t.kind == lx.PCT for t in tokens) and bot is None:
        intent, strength = "unknown", 0.0

    amount_token = price_token = None
    amount = unit = price = direction = order_type = None
    everything = any(t.kind == lx.PCT and t.value == 100 for t in tokens)
    if intent in ("buy", "sell", "close_position"):
        candidates = [a for a in amounts if a.role == "amount"]
        amount_token = next((a for a in candidates if a.currency or a.flag), candidates[0] if candidates else None)
        prices = [a for a in amounts if a.role == "price"]
        price_token = prices[0] if prices else None
    elif intent == "alert":
        prices = [a for a in amounts if a.role == "price"] or [a for a in amounts if a.flag != "pct"]
        price_token = prices[0] if prices else None
    base, quote, implied, unit, symbol_notes = _symbol(
        tokens, amount_token if intent in ("buy", "sell", "close_position") else price_token, default_quote,
        amounts, side=intent if intent in ("buy", "sell") else None)
    if intent not in ("buy", "sell", "close_position"):
        unit = None
    notes += symbol_notes
    if intent in ("buy", "sell", "close_position"):
        if amount_token is not None:
            amount = amount_token.value
        else:
            share = next((t for t in tokens if t.kind == lx.PCT), None)
            if share is not None and not (intent == "close_position" and share.value == 100):
                amount, unit = share.value, "percent"
        if intent == "close_position":
            if amount is not None and unit != "percent":
                amount = unit = None  # a position is closed whole, or by a share of it
        else:
            limit = any(t.kind == lx.OTYPE and t.value == "limit" for t in tokens)
            if price_token is not None:
                price, order_type = price_token.value, "limit"
            else:
                order_type = "limit" if limit else "market"
        if unit == "percent" and amount is not None and not (0 < amount <= 100):
            notes.append(_("A percentage must be more than 0 and at most 100."))
            amount = unit = None
    elif intent == "alert" and price_token is not None:
        price = price_token.value
        direction = price_token.direction if price_token.direction in ("above", "below") else None
    if intent in ("bot_start", "bot_stop", "bot_status") and bot is not None:
        base = quote = None
        implied = False
    if intent in ("help", "unknown"):
        base = quote = None
        implied = False

    known = sum(len(t.text) for t in tokens if t.kind != UNK or t.used)
    total = known + sum(len(t.text) for t in unknown)
    coverage = known / total if total else 0.0
    confidence = 0.0
    if intent != "unknown":
        confidence = strength * (0.55 + 0.45 * coverage) - 0.05 * len(corrected)
        confidence = max(0.05, min(1.0, confidence))
    return ParsedCommand(
        intent=intent, base=base, quote=quote, quote_implied=implied, amount=amount, unit=unit,
        order_type=order_type, price=price, direction=direction, bot=bot, account=account,
        everything=everything and intent in ("cancel_order", "close_position", "bot_start", "bot_stop",
                                             "bot_status"),
        engine="offline", confidence=round(confidence, 2), notes=tuple(notes),
    ).tidy()


def numbers_in(text: str) -> set[Decimal]:
    """Every number the text writes, as the offline parser reads it (for checking an LLM's answer)."""
    tokens = _compose_numbers(tokenize(text))
    values = {t.value for t in tokens if t.kind == NUM}
    values |= {t.value for t in tokens if t.kind == lx.PCT}
    return values


def coins_in(text: str) -> set[str]:
    """Every coin or currency the text names, by ticker or name (for checking an LLM's answer)."""
    found = set()
    for tok in tokenize(text):
        if tok.kind == lx.CUR:
            found.add(tok.value)
        elif tok.kind == PAIR:
            found.update(tok.value)
        elif tok.kind == UNK and re.fullmatch(r"[A-Za-z0-9]{2,12}", tok.text):
            found.add(tok.text.upper())  # a ticker the table does not list (PEPE2...)
    return found
