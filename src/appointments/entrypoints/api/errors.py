"""One place that turns errors into HTTP responses: status from the error's category,
body `{"detail", "code"}`. A 500 is always a bug: it is logged, and the client gets no
traceback."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from appointments.adapters.sqlalchemy.errors import translate
from appointments.application.errors import (
    DatabaseUnavailable,
    Forbidden,
    NotAuthenticated,
    TooManyAttempts,
)
from appointments.domain.errors import Conflict, DomainError, NotFound, RuleViolation

log = logging.getLogger("appointments.api")

STATUS_BY_CATEGORY: list[tuple[type[DomainError], int]] = [
    (NotAuthenticated, status.HTTP_401_UNAUTHORIZED),
    (Forbidden, status.HTTP_403_FORBIDDEN),
    (NotFound, status.HTTP_404_NOT_FOUND),
    (Conflict, status.HTTP_409_CONFLICT),
    (RuleViolation, status.HTTP_422_UNPROCESSABLE_CONTENT),
    (TooManyAttempts, status.HTTP_429_TOO_MANY_REQUESTS),
    (DatabaseUnavailable, status.HTTP_503_SERVICE_UNAVAILABLE),
]


def error_response(error: DomainError) -> JSONResponse:
    code = next((s for kind, s in STATUS_BY_CATEGORY if isinstance(error, kind)), 400)
    headers: dict[str, str] = {}
    if isinstance(error, NotAuthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(error, TooManyAttempts):
        headers["Retry-After"] = str(error.retry_after)
    return JSONResponse(
        {"detail": error.detail, "code": error.code}, status_code=code, headers=headers
    )


async def _domain_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DomainError)
    return error_response(error)


def _safe_validation_errors(errors: Any) -> list[dict[str, Any]]:
    """FastAPI's 422 list without the submitted values: they may hold a password."""
    return [{k: v for k, v in e.items() if k not in ("input", "ctx", "url")} for e in errors]


async def _validation_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    errors = error.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return JSONResponse(
            {"detail": "The request body is not valid JSON.", "code": "malformed_json"},
            status_code=status.HTTP_400_BAD_REQUEST,
        )
    return JSONResponse(
        {"detail": jsonable_encoder(_safe_validation_errors(errors))},
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
    )


async def _unexpected(_: Request, error: Exception) -> JSONResponse:
    translated = translate(error)
    if isinstance(translated, DomainError):
        return error_response(translated)
    log.exception("unhandled error", exc_info=error)
    return JSONResponse(
        {"detail": "Internal server error.", "code": "internal_error"},
        status_code=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
