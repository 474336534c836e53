"""Log configuration for `appointments serve`: every line of a request names its id."""

from __future__ import annotations

import logging
from typing import Any

from appointments.application.events import REQUEST_ID


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to each record ("-" outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get() or "-"
        return True


_FILTERS = {"request_id": {"()": RequestIdFilter}}
_LINE = "%(asctime)s %(levelname)s %(name)s request_id=%(request_id)s %(message)s"
_ACCESS = (
    "%(asctime)s %(levelname)s access request_id=%(request_id)s "
    '%(client_addr)s "%(request_line)s" %(status_code)s'
)

LOG_CONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": _FILTERS,
    "formatters": {
        "default": {"()": "uvicorn.logging.DefaultFormatter", "fmt": _LINE, "use_colors": False},
        "access": {"()": "uvicorn.logging.AccessFormatter", "fmt": _ACCESS, "use_colors": False},
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
        # One line per webhook POST, URL included (which may hold a receiver's token):
        # the delivery log has what an operator needs.
        "httpx": {"level": "WARNING"},
    },
}
