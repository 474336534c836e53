"""What the OpenAPI document says about each operation beyond FastAPI's defaults: its
summary and description (from the endpoint's docstring) and, per error status, the exact
`code` values it can answer, as an enum generated clients narrow on.

Routers name the error classes their use-cases raise (`responses=errors(NotFound,
DoctorUnavailable)`); status and code come from the classes, through the same mapping the
error handlers answer with (errors.status_of), so the document cannot drift from what is
raised. What every operation of a kind can answer is added here once, for every route,
including routers added later: 401 behind a token, 403 for a role-restricted use-case,
422 `validation_failed` for any input, 400/413 for a body, the idempotency codes and
`concurrent_update` for writes, 503 whenever the database is used.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from pydantic import BaseModel

from appointments.application.errors import (
    ConcurrentUpdate,
    DatabaseUnavailable,
    Forbidden,
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    InvalidIdempotencyKey,
    NotAuthenticated,
    TooManyAttempts,
)
from appointments.domain.errors import CodedError, NotFound
from appointments.entrypoints.api.dependencies import RESTRICTED_TO, USE_CASE
from appointments.entrypoints.api.errors import (
    MalformedBody,
    PayloadTooLarge,
    ValidationFailed,
    status_of,
)
from appointments.entrypoints.api.idempotency import covered
from appointments.entrypoints.api.schemas.fhir import as_outcomes

CODES = "x-error-codes"  # how a route's `responses` carry its codes to `install`
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# A bare status in `errors(...)` stands for its one code where it has only one.
DEFAULT_ERRORS: dict[int, type[CodedError]] = {
    status_of(kind): kind
    for kind in (NotAuthenticated, Forbidden, NotFound, TooManyAttempts, DatabaseUnavailable)
}


class ErrorOut(BaseModel):
    """Every error body: `code` is always there (`validation_failed` for request
    validation errors, whose `detail` is FastAPI's list)."""

    detail: str | list[dict[str, Any]]
    code: str


RETRY_AFTER = {
    "Retry-After": {
        "description": "Whole seconds to wait before trying again.",
        "schema": {"type": "integer", "minimum": 1},
    }
}


def errors(*kinds: type[CodedError] | int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the errors a route can answer, named by class (a bare
    status is its single default code, see DEFAULT_ERRORS); a 429 documents Retry-After.
    Codes every route of its kind answers are added by `install`: name only the route's
    own."""
    by_status: dict[int, set[str]] = {}
    for kind in kinds:
        if isinstance(kind, int):
            codes = by_status.setdefault(kind, set())
            if kind in DEFAULT_ERRORS:
                codes.add(DEFAULT_ERRORS[kind].code)
        else:
            by_status.setdefault(status_of(kind), set()).add(kind.code)
    return {
        status: {
            "model": ErrorOut,
            CODES: sorted(codes),
            **({"headers": RETRY_AFTER} if status == 429 else {}),
        }
        for status, codes in by_status.items()
    }


AUTH_ERRORS = (401, 503)


def error_classes() -> list[type[CodedError]]:
    """Every error class that declares a code of its own (categories only inherit one)."""
    found: list[type[CodedError]] = []
    pending: list[type[CodedError]] = [CodedError]
    while pending:
        kind = pending.pop()
        pending.extend(kind.__subclasses__())
        if "code" in vars(kind) and kind is not CodedError and kind.code != "domain_error":
            found.append(kind)
    return sorted(found, key=lambda k: (k.code, status_of(k)))


def _calls(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


def operations(app: FastAPI) -> Iterator[RouteContext]:
    """Every documented API route, routers included (their effective route: prefix,
    merged responses and dependencies)."""
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute) and context.include_in_schema:
            yield context


def restricted_roles(route: RouteContext) -> frozenset[str]:
    """The roles a role-restricted use-case of the route allows (empty: not restricted)."""
    roles: frozenset[str] = frozenset()
    for call in _calls(route.dependant):
        roles |= getattr(call, RESTRICTED_TO, frozenset())
    return roles


def automatic_errors(
    route: RouteContext, method: str, operation: dict[str, Any]
) -> set[type[CodedError]]:
    """What the operation answers by being of its kind, whatever its use-case does."""
    kinds: set[type[CodedError]] = set()
    uses_database = any(hasattr(call, USE_CASE) for call in _calls(route.dependant))
    if operation.get("security"):
        kinds.add(NotAuthenticated)
        uses_database = True  # the token's user is read on every request
    if restricted_roles(route):
        kinds.add(Forbidden)
    if operation.get("parameters") or "requestBody" in operation:
        kinds.add(ValidationFailed)
    if "requestBody" in operation:
        kinds |= {MalformedBody, PayloadTooLarge}
    if method in WRITES and uses_database:
        kinds.add(ConcurrentUpdate)  # a deadlock or serialization failure: retry
        if covered({"method": method, "path": route.path_format}):
            kinds |= {InvalidIdempotencyKey, IdempotencyKeyReused, IdempotencyKeyInUse}
    if uses_database:
        kinds.add(DatabaseUnavailable)
    return kinds


def _pascal(operation_id: str) -> str:
    return operation_id[:1].upper() + operation_id[1:]


# One problem of a `validation_failed` answer (FastAPI's, less the submitted input).
VALIDATION_ISSUE = {
    "title": "ValidationIssue",
    "type": "object",
    "required": ["loc", "msg", "type"],
    "properties": {
        "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
        "msg": {"type": "string"},
        "type": {"type": "string"},
    },
}


def _error_schema(
    name: str, status: int, codes: list[str], details: dict[tuple[int, str], str]
) -> Any:
    detail: dict[str, Any] = {"type": "string", "title": "Detail"}
    if ValidationFailed.code in codes:  # its detail is the list of problems
        issues = {"type": "array", "items": {"$ref": "#/components/schemas/ValidationIssue"}}
        detail = {"anyOf": [detail, issues], "title": "Detail"}
    return {
        "title": name,
        "type": "object",
        "required": ["detail", "code"],
        "properties": {
            "detail": detail,
            "code": {
                "type": "string",
                "enum": codes,
                "title": "Code",
                "description": "\n".join(
                    f"- `{code}`: {details.get((status, code), '')}".rstrip(": ") for code in codes
                ),
            },
        },
    }


def _type_errors(app: FastAPI, schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["ValidationIssue"] = VALIDATION_ISSUE
    details = {(status_of(k), k.code): k.default_detail for k in error_classes()}
    for route in operations(app):
        for method in sorted(route.methods or ()):
            operation = schema["paths"].get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            if route.summary is None and route.description:
                _describe(operation, route.description)
            responses: dict[str, Any] = operation["responses"]
            by_status: dict[int, set[str]] = {}
            for key, declared in responses.items():
                if key.isdigit() and int(key) >= 400:
                    by_status.setdefault(int(key), set()).update(declared.pop(CODES, []))
            for kind in automatic_errors(route, method, operation):
                by_status.setdefault(status_of(kind), set()).add(kind.code)
            for status, codes in sorted(by_status.items()):
                response = responses.setdefault(str(status), {})
                phrase = HTTPStatus(status).phrase
                if not codes:  # a bare status with no single code: the tests name it
                    response["description"] = phrase
                    continue
                name = f"{_pascal(operation['operationId'])}Error{status}"
                components[name] = _error_schema(name, status, sorted(codes), details)
                # A declared model that extends ErrorOut (a series' `conflicts`) keeps its
                # extra fields.
                extra = _extra_properties(response, components)
                components[name]["properties"].update(extra)
                response["description"] = f"{phrase}: " + ", ".join(f"`{c}`" for c in sorted(codes))
                response["content"] = {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}
                }
            operation["responses"] = dict(sorted(responses.items()))


def _extra_properties(response: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    """The properties beyond `detail` and `code` of the model a route declared for this
    response (none for ErrorOut itself)."""
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    declared = components.get(str(schema.get("$ref", "")).rsplit("/", 1)[-1], {})
    properties = declared.get("properties", {})
    return {k: v for k, v in properties.items() if k not in ("detail", "code")}


def _describe(operation: dict[str, Any], docstring: str) -> None:
    """Summary from the docstring's first paragraph, description from the rest (FastAPI
    would take the whole docstring as description and title-case the function name)."""
    first, _, rest = inspect.cleandoc(docstring).partition("\n\n")
    operation["summary"] = " ".join(first.split())
    if rest.strip():
        operation["description"] = rest.strip()
    else:
        operation.pop("description", None)


def install(app: FastAPI) -> None:
    """Typed errors and summaries in the app's OpenAPI document."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            _type_errors(app, schema)
            as_outcomes(schema)  # FHIR errors: the same enums, in OperationOutcomes
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]
