"""The REST API, version 1 (/api/v1/): django-ninja builds the routes and the OpenAPI 3 schema from the type
hints below. Reads need a read or trade token (or the session); writes a trade token (or the session with
its CSRF token). Every order, close, alert and bot change goes through the command service (door "api"); a
command that needs a confirmation answers 202 with its pending id and sentence. Creating accounts, strategy
configurations, backtests and bots goes through the same forms as the web pages (same rules, same messages).
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

from django.conf import settings
from django.utils.translation import gettext as _
from ninja import Field, NinjaAPI, Query, Router, Schema, Status
from ninja.responses import codes_4xx

from api import auth, errors
from api.errors import ApiError, not_found
from api.forms_bridge import form_data, form_errors
from bots.models import Bot, Order, Position
from commands.models import Activity, PriceAlert
from exchanges.models import ExchangeAccount
from strategies.models import Backtest, StrategyConfig

api = NinjaAPI(title="Tradingbot API", version="1", urls_namespace="api-v1", auth=auth.READ, docs_url=None,
               description="Bearer tokens from the Settings page or `manage.py api_token create`. Errors are "
                           "JSON with a stable `code` and a `message`.")
errors.install(api)


# --- shared schemas ---

class ErrorOut(Schema):
    code: str = Field(..., examples=["not_found"])
    message: str
    details: dict | None = None


class PageParams(Schema):
    limit: int = Field(50, ge=1, description="At most API_MAX_PAGE_LIMIT (200).")
    offset: int = Field(0, ge=0)


def paged(queryset, page: PageParams, convert) -> dict:
    limit = min(page.limit, settings.API_MAX_PAGE_LIMIT)
    total = queryset.count()
    items = [convert(row) for row in queryset[page.offset:page.offset + limit]]
    return {"count": total, "limit": limit, "offset": page.offset, "items": items}


class CommandOut(Schema):
    status: Literal["done", "refused", "needs_confirmation", "failed", "unknown"]
    message: str
    code: str = ""
    sentence: str = ""
    activity_id: int | None = None
    pending_id: str | None = None
    expires_at: datetime | None = None
    result: dict = {}


def command_response(outcome):
    """done: 200; waiting for a confirmation: 202 (confirm with POST /api/v1/commands/<pending_id>/confirm);
    refused: 404 for something that is not the caller's, 409 otherwise; failed: 502."""
    body = outcome.as_dict()
    if outcome.status in ("done", "unknown"):
        return Status(200, body)
    if outcome.needs_confirmation:
        return Status(202, body)
    if outcome.status == "failed":
        raise ApiError(502, outcome.code or "failed", outcome.message, details={"activity_id": outcome.activity_id})
    status = 404 if outcome.code == "not_found" else 409
    raise ApiError(status, outcome.code or "refused", outcome.message, details={"activity_id": outcome.activity_id})


def submit(request, command, text: str):
    from commands.service import submit as service_submit

    return command_response(service_submit(request.user, command, door="api", source_text=text,
                                           idempotency_key=request.headers.get("Idempotency-Key", "")[:64]))


COMMAND_RESPONSES = {200: CommandOut, 202: CommandOut, codes_4xx: ErrorOut, 502: ErrorOut}


def _d(value) -> str | None:
    return None if value is None else format(Decimal(value).normalize(), "f")


# --- who am I ---

class MeOut(Schema):
    username: str
    token_name: str | None
    scope: str


@api.get("/me", response=MeOut, tags=["account"], summary="The caller and the token's scope")
def me(request):
    token = getattr(request, "api_token", None)
    return {"username": request.user.get_username(), "token_name": token.name if token else None,
            "scope": token.scope if token else "session"}


# --- exchange accounts ---

exchange = Router(tags=["exchange accounts"])


class AccountOut(Schema):
    id: UUID
    label: str
    exchange_id: str
    mode: str
    status: str
    has_api_key: bool
    has_api_secret: bool
    created_at: datetime


