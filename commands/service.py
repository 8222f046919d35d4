"""The command service: the one path of every order, cancel, close, alert and bot change, from every door.

    outcome = submit(user, PlaceOrder(account_id=..., symbol="BTC/USDT", side="buy", amount=Decimal("100"),
                                      unit="quote"), door="web", source_text="the order ticket")
    outcome.status      # "done" | "refused" | "needs_confirmation" | "failed" | "unknown"
    outcome.message     # fit to show the user (translated)
    outcome.sentence    # "Buy 0.00499 BTC at market on Binance (live), about 100.00 USDT?"
    outcome.pending_id, outcome.expires_at   # when it needs confirmation
    confirm(user, outcome.pending_id, door="telegram")   # runs it, once
    cancel_pending(user, outcome.pending_id, door="web")

Steps of a command, in this order, in `submit` (and again, with fresh data, in `confirm`):
1. validate (`Command.clean`, then the handler's `prepare`): the user owns every object named, the market
   exists on the account, the amount respects the market's precision and minimums;
2. risk: orders through the same risk rules as bot orders (commands.risk_review);
3. confirm: a command that places or cancels an order on a live (or testnet) account, or closes a live
   position, is stored as a pending command with its exact amounts, a one-time id and an expiry of
   PENDING_TTL; paper and replay run at once unless the user's TradingPreferences say otherwise;
4. execute (the handler's `run`): through the exchange client with a client order id derived from the
   audit entry, recorded before sending (commands.execution), so a retry or a second confirmation never
   sends twice;
5. record: every step lands on the command's Activity row (who, door, text, payload, outcome).

Handlers register per command class (HANDLERS); each has prepare(user, command) -> Plan and
run(user, plan, context) -> Done and raises Refusal for anything the user should be told.
"""

import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from commands.definitions import Command, CommandInvalid, command_from_payload
from commands.models import Activity, Door, TradingPreferences

log = logging.getLogger(__name__)

PENDING_TTL = timedelta(minutes=2)
DOORS = tuple(Door.values)
# actor=OPERATOR: someone with shell access acting on a user's objects (manage.py without --user): audited as
# the user's command with no actor, rather than as the user's own.
OPERATOR = object()


def _actor(actor, user):
    if actor is OPERATOR:
        return None
    return actor or user


class Refusal(Exception):
    """The command cannot run: `message` is for the user (translated), `code` is stable."""

    def __init__(self, message: str, code: str, details: dict | None = None):
        super().__init__(message)
        self.message, self.code, self.details = message, code, details or {}


@dataclass
class Plan:
    """A validated command ready to run: the command with its exact amounts, the sentence that describes it,
    whether it touches real money (a live or testnet exchange) and whether it trades at all."""

    command: Command
    sentence: str
    real_money: bool = False
    trades: bool = False
    context: dict = field(default_factory=dict)  # objects resolved by prepare, for run (not stored)


@dataclass
class Done:
    message: str
    result: dict = field(default_factory=dict)
    settled: bool = True  # False: an order's outcome is unknown and will be settled by its client order id


@dataclass
class RunContext:
    activity: Activity
    door: str
    actor: object


@dataclass(frozen=True)
class Outcome:
    DONE = "done"
    REFUSED = "refused"
    NEEDS_CONFIRMATION = "needs_confirmation"
    FAILED = "failed"
    UNKNOWN = "unknown"  # sent, but the exchange did not say what became of it: settled later

    status: str
    message: str
    activity_id: int | None = None
    code: str = ""
    sentence: str = ""
    pending_id: str | None = None
    expires_at: datetime | None = None
    result: dict = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return self.status == self.DONE

    @property
    def needs_confirmation(self) -> bool:
        return self.status == self.NEEDS_CONFIRMATION

    def as_dict(self) -> dict:
        return {"status": self.status, "message": self.message, "code": self.code, "sentence": self.sentence,
                "activity_id": self.activity_id, "pending_id": self.pending_id,
                "expires_at": self.expires_at.isoformat() if self.expires_at else None, "result": self.result}


HANDLERS: dict[type, object] = {}


def handles(command_class):
    """Register a handler (an object with prepare and run) for a command class."""

    def register(handler_class):
        HANDLERS[command_class] = handler_class()
        return handler_class

    return register


def _handler_for(command: Command):
    handler = HANDLERS.get(type(command))
    if handler is None:
        raise CommandInvalid(_("Unknown command %(name)s.") % {"name": command.name}, "unknown_command")
    return handler


