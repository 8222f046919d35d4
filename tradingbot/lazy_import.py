"""`np = lazy_module("numpy")`: a module imported at its first attribute access, not when Django starts.

Every management command, the web server and the worker load the models, and the models reach the strategies
and the exchange adapters; numpy, pandas, pandas-ta (numba) and ccxt cost about a second of start-up between
them, and most commands never use them. Modules loaded at setup name them through this instead of `import`.
Not for code that numba compiles (numba needs the real module in its globals).
"""

import importlib


class lazy_module:  # noqa: N801  (used like a module)
    __slots__ = ("_name", "_module")

    def __init__(self, name: str):
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_module", None)

    def _load(self):
        module = object.__getattribute__(self, "_module")
        if module is None:
            module = importlib.import_module(object.__getattribute__(self, "_name"))
            object.__setattr__(self, "_module", module)
        return module

    def __getattr__(self, attr: str):
        return getattr(self._load(), attr)

    def __repr__(self) -> str:
        return f"<lazy module {object.__getattribute__(self, '_name')!r}>"
