"""Log configuration for `appointments serve`: every line of a request names its id.

LOG_FORMAT=json (the default in production): one JSON object a line, with time, level,
logger, message, request_id and, on the access line, the request's fields (ACCESS_FIELDS).
"""

from __future__ import annotations

import copy
import json
import logging
from datetime import UTC, datetime
from typing import Any, Literal

from appointments.application.events import REQUEST_ID


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to each record ("-" outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get() or "-"
        return True


# What the access line (entrypoints/api/observe.py) adds to its record: never a query
# string, header or body, so no password, token or patient name.
ACCESS_FIELDS = ("method", "path", "route", "status", "duration_ms", "user_id", "client_addr")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        line.update(
            (name, getattr(record, name)) for name in ACCESS_FIELDS if hasattr(record, name)
        )
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


_FILTERS = {"request_id": {"()": RequestIdFilter}}
_LINE = "%(asctime)s %(levelname)s %(name)s request_id=%(request_id)s %(message)s"
_ACCESS = "%(asctime)s %(levelname)s access request_id=%(request_id)s %(message)s"

LOG_CONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": _FILTERS,
    "formatters": {
        "default": {"()": "uvicorn.logging.DefaultFormatter", "fmt": _LINE, "use_colors": False},
        "access": {"format": _ACCESS},
    },
    "handlers": {
        "default": {
            "class": "logging.StreamHandler",
            "formatter": "default",
            "filters": ["request_id"],
            "stream": "ext://sys.stderr",
        },
        "access": {
            "class": "logging.StreamHandler",
            "formatter": "access",
            "filters": ["request_id"],
            "stream": "ext://sys.stdout",
        },
    },
    "loggers": {
        "": {"handlers": ["default"], "level": "INFO"},
        "uvicorn": {"handlers": ["default"], "level": "INFO", "propagate": False},
        "uvicorn.error": {"level": "INFO"},
        "uvicorn.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
        # The one access line per request (`serve` turns uvicorn's own off).
        "appointments.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
        # One line per webhook POST, URL included (which may hold a receiver's token):
        # the delivery log has what an operator needs.
        "httpx": {"level": "WARNING"},
    },
}


def log_config(log_format: Literal["json", "console"] | None, environment: str) -> dict[str, Any]:
    """LOG_CONFIG, in JSON when asked or, unasked, in production."""
    if (log_format or ("json" if environment == "production" else "console")) == "console":
        return LOG_CONFIG
    config = copy.deepcopy(LOG_CONFIG)
    json_formatter = {"()": JsonFormatter}
    config["formatters"] = {"default": json_formatter, "access": json_formatter}
    return config
