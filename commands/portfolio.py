"""The portfolio of a user: balances of every exchange account (free / used / total, valued in the quote
currency), open positions (bots' and manual) valued at current prices, open orders, and each bot's equity.
One function for the page and the JSON (and the later REST and Telegram doors); prices are fetched once per
(exchange, symbol) through the alerts' TickerBoard, and a source that cannot be read is said, not fatal."""

from decimal import Decimal

from bots.live import bot_money, latest_snapshot_ids
from bots.models import Bot, Order, PnLSnapshot, Position
from bots.templatetags.bot_display import base_currency, quote_currency
from commands import execution
from commands.alerts import TickerBoard
from exchanges.errors import ExchangeError
from exchanges.models import ExchangeAccount

ZERO = Decimal("0")
VALUE_IN = "USDT"
MAX_VALUED_ASSETS = 25  # an exchange account may hold dust of hundreds of coins: value the largest


def gather_local(user) -> dict:
    """What needs no exchange: open orders and each bot's equity and P&L (from its newest snapshot)."""
    orders = list(Order.objects.for_user(user).filter(status__in=[Order.Status.OPEN, *Order.UNSETTLED])
                  .select_related("bot").order_by("-created_at", "-pk"))
    bots = list(Bot.objects.for_user(user).listed().select_related("exchange_account"))
    snapshots = PnLSnapshot.objects.in_bulk(latest_snapshot_ids([b.pk for b in bots]))
    by_bot = {s.bot_id: s for s in snapshots.values()}
    bot_rows = [{"bot": b, "quote": quote_currency(b.symbol), **bot_money(b, by_bot.get(b.pk), known=True)}
                for b in bots]
    return {"orders": orders, "bots": bot_rows}


def gather(user, board: TickerBoard | None = None) -> dict:
    board = board or TickerBoard()
    accounts = [_account(account, board) for account in ExchangeAccount.objects.for_user(user)]
    positions = [_position(p, board) for p in Position.objects.for_user(user).filter(status=Position.Status.OPEN)
                 .select_related("bot", "bot__exchange_account").order_by("opened_at", "pk")]
    totals: dict[str, dict] = {}
    for entry in accounts:
        if entry["value"] is not None:
            t = totals.setdefault(entry["quote"], {"currency": entry["quote"], "accounts": ZERO, "unrealised": ZERO})
            t["accounts"] += entry["value"]
    for row in positions:
        if row["unrealised"] is not None:
            t = totals.setdefault(row["quote"], {"currency": row["quote"], "accounts": ZERO, "unrealised": ZERO})
            t["unrealised"] += row["unrealised"]
    return {"accounts": accounts, "positions": positions, **gather_local(user),
            "totals": sorted(totals.values(), key=lambda t: t["currency"]), "price_errors": dict(board.errors)}


def _account(account: ExchangeAccount, board: TickerBoard) -> dict:
    entry = {"account": account, "quote": VALUE_IN, "balances": [], "value": None, "error": "", "unvalued": []}
    client = execution.account_client(account)
    try:
        balances = client.fetch_balance()
    except ExchangeError as exc:
        entry["error"] = str(exc)[:300]
        return entry
    finally:
        client.close()
    held = sorted(((asset, b) for asset, b in balances.items() if b.total > 0), key=lambda item: -item[1].total)
    value = ZERO
    for i, (asset, balance) in enumerate(held):
        price = Decimal("1") if asset == VALUE_IN else (
            board.for_account(account, f"{asset}/{VALUE_IN}") if i < MAX_VALUED_ASSETS else None)
        row = {"asset": asset, "free": balance.free, "used": balance.used, "total": balance.total, "price": price,
               "value": balance.total * price if price is not None else None}
        if row["value"] is None:
            entry["unvalued"].append(asset)
        else:
            value += row["value"]
        entry["balances"].append(row)
    entry["value"] = value
    return entry


def _position(position: Position, board: TickerBoard) -> dict:
    book = position.bot
    if book.mode == Bot.Mode.REPLAY and not book.is_manual:
        price = board.for_replay_bot(book, position.symbol)
    else:
        price = board.for_account(book.exchange_account, position.symbol)
    value = position.quantity * price if price is not None else None
    return {"position": position, "book": book, "base": base_currency(position.symbol),
            "quote": quote_currency(position.symbol), "price": price, "value": value,
            "unrealised": value - position.cost if value is not None else None}


def as_json(data: dict) -> dict:
    """The JSON form of gather(): amounts as strings of their exact decimals, times in ISO 8601 UTC."""
    def d(value):
        return None if value is None else format(value.normalize(), "f") if isinstance(value, Decimal) else value

    return {
        "accounts": [{
            "id": str(e["account"].pk), "label": e["account"].label, "exchange": e["account"].exchange_id,
            "mode": e["account"].mode, "value_currency": e["quote"], "value": d(e["value"]), "error": e["error"],
            "unvalued_assets": e["unvalued"],
            "balances": [{"asset": b["asset"], "free": d(b["free"]), "used": d(b["used"]), "total": d(b["total"]),
                          "price": d(b["price"]), "value": d(b["value"])} for b in e["balances"]],
        } for e in data["accounts"]],
        "positions": [{
            "id": r["position"].pk, "book_id": r["book"].pk, "book": r["book"].name,
            "manual": r["book"].is_manual, "mode": r["book"].mode, "symbol": r["position"].symbol,
            "quantity": d(r["position"].quantity), "average_entry": d(r["position"].average_entry),
            "cost": d(r["position"].cost), "price": d(r["price"]), "value": d(r["value"]),
            "unrealised": d(r["unrealised"]), "opened_at": r["position"].opened_at.isoformat(),
        } for r in data["positions"]],
        "orders": [{
            "id": o.pk, "client_order_id": o.client_order_id, "book_id": o.bot_id, "book": o.bot.name,
            "manual": o.bot.is_manual, "symbol": o.symbol, "side": o.side, "type": o.type, "amount": d(o.amount),
            "price": d(o.price), "status": o.status, "filled": d(o.filled), "created_at": o.created_at.isoformat(),
        } for o in data["orders"]],
        "bots": [{"id": r["bot"].pk, "name": r["bot"].name, "mode": r["bot"].mode, "status": r["bot"].status,
                  "currency": r["quote"], "equity": d(r["equity"]), "total_pnl": d(r["total_pnl"])}
                 for r in data["bots"]],
        "totals": [{"currency": t["currency"], "accounts": d(t["accounts"]), "unrealised": d(t["unrealised"])}
                   for t in data["totals"]],
        "price_errors": {" ".join(map(str, key)): error for key, error in data["price_errors"].items()},
    }
