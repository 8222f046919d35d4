"""The trade settings a new bot and a new backtest both start from, written once, so that a default backtest
describes a default bot. Fractions (0.10 = 10 %); the forms show them as percentages."""

from decimal import Decimal

STARTING_BALANCE = Decimal("10000")
FEE = Decimal("0.001")
SLIPPAGE = Decimal("0")
# A bot's entry is its stake capped by its max position; the backtest form's stake is that same share.
STAKE = Decimal("0.10")
MAX_POSITION = Decimal("0.10")
STOP_LOSS = Decimal("0.02")
TAKE_PROFIT = Decimal("0.06")
TRAILING_STOP = Decimal("0")
# The largest starting cash (strategies.backtest.MAX_CASH, here for the forms: they must not import the numba
# backtester when Django starts).
MAX_CASH = 1e12
# Optimisation runs (strategies.optimize): the seed a search starts from, and the most trials one may ask for.
DEFAULT_SEED = 42
MAX_TRIALS = 100_000
