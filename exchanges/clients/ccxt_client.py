"""The ccxt adapter (live and testnet): rate limited, every ccxt error mapped once to exchanges.errors.

- Network errors, timeouts, rate limits and 5xx are retried with exponential backoff, then raised as
  TemporaryExchangeError.
- Insufficient funds and invalid orders raise OrderRefused with the exchange's own reason.
- An authentication error marks the ExchangeAccount invalid and raises AuthenticationFailed.
- An order whose creation ended without an answer (timeout, 5xx after the exchange may have accepted it)
  is looked up by its client order id with backoff; if it does not show, it is OrderOutcomeUnknown (never
  refused, never sent with another id). The same id is sent again only where the exchange refuses duplicates
  (exchanges.capabilities); "duplicate order" means it exists: it is fetched.
- 429 and 418 (a ban) pause every request to that exchange, in every process, until the time it gave
  (exchanges.rate_limits): RateLimited, without another request.
- Brackets (type="bracket") exist only on the simulated exchanges: here they are refused, and a live bot
  watches its own stop-loss/take-profit.
"""

import json
import logging
import re
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import ccxt
from django.conf import settings
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from exchanges import rate_limits
from exchanges.candles import frame_from_ohlcv, timeframe_seconds
from exchanges.capabilities import for_exchange
from exchanges.clients.base import Balance, ExchangeClient, Market, OrderResult, Ticker, to_decimal
from exchanges.errors import (
    AuthenticationFailed,
    ExchangeError,
    OrderNotFound,
    OrderOutcomeUnknown,
    OrderRefused,
    RateLimited,
    TemporaryExchangeError,
)
from metrics import instruments
from tradingbot.log_redaction import redact

log = logging.getLogger(__name__)
ORDER_TYPES = ("market", "limit", "stop_market", "stop_limit")
# Spot stop-loss orders as Binance names them (a sell that waits for the price to fall to its stop price).
STOP_ORDER_TYPES = {"stop_market": "STOP_LOSS", "stop_limit": "STOP_LOSS_LIMIT"}


def dec(value) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def ms_to_datetime(ms) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=UTC)


@sensitive_variables()
def build_exchange(exchange_id: str, *, api_key: str = "", secret: str = "", password: str = "",
                   sandbox: bool = False, timeout: float = 10.0):
    """A ccxt exchange with rate limiting on, spot markets only, URLs redirected by settings.CCXT_URL_OVERRIDES.

    sandbox=True on an exchange without a testnet URL is an ExchangeError (ccxt itself would raise a TypeError).
    """
    config = {
        "enableRateLimit": True,
        "timeout": int(timeout * 1000),
        # Spot only: no futures, margin-pair or currency endpoints (binance asks for those with keys set).
        "options": {"defaultType": "spot", "fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False,
                    "fetchMargins": False, "warnOnFetchOpenOrdersWithoutSymbol": False},
    }
    if api_key:
        config.update(apiKey=api_key, secret=secret)
    if password:
        config["password"] = password
    exchange = getattr(ccxt, exchange_id)(config)
    if sandbox:
        if not exchange.urls.get("test"):
            raise ExchangeError(f"{exchange_id} has no testnet (sandbox) in ccxt: use a live or paper account")
        exchange.set_sandbox_mode(True)
    override = settings.CCXT_URL_OVERRIDES.get(exchange_id)
    if override:
        exchange.urls["api"] = _redirect(exchange.urls["api"], override.rstrip("/"))
    return exchange


def _redirect(urls, base: str):
    if isinstance(urls, dict):
        return {key: _redirect(value, base) for key, value in urls.items()}
    if isinstance(urls, str) and urls.startswith("http"):
        return base + urlsplit(urls).path
    return urls


def _api_host(urls) -> str:
    """The host the API calls go to (a pause is per exchange and host: live and testnet are separate)."""
    if isinstance(urls, dict):
        for value in urls.values():
            host = _api_host(value)
            if host:
                return host
        return ""
    return urlsplit(urls).netloc if isinstance(urls, str) else ""


def _is_duplicate(exc: Exception) -> bool:
    text = str(exc).lower()
    return "duplicate order" in text or "duplicate client" in text or "duplicated" in text