def account_json(account: ExchangeAccount) -> dict:
    def stored(name):
        try:
            return bool(getattr(account, name))
        except Exception:
            return True  # stored but unreadable: still never shown

    return {"id": account.pk, "label": account.label, "exchange_id": account.exchange_id, "mode": account.mode,
            "status": account.status, "has_api_key": stored("api_key"), "has_api_secret": stored("api_secret"),
            "created_at": account.created_at}


class KeysIn(Schema):
    label: str
    exchange_id: str = Field(..., examples=["binance"])
    mode: Literal["paper", "testnet", "live"] = "paper"
    api_key: str = Field("", description="Write-only: never returned.")
    api_secret: str = Field("", description="Write-only: never returned.")
    passphrase: str = Field("", description="Write-only (the exchanges that have one).")


@exchange.get("/accounts", response=list[AccountOut])
def list_accounts(request):
    return [account_json(a) for a in ExchangeAccount.objects.for_user(request.user)]


@exchange.get("/accounts/{account_id}", response={200: AccountOut, codes_4xx: ErrorOut})
def get_account(request, account_id: UUID):
    account = ExchangeAccount.objects.for_user(request.user).filter(pk=account_id).first()
    if account is None:
        raise not_found(_("exchange account"))
    return account_json(account)


@exchange.post("/keys", response={201: AccountOut, codes_4xx: ErrorOut}, auth=auth.TRADE,
               summary="Add an exchange account with its API keys (stored encrypted, never returned)")
def create_account(request, body: KeysIn):
    from exchanges.forms import ExchangeAccountForm
    from tradingbot.log_redaction import register_secret

    given = body.dict()
    for name in ExchangeAccountForm.SECRET_FIELDS:
        if given.get(name):
            register_secret(given[name])
    blank = ExchangeAccountForm(owner=request.user)
    form = ExchangeAccountForm(form_data(blank, given), owner=request.user)
    if not form.is_valid():
        raise form_errors(form)
    return Status(201, account_json(form.save()))


# --- strategies and their configurations ---

strategies = Router(tags=["strategies"])


class StrategyOut(Schema):
    name: str
    label: str
    params: list[dict]


class ConfigOut(Schema):
    id: int
    name: str
    strategy: str
    params: dict
    created_at: datetime
    updated_at: datetime


class ConfigIn(Schema):
    name: str
    strategy: str = Field(..., examples=["rsi_cross"])
    params: dict = Field({}, description="The strategy's parameters; the others take their defaults.")


def config_json(config: StrategyConfig) -> dict:
    return {"id": config.pk, "name": config.name, "strategy": config.strategy, "params": config.params,
            "created_at": config.created_at, "updated_at": config.updated_at}


@strategies.get("", response=list[StrategyOut], summary="The strategies and their parameters")
def list_strategies(request):
    from strategies.registry import STRATEGIES

    return [{"name": name, "label": cls.label,
             "params": [{"name": p.name, "label": p.label, "type": p.type.__name__, "default": p.default,
                         "minimum": p.minimum, "maximum": p.maximum} for p in cls.params]}
            for name, cls in STRATEGIES.items()]


@strategies.get("/configs", response=list[ConfigOut])
def list_configs(request):
    return [config_json(c) for c in StrategyConfig.objects.for_user(request.user)]


@strategies.get("/configs/{config_id}", response={200: ConfigOut, codes_4xx: ErrorOut})
def get_config(request, config_id: int):
    config = StrategyConfig.objects.for_user(request.user).filter(pk=config_id).first()
    if config is None:
        raise not_found(_("strategy configuration"))
    return config_json(config)


