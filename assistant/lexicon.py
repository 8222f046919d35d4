"""The words the offline parser knows: coins, currencies, exchanges and command words in English and Thai
(and a few in Chinese and Japanese), each mapped to a (kind, value) entry.

Latin-script entries are whole words or phrases of words. Thai, Chinese and Japanese are written without
spaces, so their entries are matched inside runs of those scripts by longest match (see assistant.offline).
"""

import unicodedata
from decimal import Decimal
from typing import NamedTuple


class Entry(NamedTuple):
    kind: str
    value: object = None


# Kinds of entry.
CUR = "cur"  # a coin or currency: value is its ticker
EXCHANGE = "exchange"  # value: the ccxt exchange id
MODE = "mode"  # value: paper | testnet | live (an exchange account's mode)
CUE = "cue"  # an intent word: buy sell price portfolio alert cancel help start stop status close closepos
DIR = "dir"  # above | below | cross (reaches: no direction)
OTYPE = "otype"  # market | limit
PMARK = "pmark"  # "at", "@": the number after it is a price
CONN = "conn"  # value: quote (in, with, for) | base (of, into) | account (on, from)
PCT = "pct"  # a share in words: value is the percent ("half" 50, "all" 100)
PCTSIGN = "pctsign"  # "%", "percent": the number before it is a percent
MULT = "mult"  # a multiplier word after a number ("2 thousand", "7 หมื่น")
NUMWORD = "numword"  # a number in words ("one", "สอง")
UNITWORD = "unitword"  # "coins", "units", "เหรียญ": the number before it counts the base coin
MY = "my"
ACCOUNT = "account"  # the word "account"
NAMED = "named"  # "named", "called", "ชื่อ": a name follows
BOT = "bot"
POSITION = "position"
ORDER = "order"
HAVE = "have"  # "do I have", "มี"
WHEN = "when"
TELL = "tell"  # "tell", "บอก": an alert when a "when" follows
NEG = "neg"  # "don't", "never", "อย่า": the command is not meant
UNSUPPORTED = "unsupported"  # withdraw, transfer...: not an action the assistant offers
WH = "wh"  # what / who / why: a question that is not a price request on its own
FILLER = "filler"
GREET = "greet"
QMARK = "qmark"

USD_LIKE = frozenset({"USDT", "USDC", "FDUSD", "BUSD", "TUSD", "DAI", "USD"})
FIATS = frozenset({"USD", "THB", "EUR", "JPY", "GBP", "TRY", "KRW"})
QUOTE_ONLY = USD_LIKE | FIATS  # never the coin bought on its own ("buy 100 USDT" names no coin)


class Coin(NamedTuple):
    ticker: str
    names: tuple[str, ...] = ()  # English names and misspellings (lower case)
    script_names: tuple[str, ...] = ()  # Thai, Chinese, Japanese names
    case_sensitive: bool = False  # the ticker is also an English word: only read in capitals (TON, DOT, LINK)