def submit(user, command: Command, *, door: str, source_text: str = "", actor=None,
           idempotency_key: str = "", confirm: bool = False) -> Outcome:
    """Validate, check risk, and run the command, or store it for confirmation. Never raises for bad input:
    the outcome says what happened. A repeated `idempotency_key` (a door's retry) returns the first outcome.
    `confirm=True` stores every command for confirmation, whatever the account (the assistant's text never
    runs anything without the user's yes)."""
    if not getattr(user, "is_authenticated", False):
        raise PermissionError("commands need an authenticated user")
    if door not in DOORS:
        raise ValueError(f"unknown door {door!r} (one of {', '.join(DOORS)})")
    key = (idempotency_key or "")[:64]
    if key:
        existing = Activity.objects.for_user(user).filter(idempotency_key=key).first()
        if existing is not None:
            return outcome_of(existing)
    try:
        with transaction.atomic():
            activity = Activity.objects.create(
                owner=user, actor=_actor(actor, user), door=door, command=command.name, text=str(source_text)[:2000],
                request=_jsonable(command), idempotency_key=key)
    except IntegrityError:  # the same key, submitted concurrently
        return outcome_of(Activity.objects.for_user(user).get(idempotency_key=key))
    try:
        command = command.clean()
        handler = _handler_for(command)
        plan = handler.prepare(user, command)
    except (CommandInvalid, Refusal) as exc:
        return _finish(activity, Activity.Status.REFUSED, exc.message, exc.code,
                       getattr(exc, "details", None) or ({"field": exc.field} if getattr(exc, "field", "") else {}))
    except Exception as exc:  # an adapter or a bug: say so, never a traceback to the user
        return _failed(activity, exc)
    activity.summary = plan.sentence[:500]
    activity.payload = plan.command.payload()
    if confirm or needs_confirmation(user, plan):
        activity.status = Activity.Status.PENDING
        activity.pending_id = secrets.token_urlsafe(16)
        activity.expires_at = timezone.now() + PENDING_TTL
        activity.message = _("Waiting for your confirmation.")
        activity.save()
        return outcome_of(activity)
    activity.status = Activity.Status.RUNNING
    activity.save()
    return _run(activity, handler, plan, door, _actor(actor, user))


def needs_confirmation(user, plan: Plan) -> bool:
    if plan.real_money:
        return True
    return plan.trades and TradingPreferences.of(user).confirm_simulated


def confirm(user, pending_id: str, *, door: str, actor=None) -> Outcome:
    """Run a pending command of this user, once: a second or late confirmation does nothing. Validation and
    risk are checked again with fresh data; the amounts are those the user saw."""
    activity = _pending(user, pending_id)
    if activity is None:
        return Outcome(Outcome.REFUSED, _("No such command is waiting for your confirmation."), code="not_found")
    now = timezone.now()
    claimed = Activity.objects.filter(pk=activity.pk, status=Activity.Status.PENDING, expires_at__gt=now).update(
        status=Activity.Status.RUNNING, confirmed_at=now, confirmed_door=door, updated_at=now)
    activity.refresh_from_db()
    if not claimed:
        if activity.status == Activity.Status.PENDING:  # expired before it was confirmed
            Activity.objects.filter(pk=activity.pk, status=Activity.Status.PENDING).update(
                status=Activity.Status.EXPIRED, message=_("Expired before it was confirmed: nothing was done."))
            activity.refresh_from_db()
            return Outcome(Outcome.REFUSED, activity.message, activity.pk, code="expired", sentence=activity.summary)
        return Outcome(Outcome.REFUSED,
                       _("This command is already %(status)s: nothing more was done.")
                       % {"status": activity.get_status_display().lower()},
                       activity.pk, code=f"already_{activity.status}", sentence=activity.summary)
    try:
        command = command_from_payload(activity.command, activity.payload)
        handler = _handler_for(command)
        plan = handler.prepare(user, command)
    except (CommandInvalid, Refusal) as exc:
        return _finish(activity, Activity.Status.REFUSED, exc.message, exc.code, getattr(exc, "details", None))
    except Exception as exc:
        return _failed(activity, exc)
    return _run(activity, handler, plan, door, _actor(actor, user))