@strategies.post("/configs", response={201: ConfigOut, codes_4xx: ErrorOut}, auth=auth.TRADE)
def create_config(request, body: ConfigIn):
    from strategies.forms import PARAM_PREFIX, StrategyConfigForm
    from strategies.registry import STRATEGIES

    if body.strategy not in STRATEGIES:
        raise ApiError(422, "invalid", _("Unknown strategy %(name)s (GET /api/v1/strategies lists them).")
                       % {"name": body.strategy})
    known = {p.name for p in STRATEGIES[body.strategy].params}
    unknown = sorted(set(body.params) - known)
    if unknown:
        raise ApiError(422, "invalid", _("Unknown parameters: %(names)s.") % {"names": ", ".join(unknown)})
    given = {"name": body.name, "strategy": body.strategy,
             **{PARAM_PREFIX + key: value for key, value in body.params.items()}}
    blank = StrategyConfigForm(owner=request.user, strategy=body.strategy)
    form = StrategyConfigForm(form_data(blank, given), owner=request.user)
    if not form.is_valid():
        raise form_errors(form)
    return Status(201, config_json(form.save()))


# --- backtests ---

backtests = Router(tags=["backtests"])


class BacktestIn(Schema):
    config_id: int
    exchange: str = "binance"
    symbol: str = "BTC/USDT"
    timeframe: str = "5m"
    start: date | None = None
    end: date | None = None
    cash: float | None = None
    fee: float | None = Field(None, description="Fraction per side (0.001 = 0.1 %).")
    slippage: float | None = None
    stake: float | None = None
    stop_loss: float | None = None
    take_profit: float | None = None
    trailing_stop: float | None = None


class BacktestOut(Schema):
    id: int
    status: str
    progress: int
    config_id: int | None
    strategy: str
    exchange: str
    symbol: str
    timeframe: str
    settings: dict
    error: str
    created_at: datetime
    finished_at: datetime | None
    metrics: dict | None = None


class BacktestResultOut(BacktestOut):
    trades: list[dict]
    equity: list[list[float]]


def backtest_json(b: Backtest, *, full: bool = False) -> dict:
    data = {"id": b.pk, "status": b.status, "progress": b.progress, "config_id": b.config_id,
            "strategy": b.strategy, "exchange": b.exchange, "symbol": b.symbol, "timeframe": b.timeframe,
            "settings": b.settings, "error": b.error, "created_at": b.created_at, "finished_at": b.finished_at,
            "metrics": b.metrics if b.status == Backtest.Status.DONE else None}
    if full:
        data.update(trades=b.trades, equity=b.equity)
    return data


def _own_backtest(request, backtest_id: int, *fields) -> Backtest:
    rows = Backtest.objects.for_user(request.user)
    backtest = (rows.only(*fields) if fields else rows).filter(pk=backtest_id).first()
    if backtest is None:
        raise not_found(_("backtest"))
    return backtest


@backtests.get("", response=dict, summary="Backtests, newest first (paged)")
def list_backtests(request, page: Query[PageParams]):
    rows = Backtest.objects.for_user(request.user).defer("trades", "equity", "chart_candles")
    return paged(rows, page, backtest_json)


@backtests.post("", response={202: BacktestOut, codes_4xx: ErrorOut}, auth=auth.TRADE,
                summary="Queue a backtest over stored candles")
def create_backtest(request, body: BacktestIn):
    from strategies.forms import BacktestForm
    from strategies.tasks import enqueue_backtest

    given = {k: v for k, v in body.dict().items() if k not in ("config_id", "exchange", "symbol", "timeframe")}
    given.update(config=body.config_id, series=f"{body.exchange}|{body.symbol}|{body.timeframe}")
    blank = BacktestForm(owner=request.user)
    if given["series"] not in blank.series:
        raise ApiError(422, "no_candles", _("No stored candles for %(series)s.")
                       % {"series": f"{body.exchange} {body.symbol} {body.timeframe}"})
    if not StrategyConfig.objects.for_user(request.user).filter(pk=body.config_id).exists():
        raise not_found(_("strategy configuration"))
    form = BacktestForm(form_data(blank, given), owner=request.user)
    if not form.is_valid():
        raise form_errors(form)
    data = form.cleaned_data
    config, row = data["config"], form.series[data["series"]]
    backtest = Backtest.objects.create(
        owner=request.user, config=config, strategy=config.strategy, params=config.build().values,
        exchange=row["exchange"], symbol=row["symbol"], timeframe=row["timeframe"],
        start=data["start_time"], end=data["end_time"], settings=form.settings().as_dict())
    enqueue_backtest(backtest)
    return Status(202, backtest_json(backtest))