# The top coins by market value, the common quote currencies, and fiat money.
COINS = (
    Coin("BTC", ("bitcoin", "bitcoins", "xbt", "bitcon", "bitcoi", "bitcin", "btcs"),
         ("บิตคอยน์", "บิทคอยน์", "บิตคอยน", "บิทคอยน", "บิตคอย", "บิทคอย", "บิตคอยด์", "บิทคอยด์", "บิตคอยส์",
          "比特币", "比特幣", "ビットコイン")),
    Coin("ETH", ("ethereum", "ether", "etherium", "etherum", "ethereun", "ethers"),
         ("อีเธอเรียม", "อีเทอเรียม", "อีเธอร์เรียม", "อีเทอร์เรียม", "อีเธอเรี่ยม", "อีเธอร์", "อีเทอร์",
          "以太坊", "以太币", "イーサリアム", "イーサ")),
    Coin("USDT", ("tether",), ("เทเธอร์", "ยูเอสดีที", "泰达币", "テザー")),
    Coin("BNB", ("binance coin",), ("บีเอ็นบี", "币安币")),
    Coin("SOL", ("solana", "solona", "salana"), ("โซลานา", "โซลาน่า", "索拉纳", "ソラナ")),
    Coin("XRP", ("ripple",), ("ริปเปิล", "ริปเปิ้ล", "瑞波币", "リップル")),
    Coin("USDC", ("usd coin",), ("ยูเอสดีซี",)),
    Coin("DOGE", ("dogecoin", "dogecoins", "doge coin"), ("โดชคอยน์", "โดจคอยน์", "ด็อกคอยน์", "ดอจคอยน์", "狗狗币",
                                                           "ドージコイン")),
    Coin("ADA", ("cardano",), ("คาร์ดาโน", "คาดาโน", "艾达币", "カルダノ")),
    Coin("TRX", ("tron",), ("ทรอน", "波场")),
    Coin("TON", ("toncoin",), ("ทอนคอยน์",), case_sensitive=True),
    Coin("AVAX", ("avalanche",), ("อวาแลนช์", "อาวาแลนช์")),
    Coin("SHIB", ("shiba", "shiba inu", "shib inu"), ("ชิบะ", "ชิบะอินุ")),
    Coin("DOT", ("polkadot",), ("โพลคาดอท", "พอลคาดอท"), case_sensitive=True),
    Coin("LINK", ("chainlink",), ("เชนลิงก์", "เชนลิงค์"), case_sensitive=True),
    Coin("BCH", ("bitcoin cash",), ("บิตคอยน์แคช", "บิทคอยน์แคช")),
    Coin("LTC", ("litecoin", "litecoins"), ("ไลท์คอยน์", "ไลต์คอยน์", "莱特币", "ライトコイン")),
    Coin("NEAR", ("near protocol",), (), case_sensitive=True),
    Coin("POL", ("polygon",), ("โพลีกอน",)),
    Coin("MATIC", (), ()),
    Coin("UNI", ("uniswap",), ("ยูนิสวอป",), case_sensitive=True),
    Coin("ICP", ("internet computer",), ()),
    Coin("APT", ("aptos",), (), case_sensitive=True),
    Coin("XLM", ("stellar", "stellar lumens"), ("สเตลลาร์",)),
    Coin("ETC", ("ethereum classic",), (), case_sensitive=True),
    Coin("ATOM", ("cosmos",), ("คอสมอส",)),
    Coin("FIL", ("filecoin",), ()),
    Coin("ARB", ("arbitrum",), ()),
    Coin("OP", ("optimism",), (), case_sensitive=True),
    Coin("HBAR", ("hedera",), ()),
    Coin("SUI", (), ()),
    Coin("PEPE", (), ("เปเป้",)),
    Coin("XMR", ("monero",), ()),
    Coin("AAVE", (), ()),
    Coin("TAO", ("bittensor",), ()),
    Coin("WLD", ("worldcoin",), ()),
    Coin("INJ", ("injective",), ()),
    Coin("KUB", ("bitkub coin",), ()),
    Coin("FDUSD", (), ()),
    Coin("BUSD", (), ()),
    Coin("TUSD", (), ()),
    Coin("DAI", (), ()),
    Coin("USD", ("dollar", "dollars", "bucks", "buck", "usd$"), ("ดอลลาร์", "ดอลล่าร์", "ดอล", "美元", "ドル")),
    Coin("THB", ("baht", "bath"), ("บาท", "฿", "泰铢", "バーツ")),
    Coin("EUR", ("euro", "euros"), ("ยูโร", "欧元", "ユーロ")),
    Coin("JPY", ("yen",), ("เยน", "日元", "円")),
    Coin("GBP", ("pound", "pounds"), ()),
    Coin("TRY", (), (), case_sensitive=True),
    Coin("KRW", ("won",), ()),
)
TICKERS = frozenset(coin.ticker for coin in COINS)
CASE_SENSITIVE_TICKERS = frozenset(coin.ticker.lower() for coin in COINS if coin.case_sensitive)

# Exchange names as people write them -> ccxt ids.
EXCHANGES = {
    "binance": "binance", "binanceus": "binanceus", "kraken": "kraken", "okx": "okx", "okex": "okx",
    "bybit": "bybit", "coinbase": "coinbase", "kucoin": "kucoin", "gate": "gate", "gateio": "gate",
    "htx": "htx", "huobi": "htx", "bitfinex": "bitfinex", "bitstamp": "bitstamp", "mexc": "mexc",
    "bitget": "bitget", "upbit": "upbit", "gemini": "gemini", "cryptocom": "cryptocom", "bingx": "bingx",
    "poloniex": "poloniex", "hyperliquid": "hyperliquid",
}
SCRIPT_EXCHANGES = {"ไบแนนซ์": "binance", "ไบแนน": "binance", "币安": "binance", "バイナンス": "binance"}

D = Decimal