def exchange_reason(exc: Exception) -> str:
    """The exchange's own words from a ccxt error, without URLs or query strings (which carry signatures), and
    with every known secret redacted (an exchange or proxy that echoes the request echoes the API key)."""
    text = redact(str(exc))
    match = re.search(r"\{.*\}", text, re.S)
    if match:
        try:
            body = json.loads(match.group(0))
            if isinstance(body, dict) and body.get("msg"):
                return redact(str(body["msg"]))[:300]
        except ValueError:
            pass
    text = re.sub(r"https?://\S+", "", text)
    return re.sub(r"\s+", " ", text).strip()[:300] or exc.__class__.__name__


class CcxtClient(ExchangeClient):
    @sensitive_variables()
    def __init__(self, account, *, retries: int = 3, backoff: float = 0.5, timeout: float = 10.0, exchange=None):
        self.account = account
        self.exchange_id = account.exchange_id
        self.retries = retries
        self.backoff = backoff
        if exchange is None:
            reveal = lambda secret: secret.reveal() if secret else ""  # noqa: E731
            exchange = build_exchange(
                account.exchange_id, api_key=reveal(account.api_key), secret=reveal(account.api_secret),
                password=reveal(account.passphrase), sandbox=account.mode == account.Mode.TESTNET, timeout=timeout,
            )
        self.exchange = instruments.instrument_exchange(exchange)
        self.capabilities = for_exchange(self.exchange_id)
        self.pause_key = rate_limits.key_for(self.exchange_id, _api_host(exchange.urls.get("api")))

    # --- the error edge ---

    def _check_pause(self, what: str) -> None:
        paused = rate_limits.paused_until(self.pause_key)
        if paused is not None:
            until, reason = paused
            raise RateLimited(f"{what}: requests to {self.exchange_id} are paused until {until:%Y-%m-%d %H:%M:%S} "
                              f"UTC ({reason}); nothing was sent", until)

    def _resync_clock(self, what: str) -> None:
        """The exchange says our clock is off: sign with its time from now on (ccxt's timeDifference)."""
        log.warning("%s: the exchange refused our timestamp; measuring the clock offset", what)
        self.exchange.options["adjustForTimeDifference"] = True
        try:
            self.exchange.load_time_difference()
        except ccxt.BaseError as exc:
            raise TemporaryExchangeError(f"{what}: clock skew, and the exchange's time is unavailable: "
                                         f"{exchange_reason(exc)}")

    def _rate_limited(self, what: str, exc: Exception) -> RateLimited:
        """A 429 or 418: pause this exchange for every process until the time it gave."""
        headers = getattr(self.exchange, "last_response_headers", None) or {}
        status = 418 if (" 418 " in str(exc) or "banned until" in str(exc)) else 429
        until = rate_limits.retry_after(status, headers, str(exc))
        reason = ("IP banned by the exchange (418)" if status == 418 else "rate limit reached (429)")
        rate_limits.pause(self.pause_key, until, reason)
        log.warning("%s: %s; pausing requests to %s until %s", what, reason, self.exchange_id, until)
        return RateLimited(f"{what}: {reason}; requests to {self.exchange_id} paused until "
                           f"{until:%Y-%m-%d %H:%M:%S} UTC", until)

    def _call(self, what: str, fn, *args, **kwargs):
        """Run one ccxt call; retry temporary failures with backoff; map every ccxt error."""
        attempt = 0
        while True:
            self._check_pause(what)
            try:
                return fn(*args, **kwargs)
            except (ccxt.RateLimitExceeded, ccxt.DDoSProtection) as exc:
                raise self._rate_limited(what, exc)
            except ccxt.InvalidNonce as exc:
                if attempt >= 1:
                    raise TemporaryExchangeError(f"{what}: {exchange_reason(exc)} (clock skew)")
                self._resync_clock(what)
                attempt += 1
            except ccxt.NetworkError as exc:
                if attempt >= self.retries:
                    raise TemporaryExchangeError(
                        f"{what}: {exchange_reason(exc)} ({exc.__class__.__name__}, {attempt + 1} attempts)"
                    )
                self._sleep(attempt)
                attempt += 1
            except ccxt.BaseError as exc:
                raise self._map(what, exc)

    def _sleep(self, attempt: int) -> None:
        time.sleep(self.backoff * (2 ** attempt))

    def _map(self, what: str, exc: Exception) -> ExchangeError:
        reason = exchange_reason(exc)
        if isinstance(exc, ccxt.AuthenticationError):
            self._mark_invalid(reason)
            return AuthenticationFailed(f"the exchange rejected the API keys: {reason}")
        if isinstance(exc, ccxt.OrderNotFound):
            return OrderNotFound(f"{what}: {reason}")
        if isinstance(exc, ccxt.BadSymbol):
            return OrderRefused(f"unknown market: {reason}")
        if isinstance(exc, (ccxt.InsufficientFunds, ccxt.InvalidOrder, ccxt.BadRequest, ccxt.OperationRejected,
                            ccxt.NotSupported, ccxt.ArgumentsRequired)):
            return OrderRefused(reason)
        return ExchangeError(f"{what}: {reason}")

    def _mark_invalid(self, reason: str) -> None:
        account = self.account
        if getattr(account, "pk", None) is None:
            return
        detail = f"Keys rejected: {reason}"[:500]
        type(account).objects.filter(pk=account.pk).update(
            status=account.Status.INVALID, status_detail=detail, updated_at=timezone.now()
        )
        account.status, account.status_detail = account.Status.INVALID, detail

    # --- market data ---

    def now(self) -> datetime:
        return timezone.now()

    def load_markets(self) -> dict[str, Market]:
        markets = self._call("load markets", self.exchange.load_markets)
        result = {}
        for symbol, m in markets.items():
            limits = m.get("limits") or {}
            precision = m.get("precision") or {}
            result[symbol] = Market(
                symbol=symbol, base=m["base"], quote=m["quote"], active=m.get("active") is not False,
                amount_step=dec(precision.get("amount")), price_step=dec(precision.get("price")),
                min_amount=dec((limits.get("amount") or {}).get("min")),
                min_cost=dec((limits.get("cost") or {}).get("min")), taker_fee=dec(m.get("taker")),
            )
        return result

    def fetch_candles(self, symbol, timeframe, since=None, limit=None):
        since_ms = int(since.timestamp() * 1000) if since else None
        rows = self._call(f"candles {symbol} {timeframe}", self.exchange.fetch_ohlcv, symbol, timeframe,
                          since_ms, limit)
        frame = frame_from_ohlcv(rows)
        # The last candle an exchange returns is usually still forming: keep only those closed by now.
        return frame[frame.index <= self.now() - timedelta(seconds=timeframe_seconds(timeframe))]

    def fetch_ticker(self, symbol) -> Ticker:
        t = self._call(f"ticker {symbol}", self.exchange.fetch_ticker, symbol)
        return Ticker(symbol=symbol, bid=dec(t.get("bid")), ask=dec(t.get("ask")), last=dec(t.get("last")),
                      base_volume=dec(t.get("baseVolume")), quote_volume=dec(t.get("quoteVolume")),
                      time=ms_to_datetime(t.get("timestamp")))

    def fetch_balance(self) -> dict[str, Balance]:
        raw = self._call("balance", self.exchange.fetch_balance)
        result = {}
        for asset, total in (raw.get("total") or {}).items():
            if total is None:
                continue
            result[asset] = Balance(free=dec(raw["free"].get(asset) or 0), used=dec(raw["used"].get(asset) or 0),
                                    total=dec(total))
        return result

    # --- orders ---

    def create_order(self, symbol, side, type, amount, price=None, *, client_order_id, stop_price=None, params=None):
        params = dict(params or {})
        if type == "bracket":
            raise OrderRefused("bracket exits exist only on the paper and replay exchanges; "
                               "a live bot watches its own stop-loss and take-profit")
        if type not in ORDER_TYPES:
            raise OrderRefused(f"unknown order type {type!r} (one of {', '.join(ORDER_TYPES)})")
        if side not in ("buy", "sell"):
            raise OrderRefused(f"side must be buy or sell, not {side!r}")
        if not client_order_id:
            raise OrderRefused("a client order id is required (it is how an unknown outcome is looked up)")
        amount, price, stop_price = (to_decimal(amount, "amount"), to_decimal(price, "price"),
                                     to_decimal(stop_price, "stop_price"))
        ccxt_params = {"clientOrderId": client_order_id}
        ccxt_type = "limit" if type == "limit" else "market"
        if type in ("limit", "stop_limit") and price is None:
            raise OrderRefused(f"a {type} order needs a price")
        if type in STOP_ORDER_TYPES:
            if stop_price is None:
                raise OrderRefused(f"a {type} order needs a stop_price")
            if type not in self.capabilities.stop_orders:
                raise OrderRefused(f"{self.exchange_id} holds no {type} orders")
            ccxt_type = STOP_ORDER_TYPES[type]
            ccxt_params["stopPrice"] = float(stop_price)
            if type == "stop_limit":
                ccxt_params["timeInForce"] = "GTC"
        quote_amount = params.pop("quote_amount", None)
        if quote_amount is not None:
            if not (type == "market" and side == "buy"):
                raise OrderRefused("quote_amount is only for market buys")
            ccxt_params["cost"] = float(to_decimal(quote_amount, "quote_amount"))
        elif amount is None or amount <= 0:
            raise OrderRefused("the amount must be positive")
        ccxt_params.update(params)
        args = (symbol, ccxt_type, side, None if amount is None else float(amount),
                None if price is None else float(price), ccxt_params)
        what = f"create {side} {type} {symbol} {client_order_id}"

        # Markets first, with their own retries: an error loading them is not an order of unknown outcome.
        self._call("load markets", self.exchange.load_markets)
        sends = 0
        while True:
            self._check_pause(what)
            sends += 1
            try:
                raw = self.exchange.create_order(*args)
                return self._order(raw, client_order_id)
            except (ccxt.RateLimitExceeded, ccxt.DDoSProtection) as exc:
                # The exchange's limiter answered: the order was not taken.
                raise self._rate_limited(what, exc)
            except ccxt.InvalidNonce as exc:
                # Refused for our clock (the exchange took nothing): measure the offset, send once more.
                if sends > 1:
                    raise TemporaryExchangeError(f"{what}: {exchange_reason(exc)} (clock skew); not placed")
                self._resync_clock(what)
            except ccxt.NetworkError as exc:
                # Sent, but no answer (a timeout, a 502 from a proxy after the exchange took it): it may exist.
                log.warning("%s: no answer (%s); looking it up by client order id", what, exc.__class__.__name__,
                            extra={"client_order_id": client_order_id})
                found = self._lookup(symbol, client_order_id)
                if found is not None:
                    return found
                if self.capabilities.refuses_duplicates and sends <= self.retries:
                    continue  # the same id again: a second order cannot come of it
                raise OrderOutcomeUnknown(
                    f"{what}: {exchange_reason(exc)}; the exchange has not shown the order yet: its outcome is "
                    f"unknown until a lookup by its client order id answers (nothing else is sent meanwhile)")
            except ccxt.InvalidOrder as exc:
                if _is_duplicate(exc):
                    # An earlier attempt (or an earlier tick) did reach the exchange: that order is the answer.
                    found = self._lookup(symbol, client_order_id)
                    if found is not None:
                        return found
                    raise OrderOutcomeUnknown(
                        f"{what}: the exchange says the order exists (duplicate client order id) but does not show "
                        f"it yet; it is looked up again before anything else is sent")
                raise self._map(what, exc)
            except ccxt.BaseError as exc:
                raise self._map(what, exc)

    def _lookup(self, symbol: str, client_order_id: str) -> OrderResult | None:
        """The order by client id, asked a few times with backoff; None while the exchange says it has none.

        None is not "it does not exist": an accepted order may stay invisible for a while (the caller keeps it
        unknown, see exchanges.capabilities.lookup_window). While the exchange cannot answer at all, that is a
        TemporaryExchangeError saying the outcome could not be confirmed.
        """
        last_error = None
        answered = False
        for attempt in range(self.retries + 1):
            self._sleep(attempt)
            try:
                return self._find(symbol, client_order_id)
            except OrderNotFound:
                answered = True
            except RateLimited:
                raise
            except TemporaryExchangeError as exc:
                last_error = exc
        if answered:
            return None
        raise OrderOutcomeUnknown(
            f"order {client_order_id}: {last_error}; its outcome could not be confirmed "
            f"(look it up by its client order id before placing it again)"
        )

    def _find(self, symbol: str, client_order_id: str) -> OrderResult:
        """One lookup by client order id: the order query where the exchange has one, else its open orders."""
        if self.capabilities.fetch_by_client_id:
            raw = self._call_once(f"look up order {client_order_id}", self.exchange.fetch_order, "", symbol,
                                  {"origClientOrderId": client_order_id})
            return self._with_fee(self._order(raw, client_order_id))
        if self.capabilities.open_orders:
            for raw in self._call_once("open orders", self.exchange.fetch_open_orders, symbol):
                order = self._order(raw, None)
                if order.client_order_id == client_order_id:
                    return order
        raise OrderNotFound(f"order {client_order_id}: not found")

    def _call_once(self, what: str, fn, *args):
        """One request, no retry (the caller has its own backoff); errors mapped."""
        self._check_pause(what)
        try:
            return fn(*args)
        except (ccxt.RateLimitExceeded, ccxt.DDoSProtection) as exc:
            raise self._rate_limited(what, exc)
        except ccxt.InvalidNonce as exc:
            self._resync_clock(what)
            raise TemporaryExchangeError(f"{what}: {exchange_reason(exc)} (clock skew; resynchronised)")
        except ccxt.NetworkError as exc:
            raise TemporaryExchangeError(f"{what}: {exchange_reason(exc)} ({exc.__class__.__name__})")
        except ccxt.BaseError as exc:
            raise self._map(what, exc)

    def fetch_order(self, symbol, *, client_order_id=None, exchange_order_id=None) -> OrderResult:
        params = {"origClientOrderId": client_order_id} if client_order_id else {}
        if not client_order_id and not exchange_order_id:
            raise OrderNotFound("give a client_order_id or an exchange_order_id")
        if client_order_id and not exchange_order_id and not self.capabilities.fetch_by_client_id:
            return self._find(symbol, client_order_id)
        raw = self._call(f"fetch order {client_order_id or exchange_order_id}", self.exchange.fetch_order,
                         exchange_order_id or "", symbol, params)
        return self._with_fee(self._order(raw, client_order_id))

    def _with_fee(self, order: OrderResult) -> OrderResult:
        """An order query does not carry the fee (Binance): sum it from the order's trades when it filled."""
        if order.fee is not None or not order.filled or not order.exchange_order_id:
            return order
        try:
            trades = self._call(f"trades of order {order.client_order_id}", self.exchange.fetch_order_trades,
                                order.exchange_order_id, order.symbol)
        except ExchangeError:
            return order  # the fill stands; only its fee is unknown for now
        fees = [t["fee"] for t in trades if t.get("fee") and t["fee"].get("cost") is not None]
        if fees:
            order.fee = sum((dec(f["cost"]) for f in fees), Decimal(0))
            order.fee_currency = fees[0].get("currency")
        return order

    def cancel_order(self, symbol, *, client_order_id=None, exchange_order_id=None) -> OrderResult:
        params = {"origClientOrderId": client_order_id} if client_order_id else {}
        if not client_order_id and not exchange_order_id:
            raise OrderNotFound("give a client_order_id or an exchange_order_id")
        raw = self._call(f"cancel order {client_order_id or exchange_order_id}", self.exchange.cancel_order,
                         exchange_order_id or "", symbol, params)
        return self._order(raw, client_order_id)

    def fetch_open_orders(self, symbol=None) -> list[OrderResult]:
        raws = self._call("open orders", self.exchange.fetch_open_orders, symbol)
        return [self._order(raw, None) for raw in raws]

    def _order(self, raw: dict, client_order_id: str | None) -> OrderResult:
        info = raw.get("info") or {}
        fee = raw.get("fee") or {}
        fees = raw.get("fees") or ([fee] if fee else [])
        fee_total = sum((dec(f["cost"]) for f in fees if f and f.get("cost") is not None), Decimal(0)) if fees else None
        fee_currency = next((f.get("currency") for f in fees if f and f.get("currency")), None)
        return OrderResult(
            client_order_id=client_order_id or info.get("origClientOrderId") or raw.get("clientOrderId") or "",
            exchange_order_id=str(raw["id"]) if raw.get("id") is not None else None,
            symbol=raw.get("symbol"), side=raw.get("side"),
            type="stop_market" if raw.get("type") in ("stop_loss", "stop_market", "stop") else raw.get("type"),
            amount=dec(raw.get("amount")), price=dec(raw.get("price")) or None,
            status=raw.get("status") or "open", filled=dec(raw.get("filled")) or Decimal(0),
            average=dec(raw.get("average")) or None, fee=fee_total, fee_currency=fee_currency,
            timestamp=ms_to_datetime(raw.get("timestamp")), raw=info,
        )

    def close(self) -> None:
        session = getattr(self.exchange, "session", None)
        if session is not None:
            session.close()