@backtests.get("/{backtest_id}", response={200: BacktestOut, codes_4xx: ErrorOut}, summary="Status (and metrics)")
def get_backtest(request, backtest_id: int):
    return backtest_json(_own_backtest(request, backtest_id))


@backtests.get("/{backtest_id}/result", response={200: BacktestResultOut, codes_4xx: ErrorOut},
               summary="Metrics, trades and the equity curve of a finished run")
def backtest_result(request, backtest_id: int):
    backtest = _own_backtest(request, backtest_id)
    if backtest.status != Backtest.Status.DONE:
        raise ApiError(409, "not_finished", _("The backtest is %(status)s: no result yet.")
                       % {"status": backtest.get_status_display().lower()})
    return backtest_json(backtest, full=True)


# --- bots ---

bots = Router(tags=["bots"])


class BotOut(Schema):
    id: int
    name: str
    symbol: str
    timeframe: str
    mode: str
    status: str
    status_reason: str
    signal_source: str
    exchange_account_id: UUID
    strategy_id: int | None
    stake: Decimal
    max_position_pct: Decimal
    stop_loss_pct: Decimal
    take_profit_pct: Decimal
    last_candle_at: datetime | None
    webhook_url: str | None = None


class BotCreatedOut(BotOut):
    webhook_secret: str | None = Field(None, description="Shown once, when the webhook is made.")


class BotIn(Schema):
    name: str
    exchange_account_id: UUID
    strategy_id: int
    mode: Literal["replay", "paper", "live"] = "paper"
    symbol: str = "BTC/USDT"
    timeframe: str = "5m"
    signal_source: Literal["strategy", "webhook"] = "strategy"
    starting_balance: Decimal | None = None
    fee: Decimal | None = Field(None, description="Fraction per side of a simulated exchange.")
    replay_start: datetime | None = None
    replay_speed: int | None = None
    stake: Decimal | None = Field(None, description="Fractions (0.1 = 10 %), as every percentage of the API.")
    max_position_pct: Decimal | None = None
    stop_loss_pct: Decimal | None = None
    take_profit_pct: Decimal | None = None
    trailing_stop_pct: Decimal | None = None
    daily_loss_limit_pct: Decimal | None = None
    max_drawdown_pct: Decimal | None = None
    max_consecutive_losses: int | None = None
    loss_cooldown_minutes: int | None = None
    max_orders_per_hour: int | None = None
    max_open_positions: int | None = None
    flatten_on_halt: bool | None = None


class CloseIn(Schema):
    stop_bot: bool = False


class WebhookIn(Schema):
    allowed_actions: list[Literal["buy", "sell", "close"]] = ["buy", "sell", "close"]
    live_confirmation: Literal["ask", "auto"] = "ask"


class WebhookOut(Schema):
    url: str
    secret: str = Field(..., description="Put it in each alert's body; shown once.")
    allowed_actions: list[str]
    live_confirmation: str


def webhook_path(endpoint) -> str:
    return f"/api/v1/webhooks/{endpoint.hook_id}"


def bot_json(bot: Bot, request=None) -> dict:
    endpoint = getattr(bot, "webhook", None) if bot.signal_source == Bot.SignalSource.WEBHOOK else None
    url = None
    if endpoint is not None and endpoint.active:
        url = request.build_absolute_uri(webhook_path(endpoint)) if request else webhook_path(endpoint)
    return {"id": bot.pk, "name": bot.name, "symbol": bot.symbol, "timeframe": bot.timeframe, "mode": bot.mode,
            "status": bot.status, "status_reason": bot.status_reason, "signal_source": bot.signal_source,
            "exchange_account_id": bot.exchange_account_id, "strategy_id": bot.strategy_id, "stake": bot.stake,
            "max_position_pct": bot.max_position_pct, "stop_loss_pct": bot.stop_loss_pct,
            "take_profit_pct": bot.take_profit_pct, "last_candle_at": bot.last_candle_at, "webhook_url": url}