# English words and phrases (lower case, apostrophes removed: "don't" is "dont").
LATIN = {
    # intents
    "buy": Entry(CUE, "buy"), "buying": Entry(CUE, "buy"), "purchase": Entry(CUE, "buy"),
    "acquire": Entry(CUE, "buy"), "long": Entry(CUE, "buy"), "go long": Entry(CUE, "buy"),
    "get me": Entry(CUE, "getme"), "grab": Entry(CUE, "getme"), "pick up": Entry(CUE, "getme"),
    # "I want 500 USDT of ADA": a wish for a coin, read as a buy only when nothing else is asked.
    "want": Entry(CUE, "getme"), "wanna": Entry(CUE, "getme"), "need": Entry(CUE, "getme"),
    "sell": Entry(CUE, "sell"), "selling": Entry(CUE, "sell"), "dump": Entry(CUE, "sell"),
    "liquidate": Entry(CUE, "sell"), "cash out": Entry(CUE, "sell"), "offload": Entry(CUE, "sell"),
    "price": Entry(CUE, "price"), "prices": Entry(CUE, "price"), "how much is": Entry(CUE, "price"),
    "how much are": Entry(CUE, "price"), "how much does": Entry(CUE, "price"), "trading at": Entry(CUE, "price"),
    "quote for": Entry(CUE, "price"), "rate": Entry(CUE, "price"), "cost": Entry(CUE, "price"),
    "portfolio": Entry(CUE, "portfolio"), "balance": Entry(CUE, "portfolio"), "balances": Entry(CUE, "portfolio"),
    "holdings": Entry(CUE, "portfolio"), "wallet": Entry(CUE, "portfolio"), "wallets": Entry(CUE, "portfolio"),
    "funds": Entry(CUE, "portfolio"), "assets": Entry(CUE, "portfolio"), "net worth": Entry(CUE, "portfolio"),
    "pnl": Entry(CUE, "portfolio"), "profit": Entry(CUE, "portfolio"), "profits": Entry(CUE, "portfolio"),
    "equity": Entry(CUE, "portfolio"), "bags": Entry(CUE, "portfolio"),
    "alert": Entry(CUE, "alert"), "alerts": Entry(CUE, "alert"), "notify": Entry(CUE, "alert"),
    "notification": Entry(CUE, "alert"), "remind": Entry(CUE, "alert"), "let me know": Entry(CUE, "alert"),
    "ping me": Entry(CUE, "alert"), "warn me": Entry(CUE, "alert"), "message me": Entry(CUE, "alert"),
    "cancel": Entry(CUE, "cancel"), "revoke": Entry(CUE, "cancel"), "call off": Entry(CUE, "cancel"),
    "help": Entry(CUE, "help"), "what can you do": Entry(CUE, "help"), "how does this work": Entry(CUE, "help"),
    "how do i use": Entry(CUE, "help"), "how to use": Entry(CUE, "help"), "commands": Entry(CUE, "help"),
    "examples": Entry(CUE, "help"), "usage": Entry(CUE, "help"), "menu": Entry(CUE, "help"),
    "start": Entry(CUE, "start"), "run": Entry(CUE, "start"), "resume": Entry(CUE, "start"),
    "launch": Entry(CUE, "start"), "enable": Entry(CUE, "start"), "turn on": Entry(CUE, "start"),
    "switch on": Entry(CUE, "start"), "unpause": Entry(CUE, "start"), "activate": Entry(CUE, "start"),
    "restart": Entry(CUE, "start"), "kick off": Entry(CUE, "start"),
    "stop": Entry(CUE, "stop"), "pause": Entry(CUE, "stop"), "halt": Entry(CUE, "stop"),
    "disable": Entry(CUE, "stop"), "kill": Entry(CUE, "stop"), "turn off": Entry(CUE, "stop"),
    "switch off": Entry(CUE, "stop"), "shut down": Entry(CUE, "stop"), "deactivate": Entry(CUE, "stop"),
    "status": Entry(CUE, "status"), "list": Entry(CUE, "status"), "state": Entry(CUE, "status"),
    "close": Entry(CUE, "close"), "exit": Entry(CUE, "close"), "flatten": Entry(CUE, "close"),
    "get out of": Entry(CUE, "close"), "close out": Entry(CUE, "close"),
    # objects
    "bot": Entry(BOT), "bots": Entry(BOT), "robot": Entry(BOT), "robots": Entry(BOT),
    "position": Entry(POSITION), "positions": Entry(POSITION),
    "order": Entry(ORDER), "orders": Entry(ORDER), "open orders": Entry(ORDER),
    "account": Entry(ACCOUNT), "accounts": Entry(ACCOUNT), "exchange": Entry(ACCOUNT),
    "named": Entry(NAMED), "called": Entry(NAMED),
    "paper": Entry(MODE, "paper"), "demo": Entry(MODE, "paper"), "simulated": Entry(MODE, "paper"),
    "paper trading": Entry(MODE, "paper"), "testnet": Entry(MODE, "testnet"), "sandbox": Entry(MODE, "testnet"),
    "live": Entry(MODE, "live"), "real account": Entry(MODE, "live"), "real money": Entry(MODE, "live"),
    # directions
    "above": Entry(DIR, "above"), "over": Entry(DIR, "above"), "exceeds": Entry(DIR, "above"),
    "exceed": Entry(DIR, "above"), "goes above": Entry(DIR, "above"), "go above": Entry(DIR, "above"),
    "gets above": Entry(DIR, "above"), "rises above": Entry(DIR, "above"), "rise above": Entry(DIR, "above"),
    "rises to": Entry(DIR, "above"), "climbs to": Entry(DIR, "above"), "goes over": Entry(DIR, "above"),
    "higher than": Entry(DIR, "above"), "greater than": Entry(DIR, "above"), "more than": Entry(DIR, "above"),
    "breaks": Entry(DIR, "above"), "breaks above": Entry(DIR, "above"), "crosses above": Entry(DIR, "above"),
    "surpasses": Entry(DIR, "above"), "beyond": Entry(DIR, "above"), "tops": Entry(DIR, "above"),
    "pumps to": Entry(DIR, "above"), "pumps above": Entry(DIR, "above"),
    "below": Entry(DIR, "below"), "under": Entry(DIR, "below"), "goes below": Entry(DIR, "below"),
    "go below": Entry(DIR, "below"), "gets below": Entry(DIR, "below"), "drops below": Entry(DIR, "below"),
    "drop below": Entry(DIR, "below"), "falls below": Entry(DIR, "below"), "fall below": Entry(DIR, "below"),
    "dips below": Entry(DIR, "below"), "dip below": Entry(DIR, "below"), "goes under": Entry(DIR, "below"),
    "drops to": Entry(DIR, "below"), "falls to": Entry(DIR, "below"), "dips to": Entry(DIR, "below"),
    "drops under": Entry(DIR, "below"), "falls under": Entry(DIR, "below"), "lower than": Entry(DIR, "below"),
    "less than": Entry(DIR, "below"), "beneath": Entry(DIR, "below"), "crosses below": Entry(DIR, "below"),
    "crashes to": Entry(DIR, "below"), "crashes below": Entry(DIR, "below"), "sinks below": Entry(DIR, "below"),
    "hits": Entry(DIR, "cross"), "hit": Entry(DIR, "cross"), "reaches": Entry(DIR, "cross"),
    "reach": Entry(DIR, "cross"), "touches": Entry(DIR, "cross"), "gets to": Entry(DIR, "cross"),
    "crosses": Entry(DIR, "cross"), "goes to": Entry(DIR, "cross"),
    # order types and prices
    "market": Entry(OTYPE, "market"), "at market": Entry(OTYPE, "market"), "market price": Entry(OTYPE, "market"),
    "market order": Entry(OTYPE, "market"), "mkt": Entry(OTYPE, "market"), "at the market": Entry(OTYPE, "market"),
    "limit": Entry(OTYPE, "limit"), "limit order": Entry(OTYPE, "limit"), "limit price": Entry(OTYPE, "limit"),
    "lmt": Entry(OTYPE, "limit"),
    "at": Entry(PMARK), "at price": Entry(PMARK), "at a price of": Entry(PMARK), "priced at": Entry(PMARK),
    # connectors
    "in": Entry(CONN, "quote"), "with": Entry(CONN, "quote"), "using": Entry(CONN, "quote"),
    "for": Entry(CONN, "quote"), "against": Entry(CONN, "quote"), "to": Entry(CONN, "quote"),
    "of": Entry(CONN, "base"), "worth of": Entry(CONN, "base"), "into": Entry(CONN, "base"),
    "on": Entry(CONN, "account"), "from": Entry(CONN, "account"), "via": Entry(CONN, "account"),
    # shares and numbers
    "half": Entry(PCT, D(50)), "a half": Entry(PCT, D(50)), "all": Entry(PCT, D(100)),
    "everything": Entry(PCT, D(100)), "entire": Entry(PCT, D(100)), "whole": Entry(PCT, D(100)),
    "all of": Entry(PCT, D(100)), "all in": Entry(PCT, D(100)), "max": Entry(PCT, D(100)),
    "quarter": Entry(PCT, D(25)), "a quarter": Entry(PCT, D(25)), "a third": Entry(PCT, D("33.33")),
    "percent": Entry(PCTSIGN), "per cent": Entry(PCTSIGN), "pct": Entry(PCTSIGN), "percents": Entry(PCTSIGN),
    "k": Entry(MULT, D(1000)), "thousand": Entry(MULT, D(1000)), "grand": Entry(MULT, D(1000)),
    "million": Entry(MULT, D(1000000)), "mil": Entry(MULT, D(1000000)), "mln": Entry(MULT, D(1000000)),
    "billion": Entry(MULT, D(1000000000)), "bn": Entry(MULT, D(1000000000)),
    "hundred": Entry(MULT, D(100)),
    "one": Entry(NUMWORD, D(1)), "two": Entry(NUMWORD, D(2)), "three": Entry(NUMWORD, D(3)),
    "four": Entry(NUMWORD, D(4)), "five": Entry(NUMWORD, D(5)), "six": Entry(NUMWORD, D(6)),
    "seven": Entry(NUMWORD, D(7)), "eight": Entry(NUMWORD, D(8)), "nine": Entry(NUMWORD, D(9)),
    "ten": Entry(NUMWORD, D(10)), "twenty": Entry(NUMWORD, D(20)), "fifty": Entry(NUMWORD, D(50)),
    "a hundred": Entry(NUMWORD, D(100)), "a thousand": Entry(NUMWORD, D(1000)),
    "coins": Entry(UNITWORD), "coin": Entry(UNITWORD), "units": Entry(UNITWORD), "unit": Entry(UNITWORD),
    "tokens": Entry(UNITWORD), "token": Entry(UNITWORD),
    # the rest
    "my": Entry(MY), "mine": Entry(MY), "our": Entry(MY),
    "do i have": Entry(HAVE), "do i own": Entry(HAVE), "i have": Entry(HAVE), "i own": Entry(HAVE),
    "have i got": Entry(HAVE), "am i holding": Entry(HAVE), "i hold": Entry(HAVE), "do i hold": Entry(HAVE),
    "when": Entry(WHEN), "if": Entry(WHEN), "once": Entry(WHEN), "whenever": Entry(WHEN), "as soon as": Entry(WHEN),
    "tell": Entry(TELL), "tell me": Entry(TELL), "text me": Entry(TELL), "email me": Entry(TELL),
    "dont": Entry(NEG), "do not": Entry(NEG), "never": Entry(NEG), "not": Entry(NEG), "no need to": Entry(NEG),
    "what": Entry(WH), "whats": Entry(WH), "who": Entry(WH), "why": Entry(WH), "where": Entry(WH),
    "what is": Entry(WH), "is it": Entry(WH),
    "withdraw": Entry(UNSUPPORTED), "transfer": Entry(UNSUPPORTED), "send": Entry(UNSUPPORTED),
    "deposit": Entry(UNSUPPORTED), "stake": Entry(UNSUPPORTED), "lend": Entry(UNSUPPORTED),
    "borrow": Entry(UNSUPPORTED), "wire": Entry(UNSUPPORTED),
    "sel": Entry(CUE, "sell"), "bye": Entry(GREET),
    "hello": Entry(GREET), "hi": Entry(GREET), "hey": Entry(GREET), "thanks": Entry(GREET),
    "thank you": Entry(GREET), "thx": Entry(GREET), "ty": Entry(GREET), "good morning": Entry(GREET),
    "ok": Entry(GREET), "okay": Entry(GREET),
}
FILLERS = (
    "please", "pls", "plz", "me", "i", "id", "im", "would", "like", "the", "a", "an", "some",
    "can", "you", "could", "now", "right now", "immediately", "asap", "just", "and", "then", "also", "is",
    "are", "it", "its", "show", "display", "give", "check", "current", "currently", "today", "how", "much",
    "many", "do", "does", "go", "goes", "let", "know", "up", "latest", "quick", "quickly", "there", "here",
    "kindly", "needs", "get", "gets", "put", "place", "make", "set", "set up", "create", "new",
    "open", "my own", "currently", "worth", "each", "per", "right", "away", "right away",
    "at once", "again", "sure", "for me", "be", "will", "shall", "should", "price is", "hows", "how is",
    "how are", "look", "looking", "see", "view", "total", "spot", "order for", "amount", "amount of", "only",
    "that", "this", "these", "those", "about", "around", "every", "any", "got", "value", "available", "free",
    "them", "they", "doing", "performing", "running", "or", "so", "yet", "still", "going", "bit",
)
for _word in FILLERS:
    LATIN.setdefault(_word, Entry(FILLER))

