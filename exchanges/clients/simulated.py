"""The simulated exchange shared by paper and replay: balances and orders in the database, fills by
exchanges.execution, orders processed lazily candle by candle up to now() on every client call.

Fill rules (the backtester's, see ../CONVENTIONS.md and exchanges.execution):
- market: at the open of the first candle whose open time >= the order time, buy_price/sell_price
  (slippage), fee per side. Replay stamps an order with the open time of the candle in progress, so a
  bot ticking after candle i closed fills at the open of i+1. Paper fills market orders at once at the
  live ticker (ask for a buy, bid for a sell), with slippage.
- limit: checked against each later closed candle: a buy fills when low <= price, at min(open, price);
  a sell when high >= price, at max(open, price). No slippage.
- stop_market: a sell triggers when low <= stop (fill at min(open, stop), slippage); a buy when
  high >= stop (max(open, stop)).
- bracket (long exit, side "sell"), params: entry_price (required), stop_loss / take_profit / trailing as
  fractions of entry (as the backtester and the Bot's risk settings), or stop_loss_price /
  take_profit_price as prices; optional entry_time (default: the candle in progress when placed). It is
  checked on every closed candle from the entry candle on with execution.stop_level/protective_exit
  (stop wins when both hit; trailing peak = highest high of the candles before the one checked, the entry
  price counting). A stop fills with slippage, a take-profit at its price. The closed bracket's
  OrderResult.raw["reason"] says which: stop_loss, take_profit or trailing_stop.
- A market buy may give params={"quote_amount": cash} instead of an amount: units =
  execution.entry_units(cash, buy price, fee), the backtester's all-in entry.
- Partial fills: with max_volume_share set, one candle fills at most share * its volume; the rest waits
  for the next candles (paper default 1.0, i.e. never more than the candle traded; replay default None).
- Funds are reserved when an order is placed (buy: quote for amount * price * (1 + fee); sell: base) and
  released when it ends. An order the wallet cannot pay for is refused (OrderRefused), nothing stored.
"""

from datetime import datetime, timedelta
from decimal import Decimal

import pandas as pd
from django.db import IntegrityError, transaction

from exchanges import execution
from exchanges.candles import timeframe_seconds
from exchanges.capabilities import SIMULATED
from exchanges.clients.base import Balance, ExchangeClient, Market, OrderResult, to_decimal
from exchanges.errors import OrderNotFound, OrderRefused
from exchanges.models import Candle, SimBalance, SimOrder, SimWallet

ORDER_TYPES = ("market", "limit", "stop_market", "bracket")
Q = Decimal("1e-16")
ZERO = Decimal(0)
DUST = Decimal("1e-12")


def dec(value: float) -> Decimal:
    return Decimal(repr(float(value))).quantize(Q)


def floor_time(t: datetime, seconds: int) -> datetime:
    epoch = int(t.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=t.tzinfo)


def split_symbol(symbol: str) -> tuple[str, str]:
    if "/" not in symbol:
        raise OrderRefused(f"symbol {symbol!r} must look like BASE/QUOTE")
    base, quote = symbol.split("/", 1)
    return base, quote.split(":")[0]