def _own_bot(request, bot_id: int) -> Bot:
    bot = Bot.objects.for_user(request.user).listed().select_related("webhook").filter(pk=bot_id).first()
    if bot is None:
        raise not_found(_("bot"))
    return bot


@bots.get("", response=list[BotOut])
def list_bots(request):
    return [bot_json(b, request) for b in Bot.objects.for_user(request.user).listed().select_related("webhook")]


@bots.get("/{bot_id}", response={200: BotOut, codes_4xx: ErrorOut})
def get_bot(request, bot_id: int):
    return bot_json(_own_bot(request, bot_id), request)


@bots.post("", response={201: BotCreatedOut, codes_4xx: ErrorOut}, auth=auth.TRADE,
           summary="Create a bot (stopped; start it with POST /bots/{id}/start)")
def create_bot(request, body: BotIn):
    from api import webhooks
    from bots.forms import BotForm

    given = body.dict(exclude={"exchange_account_id", "strategy_id", "signal_source"})
    given.update(exchange_account=str(body.exchange_account_id), strategy=body.strategy_id)
    if body.replay_start is not None:
        given["replay_start"] = body.replay_start.isoformat()
    if not ExchangeAccount.objects.for_user(request.user).filter(pk=body.exchange_account_id).exists():
        raise not_found(_("exchange account"))
    if not StrategyConfig.objects.for_user(request.user).filter(pk=body.strategy_id).exists():
        raise not_found(_("strategy configuration"))
    blank = BotForm(user=request.user)
    form = BotForm(form_data(blank, given), user=request.user)
    if not form.is_valid():
        raise form_errors(form)
    bot = form.save(commit=False)
    bot.owner = request.user
    bot.save()
    secret = None
    if body.signal_source == Bot.SignalSource.WEBHOOK:
        secret = webhooks.enable(bot, door="api", user=request.user).secret
    bot = _own_bot(request, bot.pk)
    return Status(201, {**bot_json(bot, request), "webhook_secret": secret})


def _control(request, bot_id: int, action: str):
    from commands.definitions import ControlBot

    bot = _own_bot(request, bot_id)
    return submit(request, ControlBot(bot_id=bot.pk, action=action), f"POST {request.path}")


@bots.post("/{bot_id}/start", response=COMMAND_RESPONSES, auth=auth.TRADE)
def start_bot(request, bot_id: int):
    return _control(request, bot_id, "start")


@bots.post("/{bot_id}/stop", response=COMMAND_RESPONSES, auth=auth.TRADE)
def stop_bot(request, bot_id: int):
    return _control(request, bot_id, "stop")


@bots.post("/{bot_id}/pause", response=COMMAND_RESPONSES, auth=auth.TRADE)
def pause_bot(request, bot_id: int):
    return _control(request, bot_id, "pause")


@bots.post("/{bot_id}/resume", response=COMMAND_RESPONSES, auth=auth.TRADE)
def resume_bot(request, bot_id: int):
    return _control(request, bot_id, "resume")


@bots.post("/{bot_id}/close", response=COMMAND_RESPONSES, auth=auth.TRADE,
           summary="Sell the bot's open position at market (optionally stopping it first)")
def close_position(request, bot_id: int, body: CloseIn | None = None):
    from commands.definitions import ClosePosition

    bot = _own_bot(request, bot_id)
    return submit(request, ClosePosition(bot_id=bot.pk, stop_bot=bool(body and body.stop_bot)),
                  f"POST {request.path}")


@bots.post("/{bot_id}/webhook", response={201: WebhookOut, codes_4xx: ErrorOut}, auth=auth.TRADE,
           summary="Switch the bot to external signals: a new webhook URL and secret (any old one stops working)")
