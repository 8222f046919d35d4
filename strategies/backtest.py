"""The backtester: one numba pass over numpy arrays with the execution rules of exchanges.execution,
then the metrics, the equity curve and the list of trades."""

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from numba import njit

from exchanges import execution as ex

EXIT_SIGNAL = 4
EXIT_END = 5
EXIT_REASONS = {**ex.EXIT_REASONS, EXIT_SIGNAL: "signal", EXIT_END: "end"}


# Starting cash above this makes equity overflow to inf in the simulation (1e308 did, and the results could
# not be stored): a trillion is beyond any account.
MAX_CASH = 1e12


@dataclass(frozen=True)
class BacktestSettings:
    """Costs and exits. Fractions: fee 0.001 = 0.1 % per side; stop_loss 0.02 = 2 % below entry; 0 = off."""

    cash: float = 10_000.0
    fee: float = 0.001
    slippage: float = 0.0
    stop_loss: float = 0.0
    take_profit: float = 0.0
    trailing_stop: float = 0.0
    stake: float = 1.0  # fraction of current equity put into each entry

    def __post_init__(self):
        errors = self.errors(asdict(self))
        if errors:
            raise ValueError("; ".join(f"{k}: {v}" for k, v in errors.items()))

    @staticmethod
    def errors(values: dict) -> dict[str, str]:
        """field -> message for values out of range (stops and trailing below 100 %, cash above 0)."""
        rules = {"cash": (0.0, MAX_CASH, True), "fee": (0.0, 0.5, True), "slippage": (0.0, 0.5, True),
                 "stop_loss": (0.0, 1.0, False), "take_profit": (0.0, 100.0, True),
                 "trailing_stop": (0.0, 1.0, False), "stake": (0.0, 1.0, True)}
        errors = {}
        for name, (low, high, high_allowed) in rules.items():
            value = values[name]
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                errors[name] = f"must be a finite number, not {value!r}"
            elif value < low or value > high or (value == high and not high_allowed) or (
                name in ("cash", "stake") and value == low
            ):
                upper = f"{high:g}" if high_allowed else f"below {high:g}"
                errors[name] = f"must be from {low:g} to {upper}, not {value:g}" if name not in (
                    "cash", "stake") else f"must be above 0 and at most {high:g}, not {value:g}"
        return errors

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class BacktestResult:
    metrics: dict
    trades: list[dict]
    equity: pd.Series = field(repr=False)


# The statistics `run_core` gathers when it does not record (the research sweeps): one row per combination.
STAT_END_EQUITY, STAT_EXPOSED, STAT_TRADES, STAT_WINS, STAT_LOSSES, STAT_WON, STAT_LOST = 0, 1, 2, 3, 4, 5, 6
STAT_MAX_DRAWDOWN, STAT_SUM_RETURNS, STAT_SUM_SQUARES, STAT_SUM_DOWNSIDE = 7, 8, 9, 10
STATS = 11


@njit(cache=True)
def simulate(open_, high, low, close, signals, cash, fee, slippage, stop_loss, take_profit, trailing, stake):
    """The execution model over every candle. Returns (equity at each close, exposure count, trade arrays).

    A signal on candle i fills at the open of i+1. A protective exit is checked from the entry candle on;
    the trailing peak counts the entry price and the highs of candles before the one checked. After a
    protective exit on candle j a BUY on j opens at j+1. A SELL while flat and a BUY while long are ignored.
    """
    n = len(close)
    max_trades = n // 2 + 1
    equity = np.empty(n)
    t_entry_i = np.empty(max_trades, np.int64)
    t_exit_i = np.empty(max_trades, np.int64)
    t_entry_p = np.empty(max_trades)
    t_exit_p = np.empty(max_trades)
    t_size = np.empty(max_trades)
    t_fee = np.empty(max_trades)
    t_pnl = np.empty(max_trades)
    t_reason = np.empty(max_trades, np.int64)
    stats = np.zeros(STATS)
    count = run_core(open_, high, low, close, signals, cash, fee, slippage, stop_loss, take_profit, trailing, stake,
                     True, equity, t_entry_i, t_exit_i, t_entry_p, t_exit_p, t_size, t_fee, t_pnl, t_reason, stats)
    return (equity, int(stats[STAT_EXPOSED]), t_entry_i[:count], t_exit_i[:count], t_entry_p[:count],
            t_exit_p[:count], t_size[:count], t_fee[:count], t_pnl[:count], t_reason[:count])


@njit(cache=True)
def simulate_stats(open_, high, low, close, signals, cash, fee, slippage, stop_loss, take_profit, trailing, stake,
                   stats):
    """The same model without the equity curve and trade list: only `stats` (STAT_* slots) is filled, so a
    sweep of thousands of combinations allocates nothing per candle."""
    empty_i = np.empty(0, np.int64)
    empty_f = np.empty(0)
    run_core(open_, high, low, close, signals, cash, fee, slippage, stop_loss, take_profit, trailing, stake,
             False, empty_f, empty_i, empty_i, empty_f, empty_f, empty_f, empty_f, empty_f, empty_i, stats)


