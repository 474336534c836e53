"""The OpenAPI document as client developers read it: every operation has a summary and a
description saying who may call it, and every error status lists the exact `code` values
(an enum) that the error classes behind the operation answer with."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from dependency_injector import providers
from fastapi import FastAPI

from appointments.container import Container
from appointments.entrypoints.api.app import create_app
from appointments.entrypoints.api.errors import HTTP_ERRORS, status_of
from appointments.entrypoints.api.openapi import error_classes, operations, restricted_roles
from tests import conftest
from tests.api.documented import listed_codes

ROOT = Path(__file__).resolve().parents[2]
# The binding contract, beside the repository where the workplace keeps it; the project's
# own reference (docs/api.md) carries the same list and is checked either way.
CONTRACT = ROOT.parent / "shared" / "API.md"
# Codes of the contract whose features are built on other branches, not here yet.
PENDING: set[str] = set()
# Answered to requests that reach no operation (405), or never meant to be (a bug, like
# a 500): documented in docs/api.md, not per operation.
NO_OPERATION = {"method_not_allowed", "internal_error", "http_error"}


@pytest.fixture(scope="module")
def app() -> FastAPI:
    container = Container()
    container.settings.override(providers.Object(conftest.test_settings("sqlite+aiosqlite://")))
    return create_app(container)


@pytest.fixture(scope="module")
def spec(app: FastAPI) -> dict[str, Any]:
    return app.openapi()


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    ]


def test_every_operation_has_a_summary_and_says_who_may_call_it(spec: dict[str, Any]) -> None:
    problems = []
    for method, path, operation in _operations(spec):
        summary = operation.get("summary", "")
        description = operation.get("description", "")
        where = f"{method.upper()} {path}"
        # FastAPI's fallback is the title-cased function name: not a summary anyone wrote.
        words = re.split(r"(?=[A-Z])", operation["operationId"])
        if not summary or summary == " ".join(w.capitalize() for w in words):
            problems.append(f"{where}: no written summary ({summary!r})")
        if not re.search(r"^Who: .+", description, re.MULTILINE):
            problems.append(f"{where}: the description has no 'Who: ...' line")
    assert not problems, "\n".join(problems)


def test_role_restricted_operations_name_their_roles(app: FastAPI, spec: dict[str, Any]) -> None:
    checked = 0
    for route in operations(app):
        roles = restricted_roles(route)
        for method in route.methods or ():
            operation = spec["paths"][str(route.path_format)][method.lower()]
            who = re.search(r"^Who: (.+)", operation["description"], re.MULTILINE)
            assert who, operation["operationId"]
            for role in roles:
                assert role.upper() in who.group(1), (operation["operationId"], role)
            checked += bool(roles)
    assert checked >= 20


def test_every_error_status_lists_its_codes_as_an_enum(spec: dict[str, Any]) -> None:
    known = {kind.code for kind in error_classes()}
    problems = []
    for method, path, operation in _operations(spec):
        for status, codes in listed_codes(spec, operation).items():
            where = f"{operation['operationId']} ({method.upper()} {path}) {status}"
            if not codes:
                problems.append(f"{where}: no code enum (name the error classes in errors())")
            elif unknown := codes - known:
                problems.append(f"{where}: codes no error class has: {sorted(unknown)}")
            elif any(status_of(kind) == status for kind in error_classes()) and not any(
                status_of(kind) == status for kind in error_classes() if kind.code in codes
            ):
                problems.append(f"{where}: no listed code is answered with this status")
    assert not problems, "\n".join(problems)


def test_operations_list_the_codes_of_their_kind(spec: dict[str, Any]) -> None:
    """Token-protected operations list 401, bodies 400 and 413, covered writes the
    idempotency codes; and the use-case codes of the contract sit where API.md puts them."""
    book = listed_codes(spec, spec["paths"]["/api/appointments"]["post"])
    assert {"doctor_unavailable", "patient_unavailable", "room_unavailable"} <= book[409]
    assert {"invalid_duration", "in_the_past", "outside_schedule", "validation_failed"} <= book[422]
    assert book[400] == {"malformed_json", "invalid_idempotency_key"}
    login = listed_codes(spec, spec["paths"]["/api/auth/login"]["post"])
    assert login[401] == {"invalid_credentials"}
    assert login[429] == {"too_many_attempts"}
    assert "idempotency_key_reused" not in login.get(422, set())
    users = listed_codes(spec, spec["paths"]["/api/admin/users/{user_id}"]["delete"])
    assert users[409] >= {"last_admin", "idempotency_key_in_use"}
    assert users[403] == {"forbidden"}


def _code_list(text: str, heading: str, pattern: str = r"`([a-z_]+)`") -> set[str]:
    """The backquoted codes of a markdown section (up to the next heading)."""
    section = text.split(heading, 1)[1]
    section = re.split(r"^#", section, maxsplit=1, flags=re.MULTILINE)[0]
    return set(re.findall(pattern, section, re.MULTILINE))


def test_every_code_is_documented_and_answered_by_some_operation(spec: dict[str, Any]) -> None:
    raised = {kind.code for kind in error_classes()} | {k.code for k in HTTP_ERRORS.values()}
    listed = {
        code
        for _, _, operation in _operations(spec)
        for codes in listed_codes(spec, operation).values()
        for code in codes
    }
    assert raised - NO_OPERATION <= listed, sorted(raised - NO_OPERATION - listed)
    reference = _code_list(
        (ROOT / "docs" / "api.md").read_text(), "## Error codes", r"^\| `([a-z_]+)` \|"
    )
    assert reference == raised | PENDING, (
        f"docs/api.md lacks {sorted(raised - reference)}, "
        f"names codes nothing raises: {sorted(reference - raised - PENDING)}"
    )
    if CONTRACT.exists():  # beside the repository on the workplace and in CI
        contract = _code_list(CONTRACT.read_text(), "## Error codes")
        assert contract - PENDING <= raised, sorted(contract - PENDING - raised)
        assert contract >= PENDING


def test_error_schemas_are_named_for_their_operation(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    conflict = schemas["BookAppointmentError409"]
    assert conflict["required"] == ["detail", "code"]
    assert conflict["properties"]["code"]["type"] == "string"
    assert "doctor_unavailable" in conflict["properties"]["code"]["enum"]
    # Each code's meaning, for readers of /docs and /redoc.
    assert "`doctor_unavailable`: The doctor" in conflict["properties"]["code"]["description"]