def enable_webhook(request, bot_id: int, body: WebhookIn):
    from api import webhooks

    bot = _own_bot(request, bot_id)
    try:
        made = webhooks.enable(bot, allowed_actions=",".join(body.allowed_actions),
                               live_confirmation=body.live_confirmation, door="api", user=request.user)
    except webhooks.SwitchRefused as refused:
        command_response(refused.outcome)
    return Status(201, {"url": request.build_absolute_uri(webhook_path(made.endpoint)), "secret": made.secret,
                        "allowed_actions": list(made.endpoint.actions()),
                        "live_confirmation": made.endpoint.live_confirmation})


@bots.delete("/{bot_id}/webhook", response={204: None, codes_4xx: ErrorOut}, auth=auth.TRADE,
             summary="Back to the strategy's signals; the webhook stops accepting alerts")
def disable_webhook(request, bot_id: int):
    from api import webhooks

    try:
        webhooks.disable(_own_bot(request, bot_id), door="api", user=request.user)
    except webhooks.SwitchRefused as refused:
        command_response(refused.outcome)
    return Status(204, None)


# --- orders and trades ---

ledger_router = Router(tags=["orders and trades"])


class OrderOut(Schema):
    id: int
    bot_id: int
    client_order_id: str
    symbol: str
    side: str
    type: str
    amount: str
    price: str | None
    status: str
    filled: str
    average: str | None
    fee: str
    reason: str
    created_at: datetime


class TradeOut(Schema):
    id: int
    bot_id: int
    symbol: str
    status: str
    quantity: str
    entry_quantity: str
    average_entry: str
    exit_price: str | None
    realised_pnl: str
    exit_reason: str
    opened_at: datetime
    closed_at: datetime | None


class OrdersPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[OrderOut]


class TradesPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[TradeOut]


class LedgerFilter(PageParams):
    bot_id: int | None = None


def order_json(o: Order) -> dict:
    return {"id": o.pk, "bot_id": o.bot_id, "client_order_id": o.client_order_id, "symbol": o.symbol,
            "side": o.side, "type": o.type, "amount": _d(o.amount), "price": _d(o.price), "status": o.status,
            "filled": _d(o.filled), "average": _d(o.average), "fee": _d(o.fee), "reason": o.reason,
            "created_at": o.created_at}


def trade_json(p: Position) -> dict:
    return {"id": p.pk, "bot_id": p.bot_id, "symbol": p.symbol, "status": p.status, "quantity": _d(p.quantity),
            "entry_quantity": _d(p.entry_quantity), "average_entry": _d(p.average_entry),
            "exit_price": _d(p.exit_price), "realised_pnl": _d(p.realised_pnl), "exit_reason": p.exit_reason,
            "opened_at": p.opened_at, "closed_at": p.closed_at}


def _filter_bot(request, rows, bot_id):
    if bot_id is not None:
        if not Bot.objects.for_user(request.user).filter(pk=bot_id).exists():
            raise not_found(_("bot"))
        rows = rows.filter(bot_id=bot_id)
    return rows


@ledger_router.get("/orders", response={200: OrdersPage, codes_4xx: ErrorOut}, summary="Orders, newest first")
def list_orders(request, filters: Query[LedgerFilter]):
    rows = _filter_bot(request, Order.objects.for_user(request.user), filters.bot_id).order_by("-created_at", "-id")
    return paged(rows, filters, order_json)


@ledger_router.get("/trades", response={200: TradesPage, codes_4xx: ErrorOut},
                   summary="Positions (closed ones are the trades), newest first")
def list_trades(request, filters: Query[LedgerFilter]):
    rows = _filter_bot(request, Position.objects.for_user(request.user), filters.bot_id).order_by("-opened_at", "-id")
    return paged(rows, filters, trade_json)


# --- portfolio and P&L ---

money = Router(tags=["portfolio and P&L"])