for _coin in COINS:
    LATIN.setdefault(_coin.ticker.lower(), Entry(CUR, _coin.ticker))
    for _name in _coin.names:
        LATIN.setdefault(_name, Entry(CUR, _coin.ticker))
for _name, _exchange_id in EXCHANGES.items():
    LATIN.setdefault(_name, Entry(EXCHANGE, _exchange_id))

LATIN_WORDS = {key: entry for key, entry in LATIN.items() if " " not in key}
LATIN_PHRASES = {tuple(key.split()): entry for key, entry in LATIN.items() if " " in key}
LONGEST_PHRASE = max(len(key) for key in LATIN_PHRASES)

# Typos are corrected only towards these longer words (one edit away), never towards short ones such as
# "sell" or "stop", whose one-edit neighbours are ordinary words ("well", "step").
FUZZY_TARGETS = (
    "bitcoin", "ethereum", "solana", "cardano", "dogecoin", "ripple", "litecoin", "polkadot", "chainlink",
    "avalanche", "polygon", "stellar", "cosmos", "tether", "portfolio", "balance", "balances", "holdings",
    "cancel", "alert", "notify", "price", "position", "positions", "market", "limit", "above", "below",
    "percent", "everything", "purchase", "status", "orders", "thousand", "million", "remind",
)

