"""What the OpenAPI document promises about errors, and a check of answers against it:
every (operation, status, code) an API test provokes must be one the operation lists."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.routing import Match

from appointments.entrypoints.api.openapi import operations

# Answers to requests that match no operation (unknown path, wrong method).
NO_OPERATION = {(404, "not_found"), (405, "method_not_allowed")}

Seen = tuple[str, str, int, str | None]  # method, path, status, code


def _property(schema: dict[str, Any], *path: str) -> dict[str, Any]:
    """The schema at `path` (property names; "[]" for an array's items)."""
    for step in path:
        schema = schema.get("items", {}) if step == "[]" else schema.get("properties", {})
        schema = schema if step == "[]" else schema.get(step, {})
    return schema


# Under /fhir/R4 an error is an OperationOutcome whose issue carries the code.
OUTCOME_CODE = ("issue", "[]", "details", "coding", "[]", "code")


def listed_codes(spec: dict[str, Any], operation: dict[str, Any]) -> dict[int, set[str]]:
    """Status -> the `code` enum of the operation's error response (`{detail, code}`, or
    an OperationOutcome's `issue[].details.coding[].code`)."""
    schemas = spec["components"]["schemas"]
    listed: dict[int, set[str]] = {}
    for status, response in operation["responses"].items():
        if int(status) < 400:
            continue
        content = response.get("content", {})
        fhir = "application/fhir+json" in content
        schema = content.get("application/fhir+json" if fhir else "application/json", {})
        ref = schema.get("schema", {}).get("$ref", "").rsplit("/", 1)[-1]
        code = _property(schemas.get(ref, {}), *(OUTCOME_CODE if fhir else ("code",)))
        listed[int(status)] = set(code.get("enum", []))
    return listed


def answered_code(body: Any) -> str | None:
    """The `code` of an error body: `{detail, code}` or a FHIR OperationOutcome."""
    if not isinstance(body, dict):
        return None
    if body.get("resourceType") == "OperationOutcome":
        try:
            return str(body["issue"][0]["details"]["coding"][0]["code"])
        except (KeyError, IndexError, TypeError):
            return None
    code = body.get("code")
    return None if code is None else str(code)


def operation_of(app: FastAPI, method: str, path: str) -> tuple[str, str] | None:
    """(method, path template) of the documented operation a request reaches."""
    scope = {"type": "http", "method": method, "path": path, "root_path": ""}
    documented = {(str(r.path_format), frozenset(r.methods or ())) for r in operations(app)}
    # In the order Starlette tries them; included routers are walked into their routes.
    for route in iter_route_contexts(app.router.routes):
        match, _ = route.matches(scope)
        if match == Match.FULL:
            key = (
                str(getattr(route, "path_format", "")),
                frozenset(getattr(route, "methods", None) or ()),
            )
            # An undocumented route answered (the series collection's 405): no operation.
            return (method.lower(), key[0]) if key in documented else None
    return None


_specs: dict[tuple[tuple[str, str], ...], dict[str, Any]] = {}


def _spec(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document, built once per set of routes (a third of a second)."""
    key = tuple(sorted((str(r.path_format), str(sorted(r.methods or ()))) for r in operations(app)))
    if key not in _specs:
        _specs[key] = app.openapi()
    return _specs[key]


def undocumented(app: FastAPI, seen: list[Seen]) -> list[str]:
    if not seen:
        return []
    spec = _spec(app)
    problems = []
    for method, path, status, code in seen:
        found = operation_of(app, method, path)
        if found is None:
            if method != "HEAD" and (status, code) not in NO_OPERATION:
                problems.append(f"{method} {path} (no operation): {status} {code}")
            continue
        operation = spec["paths"][found[1]][found[0]]
        listed = listed_codes(spec, operation)
        if code not in listed.get(status, set()):
            problems.append(
                f"{operation['operationId']} ({method} {found[1]}): {status} {code!r}, "
                f"listed: {sorted(listed.get(status, ()))}"
            )
    return problems


def recorder(seen: list[Seen]) -> Any:
    """An httpx response hook that notes every error answer's status and code."""

    async def record(response: httpx.Response) -> None:
        if response.status_code < 400:
            return
        await response.aread()
        try:
            code = answered_code(response.json())
        except ValueError:
            code = None
        request = response.request
        seen.append((request.method, request.url.path, response.status_code, code))

    return record
