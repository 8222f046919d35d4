"""A fake Binance spot REST API on 127.0.0.1 for tests, driven by the real ccxt client; it can inject faults.

    fake = FakeExchange().start()          # or the `fake_exchange` fixture (settings.CCXT_URL_OVERRIDES set)
    fake.url, fake.api_key, fake.api_secret
    fake.set_price("BTC/USDT", "20000", spread="0.0002", volume="1000")
    fake.inject("timeout" | "429" | "5xx" | "auth" | "insufficient" | "partial_fill", times=1)
    fake.inject("502")      # the next order is accepted, and the answer is a proxy's 502
    fake.inject("unreachable")  # the next order creation gets a proxy's 502 and never reaches the exchange
    fake.inject("clock_skew")  # the next signed request is refused: "Timestamp ... ahead of the server's time"
    fake.inject("hidden")   # the next order is accepted but lookups do not show it for fake.hidden_for seconds
    fake.reveal()           # ... or until this (with fake.hidden_for = math.inf)
    fake.ban(seconds)       # every request gets 418 "IP banned until ..." (with Retry-After) until then
    fake.duplicates = "allow"  # a repeated newClientOrderId makes a second order (as some exchanges do)
    fake.fee_in_base = True    # a BUY's commission is taken from the bought coin (Binance without BNB)
    STOP_LOSS / STOP_LOSS_LIMIT orders wait for set_price to reach their stopPrice, then fill (market / limit)
    fake.orders (list of dicts), fake.balances ({asset: {"free": Decimal, "locked": Decimal}})
    fake.stop()

It serves HTTP from a thread, so a separate worker process can talk to it (CCXT_URL_OVERRIDES env) while
the test inspects it. Order creation is idempotent on newClientOrderId as on Binance ("Duplicate order sent").
Commissions are charged in the quote asset (fee rate `fake.fee`), which keeps the arithmetic of tests simple,
unless fee_in_base is set. 429 and 418 answers carry a Retry-After header (`fake.retry_after` seconds for 429).
"""

import csv
import hashlib
import hmac
import json
import threading
import time
from decimal import ROUND_DOWN, Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

DATA_DIR = Path(__file__).resolve().parent.parent / "exchanges" / "data"
FAULTS = ("timeout", "429", "5xx", "auth", "insufficient", "partial_fill", "502", "hidden", "unreachable",
          "clock_skew")
# These wait for the next order creation.
ORDER_FAULTS = ("timeout", "insufficient", "partial_fill", "502", "unreachable")
STOP_TYPES = ("STOP_LOSS", "STOP_LOSS_LIMIT")  # served and triggered from the price feed (set_price)
INTERVAL_MS = {"1m": 60_000, "5m": 300_000, "15m": 900_000, "1h": 3_600_000, "4h": 14_400_000, "1d": 86_400_000}
Q8 = Decimal("0.00000001")


def fmt(value) -> str:
    return format(Decimal(value).quantize(Q8), "f")


def market_id(symbol: str) -> str:
    return symbol.replace("/", "")