class PnlOut(Schema):
    total_pnl: float
    realised_pnl: float
    unrealised_pnl: float
    trades: int
    win_rate: float | None
    recent_trades: list[dict]


@money.get("/portfolio", response=dict, summary="Balances (valued), open positions and open orders")
def portfolio(request):
    from commands import portfolio as book

    return book.as_json(book.gather(request.user))


@money.get("/dashboard/pnl", response={200: PnlOut, codes_4xx: ErrorOut},
           summary="Total P&L, trades, win rate and recent trades (all bots and manual books, or ?bot_id=)")
def pnl(request, bot_id: int | None = None):
    from bots.api import pnl as seed_pnl

    if bot_id is not None and not Bot.objects.for_user(request.user).filter(pk=bot_id).exists():
        raise not_found(_("bot"))
    response = seed_pnl(request)  # the seed's /dashboard/pnl: one computation for both paths
    return response


# --- price alerts ---

alerts = Router(tags=["alerts"])


class AlertOut(Schema):
    id: int
    symbol: str
    direction: str
    price: str
    repeat: bool
    note: str
    status: str
    exchange_account_id: UUID | None
    bot_id: int | None
    fire_count: int
    fired_at: datetime | None
    created_at: datetime


class AlertIn(Schema):
    symbol: str
    direction: Literal["above", "below"]
    price: Decimal
    exchange_account_id: UUID | None = None
    bot_id: int | None = Field(None, description="A replay bot whose replayed price the alert watches.")
    repeat: bool = False
    note: str = ""


def alert_json(a: PriceAlert) -> dict:
    return {"id": a.pk, "symbol": a.symbol, "direction": a.direction, "price": _d(a.price), "repeat": a.repeat,
            "note": a.note, "status": a.status, "exchange_account_id": a.exchange_account_id, "bot_id": a.bot_id,
            "fire_count": a.fire_count, "fired_at": a.fired_at, "created_at": a.created_at}


@alerts.get("", response=list[AlertOut])
def list_alerts(request):
    return [alert_json(a) for a in PriceAlert.objects.for_user(request.user)[:500]]


@alerts.post("", response=COMMAND_RESPONSES, auth=auth.TRADE)
def create_alert(request, body: AlertIn):
    from commands.definitions import CreateAlert

    return submit(request, CreateAlert(symbol=body.symbol, direction=body.direction, price=body.price,
                                       account_id=str(body.exchange_account_id) if body.exchange_account_id else None,
                                       bot_id=body.bot_id, repeat=body.repeat, note=body.note),
                  f"POST {request.path}")


@alerts.delete("/{alert_id}", response=COMMAND_RESPONSES, auth=auth.TRADE, summary="Cancel an alert")
def cancel_alert(request, alert_id: int):
    from commands.definitions import CancelAlert

    if not PriceAlert.objects.for_user(request.user).filter(pk=alert_id).exists():
        raise not_found(_("alert"))
    return submit(request, CancelAlert(alert_id=alert_id), f"DELETE {request.path}")


# --- pending commands ---

commands = Router(tags=["commands"])


class ActivityOut(Schema):
    id: int
    door: str
    command: str
    summary: str
    status: str
    code: str
    message: str
    pending_id: str | None
    expires_at: datetime | None
    created_at: datetime


@commands.get("", response=dict, summary="The activity: every command of every door, newest first (paged)")
def list_commands(request, page: Query[PageParams]):
    def convert(a: Activity):
        return {"id": a.pk, "door": a.door, "command": a.command, "summary": a.summary, "status": a.status,
                "code": a.code, "message": a.message, "pending_id": a.pending_id if a.waiting else None,
                "expires_at": a.expires_at, "created_at": a.created_at}

    return paged(Activity.objects.for_user(request.user), page, convert)


@commands.post("/{pending_id}/confirm", response=COMMAND_RESPONSES, auth=auth.TRADE,
               summary="Run a command that waits for confirmation, once")
def confirm_command(request, pending_id: str):
    from commands.service import confirm

    return command_response(confirm(request.user, pending_id, door="api"))


