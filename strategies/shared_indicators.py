"""Indicator sharing for sweeps: inside `sharing()`, an indicator called again with the same input arrays
and the same parameters returns the result computed the first time, so a grid over a strategy's levels
computes each indicator once per distinct period, whatever the strategy (outside it nothing is kept).

Inputs are recognised by identity (the address of their data), and every input array is kept alive by the
store so that an address cannot be reused by another array while the store lives. Results are returned
read-only: a strategy that wrote into one would raise rather than change what the next combination sees.
"""

from collections import OrderedDict
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps

from tradingbot.lazy_import import lazy_module

np = lazy_module("numpy")  # a sweep loads them; Django's start-up does not
pd = lazy_module("pandas")

# Results kept at most (least recently used dropped first): 64 float64 columns of a million candles.
MAX_BYTES = 512 * 1024 * 1024


class Store:
    def __init__(self, max_bytes: int = MAX_BYTES):
        self.entries: OrderedDict = OrderedDict()
        self.max_bytes = max_bytes
        self.bytes = 0
        self.hits = 0
        self.misses = 0  # = indicator computations made inside the block

    def get(self, key):
        entry = self.entries.get(key)
        if entry is None:
            return None
        self.entries.move_to_end(key)
        self.hits += 1
        return entry[1]

    def put(self, key, inputs, result, size):
        self.entries[key] = (inputs, result, size)
        self.bytes += size
        while self.bytes > self.max_bytes and len(self.entries) > 1:
            _, (_, _, dropped) = self.entries.popitem(last=False)
            self.bytes -= dropped


_store: ContextVar[Store | None] = ContextVar("shared_indicators", default=None)


@contextmanager
def sharing(store: Store | None = None):
    """Share indicator results inside the block, in `store` (one kept across blocks, e.g. a search's trials)
    or a new one; a nested block uses the outer store. Yields the store."""
    outer = _store.get()
    if outer is not None:
        yield outer
        return
    store = store if store is not None else Store()
    token = _store.set(store)
    try:
        yield store
    finally:
        _store.reset(token)


def _identity(value, keep: list):
    if isinstance(value, pd.Series):
        value = value.to_numpy()
    if isinstance(value, np.ndarray):
        keep.append(value)
        return ("array", value.__array_interface__["data"][0], value.shape, value.strides, value.dtype.str)
    return ("value", type(value).__name__, value)


def _read_only(result):
    if isinstance(result, tuple):
        return tuple(_read_only(part) for part in result)
    if isinstance(result, np.ndarray):
        result.flags.writeable = False
    return result


def _size(result) -> int:
    if isinstance(result, tuple):
        return sum(_size(part) for part in result)
    return result.nbytes if isinstance(result, np.ndarray) else 0


def shareable(function):
    """Decorator for an indicator function of arrays/Series and plain parameters (see the module docstring)."""

    @wraps(function)
    def wrapper(*args, **kwargs):
        store = _store.get()
        if store is None:
            return function(*args, **kwargs)
        keep: list = []
        key = (function.__qualname__, tuple(_identity(a, keep) for a in args),
               tuple((k, _identity(v, keep)) for k, v in sorted(kwargs.items())))
        found = store.get(key)
        if found is not None:
            return found
        store.misses += 1
        result = _read_only(function(*args, **kwargs))
        store.put(key, keep, result, _size(result))
        return result

    return wrapper
