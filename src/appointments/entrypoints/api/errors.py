"""One place that turns errors into HTTP responses: status from the error's category,
body `{"detail", "code"}`. A 500 is always a bug: it is logged, and the client gets no
traceback."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from appointments.adapters.sqlalchemy.errors import translate
from appointments.application.errors import (
    DatabaseUnavailable,
    Forbidden,
    NotAuthenticated,
    TooManyAttempts,
)
from appointments.domain.errors import (
    CodedError,
    Conflict,
    InvalidValue,
    NotFound,
    RuleViolation,
    SeriesRefused,
)

log = logging.getLogger("appointments.api")

STATUS_BY_CATEGORY: list[tuple[type[CodedError], int]] = [
    (NotAuthenticated, status.HTTP_401_UNAUTHORIZED),
    (Forbidden, status.HTTP_403_FORBIDDEN),
    (NotFound, status.HTTP_404_NOT_FOUND),
    (Conflict, status.HTTP_409_CONFLICT),
    (RuleViolation, status.HTTP_422_UNPROCESSABLE_CONTENT),
    (TooManyAttempts, status.HTTP_429_TOO_MANY_REQUESTS),
    (DatabaseUnavailable, status.HTTP_503_SERVICE_UNAVAILABLE),
]


def error_response(error: CodedError) -> JSONResponse:
    # A refused series answers with its first failing occurrence's status.
    judged = error.first if isinstance(error, SeriesRefused) else error
    code = next((s for kind, s in STATUS_BY_CATEGORY if isinstance(judged, kind)), 400)
    headers: dict[str, str] = {}
    if isinstance(error, NotAuthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(error, TooManyAttempts):
        headers["Retry-After"] = str(error.retry_after)
    body: dict[str, Any] = {"detail": error.detail, "code": error.code}
    if isinstance(error, SeriesRefused):
        body["conflicts"] = [
            {"starts_at": starts_at.isoformat(), "code": failed}
            for starts_at, failed in error.conflicts
        ]
    return JSONResponse(body, status_code=code, headers=headers)


async def _coded_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, CodedError)
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
        {"detail": jsonable_encoder(_safe_validation_errors(errors)), "code": "validation_failed"},
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
    )


async def _out_of_range(_: Request, error: Exception) -> JSONResponse:
    """Date arithmetic past year 1 or 9999 (e.g. `date_to=9999-12-31` plus a day)."""
    return error_response(InvalidValue("A date or time is out of range."))


async def _unexpected(_: Request, error: Exception) -> JSONResponse:
    translated = translate(error)
    if isinstance(translated, CodedError):
        return error_response(translated)
    log.exception("unhandled error", exc_info=error)
    return JSONResponse(
        {"detail": "Internal server error.", "code": "internal_error"},
        status_code=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


# Starlette's own errors (no route, wrong method...), coded like every other error.
HTTP_ERROR_CODES = {
    status.HTTP_404_NOT_FOUND: "not_found",
    status.HTTP_405_METHOD_NOT_ALLOWED: "method_not_allowed",
    status.HTTP_413_CONTENT_TOO_LARGE: "payload_too_large",
}


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    if error.status_code == status.HTTP_413_CONTENT_TOO_LARGE:
        # Same body as the middleware's early 413 (declared Content-Length).
        return JSONResponse(
            {"detail": error.detail, "code": "payload_too_large"}, status_code=error.status_code
        )
    if error.status_code in (status.HTTP_204_NO_CONTENT, status.HTTP_304_NOT_MODIFIED):
        return await http_exception_handler(request, error)  # no body
    if error.status_code != status.HTTP_405_METHOD_NOT_ALLOWED:
        code = HTTP_ERROR_CODES.get(error.status_code, "http_error")
        return JSONResponse(
            {"detail": error.detail, "code": code},
            status_code=error.status_code,
            headers=error.headers,
        )
    # Starlette's `Allow` names only the first route matching the path, but one path has
    # a route per method (GET, PATCH, DELETE /api/.../{id}): list them all (RFC 9110).
    # Included routers are not routes themselves: walk their effective route contexts.
    allowed: set[str] = set()
    for route in iter_route_contexts(request.app.router.routes):
        match, _ = route.matches(request.scope)
        if match != Match.NONE:
            allowed |= route.methods or set()
    return method_not_allowed(request, allowed)


def method_not_allowed(request: Request, allowed: set[str]) -> JSONResponse:
    """The 405, `Allow` listing `allowed`."""
    detail = "Method Not Allowed"
    if request.method == "OPTIONS" and "access-control-request-method" in request.headers:
        # A browser's preflight, and CORS is off (with CORS_ORIGINS set, the CORS
        # middleware answers it before any route): say what to change.
        detail = (
            "Cross-origin requests are not enabled: set CORS_ORIGINS to your web app's "
            "origin (e.g. http://localhost:5173)."
        )
    return JSONResponse(
        {"detail": detail, "code": "method_not_allowed"},
        status_code=status.HTTP_405_METHOD_NOT_ALLOWED,
        headers={"Allow": ", ".join(sorted(allowed))},
    )


# Every operation that reads a body can also answer these, before any route code runs.
BODY_ERRORS = {
    status.HTTP_400_BAD_REQUEST: "The request body is not valid JSON or form data.",
    status.HTTP_413_CONTENT_TOO_LARGE: "The request body is too large.",
}


def _document_body_errors(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
            for path_item in schema.get("paths", {}).values():
                for operation in path_item.values():
                    if isinstance(operation, dict) and "requestBody" in operation:
                        for code, description in BODY_ERRORS.items():
                            operation["responses"].setdefault(
                                str(code), {"description": description, "content": error}
                            )
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]


def install(app: FastAPI) -> None:
    app.add_exception_handler(CodedError, _coded_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(OverflowError, _out_of_range)
    app.add_exception_handler(Exception, _unexpected)
    _document_body_errors(app)
