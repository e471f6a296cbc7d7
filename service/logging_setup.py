"""Logging configuration; only the application factory calls it.

``text`` writes one readable line per record; ``json`` writes JSON lines for
log collectors. Handlers are added only when the root logger has none, so a
host application or pytest keeps its own.
"""

from __future__ import annotations

import json
import logging

from config import Settings


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(settings: Settings) -> None:
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        if settings.log_format == "json":
            handler.setFormatter(JsonFormatter())
        else:
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    logging.getLogger("service").setLevel(settings.log_level)
    logging.getLogger("signing").setLevel(settings.log_level)
    logging.getLogger("storage").setLevel(settings.log_level)
    # Validation first checks each signature with revocation data required and,
    # when that data is missing, checks again. pyHanko logs each expected first
    # failure as a WARNING with a traceback, and the report carries the outcome.
    logging.getLogger("pyhanko").setLevel(logging.ERROR)
    logging.getLogger("pyhanko_certvalidator").setLevel(logging.ERROR)
