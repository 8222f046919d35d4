"""The assistant's own records: every request's audit (text, engine, parse, outcome) and per-user settings.

The command service keeps its own audit of what was executed; this one is about what was understood.
"""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from exchanges.models import OwnedQuerySet

TICKER = re.compile(r"[A-Z0-9]{2,10}")


def validate_quote_currency(value: str) -> None:
    if not TICKER.fullmatch(value or ""):
        raise ValidationError(
            _("A quote currency is a ticker of 2 to 10 capital letters or digits, such as USDT or THB."),
            code="invalid_quote",
        )


class AssistantRequest(models.Model):
    """One command someone typed to the assistant, what the engine made of it, and (later) what came of it."""

    class Door(models.TextChoices):
        WEB = "web", _("Command box")
        CLI = "cli", _("Command line")
        TELEGRAM = "telegram", _("Telegram")
        API = "api", _("API")

    class Status(models.TextChoices):
        UNDERSTOOD = "understood", _("Understood")
        NEEDS_INPUT = "needs_input", _("Asked for more")
        NOT_POSSIBLE = "not_possible", _("Names something the user does not have")
        UNKNOWN = "unknown", _("Not understood")
        RATE_LIMITED = "rate_limited", _("Too many requests")
        REFUSED = "refused", _("Refused (bad input)")

    class Outcome(models.TextChoices):
        # Filled in by the doors once the command service runs the proposal.
        NONE = "none", _("Nothing yet")
        PROPOSED = "proposed", _("Proposed, awaiting confirmation")
        EXECUTED = "executed", _("Executed")
        REJECTED = "rejected", _("Refused by the command service")
        CANCELLED = "cancelled", _("Cancelled by the user")
        EXPIRED = "expired", _("Confirmation expired")
        FAILED = "failed", _("Failed")

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assistant_requests")
    door = models.CharField(max_length=10, choices=Door.choices, default=Door.WEB)
    text = models.TextField(help_text=_("What was typed; anything that looks like a key is masked."))
    engine = models.CharField(max_length=10, blank=True, default="",
                              help_text=_("The engine whose parse was used: offline or llm."))
    llm_tried = models.BooleanField(default=False)
    notes = models.JSONField(default=list, blank=True, help_text=_("Fallbacks and corrections, as shown."))
    parse = models.JSONField(null=True, blank=True)
    offline_parse = models.JSONField(null=True, blank=True, help_text=_("The offline parse, when the LLM's was used."))
    status = models.CharField(max_length=12, choices=Status.choices)
    question = models.TextField(blank=True, default="", help_text=_("What the assistant asked back."))
    tokens = models.PositiveIntegerField(default=0, help_text=_("LLM tokens this request used."))
    duration_ms = models.FloatField(default=0)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.NONE)
    outcome_detail = models.CharField(max_length=500, blank=True, default="")
    command_ref = models.CharField(max_length=100, blank=True, default="",
                                   help_text=_("The command service's audit entry for this request."))
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OwnedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["owner", "-created_at"], name="assistant_req_owner_time")]

    def __str__(self) -> str:
        return f"{self.owner_id}: {self.text[:60]} ({self.status})"

    def record_outcome(self, outcome: str, detail: str = "", command_ref: str = "") -> bool:
        """Set what came of the request, once it has left NONE/PROPOSED; True if this call changed the row."""
        if outcome not in self.Outcome.values:
            raise ValueError(f"unknown outcome {outcome!r}")
        changed = AssistantRequest.objects.filter(
            pk=self.pk, outcome__in=[self.Outcome.NONE, self.Outcome.PROPOSED]
        ).update(outcome=outcome, outcome_detail=detail[:500], command_ref=command_ref or self.command_ref)
        if changed:
            self.refresh_from_db(fields=["outcome", "outcome_detail", "command_ref", "updated_at"])
        return bool(changed)


class AssistantPreference(models.Model):
    """A user's assistant settings: the quote currency a bare coin means, and whether to use the LLM."""

    owner = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                 related_name="assistant_preference")
    default_quote = models.CharField(
        max_length=10, default="USDT", validators=[validate_quote_currency],
        help_text=_("A bare coin means the pair with this currency: BTC is BTC/USDT."),
    )
    use_llm = models.BooleanField(
        default=True, help_text=_("Use the language model when one is configured (otherwise offline only)."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = OwnedQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.owner_id}: {self.default_quote}"

    def clean_fields(self, exclude=None):
        self.default_quote = (self.default_quote or "").strip().upper()  # " thb " is THB
        super().clean_fields(exclude=exclude)

    @classmethod
    def for_owner(cls, user) -> "AssistantPreference":
        """The user's preference, or the defaults (unsaved) when they have none."""
        found = cls.objects.for_user(user).first()
        return found or cls(owner=user, default_quote=settings.ASSISTANT_DEFAULT_QUOTE)
