"""tradingbot.log_redaction: a registered secret leaves no trace in any later log line or redact() call."""

import base64
import logging
from urllib.parse import quote

import pytest

from tradingbot.log_redaction import REDACTED, RedactSecretsFilter, contains_secret, redact, register_secret

SECRET = "s3cr3t-Value/with+odd=chars-42"


@pytest.fixture(autouse=True)
def registered():
    register_secret(SECRET)


def every_form(value: str) -> list[str]:
    raw = value.encode()
    forms = [value, quote(value, safe=""), raw.hex(), raw.hex().upper(), base64.b64encode(raw).decode(),
             base64.urlsafe_b64encode(raw).decode()]
    # Inside a longer base64 blob at each alignment (HTTP Basic "key:secret" is one).
    forms += [base64.b64encode(prefix + raw + b"!tail").decode() for prefix in (b"", b"k:", b"key:", b"ab:c")]
    return forms


@pytest.mark.parametrize("form", every_form(SECRET))
def test_every_encoding_is_redacted(form):
    text = redact(f"GET /x headers={{'Authorization': 'Basic {form}'}} tail")
    assert REDACTED in text
    for other in every_form(SECRET):
        assert other not in text
    assert text.startswith("GET /x headers=") and text.endswith(" tail")


def test_short_values_and_unrelated_text_are_left_alone():
    register_secret("abc")  # too short to redact usefully
    assert redact("abc abcdef") == "abc abcdef"
    assert redact("nothing secret here: 12345") == "nothing secret here: 12345"
    assert not contains_secret("plain words")


def test_extra_values_are_redacted_without_registering():
    assert redact("token=one-off-token-123", extra=["one-off-token-123"]) == f"token={REDACTED}"
    assert redact("token=one-off-token-123") == "token=one-off-token-123"


def test_filter_rewrites_message_args_and_traceback(caplog):
    logger = logging.getLogger("tests.redaction")
    handler = logging.StreamHandler()
    handler.addFilter(RedactSecretsFilter())
    records = []
    handler.emit = records.append
    logger.addHandler(handler)
    try:
        logger.warning("headers %s", {"X-API-KEY": SECRET})
        try:
            raise ValueError(f"bad key {SECRET}")
        except ValueError:
            logger.exception("it failed for %s", base64.b64encode(f"key:{SECRET}".encode()).decode())
    finally:
        logger.removeHandler(handler)
    formatted = "\n".join(logging.Formatter().format(r) for r in records)
    assert SECRET not in formatted and base64.b64encode(SECRET.encode()).decode()[:12] not in formatted
    assert formatted.count(REDACTED) >= 3 and "ValueError: bad key" in formatted


def test_settings_secrets_and_secret_environment_variables_are_registered(monkeypatch):
    from django.conf import settings

    from tradingbot.log_redaction import register_environment_secrets

    assert contains_secret(f"key={settings.SECRET_KEY}") and contains_secret(settings.ENCRYPTION_KEY)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:telegram-token-value")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-key-value-987")
    monkeypatch.setenv("SOME_PATH", "/usr/local/share/thing")
    names = register_environment_secrets({k: v for k, v in __import__("os").environ.items()
                                          if k in ("TELEGRAM_BOT_TOKEN", "OPENAI_API_KEY", "SOME_PATH")})
    assert names == ["OPENAI_API_KEY", "TELEGRAM_BOT_TOKEN"]
    assert redact("using sk-openai-key-value-987 and 123456:telegram-token-value") == f"using {REDACTED} and {REDACTED}"
    assert not contains_secret("/usr/local/share/thing")


def test_a_decrypted_secret_registers_itself(django_user_model, db):
    from exchanges.models import ExchangeAccount

    owner = django_user_model.objects.create_user("owner", password="owner-password-1234")
    account = ExchangeAccount.objects.create(owner=owner, exchange_id="binance", label="x", mode="live",
                                             api_key="registered-on-decrypt-0001", api_secret="")
    assert contains_secret("registered-on-decrypt-0001")  # typed in: registered
    assert ExchangeAccount.objects.get(pk=account.pk).api_key.reveal() == "registered-on-decrypt-0001"


def test_an_error_report_never_prints_key_material(rf, settings):
    """A Keyring or a Secret among a frame's local variables, a credential-named local, cookies: all masked."""
    import sys

    from django.views.debug import ExceptionReporter

    from exchanges.encryption import Keyring
    from exchanges.secret_field import Secret

    # Built at run time: the report shows the source lines around each frame, and these must not be in them.
    secret_value, password_value, cookie_value = ("-".join(("a", "secret", "for", "the", "report")),
                                                  "-".join(("unregistered", "password", "value")),
                                                  "-".join(("session", "cookie", "123")))

    def failing():
        keyring = Keyring.from_settings()  # noqa: F841  (a local the report lists)
        secret = Secret(secret_value)  # noqa: F841
        exchange_password = password_value  # noqa: F841
        raise RuntimeError("failed")

    request = rf.get("/", HTTP_COOKIE=f"sessionid={cookie_value}")
    try:
        failing()
    except RuntimeError:
        html = ExceptionReporter(request, *sys.exc_info()).get_traceback_html()
    for value in (secret_value, password_value, cookie_value, settings.ENCRYPTION_KEY,
                  repr(Keyring.from_settings().current)[2:20]):
        assert value not in html
    assert "Keyring()" in html or "Keyring(" in html


def test_long_secrets_and_secrets_inside_others():
    long_secret = "L" + "x9" * 256  # 513 characters, hex form over 1,000
    register_secret(long_secret)
    register_secret("inner-secret-77")
    register_secret("outer-inner-secret-77-more")
    assert redact(f"a {long_secret.encode().hex()} b") == f"a {REDACTED} b"
    assert redact("x outer-inner-secret-77-more y inner-secret-77 z") == f"x {REDACTED} y {REDACTED} z"
