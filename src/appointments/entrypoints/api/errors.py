"""One place that turns errors into HTTP responses: status from the error's category,
body `{"detail", "code"}`. A 500 is always a bug: it is logged, and the client gets no
traceback."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

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
from appointments.entrypoints.api import fhir

log = logging.getLogger("appointments.api")


class EdgeError(CodedError):
    """An error answered by the HTTP edge itself, before or around any use-case: its
    status is its own, not its category's."""

    http_status: ClassVar[int]


class ValidationFailed(EdgeError):
    """The request does not match the operation's schema; `detail` is FastAPI's list."""

    code = "validation_failed"
    default_detail = "The request is invalid."
    http_status = status.HTTP_422_UNPROCESSABLE_CONTENT


class MalformedBody(EdgeError):
    code = "malformed_json"
    default_detail = "The request body is not valid JSON or form data."
    http_status = status.HTTP_400_BAD_REQUEST


class PayloadTooLarge(EdgeError):
    code = "payload_too_large"
    default_detail = "The request body is too large."
    http_status = status.HTTP_413_CONTENT_TOO_LARGE


class MethodNotAllowed(EdgeError):
    code = "method_not_allowed"
    default_detail = "Method Not Allowed"
    http_status = status.HTTP_405_METHOD_NOT_ALLOWED


class InternalError(EdgeError):
    """A bug: logged, and the client gets no traceback."""

    code = "internal_error"
    default_detail = "Internal server error."
    http_status = status.HTTP_500_INTERNAL_SERVER_ERROR


class HttpError(EdgeError):
    """Any other status Starlette raises on its own (none is expected: like a 500)."""

    code = "http_error"
    default_detail = "The request failed."
    http_status = status.HTTP_400_BAD_REQUEST


STATUS_BY_CATEGORY: list[tuple[type[CodedError], int]] = [
    (NotAuthenticated, status.HTTP_401_UNAUTHORIZED),
    (Forbidden, status.HTTP_403_FORBIDDEN),
    (NotFound, status.HTTP_404_NOT_FOUND),
    (Conflict, status.HTTP_409_CONFLICT),
    (RuleViolation, status.HTTP_422_UNPROCESSABLE_CONTENT),
    (TooManyAttempts, status.HTTP_429_TOO_MANY_REQUESTS),
    (DatabaseUnavailable, status.HTTP_503_SERVICE_UNAVAILABLE),
]


def status_of(kind: type[CodedError]) -> int:
    """The HTTP status of an error class: its own at the edge, else its category's."""
    if issubclass(kind, EdgeError):
        return kind.http_status
    return next((s for category, s in STATUS_BY_CATEGORY if issubclass(kind, category)), 400)


def error_response(error: CodedError) -> JSONResponse:
    # A refused series answers with its first failing occurrence's status.
    judged = error.first if isinstance(error, SeriesRefused) else error
    code = status_of(type(judged))
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
        return error_response(MalformedBody("The request body is not valid JSON."))
    return JSONResponse(
        {
            "detail": jsonable_encoder(_safe_validation_errors(errors)),
            "code": ValidationFailed.code,
        },
        status_code=ValidationFailed.http_status,
    )


async def _out_of_range(_: Request, error: Exception) -> JSONResponse:
    """Date arithmetic past year 1 or 9999 (e.g. `date_to=9999-12-31` plus a day)."""
    return error_response(InvalidValue("A date or time is out of range."))


async def _unexpected(_: Request, error: Exception) -> JSONResponse:
    translated = translate(error)
    if isinstance(translated, CodedError):
        return error_response(translated)
    log.exception("unhandled error", exc_info=error)
    return error_response(InternalError())


# Starlette's own errors (no route, wrong method...), coded like every other error.
HTTP_ERRORS: dict[int, type[CodedError]] = {
    status.HTTP_400_BAD_REQUEST: MalformedBody,  # a form body that cannot be parsed
    status.HTTP_404_NOT_FOUND: NotFound,
    status.HTTP_405_METHOD_NOT_ALLOWED: MethodNotAllowed,
    status.HTTP_413_CONTENT_TOO_LARGE: PayloadTooLarge,
}


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    if error.status_code == status.HTTP_413_CONTENT_TOO_LARGE:
        # Same body as the middleware's early 413 (declared Content-Length).
        return JSONResponse(
            {"detail": error.detail, "code": PayloadTooLarge.code}, status_code=error.status_code
        )
    if error.status_code in (status.HTTP_204_NO_CONTENT, status.HTTP_304_NOT_MODIFIED):
        return await http_exception_handler(request, error)  # no body
    if error.status_code != status.HTTP_405_METHOD_NOT_ALLOWED:
        code = HTTP_ERRORS.get(error.status_code, HttpError).code
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
        {"detail": detail, "code": MethodNotAllowed.code},
        status_code=status.HTTP_405_METHOD_NOT_ALLOWED,
        headers={"Allow": ", ".join(sorted(allowed))},
    )


Handler = Callable[[Request, Exception], Awaitable[Response]]


def _fhir_aware(handler: Handler) -> Handler:
    """Under /fhir/R4 the same status and code, as a FHIR OperationOutcome."""

    async def handle(request: Request, error: Exception) -> Response:
        response = await handler(request, error)
        return fhir.as_outcome(response) if fhir.is_fhir(request.url.path) else response

    return handle


def install(app: FastAPI) -> None:
    app.add_exception_handler(CodedError, _fhir_aware(_coded_error))
    app.add_exception_handler(RequestValidationError, _fhir_aware(_validation_error))
    app.add_exception_handler(StarletteHTTPException, _fhir_aware(_http_error))
    app.add_exception_handler(OverflowError, _fhir_aware(_out_of_range))
    app.add_exception_handler(Exception, _fhir_aware(_unexpected))