def cancel_pending(user, pending_id: str, *, door: str) -> Outcome:
    activity = _pending(user, pending_id)
    if activity is None:
        return Outcome(Outcome.REFUSED, _("No such command is waiting for your confirmation."), code="not_found")
    changed = Activity.objects.filter(pk=activity.pk, status=Activity.Status.PENDING).update(
        status=Activity.Status.CANCELED, message=_("Canceled: nothing was done."), confirmed_door=door,
        updated_at=timezone.now())
    activity.refresh_from_db()
    if not changed:
        return Outcome(Outcome.REFUSED, _("This command is already %(status)s.")
                       % {"status": activity.get_status_display().lower()}, activity.pk,
                       code=f"already_{activity.status}", sentence=activity.summary)
    return Outcome(Outcome.DONE, activity.message, activity.pk, code="canceled", sentence=activity.summary)


def _pending(user, pending_id) -> Activity | None:
    if not pending_id or not isinstance(pending_id, str) or len(pending_id) > 32:
        return None
    return Activity.objects.for_user(user).filter(pending_id=pending_id).first()


def _run(activity: Activity, handler, plan: Plan, door: str, actor) -> Outcome:
    from commands.execution import BookBusy
    from exchanges.errors import ExchangeError, OrderRefused

    try:
        done = handler.run(activity.owner, plan, RunContext(activity=activity, door=door, actor=actor))
    except Refusal as exc:
        return _finish(activity, Activity.Status.REFUSED, exc.message, exc.code, exc.details)
    except BookBusy:
        return _finish(activity, Activity.Status.FAILED, _("The bot is busy with a tick right now; nothing was "
                                                           "sent. Try again in a moment."), "busy")
    except OrderRefused as exc:
        return _finish(activity, Activity.Status.FAILED,
                       _("The exchange refused the order: %(reason)s") % {"reason": exc.reason}, "exchange_refused")
    except ExchangeError as exc:
        return _finish(activity, Activity.Status.FAILED,
                       _("The exchange could not be reached: %(reason)s") % {"reason": exc}, "exchange_error")
    except Exception as exc:
        return _failed(activity, exc)
    status = Activity.Status.DONE if done.settled else Activity.Status.RUNNING
    return _finish(activity, status, done.message, "" if done.settled else "order_unknown", done.result)


def _failed(activity: Activity, exc: Exception) -> Outcome:
    log.exception("command %s (activity %s) failed", activity.command, activity.pk)
    return _finish(activity, Activity.Status.FAILED,
                   _("Something went wrong (%(error)s); see the activity log.") % {"error": type(exc).__name__},
                   "error")


def _finish(activity: Activity, status: str, message: str, code: str = "", result: dict | None = None) -> Outcome:
    activity.status, activity.message, activity.code = status, message, code
    if result:
        activity.result = {**(activity.result or {}), **result}
    activity.save(update_fields=["status", "message", "code", "result", "summary", "payload", "updated_at"])
    return outcome_of(activity)


STATUS_OUTCOME = {
    Activity.Status.DONE: Outcome.DONE, Activity.Status.CANCELED: Outcome.DONE,
    Activity.Status.REFUSED: Outcome.REFUSED, Activity.Status.EXPIRED: Outcome.REFUSED,
    Activity.Status.FAILED: Outcome.FAILED, Activity.Status.RUNNING: Outcome.UNKNOWN,
    Activity.Status.RECEIVED: Outcome.UNKNOWN, Activity.Status.PENDING: Outcome.NEEDS_CONFIRMATION,
}


def outcome_of(activity: Activity) -> Outcome:
    status = STATUS_OUTCOME[activity.status]
    if status == Outcome.NEEDS_CONFIRMATION and not activity.waiting:
        status = Outcome.REFUSED
    return Outcome(status, activity.message, activity.pk, code=activity.code, sentence=activity.summary,
                   pending_id=activity.pending_id if status == Outcome.NEEDS_CONFIRMATION else None,
                   expires_at=activity.expires_at if status == Outcome.NEEDS_CONFIRMATION else None,
                   result=activity.result or {})


def expire_pending(now: datetime | None = None) -> int:
    """Mark pending commands past their expiry as expired (the worker does it once a minute)."""
    now = now or timezone.now()
    return Activity.objects.filter(status=Activity.Status.PENDING, expires_at__lte=now).update(
        status=Activity.Status.EXPIRED, message=_("Expired before it was confirmed: nothing was done."),
        updated_at=now)


def _jsonable(command: Command) -> dict:
    try:
        return command.payload()
    except Exception:
        return {"repr": repr(command)[:1000]}