# Thai, Chinese and Japanese: matched inside runs of those scripts, longest first.
SCRIPT = {
    # Thai intents
    "ซื้อ": Entry(CUE, "buy"), "เข้าซื้อ": Entry(CUE, "buy"), "ช้อนซื้อ": Entry(CUE, "buy"), "ช้อน": Entry(CUE, "buy"),
    "ซื้อเพิ่ม": Entry(CUE, "buy"), "ชื้อ": Entry(CUE, "buy"),
    "ขาย": Entry(CUE, "sell"), "เทขาย": Entry(CUE, "sell"), "ขายออก": Entry(CUE, "sell"), "ขายทิ้ง": Entry(CUE, "sell"),
    "ราคา": Entry(CUE, "price"), "เท่าไหร่": Entry(CUE, "price"), "เท่าไร": Entry(CUE, "price"),
    "เท่าไร่": Entry(CUE, "price"), "เท่าไหร": Entry(CUE, "price"), "กี่บาท": Entry(CUE, "price"),
    "พอร์ต": Entry(CUE, "portfolio"), "พอร์ท": Entry(CUE, "portfolio"), "พอต": Entry(CUE, "portfolio"),
    "ยอดเงิน": Entry(CUE, "portfolio"), "ยอดคงเหลือ": Entry(CUE, "portfolio"), "คงเหลือ": Entry(CUE, "portfolio"),
    "เงินคงเหลือ": Entry(CUE, "portfolio"), "สินทรัพย์": Entry(CUE, "portfolio"), "ทรัพย์สิน": Entry(CUE, "portfolio"),
    "กระเป๋าเงิน": Entry(CUE, "portfolio"), "กระเป๋า": Entry(CUE, "portfolio"), "วอลเล็ท": Entry(CUE, "portfolio"),
    "วอลเล็ต": Entry(CUE, "portfolio"), "ยอด": Entry(CUE, "portfolio"), "กำไร": Entry(CUE, "portfolio"),
    "ขาดทุน": Entry(CUE, "portfolio"), "เงินในบัญชี": Entry(CUE, "portfolio"),
    "แจ้งเตือน": Entry(CUE, "alert"), "เตือน": Entry(CUE, "alert"), "แจ้ง": Entry(CUE, "alert"),
    "ยกเลิก": Entry(CUE, "cancel"), "แคนเซิล": Entry(CUE, "cancel"),
    "ช่วยด้วย": Entry(CUE, "help"), "ช่วยเหลือ": Entry(CUE, "help"), "วิธีใช้": Entry(CUE, "help"),
    "ใช้ยังไง": Entry(CUE, "help"), "ใช้งานยังไง": Entry(CUE, "help"), "ทำอะไรได้บ้าง": Entry(CUE, "help"),
    "ทำอะไรได้": Entry(CUE, "help"), "คู่มือ": Entry(CUE, "help"),
    "เริ่ม": Entry(CUE, "start"), "เริ่มต้น": Entry(CUE, "start"), "เปิด": Entry(CUE, "start"), "รัน": Entry(CUE, "start"),
    "สตาร์ท": Entry(CUE, "start"), "เปิดใช้": Entry(CUE, "start"), "ให้ทำงาน": Entry(CUE, "start"),
    "หยุด": Entry(CUE, "stop"), "พัก": Entry(CUE, "stop"), "สต็อป": Entry(CUE, "stop"), "สต๊อป": Entry(CUE, "stop"),
    "หยุดทำงาน": Entry(CUE, "stop"), "ระงับ": Entry(CUE, "stop"),
    "สถานะ": Entry(CUE, "status"), "เป็นยังไง": Entry(CUE, "status"), "เป็นไง": Entry(CUE, "status"),
    "เป็นอย่างไร": Entry(CUE, "status"), "ยังไงบ้าง": Entry(CUE, "status"), "ทำงานอยู่ไหม": Entry(CUE, "status"),
    "ปิด": Entry(CUE, "close"), "ออกจาก": Entry(CUE, "close"),
    "ปิดสถานะ": Entry(CUE, "closepos"), "ปิดโพซิชั่น": Entry(CUE, "closepos"), "ปิดโพสิชั่น": Entry(CUE, "closepos"),
    "ปิดโพสิชัน": Entry(CUE, "closepos"), "ปิดโพ": Entry(CUE, "closepos"),
    # Thai objects
    "บอท": Entry(BOT), "บ็อท": Entry(BOT), "โรบอท": Entry(BOT), "บอต": Entry(BOT),
    "โพซิชั่น": Entry(POSITION), "โพสิชั่น": Entry(POSITION), "โพสิชัน": Entry(POSITION),
    "ออเดอร์": Entry(ORDER), "ออร์เดอร์": Entry(ORDER), "คำสั่งซื้อ": Entry(ORDER), "คำสั่งขาย": Entry(ORDER),
    "คำสั่ง": Entry(ORDER), "ออเดอร์ซื้อ": Entry(ORDER), "ออเดอร์ขาย": Entry(ORDER),
    "บัญชี": Entry(ACCOUNT), "แอคเคาท์": Entry(ACCOUNT), "แอคเคาต์": Entry(ACCOUNT), "ชื่อ": Entry(NAMED),
    "บัญชีทดลอง": Entry(MODE, "paper"), "ทดลอง": Entry(MODE, "paper"), "เดโม่": Entry(MODE, "paper"),
    "เดโม": Entry(MODE, "paper"), "บัญชีจริง": Entry(MODE, "live"), "เงินจริง": Entry(MODE, "live"),
    # Thai directions
    "เกิน": Entry(DIR, "above"), "สูงกว่า": Entry(DIR, "above"), "มากกว่า": Entry(DIR, "above"),
    "ขึ้นเกิน": Entry(DIR, "above"), "ทะลุ": Entry(DIR, "above"), "เหนือ": Entry(DIR, "above"),
    "ขึ้นถึง": Entry(DIR, "above"), "ขึ้นไปถึง": Entry(DIR, "above"), "ขึ้นไปเกิน": Entry(DIR, "above"),
    "ต่ำกว่า": Entry(DIR, "below"), "น้อยกว่า": Entry(DIR, "below"), "หลุด": Entry(DIR, "below"),
    "ลงต่ำกว่า": Entry(DIR, "below"), "ลงถึง": Entry(DIR, "below"), "ร่วง": Entry(DIR, "below"),
    "ร่วงถึง": Entry(DIR, "below"), "ลงไปถึง": Entry(DIR, "below"), "ร่วงต่ำกว่า": Entry(DIR, "below"),
    "ถึง": Entry(DIR, "cross"), "แตะ": Entry(DIR, "cross"),
    "ไม่เกิน": Entry(FILLER),  # "not more than": an amount cap, not a negation
    # Thai order types, prices, connectors
    "ราคาตลาด": Entry(OTYPE, "market"), "ตลาด": Entry(OTYPE, "market"), "ลิมิต": Entry(OTYPE, "limit"),
    "ที่ราคา": Entry(PMARK), "ที่": Entry(PMARK), "ตั้งราคา": Entry(PMARK),
    "ด้วย": Entry(CONN, "quote"), "ใน": Entry(CONN, "quote"), "เป็น": Entry(CONN, "quote"), "แลก": Entry(CONN, "quote"),
    "บน": Entry(CONN, "account"), "จาก": Entry(CONN, "account"),
    # Thai shares and numbers
    "ทั้งหมด": Entry(PCT, D(100)), "หมด": Entry(PCT, D(100)), "หมดเลย": Entry(PCT, D(100)),
    "ทั้งหมดเลย": Entry(PCT, D(100)), "ทั้งพอร์ต": Entry(PCT, D(100)), "หมดพอร์ต": Entry(PCT, D(100)),
    "ครึ่งหนึ่ง": Entry(PCT, D(50)), "ครึ่ง": Entry(PCT, D(50)), "ครึ่งนึง": Entry(PCT, D(50)),
    "หนึ่งในสี่": Entry(PCT, D(25)), "ร้อยละ": Entry(PCTSIGN, "before"),
    "เปอร์เซ็นต์": Entry(PCTSIGN), "เปอร์เซ็น": Entry(PCTSIGN), "เปอร์เซนต์": Entry(PCTSIGN),
    "เปอร์เซน": Entry(PCTSIGN), "เปอร์": Entry(PCTSIGN),
    "ร้อย": Entry(MULT, D(100)), "พัน": Entry(MULT, D(1000)), "หมื่น": Entry(MULT, D(10000)),
    "แสน": Entry(MULT, D(100000)), "ล้าน": Entry(MULT, D(1000000)),
    "หนึ่ง": Entry(NUMWORD, D(1)), "เอ็ด": Entry(NUMWORD, D(1)), "สอง": Entry(NUMWORD, D(2)),
    "ยี่": Entry(NUMWORD, D(2)), "สาม": Entry(NUMWORD, D(3)), "สี่": Entry(NUMWORD, D(4)), "ห้า": Entry(NUMWORD, D(5)),
    "หก": Entry(NUMWORD, D(6)), "เจ็ด": Entry(NUMWORD, D(7)), "แปด": Entry(NUMWORD, D(8)), "เก้า": Entry(NUMWORD, D(9)),
    "สิบ": Entry(MULT, D(10)),
    "เหรียญ": Entry(UNITWORD), "หน่วย": Entry(UNITWORD),
    # Thai: the rest
    "ของฉัน": Entry(MY), "ของผม": Entry(MY), "ของเรา": Entry(MY), "ของหนู": Entry(MY),
    "มี": Entry(HAVE), "ถืออยู่": Entry(HAVE), "ถือ": Entry(HAVE), "มีอยู่": Entry(HAVE),
    "เมื่อ": Entry(WHEN), "ถ้า": Entry(WHEN), "หาก": Entry(WHEN), "ตอนที่": Entry(WHEN), "เวลา": Entry(WHEN),
    "บอก": Entry(TELL),
    "อย่า": Entry(NEG), "ไม่": Entry(NEG), "ไม่ต้อง": Entry(NEG), "ห้าม": Entry(NEG),
    "ถอน": Entry(UNSUPPORTED), "โอน": Entry(UNSUPPORTED), "ฝาก": Entry(UNSUPPORTED),
    "อะไร": Entry(WH), "ทำไม": Entry(WH), "ใคร": Entry(WH),
    "สวัสดี": Entry(GREET), "หวัดดี": Entry(GREET), "ขอบคุณ": Entry(GREET), "ขอบใจ": Entry(GREET),
    # Chinese
    "买": Entry(CUE, "buy"), "买入": Entry(CUE, "buy"), "购买": Entry(CUE, "buy"), "買入": Entry(CUE, "buy"),
    "卖": Entry(CUE, "sell"), "卖出": Entry(CUE, "sell"), "賣出": Entry(CUE, "sell"),
    "价格": Entry(CUE, "price"), "價格": Entry(CUE, "price"), "多少钱": Entry(CUE, "price"),
    "余额": Entry(CUE, "portfolio"), "持仓": Entry(CUE, "portfolio"), "资产": Entry(CUE, "portfolio"),
    "提醒": Entry(CUE, "alert"), "提醒我": Entry(CUE, "alert"), "取消": Entry(CUE, "cancel"),
    "帮助": Entry(CUE, "help"), "启动": Entry(CUE, "start"), "停止": Entry(CUE, "stop"), "暂停": Entry(CUE, "stop"),
    "状态": Entry(CUE, "status"), "平仓": Entry(CUE, "closepos"),
    "机器人": Entry(BOT), "订单": Entry(ORDER), "挂单": Entry(ORDER),
    "高于": Entry(DIR, "above"), "超过": Entry(DIR, "above"), "突破": Entry(DIR, "above"),
    "低于": Entry(DIR, "below"), "跌破": Entry(DIR, "below"),
    "市价": Entry(OTYPE, "market"), "限价": Entry(OTYPE, "limit"), "全部": Entry(PCT, D(100)),
    "一半": Entry(PCT, D(50)), "千": Entry(MULT, D(1000)), "万": Entry(MULT, D(10000)),
    "用": Entry(CONN, "quote"), "当": Entry(WHEN), "如果": Entry(WHEN), "的": Entry(FILLER), "我": Entry(FILLER),
    "请": Entry(FILLER), "个": Entry(UNITWORD), "时": Entry(FILLER), "我的": Entry(MY), "是": Entry(FILLER),
    "现在": Entry(FILLER),
    # Japanese
    "買う": Entry(CUE, "buy"), "買い": Entry(CUE, "buy"), "買って": Entry(CUE, "buy"), "購入": Entry(CUE, "buy"),
    "売る": Entry(CUE, "sell"), "売り": Entry(CUE, "sell"), "売って": Entry(CUE, "sell"), "売却": Entry(CUE, "sell"),
    "価格": Entry(CUE, "price"), "値段": Entry(CUE, "price"), "いくら": Entry(CUE, "price"),
    "残高": Entry(CUE, "portfolio"), "ポートフォリオ": Entry(CUE, "portfolio"), "資産": Entry(CUE, "portfolio"),
    "通知": Entry(CUE, "alert"), "アラート": Entry(CUE, "alert"), "キャンセル": Entry(CUE, "cancel"),
    "ヘルプ": Entry(CUE, "help"), "開始": Entry(CUE, "start"), "起動": Entry(CUE, "start"),
    "ステータス": Entry(CUE, "status"), "決済": Entry(CUE, "closepos"),
    "ボット": Entry(BOT), "注文": Entry(ORDER),
    "超えたら": Entry(DIR, "above"), "上回ったら": Entry(DIR, "above"), "以上": Entry(DIR, "above"),
    "下回ったら": Entry(DIR, "below"), "以下": Entry(DIR, "below"), "成行": Entry(OTYPE, "market"),
    "指値": Entry(OTYPE, "limit"), "全て": Entry(PCT, D(100)), "すべて": Entry(PCT, D(100)),
    "半分": Entry(PCT, D(50)), "を": Entry(FILLER), "に": Entry(FILLER), "で": Entry(FILLER), "の": Entry(FILLER),
    "が": Entry(FILLER), "は": Entry(FILLER), "て": Entry(FILLER), "ください": Entry(FILLER), "して": Entry(FILLER),
    "たら": Entry(FILLER), "ら": Entry(FILLER), "今": Entry(FILLER), "私": Entry(FILLER), "枚": Entry(UNITWORD),
    "ら通知": Entry(CUE, "alert"),
}
THAI_FILLERS = (
    "ให้", "หน่อย", "ครับ", "คับ", "ค่ะ", "คะ", "ค้าบ", "นะ", "จ้า", "จ้ะ", "ฉัน", "ผม", "เรา", "หนู", "ของ", "จำนวน", "อยาก",
    "ต้องการ", "จะ", "ได้", "ไหม", "มั้ย", "ป่ะ", "ตอนนี้", "เลย", "กับ", "แล้ว", "ขอ", "ดู", "แสดง", "เช็ค", "เช็ก",
    "ตรวจสอบ", "ตรวจ", "บ้าง", "และ", "หรือ", "ทั้ง", "ตัว", "นี้", "ไป", "มา", "อยู่", "วันนี้", "ล่ะ", "ทุก", "ช่วย",
    "โดย", "แบบ", "ด่วน", "ทันที", "เดี๋ยวนี้", "ขึ้น", "ลง", "เอา", "ทำ", "ทำงาน", "หน่อยครับ", "ค่า", "ตั้ง", "ราย",
    "การ", "ทั้งหมดที่", "ปัจจุบัน", "ล่าสุด", "กี่", "ละ", "บ้างครับ", "ซิ", "สิ", "ที", "ด้วยครับ", "จ๊ะ", "ตัวนี้",
)
for _word in THAI_FILLERS:
    SCRIPT.setdefault(_word, Entry(FILLER))
for _coin in COINS:
    for _name in _coin.script_names:
        SCRIPT.setdefault(_name, Entry(CUR, _coin.ticker))
for _name, _exchange_id in SCRIPT_EXCHANGES.items():
    SCRIPT.setdefault(_name, Entry(EXCHANGE, _exchange_id))

# Input is NFKC-normalised (which splits Thai SARA AM "ำ" into two characters): the keys must be too.
SCRIPT = {unicodedata.normalize("NFKC", key): entry for key, entry in SCRIPT.items()}

# For longest match: the lengths of the entries starting with each character, longest first.
SCRIPT_LENGTHS: dict[str, tuple[int, ...]] = {}
for _key in SCRIPT:
    SCRIPT_LENGTHS.setdefault(_key[0], ())
    SCRIPT_LENGTHS[_key[0]] = tuple(sorted(set(SCRIPT_LENGTHS[_key[0]]) | {len(_key)}, reverse=True))