@commands.post("/{pending_id}/cancel", response=COMMAND_RESPONSES, auth=auth.TRADE)
def cancel_command(request, pending_id: str):
    from commands.service import cancel_pending

    return command_response(cancel_pending(request.user, pending_id, door="api"))


# --- the assistant (natural language) ---

assistant = Router(tags=["assistant"])


class AssistantIn(Schema):
    text: str = Field(..., examples=["buy 100 USDT of BTC"])
    account_id: UUID | None = Field(None, description="The pick of a question's choices (asked again with it).")
    bot_id: int | None = None


class AssistantOut(Schema):
    text: str
    kind: Literal["answer", "question", "confirm", "done", "refused"]
    pending_id: str | None = None
    sentence: str | None = None
    expires_at: datetime | None = None
    parse: dict | None = None
    request_id: int | None = None
    activity_id: int | None = None
    ticket: dict | None = None
    choices: list[list] = []
    asks: str | None = None
    notes: list[str] = []


@assistant.post("", response={200: AssistantOut, 202: AssistantOut, codes_4xx: ErrorOut}, auth=auth.TRADE,
                summary="Say what you want; a command comes back to confirm (202 with its pending id)",
                description="The assistant only proposes: anything that changes something comes back with kind "
                            "`confirm`, its exact `sentence` and `pending_id`; run it with "
                            "`POST /api/v1/commands/{pending_id}/confirm`. Questions and answers are 200.")
def ask_assistant(request, body: AssistantIn):
    from assistant.conversation import ask

    if body.account_id and not ExchangeAccount.objects.for_user(request.user).filter(pk=body.account_id).exists():
        raise not_found(_("exchange account"))
    if body.bot_id and not Bot.objects.for_user(request.user).filter(pk=body.bot_id).exists():
        raise not_found(_("bot"))
    reply = ask(request.user, body.text, door="api",
                account_id=str(body.account_id) if body.account_id else None, bot_id=body.bot_id)
    return Status(202 if reply.kind == "confirm" else 200, reply.as_dict())


# --- webhook alerts (no token: the secret is in the body) ---

hooks = Router(tags=["webhooks"])


class AlertAccepted(Schema):
    status: Literal["queued", "duplicate"]
    alert_id: int
    message: str


@hooks.post("/{hook_id}", auth=None, response={200: AlertAccepted, 202: AlertAccepted, codes_4xx: ErrorOut},
            summary="A TradingView (or any) alert for an external-signals bot",
            description="JSON `{\"secret\", \"action\": \"buy\"|\"sell\"|\"close\", \"symbol\", \"amount\", "
                        "\"price\", \"id\"}` or plain-text `KEY=VALUE` lines. Answered at once; the trade is "
                        "queued and goes through the command service.")
def webhook(request, hook_id: str):
    from accounts.throttle import client_address
    from api import webhooks

    address = auth.ip_or_none(client_address(request))
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    raw = b"" if length > settings.WEBHOOK_MAX_BODY_BYTES else request.body
    try:
        alert = webhooks.receive(hook_id, raw, request.content_type or "", address, content_length=length)
    except webhooks.AlertRefused as refused:
        raise ApiError(refused.status, refused.code, refused.message,
                       headers={"Retry-After": "60"} if refused.status == 429 else None)
    if alert.status == alert.Status.DUPLICATE:
        return Status(200, {"status": "duplicate", "alert_id": alert.pk, "message": alert.reason})
    return Status(202, {"status": "queued", "alert_id": alert.pk, "message": _("Queued.")})


api.add_router("/exchange", exchange)
api.add_router("/strategies", strategies)
api.add_router("/backtests", backtests)
api.add_router("/bots", bots)
api.add_router("/", ledger_router)
api.add_router("/", money)
api.add_router("/alerts", alerts)
api.add_router("/commands", commands)
api.add_router("/webhooks", hooks)
api.add_router("/assistant", assistant)
