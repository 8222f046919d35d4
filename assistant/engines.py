"""The one interface both engines answer through: `engine.parse(text, default_quote=...) -> EngineAnswer`.

    OfflineEngine()          deterministic, no network, the default and the fallback (assistant.offline)
    LLMEngine(...)           any OpenAI-compatible endpoint (assistant.llm); raises EngineFailed
"""

from dataclasses import dataclass
from typing import Protocol

from django.utils.translation import gettext_lazy as _

from assistant.offline import parse_offline
from assistant.parse import ParsedCommand


@dataclass(frozen=True)
class EngineAnswer:
    parsed: ParsedCommand
    tokens: int = 0  # LLM tokens the answer cost


class Engine(Protocol):
    name: str

    def parse(self, text: str, *, default_quote: str) -> EngineAnswer: ...


# What the user is told when the LLM's answer could not be used (codes are stored English).
FALLBACK_NOTES = {
    "timeout": _("The language model did not answer in time, so this was understood offline."),
    "unreachable": _("The language model could not be reached, so this was understood offline."),
    "auth": _("The language model refused the configured key, so this was understood offline."),
    "rate_limited": _("The language model is busy, so this was understood offline."),
    "http_error": _("The language model answered with an error, so this was understood offline."),
    "bad_response": _("The language model's answer could not be read, so this was understood offline."),
    "empty": _("The language model gave no answer, so this was understood offline."),
    "refused": _("The language model declined, so this was understood offline."),
    "invalid_json": _("The language model's answer was not valid JSON, so this was understood offline."),
    "schema": _("The language model's answer did not fit the command format, so this was understood offline."),
    "several_commands": _("The language model proposed more than one command, so this was understood offline."),
    "unknown_tool": _("The language model asked for an action that does not exist, so this was understood "
                      "offline."),
    "ungrounded": _("The language model named something the message does not say, so this was understood "
                    "offline."),
    "user_limit": _("You have used the language model a lot in the last minute, so this was understood offline."),
    "token_budget": _("Today's language-model budget is used up, so this was understood offline."),
}


class EngineFailed(Exception):
    """The engine gave no usable answer; `code` is a key of FALLBACK_NOTES."""

    def __init__(self, code: str, detail: str = "", *, tokens: int = 0):
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail
        self.tokens = tokens

    @property
    def note(self) -> str:
        return str(FALLBACK_NOTES.get(self.code, FALLBACK_NOTES["bad_response"]))


class OfflineEngine:
    name = "offline"

    def parse(self, text: str, *, default_quote: str) -> EngineAnswer:
        return EngineAnswer(parsed=parse_offline(text, default_quote=default_quote))
