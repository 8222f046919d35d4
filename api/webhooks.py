"""Webhook alerts (TradingView or any sender) for "external signals" bots. Receiving is quick and does no
trading: check the endpoint, the source address (optional allowlist), the size, the body and its secret;
drop duplicates; store the alert (audit) and queue its processing (django-q2). The worker then runs each
alert through the command service, one endpoint's alerts in the order they arrived (api.tasks).

Body: JSON `{"secret": ..., "action": "buy"|"sell"|"close", "symbol": ..., "amount": ..., "price": ...,
"id": ...}` or plain-text `KEY=VALUE` lines (OctoBot's format; keys case-insensitive).
"""

import hmac
import ipaddress
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from api.models import WebhookAlert, WebhookEndpoint, sha256_hex
from api.signals import SIGNAL_ACTIONS
from tradingbot.log_redaction import register_secret

# TradingView's documented alert source addresses (https://www.tradingview.com/support/solutions/43000529348/);
# checked only when WEBHOOK_ALLOWED_IPS names them (off by default).
TRADINGVIEW_IPS = ("52.89.214.238", "34.212.75.30", "54.218.53.128", "52.32.178.7")


class AlertRefused(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class NewEndpoint:
    endpoint: WebhookEndpoint
    secret: str  # shown once


class SwitchRefused(Exception):
    def __init__(self, outcome):
        super().__init__(outcome.message)
        self.outcome = outcome


def enable(bot, *, allowed_actions: str = "buy,sell,close", live_confirmation: str = "ask", door: str = "command",
           user=None) -> NewEndpoint:
    """Make (or renew: a new id and secret) the bot's webhook and switch the bot to external signals, through the
    command service (a bot change like any other; only the secret's hash is in the command)."""
    from api.signals import SetSignalSource
    from commands.service import submit

    secret = secrets.token_urlsafe(24)
    register_secret(secret)
    command = SetSignalSource(bot_id=bot.pk, source="webhook", hook_id=secrets.token_urlsafe(18),
                              secret_hash=sha256_hex(secret), allowed_actions=allowed_actions,
                              live_confirmation=live_confirmation)
    outcome = submit(user or bot.owner, command, door=door, source_text="switch to external signals")
    if not outcome.done:
        raise SwitchRefused(outcome)
    bot.signal_source = "webhook"
    return NewEndpoint(WebhookEndpoint.objects.get(bot_id=bot.pk), secret)


def disable(bot, *, door: str = "command", user=None):
    from api.signals import SetSignalSource
    from commands.service import submit

    outcome = submit(user or bot.owner, SetSignalSource(bot_id=bot.pk, source="strategy"), door=door,
                     source_text="back to the strategy's signals")
    if not outcome.done:
        raise SwitchRefused(outcome)
    bot.signal_source = "strategy"
    return outcome


def parse_body(raw: bytes, content_type: str) -> dict:
    """The alert's fields (lower-case keys) from JSON or KEY=VALUE lines; AlertRefused(400) otherwise."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise AlertRefused(400, "bad_body", _("The body is not UTF-8 text."))
    stripped = text.strip()
    if not stripped:
        raise AlertRefused(400, "bad_body", _("The body is empty."))
    if stripped.startswith("{") or "json" in (content_type or ""):
        try:
            data = json.loads(stripped)
        except ValueError:
            raise AlertRefused(400, "bad_json", _("The body is not valid JSON."))
        if not isinstance(data, dict):
            raise AlertRefused(400, "bad_json", _("The JSON body must be an object."))
        return {str(k).strip().lower(): v for k, v in data.items()}
    fields = {}
    for line in stripped.splitlines():
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise AlertRefused(400, "bad_body", _("Each line must be KEY=VALUE (or send a JSON object)."))
        fields[key.strip().lower()] = value.strip()
    return fields


def _decimal(value, name: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise AlertRefused(400, "bad_body", _("%(field)s must be a number, not %(value)s.")
                           % {"field": name, "value": str(value)[:40]})
    if not number.is_finite() or number <= 0 or number.adjusted() > 15:
        raise AlertRefused(400, "bad_body", _("%(field)s must be a positive number.") % {"field": name})
    return number


def _address_allowed(address: str | None) -> bool:
    allowed = settings.WEBHOOK_ALLOWED_IPS
    if not allowed:
        return True
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(item, strict=False) for item in allowed)


def masked_body(fields: dict, raw: bytes) -> str:
    if "secret" not in fields:
        return raw.decode("utf-8", "replace")[:4000]
    shown = {**fields, "secret": "***"}
    return json.dumps(shown, default=str)[:4000]


def receive(hook_id: str, raw: bytes, content_type: str, address: str | None,
            content_length: int | None = None) -> WebhookAlert:
    """Check and store one alert; queue it. Raises AlertRefused (after auditing it) for anything refused."""
    now = timezone.now()
    endpoint = WebhookEndpoint.objects.select_related("bot").filter(hook_id=hook_id[:40], active=True).first()
    audit = {"hook_id": hook_id[:40], "source_ip": address, "received_at": now}
    try:
        if endpoint is None:
            raise AlertRefused(404, "unknown_webhook", _("No such webhook."))
        audit.update(owner_id=endpoint.owner_id, endpoint=endpoint)
        if not _address_allowed(address):
            raise AlertRefused(403, "address_not_allowed", _("Alerts are not accepted from this address."))
        limit = settings.WEBHOOK_MAX_BODY_BYTES
        if (content_length or 0) > limit or len(raw) > limit:
            raise AlertRefused(413, "too_large", _("The body is larger than %(limit)s bytes.") % {"limit": limit})
        fields = parse_body(raw, content_type)
        audit["body"] = masked_body(fields, raw)
        given = str(fields.get("secret") or "")
        if not given or not hmac.compare_digest(sha256_hex(given), endpoint.secret_hash):
            raise AlertRefused(403, "wrong_secret", _("The secret is missing or wrong."))
        action = str(fields.get("action") or fields.get("side") or "").strip().lower()
        audit["action"] = action[:10]
        if action not in SIGNAL_ACTIONS:
            raise AlertRefused(400, "bad_action", _("action must be one of buy, sell, close."))
        if action not in endpoint.actions():
            raise AlertRefused(403, "action_not_allowed", _("This bot does not allow the action %(action)s.")
                               % {"action": action})
        symbol = str(fields.get("symbol") or fields.get("ticker") or "").strip().upper()[:30]
        audit.update(symbol=symbol, amount=_decimal(fields.get("amount"), "amount"),
                     price=_decimal(fields.get("price"), "price"),
                     alert_id=str(fields.get("id") or fields.get("alert_id") or "")[:100])
    except AlertRefused as refused:
        _refuse(endpoint, audit, refused)
        raise
    body_hash = sha256_hex(json.dumps({k: v for k, v in fields.items() if k != "secret"}, sort_keys=True,
                                      default=str))
    with transaction.atomic():
        # One endpoint's alerts are admitted one at a time (row lock): duplicates are seen, the order is kept.
        WebhookEndpoint.objects.select_for_update().filter(pk=endpoint.pk).first()
        recent = WebhookAlert.objects.filter(endpoint=endpoint).exclude(
            status__in=(WebhookAlert.Status.REFUSED, WebhookAlert.Status.DUPLICATE))
        window = now - timedelta(seconds=settings.WEBHOOK_DUPLICATE_WINDOW_SECONDS)
        duplicate = (recent.filter(alert_id=audit["alert_id"]).exists() if audit["alert_id"]
                     else recent.filter(body_hash=body_hash, received_at__gte=window).exists())
        status = WebhookAlert.Status.DUPLICATE if duplicate else WebhookAlert.Status.QUEUED
        alert = WebhookAlert.objects.create(**audit, body_hash=body_hash, status=status,
                                            reason=_("A duplicate of an earlier alert: ignored.") if duplicate else "")
        counter = "duplicate_count" if duplicate else "accepted_count"
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(**{counter: F(counter) + 1}, last_alert_at=now)
    if not duplicate:
        from django_q.tasks import async_task

        transaction.on_commit(lambda: async_task("api.tasks.process_alerts", endpoint.pk,
                                                 task_name=f"webhook-{endpoint.pk}-{alert.pk}"))
    return alert


def _refuse(endpoint, audit: dict, refused: AlertRefused) -> None:
    """Audit a refusal and count it on the bot. Refusals per source address are throttled
    (WEBHOOK_REFUSALS_PER_MINUTE): past the limit a sender guessing ids or secrets gets a 429 and fills no
    more audit rows."""
    from accounts.throttle import bucket_key, reserve

    limit = settings.WEBHOOK_REFUSALS_PER_MINUTE
    if limit and reserve([(bucket_key("webhook-refused", audit["source_ip"] or "unknown"), limit)], 60):
        raise AlertRefused(429, "rate_limited", _("Too many refused alerts from this address: try again later."))
    WebhookAlert.objects.create(**audit, status=WebhookAlert.Status.REFUSED, code=refused.code,
                                reason=refused.message[:500])
    if endpoint is not None:
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            refused_count=F("refused_count") + 1, last_alert_at=audit["received_at"],
            last_refusal=f"{refused.code}: {refused.message}"[:300])
