"""The execution rules, written once: used by the backtester's kernel and by the simulated exchanges.

- Fees are a fraction per side. An all-in entry with cash C at price P buys C / (P * (1 + fee)) units,
  so cash plus fee equals C; an exit of q units at P returns q * P * (1 - fee).
- Slippage moves market and stop fills against the trader: a buy pays P * (1 + s), a sell gets
  P * (1 - s). Limit fills (take-profit) get their limit price (or the better open).
- A long's stop-loss and take-profit are checked against a candle's low and high. If both are hit in one
  candle the stop-loss wins (the conservative reading). The fill is at the stop/target price, or at the
  open if the candle opened beyond it.
- A trailing stop sits `trail` below the highest price seen since entry, counting only candles before
  the one being checked (the candle's own high may come after its low), and never below the fixed stop.

Plain floats in, floats out, compiled by numba so a backtest loop can call them at full speed.
"""

import math

from numba import njit

NO_EXIT = 0
EXIT_STOP_LOSS = 1
EXIT_TAKE_PROFIT = 2
EXIT_TRAILING_STOP = 3
EXIT_REASONS = {EXIT_STOP_LOSS: "stop_loss", EXIT_TAKE_PROFIT: "take_profit", EXIT_TRAILING_STOP: "trailing_stop"}


@njit(cache=True)
def buy_price(price: float, slippage: float) -> float:
    return price * (1.0 + slippage)


@njit(cache=True)
def sell_price(price: float, slippage: float) -> float:
    return price * (1.0 - slippage)


@njit(cache=True)
def entry_units(cash: float, price: float, fee: float) -> float:
    """Units bought with `cash` at `price` when the fee comes out of the same cash."""
    return cash / (price * (1.0 + fee))


@njit(cache=True)
def entry_fee(units: float, price: float, fee: float) -> float:
    return units * price * fee


@njit(cache=True)
def exit_proceeds(units: float, price: float, fee: float) -> float:
    return units * price * (1.0 - fee)


@njit(cache=True)
def exit_fee(units: float, price: float, fee: float) -> float:
    return units * price * fee


@njit(cache=True)
def stop_level(entry: float, stop_loss: float, trailing: float, peak: float) -> float:
    """The stop price of a long: the fixed stop, raised by the trailing stop; 0.0 when there is none.

    stop_loss and trailing are fractions (0.02 = 2 %); 0 disables each. `peak` is the highest price since
    entry over the candles before the one being checked (the entry price itself counts).
    """
    level = 0.0
    if stop_loss > 0.0:
        level = entry * (1.0 - stop_loss)
    if trailing > 0.0:
        trail_level = peak * (1.0 - trailing)
        if trail_level > level:
            level = trail_level
    return level


@njit(cache=True)
def protective_exit(open_: float, high: float, low: float, stop: float, target: float, trailing_active: bool):
    """Does this candle close a long? Returns (price before slippage, reason code); (nan, NO_EXIT) if not.

    stop <= 0 means no stop, target <= 0 means no take-profit. The stop wins when both are hit.
    """
    if stop > 0.0 and low <= stop:
        price = open_ if open_ < stop else stop
        return price, (EXIT_TRAILING_STOP if trailing_active else EXIT_STOP_LOSS)
    if target > 0.0 and high >= target:
        price = open_ if open_ > target else target
        return price, EXIT_TAKE_PROFIT
    return math.nan, NO_EXIT


@njit(cache=True)
def stop_is_trailing(entry: float, stop_loss: float, trailing: float, peak: float) -> bool:
    """True when the trailing stop, not the fixed stop, sets the level (for the exit reason)."""
    if trailing <= 0.0:
        return False
    fixed = entry * (1.0 - stop_loss) if stop_loss > 0.0 else 0.0
    return peak * (1.0 - trailing) > fixed
