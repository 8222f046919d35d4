"""The exchange errors everything above the adapters sees; ccxt's exceptions are mapped to these once."""


class ExchangeError(Exception):
    """Base class: something went wrong talking to an exchange. `str()` is safe to show a user."""


class TemporaryExchangeError(ExchangeError):
    """Network error, timeout, rate limit or 5xx that persisted through the retries: try again next candle."""


class OrderRefused(ExchangeError):
    """The exchange refused the order (insufficient funds, invalid order); `reason` is the exchange's words."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


class AuthenticationFailed(ExchangeError):
    """The keys were rejected; the account has been marked invalid."""


class OrderNotFound(ExchangeError):
    """No order with that id on the exchange."""


class OrderOutcomeUnknown(TemporaryExchangeError):
    """The order was sent but the exchange has not said whether it exists (no answer, 5xx, "duplicate order"
    while a lookup does not show it yet): it stays unknown, is looked up by its client order id, and no other
    order is sent for the same intent meanwhile."""


class RateLimited(TemporaryExchangeError):
    """The exchange answered 429 or 418 (a ban): no request goes to it before `until`."""

    def __init__(self, message: str, until):
        self.until = until
        super().__init__(message)
