"""What the OpenAPI document promises about errors, and a check of answers against it:
every (operation, status, code) an API test provokes must be one the operation lists."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from starlette.routing import Match

from appointments.entrypoints.api.openapi import operations

# Answers to requests that match no operation (unknown path, wrong method).
NO_OPERATION = {(404, "not_found"), (405, "method_not_allowed")}

Seen = tuple[str, str, int, str | None]  # method, path, status, code


def listed_codes(spec: dict[str, Any], operation: dict[str, Any]) -> dict[int, set[str]]:
    """Status -> the `code` enum of the operation's error response."""
    schemas = spec["components"]["schemas"]
    listed: dict[int, set[str]] = {}
    for status, response in operation["responses"].items():
        if int(status) < 400:
            continue
        schema = response.get("content", {}).get("application/json", {}).get("schema", {})
        ref = schema.get("$ref", "").rsplit("/", 1)[-1]
        code = schemas.get(ref, {}).get("properties", {}).get("code", {})
        listed[int(status)] = set(code.get("enum", []))
    return listed


def operation_of(app: FastAPI, method: str, path: str) -> tuple[str, str] | None:
    """(method, path template) of the documented operation a request reaches."""
    scope = {"type": "http", "method": method, "path": path, "root_path": ""}
    for route in operations(app):
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return method.lower(), str(route.path_format)
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
            code = response.json().get("code")
        except ValueError:
            code = None
        request = response.request
        seen.append((request.method, request.url.path, response.status_code, code))

    return record
