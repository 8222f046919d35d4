"""Error reports (the debug 500 page included) never show secrets.

Django's filter switches itself off when DEBUG is on, and DEBUG is this project's default, so this one stays
on. On top of Django's rules (posted fields marked sensitive, settings named like keys, `sensitive_variables`)
it masks, in every frame of every report:
- local variables named like a credential (key, secret, token, password, passphrase, signature, ...),
- local variables holding a decrypted `Secret`,
- every registered secret (tradingbot.log_redaction) inside any other variable's text, any encoding;
and every cookie value, the raw Cookie and Authorization headers, and the exception text itself.
"""

import inspect
import re

from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

from tradingbot.log_redaction import redact

SENSITIVE_NAME = re.compile(
    r"api_?key|apikey|secret|token|passw|passphrase|signature|credential|private|cookie|authorization|"
    r"encryption|^key$|_key$|^keys$",
    flags=re.I,
)


class _Masked:
    """Stands in for a frame variable; `pprint` (which the report uses) prints its repr: the redacted text."""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text


class AlwaysSafeExceptionReporterFilter(SafeExceptionReporterFilter):
    hidden_settings = re.compile(
        "API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|ENCRYPTION|DATABASE_URL|REDIS_URL|HTTP_COOKIE|COOKIE", flags=re.I
    )

    def is_active(self, request):
        return True

    def get_safe_cookies(self, request):
        if not hasattr(request, "COOKIES"):
            return {}
        return {name: self.cleansed_substitute for name in request.COOKIES}

    def get_traceback_frame_variables(self, request, tb_frame):
        from exchanges.secret_field import Secret

        cleansed = []
        for name, value in super().get_traceback_frame_variables(request, tb_frame):
            if isinstance(value, str) and value == self.cleansed_substitute:
                cleansed.append((name, value))
            elif isinstance(value, Secret) or SENSITIVE_NAME.search(name):
                cleansed.append((name, self.cleansed_substitute))
            else:
                try:
                    text = repr(value)
                except Exception as exc:  # a broken __repr__ must not break the report
                    text = f"<{type(value).__name__}: repr failed with {type(exc).__name__}>"
                if len(text) > 8192:
                    text = f"{text[:8192]}… <trimmed {len(text)} characters>"
                cleansed.append((name, _Masked(redact(text))))
        return cleansed


class RedactingExceptionReporter(ExceptionReporter):
    """Django's reporter with every text of its report (exception message, notes, frames, GET parameters)
    passed through the secret redaction."""

    def get_traceback_data(self):
        data = super().get_traceback_data()
        return {key: _redact_deep(value) for key, value in data.items()}


def _redact_deep(value):
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, BaseException):
        return redact(str(value))
    if isinstance(value, dict):
        return {k: _redact_deep(v) for k, v in value.items()}
    if isinstance(value, list | tuple) or inspect.isgenerator(value) or type(value).__name__ == "dict_items":
        return [_redact_deep(v) for v in value]
    return value
