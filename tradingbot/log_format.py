"""LOG_FORMAT=json: one JSON object per log line (time, level, logger, message, the traceback if any, and what
the code passed with `extra=`: bot_id, tick, client_order_id ...), for log shippers (Loki, Elasticsearch, ...).

The handler's redaction filters run before this formatter, as for the plain format; the `extra=` values and the
finished line are redacted here too, since those filters look only at the message and the traceback.
"""

import json
import logging
from datetime import UTC, datetime

from tradingbot.log_redaction import redact

# What every LogRecord carries: anything else on a record came from `extra=`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


def _plain(value):
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    return redact(str(value))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_") and key not in entry:
                entry[key] = _plain(value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        entry["message"] = redact(entry["message"])
        return redact(json.dumps(entry, ensure_ascii=False, default=str))