@njit(cache=True)
def _close_trade(stats, pnl):
    stats[STAT_TRADES] += 1.0
    if pnl > 0.0:
        stats[STAT_WINS] += 1.0
        stats[STAT_WON] += pnl
    elif pnl < 0.0:
        stats[STAT_LOSSES] += 1.0
        stats[STAT_LOST] += pnl


@njit(cache=True)
def run_core(open_, high, low, close, signals, cash, fee, slippage, stop_loss, take_profit, trailing, stake,
             record, equity, t_entry_i, t_exit_i, t_entry_p, t_exit_p, t_size, t_fee, t_pnl, t_reason, stats):
    """The one execution loop (see simulate). record=True fills the equity and trade arrays and returns the
    trade count; record=False leaves them alone and accumulates, in `stats`, what compute_metrics derives from
    them: trades, wins/losses and their sums, exposure, the largest drawdown, and the sums of the per-close
    returns, their squares and their negative squares (for Sharpe and Sortino)."""
    n = len(close)
    count = 0
    exposed = 0
    units = 0.0
    spent = 0.0
    entry = 0.0
    entry_fee = 0.0
    peak = 0.0
    long = False
    previous_equity = 0.0
    equity_peak = 0.0
    # Kept in locals (registers), not in `stats`, inside the loop.
    sum_returns = 0.0
    sum_squares = 0.0
    sum_downside = 0.0
    max_drawdown = 0.0
    floor = 0.0  # an equity below this may be a new largest drawdown: equity_peak * (1 - max_drawdown)
    for i in range(n):
        if i > 0:
            previous = signals[i - 1]
            if previous == 1 and not long:
                entry = ex.buy_price(open_[i], slippage)
                spent = cash * stake
                units = ex.entry_units(spent, entry, fee)
                entry_fee = ex.entry_fee(units, entry, fee)
                cash -= spent
                peak = entry
                long = True
                if record:
                    t_entry_i[count] = i
                    t_entry_p[count] = entry
            elif previous == -1 and long:
                price = ex.sell_price(open_[i], slippage)
                proceeds = ex.exit_proceeds(units, price, fee)
                cash += proceeds
                if record:
                    t_exit_i[count] = i
                    t_exit_p[count] = price
                    t_size[count] = units
                    t_fee[count] = entry_fee + ex.exit_fee(units, price, fee)
                    t_pnl[count] = proceeds - spent
                    t_reason[count] = EXIT_SIGNAL
                else:
                    _close_trade(stats, proceeds - spent)
                count += 1
                long = False
                units = 0.0
        if long:
            exposed += 1
            stop = ex.stop_level(entry, stop_loss, trailing, peak)
            target = entry * (1.0 + take_profit) if take_profit > 0.0 else 0.0
            trailing_active = ex.stop_is_trailing(entry, stop_loss, trailing, peak)
            level, reason = ex.protective_exit(open_[i], high[i], low[i], stop, target, trailing_active)
            if reason != ex.NO_EXIT:
                # A stop fills as a market order (slippage); a take-profit is a limit order (its price).
                price = level if reason == ex.EXIT_TAKE_PROFIT else ex.sell_price(level, slippage)
                proceeds = ex.exit_proceeds(units, price, fee)
                cash += proceeds
                if record:
                    t_exit_i[count] = i
                    t_exit_p[count] = price
                    t_size[count] = units
                    t_fee[count] = entry_fee + ex.exit_fee(units, price, fee)
                    t_pnl[count] = proceeds - spent
                    t_reason[count] = reason
                else:
                    _close_trade(stats, proceeds - spent)
                count += 1
                long = False
                units = 0.0
            elif high[i] > peak:
                peak = high[i]
        value = cash + units * close[i]
        if record:
            equity[i] = value
        else:
            # The same float operations as compute_metrics on the equity curve; a flat stretch (value
            # unchanged) adds a zero return and no drawdown, so it is skipped.
            if i == 0:
                equity_peak = value
                floor = value
            elif value != previous_equity:
                r = (value - previous_equity) / previous_equity
                sum_returns += r
                sum_squares += r * r
                if r < 0.0:
                    sum_downside += r * r
                if value > equity_peak:
                    equity_peak = value
                    floor = equity_peak * (1.0 - max_drawdown) * (1.0 + 1e-12)
                elif value < floor:
                    # The exact division only where it may matter (the slack above keeps the result exact).
                    drawdown = 1.0 - value / equity_peak
                    if drawdown > max_drawdown:
                        max_drawdown = drawdown
                        floor = equity_peak * (1.0 - max_drawdown) * (1.0 + 1e-12)
            previous_equity = value
    if long:
        # Still open at the end: valued at the last close, no exit fee (nothing was sold).
        if record:
            t_exit_i[count] = n - 1
            t_exit_p[count] = close[n - 1]
            t_size[count] = units
            t_fee[count] = entry_fee
            t_pnl[count] = units * close[n - 1] - spent
            t_reason[count] = EXIT_END
        else:
            _close_trade(stats, units * close[n - 1] - spent)
        count += 1
    if not record:
        stats[STAT_SUM_RETURNS] = sum_returns
        stats[STAT_SUM_SQUARES] = sum_squares
        stats[STAT_SUM_DOWNSIDE] = sum_downside
        stats[STAT_MAX_DRAWDOWN] = max_drawdown
    stats[STAT_EXPOSED] = exposed
    stats[STAT_END_EQUITY] = cash + units * close[n - 1] if n else cash
    return count


