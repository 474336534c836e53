"""Behaviour at the HTTP edge that is not about one resource: error shapes, limits, CORS,
secrets kept out of responses and logs, OpenAPI."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from appointments.adapters.clock import FixedClock
from appointments.container import Container
from appointments.entrypoints.api.app import create_app
from tests.api.support import (
    HASH_MARKERS,
    PASSWORD,
    ApiClinic,
    bearer,
    client_for,
    forbid_secrets_in_responses,
    make_container,
)

NEW_PASSWORD = "edge-new-passphrase"
ALLOWED_ORIGIN = "https://app.example.com"


@pytest.fixture(autouse=True)
def _no_secrets(client: httpx.AsyncClient) -> None:
    forbid_secrets_in_responses(client, NEW_PASSWORD)


def registration(name: str) -> dict[str, str]:
    return {
        "email": f"{name}@example.com",
        "username": name,
        "full_name": f"Full {name}",
        "password": PASSWORD,
    }


async def login_status(client: httpx.AsyncClient, username: str) -> int:
    response = await client.post(
        "/api/auth/login", data={"username": username, "password": PASSWORD}
    )
    return response.status_code


# --- error shapes --------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [b'{"email": "a@example.com", "username": ', b"not json at all", b'{"email": }'],
)
async def test_malformed_json_is_400_with_a_json_detail(
    client: httpx.AsyncClient, content: bytes
) -> None:
    response = await client.post(
        "/api/auth/register", content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert isinstance(response.json()["detail"], str)
    assert response.json()["detail"]


async def test_unknown_route_is_404_json(client: httpx.AsyncClient) -> None:
    for path in ("/api/does-not-exist", "/"):
        response = await client.get(path)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/json")
        assert response.json() == {"detail": "Not Found", "code": "not_found"}


async def test_a_validation_error_is_coded_and_keeps_fastapis_list(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/api/auth/register", json={"email": "not-an-email"})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_failed"
    assert {tuple(e["loc"]) for e in body["detail"]} >= {("body", "username")}


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/health", {"GET"}),
        ("GET", "/api/auth/login", {"POST"}),
        ("PUT", "/api/admin/users", {"GET", "POST"}),
    ],
)
async def test_wrong_method_is_405_with_allow(
    client: httpx.AsyncClient, method: str, path: str, allowed: set[str]
) -> None:
    response = await client.request(method, path)
    assert response.status_code == 405, response.text
    assert response.json() == {"detail": "Method Not Allowed", "code": "method_not_allowed"}
    assert allowed <= {m.strip() for m in response.headers["Allow"].split(",")}
    assert method not in response.headers["Allow"]


# --- body size -----------------------------------------------------------------------


def oversized_registration(container: Container) -> bytes:
    limit = container.settings().max_request_bytes
    body = b'{"email": "big@example.com", "username": "big", "password": "'
    body += PASSWORD.encode() + b'", "full_name": "' + b"x" * limit + b'"}'
    assert len(body) > limit
    return body


async def test_body_over_the_limit_is_413(client: httpx.AsyncClient, container: Container) -> None:
    response = await client.post(
        "/api/auth/register",
        content=oversized_registration(container),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413, response.text
    assert response.json()["code"] == "payload_too_large"
    assert await login_status(client, "big") == 401


async def test_streamed_body_over_the_limit_is_413(
    client: httpx.AsyncClient, container: Container
) -> None:
    """No Content-Length to trust: the limit is counted while the body arrives."""
    body = oversized_registration(container)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    response = await client.post(
        "/api/auth/register", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert response.status_code == 413, response.text
    assert response.json()["code"] == "payload_too_large"
    assert await login_status(client, "big") == 401


async def test_body_just_under_the_limit_is_read(
    client: httpx.AsyncClient, container: Container
) -> None:
    """The limit refuses big bodies, not ordinary ones: a large but allowed body gets
    ordinary validation (422 for a too-long name), not 413."""
    limit = container.settings().max_request_bytes
    body = b'{"email": "big@example.com", "username": "big", "password": "'
    body += PASSWORD.encode() + b'", "full_name": "'
    body += b"x" * (limit - len(body) - 2) + b'"}'
    assert len(body) == limit
    response = await client.post(
        "/api/auth/register", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text[:200]


# --- CORS ----------------------------------------------------------------------------


@pytest.fixture
async def cors_client(
    database_url: str, engine: AsyncEngine, clock: FixedClock
) -> AsyncIterator[httpx.AsyncClient]:
    container = make_container(database_url, engine, clock, cors_origins=[ALLOWED_ORIGIN])
    async with client_for(create_app(container)) as client:
        yield client


async def test_cors_allows_configured_origins_only(cors_client: httpx.AsyncClient) -> None:
    preflight = {"Access-Control-Request-Method": "POST"}
    allowed = await cors_client.options(
        "/api/auth/login", headers={"Origin": ALLOWED_ORIGIN, **preflight}
    )
    assert allowed.status_code == 200, allowed.text
    assert allowed.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert "POST" in allowed.headers["Access-Control-Allow-Methods"]

    refused = await cors_client.options(
        "/api/auth/login", headers={"Origin": "https://evil.example.com", **preflight}
    )
    assert "Access-Control-Allow-Origin" not in refused.headers

    simple = await cors_client.get("/health", headers={"Origin": ALLOWED_ORIGIN})
    assert simple.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    other = await cors_client.get("/health", headers={"Origin": "https://evil.example.com"})
    assert other.status_code == 200
    assert "Access-Control-Allow-Origin" not in other.headers


async def test_a_preflight_with_cors_off_says_how_to_turn_it_on(
    client: httpx.AsyncClient,
) -> None:
    response = await client.options(
        "/api/appointments",
        headers={"Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert "CORS_ORIGINS" in response.json()["detail"]


async def test_no_cors_headers_without_configured_origins(client: httpx.AsyncClient) -> None:
    response = await client.get("/health", headers={"Origin": ALLOWED_ORIGIN})
    assert "Access-Control-Allow-Origin" not in response.headers


# --- secrets -------------------------------------------------------------------------


async def test_passwords_and_hashes_are_never_logged(
    clinic: ApiClinic, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = clinic.client
    assert (await client.post("/api/auth/register", json=registration("quiet"))).status_code == 201
    for password in ("wrong-password-1", PASSWORD):
        await client.post("/api/auth/login", data={"username": "quiet", "password": password})
    token = await clinic.login("quiet")
    clock.advance(timedelta(seconds=1))
    changed = await client.post(
        "/api/auth/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=bearer(token),
    )
    assert changed.status_code == 204
    assert (
        await client.post("/api/auth/login", json={"username": "quiet", "password": NEW_PASSWORD})
    ).status_code == 200

    assert caplog.records, "DEBUG logging captured nothing: the check would be vacuous"
    logged = "\n".join(f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records)
    for secret in (PASSWORD, NEW_PASSWORD, "wrong-password-1", *HASH_MARKERS):
        assert secret not in logged


async def test_openapi_has_no_hash_and_uses_the_oauth2_password_flow(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    assert "password_hash" not in response.text
    schemes = response.json()["components"]["securitySchemes"]
    assert list(schemes.values()) == [
        {"type": "oauth2", "flows": {"password": {"scopes": {}, "tokenUrl": "/api/auth/login"}}}
    ]
    user = response.json()["components"]["schemas"]["UserOut"]
    assert set(user["properties"]) == {
        "id",
        "email",
        "username",
        "full_name",
        "role",
        "is_active",
        "created_at",
    }


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
async def test_docs_are_served(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]
    assert "/openapi.json" in response.text


async def test_operation_ids_are_unique_camel_case(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    ids = [op["operationId"] for item in spec["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z]+(?:[A-Z][a-z]+)*", i) for i in ids), ids
    assert {"bookAppointment", "listDoctors", "login", "getMe", "listAuditEvents"} <= set(ids)


async def test_every_answer_field_is_documented_as_always_sent(client: httpx.AsyncClient) -> None:
    """Answers always carry every field (null where empty): generated clients may rely on
    them being present, so each answer schema lists all its properties as required."""
    schemas = (await client.get("/openapi.json")).json()["components"]["schemas"]
    answers = {name: s for name, s in schemas.items() if name.endswith("Out")}
    assert {"MeOut", "TokenOut", "AppointmentOut", "ErrorOut", "DeliveryOut"} <= set(answers)
    for name, schema in answers.items():
        assert set(schema.get("required", [])) == set(schema["properties"]), name


async def test_429_documents_retry_after(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    documented = [
        (path, method)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if "429" in operation["responses"]
    ]
    assert ("/api/auth/login", "post") in documented
    for path, method in documented:
        header = spec["paths"][path][method]["responses"]["429"]["headers"]["Retry-After"]
        assert header["schema"]["type"] == "integer"


async def test_every_tag_in_use_is_described(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    described = {t["name"]: t.get("description", "") for t in spec["tags"]}
    used = {tag for item in spec["paths"].values() for op in item.values() for tag in op["tags"]}
    assert used == set(described)
    assert all(len(text) > 20 for text in described.values()), described
