import json
import logging
from datetime import UTC, datetime

from .redaction import secrets_redacted


class JsonFormatter(logging.Formatter):
    """One JSON object per line: what log platforms (Heroku's drains, Loki, CloudWatch) parse."""

    def format(self, record):
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class ClientErrorAsWarning(logging.Filter):
    """Django logs what a client did wrong (a bad Host header, an oversized or malformed request:
    SuspiciousOperation) at ERROR on the `django.security.*` loggers. It is the client's error, not
    ours: record it as a warning, which pages nobody."""

    def filter(self, record):
        if record.levelno > logging.WARNING:
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


class SecretsRedacted(logging.Filter):
    """A log line keeps no key from a web address (Django's "Internal Server Error: <path>"
    names the path, and a cart's id or a pay page's key in it opens them)."""

    def filter(self, record):
        message = record.getMessage()
        redacted = secrets_redacted(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True
