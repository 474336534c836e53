"""Webhook endpoints over HTTP, on SQLite and PostgreSQL: shapes, the secret shown only by
the 201 of its creation, internal and malformed URLs refused with 422
`webhook_url_not_allowed` (unless WEBHOOK_ALLOW_PRIVATE_NETWORKS=true), event names
checked, 404 for unknown ids, and audit records with the secret redacted."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from appointments.adapters.sqlalchemy.tables import audit_events
from appointments.entrypoints.api.app import create_app
from tests.api.support import (
    ApiClinic,
    Party,
    client_for,
    forbid_secrets_in_responses,
    make_container,
)

WEBHOOK_FIELDS = {"id", "url", "event_types", "description", "is_active", "created_at"}
PATH = "/api/admin/webhooks"
PUBLIC = "https://8.8.8.8/clinic-hooks"
INTERNAL = [
    "http://127.0.0.1/",
    "http://10.0.0.1/",
    "http://169.254.169.254/",
    "http://[::1]/",
    "http://224.0.0.1/",
    "http://localhost:8000/hooks",
]
MALFORMED = ["ftp://x", "https://user:secret@8.8.8.8/", "http:///no-host", "not a url"]


async def create(
    clinic: ApiClinic, admin: Party, url: str = PUBLIC, **extra: Any
) -> dict[str, Any]:
    response = await clinic.client.post(PATH, json={"url": url, **extra}, headers=admin.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


def refused(response: Any, code: str = "webhook_url_not_allowed") -> None:
    assert response.status_code == 422, response.text
    assert response.json()["code"] == code


async def test_create_shows_the_secret_once(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    created = await clinic.client.post(
        PATH,
        json={
            "url": PUBLIC,
            "event_types": ["appointment.booked", "appointment.cancelled"],
            "description": "Front desk",
        },
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert set(body) == WEBHOOK_FIELDS | {"secret"}
    assert body["url"] == PUBLIC
    assert body["event_types"] == ["appointment.booked", "appointment.cancelled"]
    assert body["description"] == "Front desk"
    assert body["is_active"] is True
    secret = body["secret"]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32

    forbid_secrets_in_responses(clinic.client, secret, secret.removeprefix("whsec_"))
    one = await clinic.client.get(f"{PATH}/{body['id']}", headers=admin.headers)
    assert one.status_code == 200, one.text
    assert one.json() == {k: v for k, v in body.items() if k != "secret"}
    listed = await clinic.client.get(PATH, headers=admin.headers)
    assert listed.status_code == 200, listed.text
    assert listed.json() == {"items": [one.json()], "total": 1, "limit": 20, "offset": 0}
    patched = await clinic.client.patch(
        f"{PATH}/{body['id']}", json={"is_active": False}, headers=admin.headers
    )
    assert patched.status_code == 200, patched.text
    assert set(patched.json()) == WEBHOOK_FIELDS
    assert (await clinic.client.get("/api/admin/audit", headers=admin.headers)).status_code == 200


async def test_defaults_and_a_second_endpoint_gets_its_own_secret(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    first, second = await create(clinic, admin), await create(clinic, admin, "http://1.1.1.1/")
    assert first["event_types"] == []
    assert first["description"] is None
    assert first["secret"] != second["secret"]


@pytest.mark.parametrize("url", INTERNAL + MALFORMED)
async def test_internal_and_malformed_urls_are_refused(clinic: ApiClinic, url: str) -> None:
    admin = await clinic.admin()
    refused(await clinic.client.post(PATH, json={"url": url}, headers=admin.headers))
    endpoint = await create(clinic, admin)
    response = await clinic.client.patch(
        f"{PATH}/{endpoint['id']}", json={"url": url}, headers=admin.headers
    )
    refused(response)
    kept = await clinic.client.get(f"{PATH}/{endpoint['id']}", headers=admin.headers)
    assert kept.json()["url"] == PUBLIC
    listed = await clinic.client.get(PATH, headers=admin.headers)
    assert listed.json()["total"] == 1


async def test_private_networks_when_allowed(
    database_url: str, engine: AsyncEngine, clinic: ApiClinic
) -> None:
    admin = await clinic.admin()
    container = make_container(
        database_url, engine, clinic.clock, webhook_allow_private_networks=True
    )
    async with client_for(create_app(container)) as client:
        for url in INTERNAL:
            response = await client.post(PATH, json={"url": url}, headers=admin.headers)
            assert response.status_code == 201, (url, response.text)
        for url in MALFORMED:
            refused(await client.post(PATH, json={"url": url}, headers=admin.headers))
        refused(
            await client.post(
                PATH, json={"url": "http://nonexistent.invalid/"}, headers=admin.headers
            )
        )
        listed = await client.get(PATH, params={"limit": 100}, headers=admin.headers)
    assert listed.json()["total"] == len(INTERNAL)


def test_the_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from appointments.settings import Settings

    assert Settings(_env_file=None).webhook_allow_private_networks is False  # type: ignore[call-arg]
    monkeypatch.setenv("WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true")
    assert Settings(_env_file=None).webhook_allow_private_networks is True  # type: ignore[call-arg]


async def test_patch_fields(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    endpoint = await create(clinic, admin, event_types=["appointment.booked"])
    url = f"{PATH}/{endpoint['id']}"
    response = await clinic.client.patch(url, json={"is_active": False}, headers=admin.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {
        **{k: v for k, v in endpoint.items() if k != "secret"},
        "is_active": False,
    }
    response = await clinic.client.patch(
        url,
        json={
            "url": "http://1.1.1.1:8080/v2",
            "event_types": [],
            "description": "all events",
            "is_active": True,
        },
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text
    got = response.json()
    assert (got["url"], got["event_types"], got["description"], got["is_active"]) == (
        "http://1.1.1.1:8080/v2",
        [],
        "all events",
        True,
    )
    response = await clinic.client.patch(url, json={"description": None}, headers=admin.headers)
    assert response.json()["description"] is None
    for field in ("url", "event_types", "is_active"):
        response = await clinic.client.patch(url, json={field: None}, headers=admin.headers)
        assert response.status_code == 422, (field, response.text)
    response = await clinic.client.patch(url, json={"is_active": "no"}, headers=admin.headers)
    assert response.status_code == 422, response.text
    response = await clinic.client.patch(url, json={"secret": "whsec_x"}, headers=admin.headers)
    assert response.status_code == 422, response.text  # extra fields are refused


async def test_event_types_are_checked(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    for event_types in (["appointment.moved"], ["appointment.booked", "Appointment.Booked"]):
        response = await clinic.client.post(
            PATH, json={"url": PUBLIC, "event_types": event_types}, headers=admin.headers
        )
        refused(response, "invalid_value")
    response = await clinic.client.post(
        PATH, json={"url": PUBLIC, "event_types": "appointment.booked"}, headers=admin.headers
    )
    assert response.status_code == 422, response.text
    twice = await create(
        clinic, admin, event_types=["waitlist.offered", "appointment.booked", "waitlist.offered"]
    )
    assert twice["event_types"] == ["waitlist.offered", "appointment.booked"]
    response = await clinic.client.patch(
        f"{PATH}/{twice['id']}", json={"event_types": ["nope"]}, headers=admin.headers
    )
    refused(response, "invalid_value")


async def test_unknown_ids_and_delete(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    unknown = f"{PATH}/{uuid.uuid4()}"
    for method, body in (("GET", None), ("PATCH", {"is_active": False}), ("DELETE", None)):
        response = await clinic.client.request(method, unknown, json=body, headers=admin.headers)
        assert response.status_code == 404, (method, response.text)
        assert response.json()["code"] == "not_found"
    endpoint = await create(clinic, admin)
    url = f"{PATH}/{endpoint['id']}"
    deleted = await clinic.client.delete(url, headers=admin.headers)
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert (await clinic.client.get(url, headers=admin.headers)).status_code == 404
    assert (await clinic.client.delete(url, headers=admin.headers)).status_code == 404


async def test_audit_events_with_the_secret_redacted(
    clinic: ApiClinic, engine: AsyncEngine
) -> None:
    admin = await clinic.admin()
    endpoint = await create(clinic, admin)
    url = f"{PATH}/{endpoint['id']}"
    patched = await clinic.client.patch(url, json={"is_active": False}, headers=admin.headers)
    assert patched.status_code == 200, patched.text
    assert (await clinic.client.delete(url, headers=admin.headers)).status_code == 204

    response = await clinic.client.get(
        "/api/admin/audit", params={"entity_type": "webhook"}, headers=admin.headers
    )
    assert response.status_code == 200, response.text
    trail = response.json()["items"]
    assert [e["action"] for e in trail] == ["webhook.deleted", "webhook.updated", "webhook.created"]
    assert all(e["entity_id"] == endpoint["id"] for e in trail)
    assert trail[2]["actor"] == {"user_id": admin.user["id"], "role": "ADMIN"}
    assert trail[2]["changes"]["secret"] == {"old": None, "new": "[redacted]"}
    assert trail[1]["changes"] == {"is_active": {"old": True, "new": False}}
    assert trail[0]["changes"]["secret"] == {"old": "[redacted]", "new": None}

    async with engine.connect() as connection:
        rows = (await connection.execute(select(audit_events))).all()
    recorded = json.dumps([dict(r._mapping) for r in rows], default=str)
    secret = endpoint["secret"]
    assert secret not in recorded
    assert secret.removeprefix("whsec_") not in recorded