def periods_per_year(index: pd.DatetimeIndex) -> float:
    """Candles per year from the median spacing of the first 10,000, whatever the index's unit (pandas
    allows s, ms, us and ns: asi8 counts in that unit, so it is converted to seconds through timedelta64)."""
    if len(index) < 2:
        return 0.0
    steps = np.diff(np.asarray(index[: min(len(index), 10_000)].values))
    step = float(np.median(steps / np.timedelta64(1, "s")))
    return 365.25 * 86400 / step if step > 0 else 0.0


def compute_metrics(equity: np.ndarray, close: np.ndarray, pnl: np.ndarray, exposed: int, cash: float,
                    periods_per_year: float) -> dict:
    """Plain floats (JSON-ready); a ratio with nothing to divide by is None.

    Returns are fractions. max_drawdown: largest fall of the equity (marked at each close) from its running
    peak, as a positive fraction. Sharpe and Sortino: mean per-candle return over its standard deviation
    (Sortino: over the root mean square of the negative returns), annualised with sqrt(candles per year)
    from the median candle spacing, risk-free rate 0. win_rate and profit_factor count every trade, the
    one still open at the end too. exposure: the share of candles during which a position was held.
    """
    n = len(equity)
    peaks = np.maximum.accumulate(equity)
    drawdown = float(np.max(1.0 - equity / peaks)) if n else 0.0
    returns = np.diff(equity) / equity[:-1] if n > 1 else np.zeros(0)
    sharpe = sortino = None
    if len(returns) > 1 and periods_per_year > 0:
        mean = float(returns.mean())
        std = float(returns.std(ddof=1))
        downside = float(np.sqrt(np.mean(np.minimum(returns, 0.0) ** 2)))
        scale = math.sqrt(periods_per_year)
        sharpe = mean / std * scale if std > 0 else None
        sortino = mean / downside * scale if downside > 0 else None
    wins = pnl[pnl > 0]
    losses = pnl[pnl < 0]
    return {
        "start_cash": cash,
        "end_equity": float(equity[-1]) if n else cash,
        "total_return": float(equity[-1] / cash - 1.0) if n else 0.0,
        "buy_and_hold_return": float(close[-1] / close[0] - 1.0) if n else 0.0,
        "max_drawdown": drawdown,
        "sharpe": sharpe,
        "sortino": sortino,
        "win_rate": float(len(wins) / len(pnl)) if len(pnl) else None,
        "profit_factor": float(wins.sum() / -losses.sum()) if len(losses) else None,
        "trades": int(len(pnl)),
        "exposure": float(exposed / n) if n else 0.0,
        "candles": int(n),
    }


def run_backtest(candles: pd.DataFrame, signals: np.ndarray, settings: BacktestSettings | None = None
                 ) -> BacktestResult:
    """Backtest precomputed signals (+1/-1/0, one per candle) on candles (DatetimeIndex UTC, float64 OHLCV)."""
    settings = settings or BacktestSettings()
    if len(signals) != len(candles):
        raise ValueError(f"{len(signals)} signals for {len(candles)} candles")
    columns = [np.ascontiguousarray(candles[c].to_numpy(np.float64)) for c in ("open", "high", "low", "close")]
    (equity, exposed, entry_i, exit_i, entry_p, exit_p, size, fee, pnl, reason) = simulate(
        *columns, np.ascontiguousarray(signals, dtype=np.int8), float(settings.cash), float(settings.fee),
        float(settings.slippage), float(settings.stop_loss), float(settings.take_profit),
        float(settings.trailing_stop), float(settings.stake),
    )
    index = candles.index
    metrics = compute_metrics(equity, columns[3], pnl, exposed, settings.cash, periods_per_year(index))
    stamps = index.values  # datetime64[ns], UTC
    entry_times = np.char.add(np.datetime_as_string(stamps[entry_i], unit="s"), "Z").tolist()
    exit_times = np.char.add(np.datetime_as_string(stamps[exit_i], unit="s"), "Z").tolist()
    columns_out = (entry_p.tolist(), exit_p.tolist(), size.tolist(), fee.tolist(), pnl.tolist())
    trades = [
        {"entry_time": entry_times[k], "entry_price": columns_out[0][k], "exit_time": exit_times[k],
         "exit_price": columns_out[1][k], "size": columns_out[2][k], "fee": columns_out[3][k],
         "pnl": columns_out[4][k], "exit_reason": EXIT_REASONS[int(reason[k])]}
        for k in range(len(pnl))
    ]
    return BacktestResult(metrics, trades, pd.Series(equity, index=index, name="equity"))


def backtest_strategy(strategy, candles: pd.DataFrame, settings: BacktestSettings | None = None) -> BacktestResult:
    """Signals from the strategy on every candle, then the backtest: the one door for command, task and bench."""
    return run_backtest(candles, strategy.signals(candles), settings)
