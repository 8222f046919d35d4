"""Understanding one command: the function every door calls (command box, manage.py, Telegram, API).

    result = understand("sell half my ETH", user=request.user, door="web")
    result.status        understood | needs_input | not_possible | unknown | rate_limited | refused
    result.parsed        the ParsedCommand (None when refused or rate limited)
    result.resolution    matched to the user's accounts and bots (assistant.resolution), when a user is given
    result.message       what to say back: the question, the refusal, or "" when ready
    result.request       the audit row (AssistantRequest), when a user is given and audit is on

The steps, in order:
1. check the text (not empty, at most ASSISTANT_MAX_TEXT_LENGTH) and mask anything that looks like a key;
2. count the request against the user's rate limit (ASSISTANT_REQUESTS_PER_MINUTE);
3. parse: with the LLM when it is configured, the user allows it, and the per-minute and daily token limits
   leave room; otherwise, or when the LLM fails in any way, with the offline engine, with a note saying why;
4. resolve against the user's rows (assistant.resolution);
5. audit: one AssistantRequest row with the text, the engine, the parse and the outcome placeholder.
Nothing here executes anything: see assistant.conversation for the step after it.
"""

import time
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.translation import gettext as _

from assistant import quota
from assistant.engines import EngineFailed, OfflineEngine
from assistant.llm import LLMEngine
from assistant.models import AssistantPreference, AssistantRequest
from assistant.parse import ParsedCommand
from assistant.redaction import redact
from assistant.resolution import HELP, NEEDS_INPUT, NOT_POSSIBLE, UNKNOWN, Resolution, help_text, question_for, resolve

Status = AssistantRequest.Status


@dataclass
class Understanding:
    text: str
    status: str
    parsed: ParsedCommand | None = None
    engine: str = ""
    notes: list[str] = field(default_factory=list)
    resolution: Resolution | None = None
    message: str = ""
    retry_after: int = 0
    tokens: int = 0
    llm_tried: bool = False
    offline_parsed: ParsedCommand | None = None
    request: AssistantRequest | None = None


def _status(parsed: ParsedCommand, resolution: Resolution | None) -> str:
    if parsed.intent == "unknown":
        return Status.UNKNOWN
    if resolution is not None:
        if resolution.status == NEEDS_INPUT:
            return Status.NEEDS_INPUT
        if resolution.status == UNKNOWN:
            return Status.UNKNOWN
        if resolution.status == NOT_POSSIBLE:
            return Status.NOT_POSSIBLE
        return Status.UNDERSTOOD
    return Status.NEEDS_INPUT if parsed.missing() else Status.UNDERSTOOD


def _parse(text: str, user, engine: str | None, default_quote: str, allow_llm: bool, result: Understanding):
    offline = OfflineEngine()
    llm = LLMEngine.from_settings() if engine != "offline" and allow_llm else None
    if llm is not None:
        if not quota.within_token_budget(user):
            result.notes.append(str(EngineFailed("token_budget").note))
        elif not quota.take_llm_call(user):  # counted only when a call would be made
            result.notes.append(str(EngineFailed("user_limit").note))
        else:
            result.llm_tried = True
            try:
                answer = llm.parse(text, default_quote=default_quote)
            except EngineFailed as exc:
                result.tokens += exc.tokens
                result.notes.append(exc.note)
            else:
                result.tokens += answer.tokens
                result.parsed, result.engine = answer.parsed, llm.name
                result.offline_parsed = offline.parse(text, default_quote=default_quote).parsed
            quota.spend_tokens(user, result.tokens)
    if result.parsed is None:
        result.parsed, result.engine = offline.parse(text, default_quote=default_quote).parsed, offline.name
    result.notes.extend(result.parsed.notes)


def understand(text: str, *, user=None, door: str = AssistantRequest.Door.WEB, engine: str | None = None,
               audit: bool = True, count_request: bool = True, account_id=None, bot_id=None) -> Understanding:
    """Understand one command (see the module docstring). engine: None (best available) | "offline" | "llm".
    account_id / bot_id: the user's pick after a question ("which account?"), passed on to resolve()."""
    started = time.perf_counter()
    text = (text or "").strip()
    limit = settings.ASSISTANT_MAX_TEXT_LENGTH
    result = Understanding(text=text[:limit], status=Status.UNDERSTOOD)
    if not text:
        result.status, result.message = Status.REFUSED, _("Type a command, for example “price of BTC”.")
    elif len(text) > limit:
        result.status = Status.REFUSED
        result.message = _("A command can be at most %(limit)d characters; this one has %(length)d.") % {
            "limit": limit, "length": len(text)}
    masked, hidden = redact(result.text)
    result.text = masked
    if hidden:
        result.notes.append(_("Something that looked like a key or a password was hidden. Never type keys here."))

    if result.status == Status.UNDERSTOOD and user is not None and count_request:
        wait = quota.take_request(user)
        if wait:
            result.status, result.retry_after = Status.RATE_LIMITED, wait
            result.message = _("Too many commands in a short time: try again in %(seconds)d s.") % {"seconds": wait}

    if result.status == Status.UNDERSTOOD:
        preference = AssistantPreference.for_owner(user) if user is not None else None
        default_quote = preference.default_quote if preference else settings.ASSISTANT_DEFAULT_QUOTE
        allow_llm = preference.use_llm if preference else True
        _parse(result.text, user, engine, default_quote, allow_llm, result)
        if user is not None:
            result.resolution = resolve(result.parsed, user, account_id=account_id, bot_id=bot_id)
        result.status = _status(result.parsed, result.resolution)
        if result.resolution is not None and result.resolution.status in (NEEDS_INPUT, NOT_POSSIBLE, HELP, UNKNOWN):
            result.message = result.resolution.question
        elif result.parsed.intent == "unknown":
            result.message = _("Sorry, I did not understand that. ") + help_text()
        elif result.parsed.intent == "help":
            result.message = help_text()
        elif result.resolution is None and result.parsed.missing():
            result.message = question_for(result.parsed, result.parsed.missing()[0])[0]

    if user is not None and audit:
        result.request = AssistantRequest.objects.create(
            owner=user, door=door, text=result.text, engine=result.engine, llm_tried=result.llm_tried,
            notes=[str(n) for n in result.notes], status=result.status, question=result.message,
            parse=_record(result), offline_parse=result.offline_parsed.as_record() if result.offline_parsed else None,
            tokens=result.tokens, duration_ms=round((time.perf_counter() - started) * 1000, 3),
        )
    return result


def _record(result: Understanding) -> dict | None:
    if result.parsed is None:
        return None
    record = result.parsed.as_record()
    if result.resolution is not None:
        record["resolution"] = result.resolution.as_record()
    return record
