"""LOG_FORMAT=json: one JSON object per line through the settings' real logging configuration, with the
`extra=` ids, and every registered secret still masked (in the message, the extras and the traceback)."""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings

from tradingbot.log_redaction import REDACTED

SECRET = "json-log-secret-9f8e7d6c5b4a"

SCRIPT = f"""
import logging
import django
django.setup()
from tradingbot.log_redaction import register_secret
register_secret({SECRET!r})
log = logging.getLogger("bots.tick")
log.warning("order %s sent with key %s", "tb-7-abc", {SECRET!r}, extra={{"bot_id": 7, "tick": 3,
            "client_order_id": "tb-7-abc", "note": "key {SECRET}"}})
try:
    raise ValueError("bad key {SECRET}")
except ValueError:
    log.exception("failed", extra={{"bot_id": 7}})
logging.getLogger("x").info("plain line")
"""


def run(log_format: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "LOG_FORMAT": log_format, "DJANGO_SETTINGS_MODULE": "tradingbot.settings"}
    return subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=120,
                          cwd=settings.BASE_DIR)


def test_json_lines_carry_the_ids_and_mask_secrets():
    done = run("json")
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 3, done.stderr
    first, failed, plain = lines
    assert {"time", "level", "logger", "message"} <= set(first)
    assert first["level"] == "WARNING" and first["logger"] == "bots.tick"
    assert (first["bot_id"], first["tick"], first["client_order_id"]) == (7, 3, "tb-7-abc")
    assert first["message"].startswith("order tb-7-abc sent with key ") and REDACTED in first["message"]
    assert first["note"] == f"key {REDACTED}"
    assert failed["bot_id"] == 7 and "ValueError" in failed["exception"] and REDACTED in failed["exception"]
    assert plain["message"] == "plain line" and plain["time"].endswith("+00:00")
    assert SECRET not in done.stderr


def test_the_plain_format_is_unchanged():
    done = run("plain")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "WARNING bots.tick: order tb-7-abc sent with key" in done.stderr and SECRET not in done.stderr
    with pytest.raises(ValueError):
        json.loads(done.stderr.splitlines()[0])


def test_an_unknown_format_is_refused_with_a_clear_message():
    done = run("xml")
    assert done.returncode != 0 and "LOG_FORMAT must be plain or json" in done.stderr