class SimulatedExchange(ExchangeClient):
    capabilities = SIMULATED
    default_timeframe = "1m"
    default_volume_share: float | None = None

    def __init__(self, account, *, wallet_key: str | None = None, starting_balance=Decimal("10000"),
                 quote_currency: str = "USDT", fee: float = 0.001, slippage: float = 0.0,
                 max_volume_share: float | None = -1.0, timeframe: str | None = None,
                 candle_exchange: str | None = None):
        self.account = account
        self.exchange_id = account.exchange_id
        self.candle_exchange = candle_exchange or account.exchange_id
        self.wallet_key = wallet_key or f"account:{account.pk}"
        self.starting_balance = Decimal(str(starting_balance))
        self.quote_currency = quote_currency
        self.fee = float(fee)
        self.slippage = float(slippage)
        self.max_volume_share = self.default_volume_share if max_volume_share == -1.0 else max_volume_share
        self.timeframe = timeframe or self.default_timeframe
        self.step = timeframe_seconds(self.timeframe)

    # --- what paper and replay provide ---

    def now(self) -> datetime:
        raise NotImplementedError

    def _fill_candles(self, symbol: str, start: datetime) -> pd.DataFrame:
        """Candles of self.timeframe with open time >= start, up to those open at now()."""
        raise NotImplementedError

    def _immediate_price(self, symbol: str, side: str) -> float | None:
        """A price a market order fills at right away (paper: the live ticker); None: wait for a candle open."""
        return None

    def _immediate_cap(self, symbol: str) -> float | None:
        """At most how many units an immediate fill may take (None: no limit)."""
        return None

    def _order_time(self) -> datetime:
        return self.now()

    def stored_markets(self) -> dict[str, Market]:
        """The markets there are stored candles of (replay, offline paper)."""
        symbols = (Candle.objects.filter(exchange=self.candle_exchange).values_list("symbol", flat=True)
                   .distinct().order_by("symbol"))
        markets = {}
        for symbol in symbols:
            base, quote = split_symbol(symbol)
            markets[symbol] = Market(symbol=symbol, base=base, quote=quote, taker_fee=Decimal(repr(self.fee)))
        return markets

    # --- the wallet ---

    def wallet(self) -> SimWallet:
        wallet, created = SimWallet.objects.get_or_create(key=self.wallet_key)
        if created:
            SimBalance.objects.get_or_create(wallet=wallet, asset=self.quote_currency,
                                             defaults={"free": self.starting_balance})
        return wallet

    def _balance(self, wallet: SimWallet, asset: str) -> SimBalance:
        balance, _ = SimBalance.objects.select_for_update().get_or_create(
            wallet=wallet, asset=asset, defaults={"free": ZERO, "used": ZERO})
        return balance

    def fetch_balance(self) -> dict[str, Balance]:
        self.process()
        return {b.asset: Balance(free=b.free, used=b.used, total=b.free + b.used)
                for b in SimBalance.objects.filter(wallet=self.wallet())}

    # --- orders ---

    def create_order(self, symbol, side, type, amount, price=None, *, client_order_id, stop_price=None, params=None):
        params = dict(params or {})
        base, quote = split_symbol(symbol)
        if type not in ORDER_TYPES:
            raise OrderRefused(f"unknown order type {type!r} (one of {', '.join(ORDER_TYPES)})")
        if side not in ("buy", "sell"):
            raise OrderRefused(f"side must be buy or sell, not {side!r}")
        if not client_order_id:
            raise OrderRefused("a client order id is required")
        quote_amount = params.pop("quote_amount", None)
        if quote_amount is not None:
            if not (type == "market" and side == "buy"):
                raise OrderRefused("quote_amount is only for market buys")
            quote_amount = to_decimal(quote_amount, "quote_amount")
            if quote_amount <= 0:
                raise OrderRefused("quote_amount must be positive")
            amount = None
        else:
            amount = to_decimal(amount, "amount")
            if amount is None or amount <= 0:
                raise OrderRefused("the amount must be positive")
        price = to_decimal(price, "price")
        stop_price = to_decimal(stop_price, "stop_price")
        bracket = {}
        if type == "limit" and (price is None or price <= 0):
            raise OrderRefused("a limit order needs a positive price")
        if type == "stop_market" and (stop_price is None or stop_price <= 0):
            raise OrderRefused("a stop_market order needs a positive stop_price")
        if type == "bracket":
            bracket = self._bracket_params(side, params)

        self.process(symbol)
        existing = self._find(client_order_id=client_order_id)
        if existing is not None:
            return self._result(existing)  # the same client id twice is the same order, as on an exchange
        now = self.now()
        placed_at = self._order_time()
        with transaction.atomic():
            wallet = SimWallet.objects.select_for_update().get(pk=self.wallet().pk)
            order = SimOrder(
                wallet=wallet, client_order_id=client_order_id, symbol=symbol, side=side, type=type,
                amount=amount, quote_amount=quote_amount, price=price, stop_price=stop_price, bracket=bracket,
                placed_at=placed_at, updated_at=now,
            )
            asset, need = self._reservation(order, symbol)
            balance = self._balance(wallet, asset)
            if order.side == "sell" and balance.free < need <= balance.free * (1 + DUST):
                # Selling "everything held": SQLite keeps decimals to 15 significant digits, so the amount a
                # caller read back may exceed the balance in the last digit. Sell what is there.
                need = order.amount = balance.free
            if balance.free < need:
                raise OrderRefused(
                    f"insufficient {asset}: {type} {side} needs {need.normalize():f}, free {balance.free.normalize():f}"
                )
            balance.free -= need
            balance.used += need
            balance.save()
            order.reserved = need
            try:
                with transaction.atomic():
                    order.save()
            except IntegrityError:
                raise OrderRefused(f"duplicate client order id {client_order_id}")
            if type == "market":
                immediate = self._immediate_price(symbol, side)
                if immediate is not None:
                    self._fill(order, immediate, self._immediate_cap(symbol), when=now)
        self.process(symbol)
        order.refresh_from_db()
        return self._result(order)

    def _bracket_params(self, side: str, params: dict) -> dict:
        if side != "sell":
            raise OrderRefused("a bracket is a long exit: side must be sell")
        try:
            entry = float(params["entry_price"])
        except (KeyError, TypeError, ValueError):
            raise OrderRefused("a bracket needs params entry_price (the fill price of the entry)")
        if not entry > 0 or entry == float("inf"):
            raise OrderRefused(f"bracket entry_price must be a positive number, not {params['entry_price']!r}")
        bracket = {"entry_price": entry}
        for key in ("stop_loss", "take_profit", "trailing", "stop_loss_price", "take_profit_price"):
            if params.get(key) not in (None, ""):
                try:
                    value = float(params[key])
                except (TypeError, ValueError):
                    raise OrderRefused(f"bracket {key} must be a number, not {params[key]!r}")
                if value < 0:
                    raise OrderRefused(f"bracket {key} must not be negative")
                bracket[key] = value
        if not any(bracket.get(k) for k in ("stop_loss", "take_profit", "trailing", "stop_loss_price",
                                            "take_profit_price")):
            raise OrderRefused("a bracket needs a stop_loss, take_profit or trailing (fraction) or a price")
        if params.get("entry_time"):
            bracket["entry_time"] = pd.Timestamp(params["entry_time"]).isoformat()
        return bracket

    def _reservation(self, order: SimOrder, symbol: str) -> tuple[str, Decimal]:
        base, quote = split_symbol(symbol)
        if order.side == "sell":
            return base, order.amount
        if order.quote_amount is not None:
            return quote, order.quote_amount
        if order.type == "limit":
            reference = order.price  # a limit buy never pays more than its price
        else:
            reference = order.stop_price if order.type == "stop_market" else self._reference_price(symbol)
            reference = dec(execution.buy_price(float(reference), self.slippage))
        return quote, (order.amount * reference * (1 + Decimal(repr(self.fee)))).quantize(Q)

    def _reference_price(self, symbol: str) -> Decimal:
        price = self._immediate_price(symbol, "buy")
        if price is None:
            candles = self._fill_candles(symbol, floor_time(self.now(), self.step) - timedelta(seconds=self.step))
            if candles.empty:
                raise OrderRefused(f"no price for {symbol} at {self.now():%Y-%m-%d %H:%M} UTC")
            price = float(candles["open"].iloc[-1])
        return Decimal(repr(price))

    def fetch_order(self, symbol, *, client_order_id=None, exchange_order_id=None) -> OrderResult:
        self.process(symbol)
        order = self._find(client_order_id=client_order_id, exchange_order_id=exchange_order_id)
        if order is None:
            raise OrderNotFound(f"no order {client_order_id or exchange_order_id} on {self.wallet_key}")
        return self._result(order)

    def cancel_order(self, symbol, *, client_order_id=None, exchange_order_id=None) -> OrderResult:
        self.process(symbol)
        with transaction.atomic():
            order = self._find(client_order_id=client_order_id, exchange_order_id=exchange_order_id, lock=True)
            if order is None:
                raise OrderNotFound(f"no order {client_order_id or exchange_order_id} on {self.wallet_key}")
            if order.status != SimOrder.Status.OPEN:
                raise OrderNotFound(f"order {order.client_order_id} is {order.status}, not open")
            self._finish(order, SimOrder.Status.CANCELED, "canceled", when=self.now())
        return self._result(order)

    def fetch_open_orders(self, symbol=None) -> list[OrderResult]:
        self.process(symbol)
        orders = SimOrder.objects.filter(wallet__key=self.wallet_key, status=SimOrder.Status.OPEN)
        if symbol:
            orders = orders.filter(symbol=symbol)
        return [self._result(o) for o in orders.order_by("id")]

    def _find(self, *, client_order_id=None, exchange_order_id=None, lock=False) -> SimOrder | None:
        orders = SimOrder.objects.filter(wallet__key=self.wallet_key)
        if lock:
            orders = orders.select_for_update()
        if client_order_id:
            return orders.filter(client_order_id=client_order_id).first()
        if exchange_order_id and str(exchange_order_id).startswith("sim-"):
            return orders.filter(pk=str(exchange_order_id)[4:]).first() if exchange_order_id[4:].isdigit() else None
        return None

    # --- processing ---

    def process(self, symbol: str | None = None) -> None:
        """Bring every open order (of `symbol`, or all) up to now(); idempotent, resumable after a crash."""
        ids = SimOrder.objects.filter(wallet__key=self.wallet_key, status=SimOrder.Status.OPEN)
        if symbol:
            ids = ids.filter(symbol=symbol)
        for order_id in ids.order_by("id").values_list("id", flat=True):
            with transaction.atomic():
                order = SimOrder.objects.select_for_update().filter(pk=order_id, status=SimOrder.Status.OPEN).first()
                if order is not None:
                    self._process_order(order)

    def _first_candle_time(self, order: SimOrder) -> datetime:
        if order.processed_until is not None:
            return order.processed_until + timedelta(seconds=self.step)
        if order.type == "bracket":
            if order.bracket.get("entry_time"):
                return floor_time(pd.Timestamp(order.bracket["entry_time"]).to_pydatetime(), self.step)
            return floor_time(order.placed_at, self.step)
        # The first candle opening at or after the order.
        floor = floor_time(order.placed_at, self.step)
        return floor if floor == order.placed_at else floor + timedelta(seconds=self.step)

    def _process_order(self, order: SimOrder) -> None:
        now = self.now()
        start = self._first_candle_time(order)
        if start > now:
            return
        candles = self._fill_candles(order.symbol, start)
        if candles.empty:
            return
        closed_by = now - timedelta(seconds=self.step)
        for time, row in zip(candles.index, candles.itertuples(index=False), strict=True):
            time = time.to_pydatetime()
            if time < start:
                continue
            # A market order needs only the candle's open; the others need the whole (closed) candle.
            if order.type != "market" and time > closed_by:
                break
            if time > now:
                break
            self._on_candle(order, time, row)
            order.processed_until = time
            if order.status != SimOrder.Status.OPEN:
                break
        order.save()

    def _volume_cap(self, volume: float) -> float | None:
        return None if self.max_volume_share is None else volume * self.max_volume_share

    def _on_candle(self, order: SimOrder, time: datetime, c) -> None:
        s = self.slippage
        cap = self._volume_cap(c.volume)
        when = time
        if order.type == "market":
            price = execution.buy_price(c.open, s) if order.side == "buy" else execution.sell_price(c.open, s)
            self._fill(order, price, cap, when=when)
        elif order.type == "limit":
            limit = float(order.price)
            if order.side == "buy" and c.low <= limit:
                self._fill(order, min(c.open, limit), cap, when=when)
            elif order.side == "sell" and c.high >= limit:
                self._fill(order, max(c.open, limit), cap, when=when)
        elif order.type == "stop_market":
            stop = float(order.stop_price)
            if order.side == "sell" and c.low <= stop:
                self._fill(order, execution.sell_price(min(c.open, stop), s), cap, when=when)
            elif order.side == "buy" and c.high >= stop:
                self._fill(order, execution.buy_price(max(c.open, stop), s), cap, when=when)
        elif order.type == "bracket":
            self._on_bracket_candle(order, c, when)

    def _on_bracket_candle(self, order: SimOrder, c, when: datetime) -> None:
        b = order.bracket
        entry = b["entry_price"]
        peak = order.peak if order.peak is not None else entry
        trailing = b.get("trailing", 0.0)
        if "stop_loss_price" in b:
            fixed = b["stop_loss_price"]
            trail_level = peak * (1.0 - trailing) if trailing > 0 else 0.0
            stop = max(fixed, trail_level)
            trailing_active = trail_level > fixed
        else:
            stop_loss = b.get("stop_loss", 0.0)
            stop = execution.stop_level(entry, stop_loss, trailing, peak)
            trailing_active = execution.stop_is_trailing(entry, stop_loss, trailing, peak)
        if "take_profit_price" in b:
            target = b["take_profit_price"]
        else:
            target = entry * (1.0 + b["take_profit"]) if b.get("take_profit", 0.0) > 0 else 0.0
        level, reason = execution.protective_exit(c.open, c.high, c.low, stop, target, trailing_active)
        if reason != execution.NO_EXIT:
            price = level if reason == execution.EXIT_TAKE_PROFIT else execution.sell_price(level, self.slippage)
            order.reason = execution.EXIT_REASONS[reason]
            self._fill(order, price, None, when=when)
        elif c.high > peak:
            order.peak = c.high
        else:
            order.peak = peak

    def _fill(self, order: SimOrder, price: float, cap: float | None, *, when: datetime) -> None:
        """Fill what is left of `order` at `price` (at most `cap` units), moving balances and fees."""
        base, quote = split_symbol(order.symbol)
        wallet = order.wallet
        fee_rate = self.fee
        if order.quote_amount is not None and order.filled == 0:
            units = execution.entry_units(float(order.quote_amount), price, fee_rate)
        else:
            units = float((order.amount if order.amount is not None else order.filled) - order.filled)
        if cap is not None:
            units = min(units, cap)
        if units <= 0:
            return
        qty = dec(units)
        if order.side == "buy":
            quote_balance = self._balance(wallet, quote)
            available = float(order.reserved + quote_balance.free)
            if units * price * (1 + fee_rate) > available:
                units = execution.entry_units(available, price, fee_rate)
                qty = dec(units)
                if qty <= 0:
                    self._finish(order, SimOrder.Status.EXPIRED, "insufficient funds at the fill", when=when)
                    return
            fee = dec(execution.entry_fee(units, price, fee_rate))
            if order.quote_amount is not None and units == execution.entry_units(
                    float(order.quote_amount), price, fee_rate):
                paid = min(order.quote_amount, order.reserved + quote_balance.free)  # all-in: cash + fee = C
                cost = paid - fee
            else:
                cost = dec(units * price)
                paid = cost + fee
            from_reserved = min(order.reserved, paid)
            quote_balance.used -= from_reserved
            quote_balance.free -= paid - from_reserved
            order.reserved -= from_reserved
            quote_balance.save()
            base_balance = self._balance(wallet, base)
            base_balance.free += qty
            base_balance.save()
        else:
            base_balance = self._balance(wallet, base)
            from_reserved = min(order.reserved, qty)
            if qty - from_reserved > base_balance.free:
                qty = from_reserved + base_balance.free
                units = float(qty)
            base_balance.used -= from_reserved
            base_balance.free -= qty - from_reserved
            order.reserved -= from_reserved
            base_balance.save()
            cost, fee = dec(units * price), dec(execution.exit_fee(units, price, fee_rate))
            quote_balance = self._balance(wallet, quote)
            quote_balance.free += dec(execution.exit_proceeds(units, price, fee_rate))
            quote_balance.save()
        order.filled += qty
        order.cost += cost
        order.fee += fee
        order.updated_at = when
        done = (order.quote_amount is not None) or (order.amount is not None and order.filled >= order.amount)
        if done:
            if order.quote_amount is not None:
                order.amount = order.filled
            self._finish(order, SimOrder.Status.CLOSED, order.reason, when=when)
        else:
            order.save()

    def _finish(self, order: SimOrder, status: str, reason: str, *, when: datetime) -> None:
        """End an order and give back what it still holds in reserve."""
        if order.reserved > 0:
            base, quote = split_symbol(order.symbol)
            balance = self._balance(order.wallet, quote if order.side == "buy" else base)
            balance.used -= order.reserved
            balance.free += order.reserved
            balance.save()
            order.reserved = ZERO
        order.status = status
        order.reason = reason or ""
        order.updated_at = when
        order.save()

    def _result(self, order: SimOrder) -> OrderResult:
        base, quote = split_symbol(order.symbol)
        average = (order.cost / order.filled).quantize(Q) if order.filled > 0 else None
        return OrderResult(
            client_order_id=order.client_order_id, exchange_order_id=order.exchange_order_id, symbol=order.symbol,
            side=order.side, type=order.type, amount=order.amount, price=order.price or order.stop_price,
            status=order.status, filled=order.filled, average=average, fee=order.fee, fee_currency=quote,
            timestamp=order.updated_at or order.placed_at,
            raw={"placed_at": order.placed_at.isoformat(), "reason": order.reason, "bracket": order.bracket,
                 "quote_amount": str(order.quote_amount) if order.quote_amount is not None else None},
        )
