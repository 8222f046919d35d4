"""The strategy registry: name -> class, and the one way to build a strategy from stored or typed parameters."""

from strategies.builtin import BUILTIN
from strategies.strategy import InvalidParameters, Strategy

STRATEGIES: dict[str, type[Strategy]] = {cls.name: cls for cls in BUILTIN}


def register(cls: type[Strategy]) -> type[Strategy]:
    """Add a strategy class (usable as a decorator); its name must be new."""
    if cls.name in STRATEGIES:
        raise ValueError(f"a strategy named {cls.name!r} is already registered")
    STRATEGIES[cls.name] = cls
    return cls


def build_strategy(name: str, params: dict | None = None) -> Strategy:
    """A strategy with validated parameters (defaults for those missing); InvalidParameters otherwise."""
    cls = STRATEGIES.get(name)
    if cls is None:
        raise InvalidParameters({"strategy": f"unknown strategy {name!r}; known: {', '.join(sorted(STRATEGIES))}"})
    return cls(**(params or {}))


def strategy_choices() -> list[tuple[str, str]]:
    from django.utils.translation import gettext

    return [(name, gettext(cls.label)) for name, cls in STRATEGIES.items()]  # called when a form is shown


__all__ = ["STRATEGIES", "InvalidParameters", "Strategy", "build_strategy", "register", "strategy_choices"]