class FakeExchange:
    def __init__(self, api_key: str = "fake-api-key-0123456789", api_secret: str = "fake-api-secret-9876543210"):
        self.api_key = api_key
        self.api_secret = api_secret
        self.fee = Decimal("0.001")
        self.timeout_delay = 2.0  # seconds the "timeout" fault holds the answer (longer than the client waits)
        self.hidden_for = 5.0  # seconds a "hidden" order stays invisible to lookups
        self.retry_after = 2  # the Retry-After of a 429
        self.banned_until = 0.0  # time.time() until which every request gets 418
        self.duplicates = "refuse"
        self.fee_in_base = False
        self.markets = {"BTC/USDT": ("BTC", "USDT"), "ETH/USDT": ("ETH", "USDT"), "ETH/BTC": ("ETH", "BTC")}
        self.prices: dict[str, dict] = {}
        self.balances = {
            "USDT": {"free": Decimal("10000"), "locked": Decimal("0")},
            "BTC": {"free": Decimal("1"), "locked": Decimal("0")},
            "ETH": {"free": Decimal("0"), "locked": Decimal("0")},
        }
        self.orders: list[dict] = []
        self.candles: dict[tuple[str, str], list[list]] = {}
        self.requests: list[tuple[str, str, dict]] = []
        self.faults: list[list] = []
        self.lock = threading.RLock()
        self.server = None
        self.thread = None
        self._next_id = 1000
        self.set_price("BTC/USDT", "20000", spread="0.0002", volume="25000")
        self.set_price("ETH/USDT", "1500", spread="0.0004", volume="90000")
        self.set_price("ETH/BTC", "0.075", spread="0.0005", volume="40000")
        self.set_candles("BTC/USDT", "5m", load_csv(DATA_DIR / "binance_BTC-USDT_5m.csv"))

    # --- control, from the test ---

    def start(self) -> "FakeExchange":
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       name="fake-exchange", daemon=True)
        self.thread.start()
        return self

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self.clear_pauses()
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join(timeout=5)
            self.server = None

    def clear_pauses(self) -> None:
        """Forget the rate-limit pauses clients took from this server (a later server may get its port)."""
        if self.server is None:
            return
        from urllib.parse import urlsplit

        from exchanges import rate_limits

        for exchange_id in ("binance",):
            rate_limits.clear(rate_limits.key_for(exchange_id, urlsplit(self.url).netloc))

    def inject(self, fault: str, times: int = 1) -> None:
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; one of {FAULTS}")
        with self.lock:
            self.faults.append([fault, times])

    def reveal(self) -> None:
        """Hidden orders show from now on (a test's deterministic end of fake.hidden_for)."""
        with self.lock:
            for order in self.orders:
                order["_visible_at"] = 0.0

    def ban(self, seconds: float) -> None:
        with self.lock:
            self.banned_until = time.time() + seconds

    def set_price(self, symbol: str, price, spread="0.0002", volume="1000") -> None:
        with self.lock:
            self.prices[market_id(symbol)] = {
                "last": Decimal(str(price)), "spread": Decimal(str(spread)), "volume": Decimal(str(volume)),
            }
            self._match_limit_orders(market_id(symbol))

    def set_candles(self, symbol: str, timeframe: str, rows: list[list]) -> None:
        """rows: [[open time ms, open, high, low, close, volume], ...] ascending."""
        with self.lock:
            self.candles[(market_id(symbol), timeframe)] = [list(r) for r in rows]

    def order_count(self, client_order_id: str) -> int:
        return sum(1 for o in self.orders if o["clientOrderId"] == client_order_id)

    def private_requests(self, path_suffix: str, method: str | None = None) -> list:
        return [r for r in self.requests if r[1].endswith(path_suffix) and (method is None or r[0] == method)]

    # --- faults ---

    def _take_fault(self, kinds) -> str | None:
        with self.lock:
            for entry in self.faults:
                if entry[0] in kinds and entry[1] > 0:
                    entry[1] -= 1
                    if entry[1] == 0:
                        self.faults.remove(entry)
                    return entry[0]
        return None

    # --- the API ---

    def handle(self, method: str, path: str, params: dict, headers, signed_payload: str | None):
        """Returns (status, body object, delay seconds before answering)."""
        self.requests.append((method, path, params))
        if time.time() < self.banned_until:
            until_ms = int(self.banned_until * 1000)
            return 418, {"code": -1003, "msg": f"Way too many requests; IP(127.0.0.1) banned until {until_ms}. "
                         "Please use the websocket for live updates to avoid bans."}, 0
        fault = self._take_fault(("429", "5xx", "auth", "clock_skew"))
        if fault == "429":
            return 429, {"code": -1003, "msg": "Too many requests; current limit is 1200 request weight."}, 0
        if fault == "5xx":
            return 503, "Service Unavailable", 0
        endpoint = path.split("/api/v3/", 1)[-1] if "/api/v3/" in path else None
        if endpoint is None:
            return 404, {"code": -1, "msg": f"not served by the fake: {path}"}, 0
        private = endpoint in ("account", "order", "openOrders", "myTrades")
        if private:
            if fault == "auth" or headers.get("X-MBX-APIKEY") != self.api_key:
                return 401, {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."}, 0
            if not self._signature_ok(signed_payload):
                return 400, {"code": -1022, "msg": "Signature for this request is not valid."}, 0
            if fault == "clock_skew":
                return 400, {"code": -1021, "msg": "Timestamp for this request was 1000ms ahead of the server's "
                             "time."}, 0
        elif fault in ("auth", "clock_skew"):
            self.faults.insert(0, [fault, 1])  # an auth fault is for a signed request: keep it for the next one
        route = {
            ("GET", "exchangeInfo"): self._exchange_info,
            ("GET", "klines"): self._klines,
            ("GET", "ticker/24hr"): self._ticker,
            ("GET", "account"): self._account,
            ("POST", "order"): self._create_order,
            ("GET", "order"): self._get_order,
            ("DELETE", "order"): self._cancel_order,
            ("GET", "openOrders"): self._open_orders,
            ("GET", "myTrades"): self._my_trades,
            ("GET", "ping"): lambda p: (200, {}, 0),
            ("GET", "time"): lambda p: (200, {"serverTime": int(time.time() * 1000)}, 0),
        }.get((method, endpoint))
        if route is None:
            return 404, {"code": -1, "msg": f"not served by the fake: {method} {path}"}, 0
        with self.lock:
            return route(params)

    def _signature_ok(self, payload: str | None) -> bool:
        if not payload or "&signature=" not in payload:
            return False
        query, signature = payload.rsplit("&signature=", 1)
        expected = hmac.new(self.api_secret.encode(), query.encode(), hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, signature)

    def _exchange_info(self, params):
        symbols = []
        for symbol, (base, quote) in self.markets.items():
            tick = "0.01000000" if quote == "USDT" else "0.00000100"
            symbols.append({
                "symbol": market_id(symbol), "status": "TRADING", "baseAsset": base, "baseAssetPrecision": 8,
                "quoteAsset": quote, "quotePrecision": 8, "quoteAssetPrecision": 8,
                "baseCommissionPrecision": 8, "quoteCommissionPrecision": 8,
                "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
                "icebergAllowed": True, "ocoAllowed": True, "quoteOrderQtyMarketAllowed": True,
                "allowTrailingStop": True, "cancelReplaceAllowed": True, "isSpotTradingAllowed": True,
                "isMarginTradingAllowed": False,
                "filters": [
                    {"filterType": "PRICE_FILTER", "minPrice": tick, "maxPrice": "1000000.00000000", "tickSize": tick},
                    {"filterType": "LOT_SIZE", "minQty": "0.00001000", "maxQty": "9000.00000000",
                     "stepSize": "0.00001000"},
                    {"filterType": "NOTIONAL", "minNotional": "0.00010000", "applyMinToMarket": True,
                     "maxNotional": "9000000.00000000", "applyMaxToMarket": False, "avgPriceMins": 5},
                ],
                "permissions": [], "permissionSets": [["SPOT"]], "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
                "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
            })
        return 200, {"timezone": "UTC", "serverTime": int(time.time() * 1000), "rateLimits": [],
                     "exchangeFilters": [], "symbols": symbols}, 0

    def _klines(self, params):
        rows = self.candles.get((params.get("symbol"), params.get("interval")), [])
        step = INTERVAL_MS.get(params.get("interval"), 60_000)
        limit = min(int(params.get("limit", 500)), 1000)
        if "startTime" in params:
            rows = [r for r in rows if r[0] >= int(params["startTime"])]
        if "endTime" in params:
            rows = [r for r in rows if r[0] <= int(params["endTime"])]
        rows = rows[:limit] if "startTime" in params else rows[-limit:]
        return 200, [
            [int(r[0]), fmt(r[1]), fmt(r[2]), fmt(r[3]), fmt(r[4]), fmt(r[5]), int(r[0]) + step - 1,
             fmt(Decimal(str(r[4])) * Decimal(str(r[5]))), 100, "0", "0", "0"]
            for r in rows
        ], 0

    def _ticker(self, params):
        symbol = params.get("symbol")
        if symbol not in self.prices:
            return 400, {"code": -1121, "msg": "Invalid symbol."}, 0
        p = self.prices[symbol]
        half = p["last"] * p["spread"] / 2
        now = int(time.time() * 1000)
        return 200, {
            "symbol": symbol, "priceChange": "0", "priceChangePercent": "0", "weightedAvgPrice": fmt(p["last"]),
            "prevClosePrice": fmt(p["last"]), "lastPrice": fmt(p["last"]), "lastQty": "1",
            "bidPrice": fmt(p["last"] - half), "bidQty": "1", "askPrice": fmt(p["last"] + half), "askQty": "1",
            "openPrice": fmt(p["last"]), "highPrice": fmt(p["last"]), "lowPrice": fmt(p["last"]),
            "volume": fmt(p["volume"]), "quoteVolume": fmt(p["volume"] * p["last"]),
            "openTime": now - 86_400_000, "closeTime": now, "firstId": 1, "lastId": 2, "count": 2,
        }, 0

    def _account(self, params):
        return 200, {
            "makerCommission": 10, "takerCommission": 10, "buyerCommission": 0, "sellerCommission": 0,
            "commissionRates": {"maker": "0.00100000", "taker": "0.00100000", "buyer": "0", "seller": "0"},
            "canTrade": True, "canWithdraw": True, "canDeposit": True, "brokered": False,
            "requireSelfTradePrevention": False, "preventSor": False, "updateTime": int(time.time() * 1000),
            "accountType": "SPOT", "permissions": ["SPOT"], "uid": 1,
            "balances": [{"asset": a, "free": fmt(b["free"]), "locked": fmt(b["locked"])}
                         for a, b in self.balances.items()],
        }, 0

    def _balance(self, asset: str) -> dict:
        return self.balances.setdefault(asset, {"free": Decimal("0"), "locked": Decimal("0")})

    def _create_order(self, params):
        symbol = params.get("symbol")
        client_id = params.get("newClientOrderId") or f"fake-{self._next_id}"
        if symbol not in self.prices:
            return 400, {"code": -1121, "msg": "Invalid symbol."}, 0
        if self.duplicates == "refuse" and any(o["clientOrderId"] == client_id for o in self.orders):
            return 400, {"code": -2010, "msg": "Duplicate order sent."}, 0
        side, kind = params.get("side"), params.get("type")
        if side not in ("BUY", "SELL") or kind not in ("MARKET", "LIMIT", *STOP_TYPES):
            return 400, {"code": -1116, "msg": "Invalid orderType."}, 0
        stop = Decimal(params.get("stopPrice") or 0)
        if kind in STOP_TYPES:
            if stop <= 0:
                return 400, {"code": -1102, "msg": "Mandatory parameter 'stopPrice' was not sent."}, 0
            if kind == "STOP_LOSS_LIMIT" and not params.get("price"):
                return 400, {"code": -1102, "msg": "Mandatory parameter 'price' was not sent."}, 0
            last_now = self.prices[symbol]["last"]
            if (side == "SELL" and last_now <= stop) or (side == "BUY" and last_now >= stop):
                return 400, {"code": -2010, "msg": "Stop price would trigger immediately."}, 0
        fault = self._take_fault(ORDER_FAULTS)
        hidden = self._take_fault(("hidden",))
        if fault == "insufficient":
            return 400, {"code": -2010, "msg": "Account has insufficient balance for requested action."}, 0
        if fault == "unreachable":
            return 502, "<html><body><h1>502 Bad Gateway</h1></body></html>", 0
        base, quote = next(v for k, v in self.markets.items() if market_id(k) == symbol)
        last = self.prices[symbol]["last"]
        price = Decimal(params["price"]) if kind in ("LIMIT", "STOP_LOSS_LIMIT") else last
        if "quantity" in params:
            qty = Decimal(params["quantity"])
        elif "quoteOrderQty" in params and kind == "MARKET":
            qty = (Decimal(params["quoteOrderQty"]) / (last * (1 + self.fee))).quantize(Q8, ROUND_DOWN)
        else:
            return 400, {"code": -1102, "msg": "Mandatory parameter 'quantity' was not sent."}, 0
        if qty <= 0:
            return 400, {"code": -1013, "msg": "Filter failure: LOT_SIZE"}, 0
        # Funds for the whole order are checked (and a limit order's locked) up front, as Binance does.
        need_asset, need = (quote, qty * price * (1 + self.fee)) if side == "BUY" else (base, qty)
        if self._balance(need_asset)["free"] < need:
            return 400, {"code": -2010, "msg": "Account has insufficient balance for requested action."}, 0
        self._next_id += 1
        now = int(time.time() * 1000)
        order = {
            "symbol": symbol, "orderId": self._next_id, "orderListId": -1, "clientOrderId": client_id,
            "price": fmt(price if kind in ("LIMIT", "STOP_LOSS_LIMIT") else 0), "origQty": fmt(qty),
            "executedQty": fmt(0), "cummulativeQuoteQty": fmt(0), "status": "NEW", "timeInForce": "GTC",
            "type": kind, "side": side, "stopPrice": fmt(stop), "icebergQty": fmt(0), "time": now, "updateTime": now,
            "isWorking": True, "workingTime": now, "origQuoteOrderQty": fmt(params.get("quoteOrderQty", 0)),
            "selfTradePreventionMode": "NONE", "_base": base, "_quote": quote, "_fills": [], "_locked": Decimal(0),
            "_visible_at": time.time() + (self.hidden_for if hidden else 0),
        }
        self.orders.append(order)
        fill_qty = qty / 2 if fault == "partial_fill" else qty
        if kind == "MARKET":
            self._fill(order, fill_qty.quantize(Q8, ROUND_DOWN), last)
            if order["status"] != "FILLED":
                order["status"] = "EXPIRED"  # a market order that ran out of liquidity
        elif kind in STOP_TYPES:
            self._balance(need_asset)["free"] -= need
            self._balance(need_asset)["locked"] += need
            order["_locked"] = need  # waits for the price feed to reach its stop (see _match_limit_orders)
        else:
            self._balance(need_asset)["free"] -= need
            self._balance(need_asset)["locked"] += need
            order["_locked"] = need
            crosses = (side == "BUY" and last <= price) or (side == "SELL" and last >= price)
            if crosses or fault == "partial_fill":
                self._fill(order, fill_qty.quantize(Q8, ROUND_DOWN), price)
        if fault == "502":
            return 502, "<html><body><h1>502 Bad Gateway</h1></body></html>", 0
        body = {k: v for k, v in order.items() if not k.startswith("_")}
        body["transactTime"] = now
        body["fills"] = order["_fills"]
        return 200, body, (self.timeout_delay if fault == "timeout" else 0)

    def _fill(self, order: dict, qty: Decimal, price: Decimal) -> None:
        base, quote = order["_base"], order["_quote"]
        cost = qty * price
        commission = (cost * self.fee).quantize(Q8)
        commission_asset = quote
        if order["side"] == "BUY" and self.fee_in_base:
            commission, commission_asset = (qty * self.fee).quantize(Q8), base
            from_locked = min(order["_locked"], cost)
            self._balance(quote)["locked"] -= from_locked
            order["_locked"] -= from_locked
            self._balance(quote)["free"] -= cost - from_locked
            self._balance(base)["free"] += qty - commission
        elif order["side"] == "BUY":
            paid = cost + commission
            from_locked = min(order["_locked"], paid)
            self._balance(quote)["locked"] -= from_locked
            order["_locked"] -= from_locked
            self._balance(quote)["free"] -= paid - from_locked
            self._balance(base)["free"] += qty
        else:
            from_locked = min(order["_locked"], qty)
            self._balance(base)["locked"] -= from_locked
            order["_locked"] -= from_locked
            self._balance(base)["free"] -= qty - from_locked
            self._balance(quote)["free"] += cost - commission
        executed = Decimal(order["executedQty"]) + qty
        order["executedQty"] = fmt(executed)
        order["cummulativeQuoteQty"] = fmt(Decimal(order["cummulativeQuoteQty"]) + cost)
        order["status"] = "FILLED" if executed >= Decimal(order["origQty"]) else "PARTIALLY_FILLED"
        order["updateTime"] = int(time.time() * 1000)
        self._next_id += 1
        order["_fills"].append({"price": fmt(price), "qty": fmt(qty), "commission": fmt(commission),
                                "commissionAsset": commission_asset, "tradeId": self._next_id})
        if order["status"] == "FILLED" and order["_locked"] > 0:
            asset = quote if order["side"] == "BUY" else base
            self._balance(asset)["locked"] -= order["_locked"]
            self._balance(asset)["free"] += order["_locked"]
            order["_locked"] = Decimal(0)

    def _match_limit_orders(self, symbol: str) -> None:
        """Limit orders that the price reached fill; stops whose stop price it reached trigger: STOP_LOSS
        fills at market, STOP_LOSS_LIMIT becomes a limit order at its price (and fills if the price allows)."""
        last = self.prices[symbol]["last"]
        for order in self.orders:
            if order["symbol"] != symbol or order["status"] not in ("NEW", "PARTIALLY_FILLED"):
                continue
            if order["type"] in STOP_TYPES and not order.get("_triggered"):
                stop = Decimal(order["stopPrice"])
                if (order["side"] == "SELL" and last <= stop) or (order["side"] == "BUY" and last >= stop):
                    order["_triggered"] = True
                    if order["type"] == "STOP_LOSS":
                        self._fill(order, Decimal(order["origQty"]) - Decimal(order["executedQty"]), last)
                        continue
                else:
                    continue
            if order["type"] not in ("LIMIT", "STOP_LOSS_LIMIT"):
                continue
            price = Decimal(order["price"])
            if (order["side"] == "BUY" and last <= price) or (order["side"] == "SELL" and last >= price):
                at = last if order["type"] == "STOP_LOSS_LIMIT" else price  # a triggered stop takes the book
                self._fill(order, Decimal(order["origQty"]) - Decimal(order["executedQty"]), at)

    def _find(self, params) -> dict | None:
        for order in self._visible():
            if order["symbol"] != params.get("symbol"):
                continue
            if "origClientOrderId" in params and order["clientOrderId"] == params["origClientOrderId"]:
                return order
            if "orderId" in params and str(order["orderId"]) == str(params["orderId"]):
                return order
        return None

    def _get_order(self, params):
        order = self._find(params)
        if order is None:
            return 400, {"code": -2013, "msg": "Order does not exist."}, 0
        return 200, {k: v for k, v in order.items() if not k.startswith("_")}, 0

    def _cancel_order(self, params):
        order = self._find(params)
        if order is None or order["status"] not in ("NEW", "PARTIALLY_FILLED"):
            return 400, {"code": -2011, "msg": "Unknown order sent."}, 0
        order["status"] = "CANCELED"
        if order["_locked"] > 0:
            asset = order["_quote"] if order["side"] == "BUY" else order["_base"]
            self._balance(asset)["locked"] -= order["_locked"]
            self._balance(asset)["free"] += order["_locked"]
            order["_locked"] = Decimal(0)
        body = {k: v for k, v in order.items() if not k.startswith("_")}
        body["origClientOrderId"] = order["clientOrderId"]
        body["transactTime"] = int(time.time() * 1000)
        return 200, body, 0

    def _visible(self) -> list[dict]:
        """The orders a lookup shows (an accepted "hidden" order only after fake.hidden_for seconds)."""
        now = time.time()
        return [o for o in self.orders if o["_visible_at"] <= now]

    def _my_trades(self, params):
        trades = []
        for order in self._visible():
            if order["symbol"] != params.get("symbol"):
                continue
            if "orderId" in params and str(order["orderId"]) != str(params["orderId"]):
                continue
            for fill in order["_fills"]:
                trades.append({
                    "symbol": order["symbol"], "id": fill["tradeId"], "orderId": order["orderId"], "orderListId": -1,
                    "price": fill["price"], "qty": fill["qty"],
                    "quoteQty": fmt(Decimal(fill["price"]) * Decimal(fill["qty"])),
                    "commission": fill["commission"], "commissionAsset": fill["commissionAsset"],
                    "time": order["updateTime"], "isBuyer": order["side"] == "BUY", "isMaker": False,
                    "isBestMatch": True,
                })
        return 200, trades, 0

    def _open_orders(self, params):
        return 200, [
            {k: v for k, v in o.items() if not k.startswith("_")} for o in self._visible()
            if o["status"] in ("NEW", "PARTIALLY_FILLED") and o["symbol"] == params.get("symbol", o["symbol"])
        ], 0


def load_csv(path) -> list[list]:
    with open(path, newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        return [[int(r[0]), *map(float, r[1:])] for r in reader]


def _handler_for(fake: FakeExchange):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # keep test output clean
            pass

        def _serve(self, method: str):
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            params = dict(parse_qsl(parts.query))
            params.update(parse_qsl(body))
            signed_payload = parts.query if method in ("GET", "DELETE") else body
            status, payload, delay = fake.handle(method, parts.path, params, self.headers, signed_payload)
            if delay:
                time.sleep(delay)
            extra = {}
            if status == 429:
                extra["Retry-After"] = str(fake.retry_after)
            elif status == 418:
                extra["Retry-After"] = str(max(1, int(fake.banned_until - time.time()) + 1))
            data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json" if not isinstance(payload, str) else "text/plain")
                self.send_header("Content-Length", str(len(data)))
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (the "timeout" fault)

        def do_GET(self):
            self._serve("GET")

        def do_POST(self):
            self._serve("POST")

        def do_DELETE(self):
            self._serve("DELETE")

    return Handler


@pytest.fixture
def fake_exchange(settings):
    """A running fake exchange; ccxt's binance URLs point at it for the test (settings.CCXT_URL_OVERRIDES)."""
    fake = FakeExchange().start()
    settings.CCXT_URL_OVERRIDES = {"binance": fake.url}
    try:
        yield fake
    finally:
        fake.stop()
