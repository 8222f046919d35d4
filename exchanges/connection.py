"""Checking an exchange account ("Test connection") and choosing the best of a user's exchanges for a symbol."""

import logging
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from exchanges.encryption import DecryptionError
from exchanges.errors import AuthenticationFailed, ExchangeError
from exchanges.models import UNREADABLE_KEYS_MESSAGE, ExchangeAccount
from tradingbot.log_redaction import redact

log = logging.getLogger(__name__)


@sensitive_variables()
def test_connection(account: ExchangeAccount, **options) -> tuple[bool, str]:
    """Load markets and balance through the account's client; store and return (ok, message).

    Keys the exchange rejects, and stored keys that cannot be decrypted, mark the account invalid; any other
    failure is an error. Every exception ends here as a clear message (never a 500 page, whose local variables
    would hold the keys), and the message never contains a secret. `options` go to client_for (timeouts,
    retries in tests).
    """
    client = None
    try:
        from exchanges.clients import client_for  # pandas: not when Django starts

        client = client_for(account, **options)
        markets = client.load_markets()
        balance = client.fetch_balance()
    except DecryptionError:
        ok, status, message = False, ExchangeAccount.Status.INVALID, str(UNREADABLE_KEYS_MESSAGE)
    except AuthenticationFailed as exc:
        ok, status, message = False, ExchangeAccount.Status.INVALID, str(exc)
    except ExchangeError as exc:
        ok, status, message = False, ExchangeAccount.Status.ERROR, str(exc)
    except Exception as exc:  # an adapter bug or a ccxt quirk: a clear message, the traceback in the log
        log.exception("test connection of exchange account %s (%s) failed unexpectedly", account.pk,
                      account.exchange_id)
        ok, status = False, ExchangeAccount.Status.ERROR
        message = (f"unexpected {type(exc).__name__} while talking to {account.exchange_id}; "
                   "the details are in the server log")
    else:
        held = sorted(asset for asset, b in balance.items() if b.total)
        ok, status = True, ExchangeAccount.Status.OK
        message = (f"Connection OK: {len(markets)} markets; balance in {len(held)} assets"
                   + (f" ({', '.join(held[:8])}{', ...' if len(held) > 8 else ''})" if held else ""))
    finally:
        if client is not None:
            try:
                client.close()
            except Exception:
                log.warning("closing the client of exchange account %s failed", account.pk, exc_info=True)
    if not ok:
        message = f"Connection failed: {message}"
    message = redact(message)
    account.status, account.status_detail = status, message[:500]
    ExchangeAccount.objects.filter(pk=account.pk).update(
        status=status, status_detail=account.status_detail, updated_at=timezone.now()
    )
    return ok, message


test_connection.__test__ = False  # a service function, not a pytest test (its name starts with "test")


@dataclass
class ExchangeChoice:
    account: ExchangeAccount
    spread: Decimal  # (ask - bid) / mid
    quote_volume: Decimal
    fee: Decimal
    score: Decimal  # spread relative to volume: lower is better
    skipped: list[tuple[ExchangeAccount, str]] = field(default_factory=list)


@sensitive_variables()
def best_exchange(user, symbol: str, *, client_options: dict[str, dict] | None = None) -> ExchangeChoice | None:
    """The user's account with the lowest spread relative to 24h quote volume for `symbol`; ties by fee.

    Accounts whose keys were rejected are left out; an account that cannot quote the symbol is skipped
    (listed in `skipped` with the reason). client_options: per mode ("paper", "live", "testnet") options
    for client_for, e.g. {"paper": {"fee": 0.00075}}. None when no account can quote the symbol.
    """
    from exchanges.clients import client_for

    client_options = client_options or {}
    candidates, skipped = [], []
    accounts = ExchangeAccount.objects.for_user(user).exclude(status=ExchangeAccount.Status.INVALID)
    for account in accounts.order_by("label"):
        client = None
        try:
            client = client_for(account, **client_options.get(account.mode, {}))
            ticker = client.fetch_ticker(symbol)
            market = client.load_markets().get(symbol)
            fee = getattr(client, "fee", None)
            fee = Decimal(repr(fee)) if fee is not None else (market.taker_fee if market else None)
        except DecryptionError:
            skipped.append((account, str(UNREADABLE_KEYS_MESSAGE)))
            continue
        except ExchangeError as exc:
            skipped.append((account, str(exc)))
            continue
        finally:
            if client is not None:
                client.close()
        if not (ticker.bid and ticker.ask and ticker.quote_volume):
            skipped.append((account, f"no bid/ask or volume for {symbol}"))
            continue
        mid = (ticker.bid + ticker.ask) / 2
        spread = (ticker.ask - ticker.bid) / mid
        candidates.append(ExchangeChoice(account=account, spread=spread, quote_volume=ticker.quote_volume,
                                         fee=fee if fee is not None else Decimal("1"),
                                         score=spread / ticker.quote_volume))
    if not candidates:
        return None
    best = min(candidates, key=lambda c: (c.score, c.fee, c.account.label))
    best.skipped = skipped
    return best
