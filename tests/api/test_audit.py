"""The audit trail through the HTTP API: who did what from which request, read by admins
(GET /api/admin/audit) and, for one appointment, by whoever may read it; request ids
kept or replaced and echoed on every answer; no secret in any recorded event."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from appointments.adapters.sqlalchemy.tables import audit_events
from tests.api.support import PASSWORD, ApiClinic, Party, bearer

GENERATED_ID = re.compile(r"[0-9a-f]{32}")


async def _audit(clinic: ApiClinic, admin: Party, **params: Any) -> dict[str, Any]:
    response = await clinic.client.get("/api/admin/audit", params=params, headers=admin.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_booking_names_its_actor_request_and_fields(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    doctor = await clinic.doctor(admin)
    patient = await clinic.patient()
    starts = clinic.next_working_day()
    booked = await clinic.client.post(
        "/api/appointments",
        json={"doctor_id": doctor.doctor_id, "starts_at": starts.isoformat()},
        headers={**patient.headers, "X-Request-ID": "mobile-app.42_x"},
    )
    assert booked.status_code == 201, booked.text
    assert booked.headers["X-Request-ID"] == "mobile-app.42_x"
    appointment = booked.json()

    [event] = (await _audit(clinic, admin, entity_id=appointment["id"]))["items"]
    assert event["action"] == "appointment.booked"
    assert event["entity_type"] == "appointment"
    assert event["actor"] == {"user_id": patient.user["id"], "role": "PATIENT"}
    assert event["request_id"] == "mobile-app.42_x"
    assert event["changes"]["status"] == {"old": None, "new": "scheduled"}
    assert event["changes"]["doctor_id"] == {"old": None, "new": doctor.doctor_id}
    assert set(event) == {
        "id",
        "occurred_at",
        "actor",
        "action",
        "entity_type",
        "entity_id",
        "changes",
        "request_id",
    }


@pytest.mark.parametrize(
    "given", ["", "has space", "x" * 129, "semi;colon", "\xfcn\xefcode", "new\\nline"]
)
async def test_an_unusable_request_id_is_replaced(clinic: ApiClinic, given: str) -> None:
    header = given.encode("latin-1")  # httpx sends str headers as ASCII only
    response = await clinic.client.get("/health", headers={"X-Request-ID": header})
    assert response.headers["X-Request-ID"] != given
    assert GENERATED_ID.fullmatch(response.headers["X-Request-ID"])


async def test_every_answer_carries_a_request_id(clinic: ApiClinic) -> None:
    kept = "a" * 128
    for method, path, kwargs in [
        ("GET", "/health", {}),
        ("GET", "/", {}),  # 404
        ("GET", "/api/auth/me", {}),  # 401
        ("POST", "/api/departments", {"content": b"{", "headers": {}}),  # 401 before body
        ("POST", "/api/auth/register", {"content": b"x" * 2_000_000}),  # 413
        ("PUT", "/api/auth/me", {}),  # 405
    ]:
        headers = {**kwargs.pop("headers", {}), "X-Request-ID": kept}
        response = await clinic.client.request(method, path, headers=headers, **kwargs)
        assert response.headers.get("X-Request-ID") == kept, (method, path, response.status_code)
        fresh = await clinic.client.request(method, path, **kwargs)
        assert GENERATED_ID.fullmatch(fresh.headers.get("X-Request-ID", "")), (method, path)


async def test_history_is_oldest_first_and_as_private_as_the_appointment(
    clinic: ApiClinic,
) -> None:
    admin = await clinic.admin()
    doctor = await clinic.doctor(admin)
    other_doctor = await clinic.doctor(admin)
    patient, other_patient = await clinic.patient(), await clinic.patient()
    booked = await clinic.book(patient, doctor, clinic.next_working_day(days_ahead=3))
    appointment = booked.json()["id"]
    path = f"/api/appointments/{appointment}"
    confirmed = await clinic.client.post(f"{path}/confirm", headers=doctor.headers)
    assert confirmed.status_code == 200, confirmed.text
    cancelled = await clinic.client.post(
        f"{path}/cancel", json={"reason": "Cannot come"}, headers=patient.headers
    )
    assert cancelled.status_code == 200, cancelled.text

    for reader in (admin, doctor, patient):
        response = await clinic.client.get(f"{path}/history", headers=reader.headers)
        assert response.status_code == 200, response.text
        history = response.json()
        assert [e["action"] for e in history["items"]] == [
            "appointment.booked",
            "appointment.confirmed",
            "appointment.cancelled",
        ]
        assert history["total"] == 3
    cancel = history["items"][2]
    assert cancel["actor"]["role"] == "PATIENT"
    assert cancel["changes"]["status"] == {"old": "confirmed", "new": "cancelled"}
    assert cancel["changes"]["cancelled_by"] == {"old": None, "new": "PATIENT"}
    assert cancel["changes"]["cancellation_reason"] == {"old": None, "new": "Cannot come"}

    missing = await clinic.client.get(
        "/api/appointments/00000000-0000-4000-8000-000000000000/history", headers=admin.headers
    )
    for stranger in (other_doctor, other_patient):
        hidden = await clinic.client.get(f"{path}/history", headers=stranger.headers)
        assert hidden.status_code == 404
        assert hidden.json() == missing.json()


async def test_logins_logouts_and_failures_are_security_events(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    patient = await clinic.patient()
    username = patient.user["username"]
    failed = await clinic.client.post(
        "/api/auth/login", data={"username": username, "password": "wrong-password-1"}
    )
    assert failed.status_code == 401
    unknown = await clinic.client.post(
        "/api/auth/login", data={"username": "nobody-at-all", "password": "typed-secret-9"}
    )
    assert unknown.status_code == 401
    logout = await clinic.client.post("/api/auth/logout", headers=patient.headers)
    assert logout.status_code == 204

    failures = (await _audit(clinic, admin, action="auth.login_failed"))["items"]
    assert [(e["entity_id"], e["actor"]) for e in failures] == [
        (None, None),
        (patient.user["id"], None),
    ]
    assert "nobody-at-all" not in json.dumps(failures)
    mine = (await _audit(clinic, admin, actor_user_id=patient.user["id"]))["items"]
    assert [e["action"] for e in mine][:2] == ["auth.logout", "auth.login"]


async def test_filters_by_type_action_and_time(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    department = await clinic.department(admin)
    since = clinic.clock.now().isoformat()
    created = await _audit(clinic, admin, entity_type="department", action="department.created")
    assert [e["entity_id"] for e in created["items"]] == [department]
    assert (await _audit(clinic, admin, since=since))["total"] > 0
    assert (await _audit(clinic, admin, until=since))["total"] == 0  # until is exclusive
    naive = await clinic.client.get(
        "/api/admin/audit", params={"since": "2030-01-01T00:00:00"}, headers=admin.headers
    )
    assert naive.status_code == 422


async def test_a_refused_request_records_nothing(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    doctor = await clinic.doctor(admin)
    first, second = await clinic.patient(), await clinic.patient()
    slot = clinic.next_working_day()
    assert (await clinic.book(first, doctor, slot)).status_code == 201
    before = await _audit(clinic, admin)
    clash = await clinic.book(second, doctor, slot)
    assert clash.status_code == 409
    duplicate = await clinic.client.post(
        "/api/departments", json={"name": "Twice"}, headers=admin.headers
    )
    again = await clinic.client.post(
        "/api/departments", json={"name": "Twice"}, headers=admin.headers
    )
    assert (duplicate.status_code, again.status_code) == (201, 409)
    after = await _audit(clinic, admin)
    assert after["total"] == before["total"] + 1
    assert after["items"][0]["action"] == "department.created"


async def test_the_trail_cannot_be_changed_through_the_api(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        response = await clinic.client.request(method, "/api/admin/audit", headers=admin.headers)
        assert response.status_code == 405


async def test_no_recorded_event_holds_a_secret(clinic: ApiClinic, engine: AsyncEngine) -> None:
    """Every way a password or token passes through, then every row of the table."""
    admin = await clinic.admin()
    patient = await clinic.patient()
    new_password = "another-horse-battery-2"
    changed = await clinic.client.post(
        "/api/auth/password",
        json={"current_password": PASSWORD, "new_password": new_password},
        headers=patient.headers,
    )
    assert changed.status_code == 204, changed.text
    admin_set = "admin-chosen-password-3"
    reset = await clinic.client.patch(
        f"/api/admin/users/{patient.user['id']}",
        json={"password": admin_set},
        headers=admin.headers,
    )
    assert reset.status_code == 200, reset.text
    token = await clinic.login(patient.user["username"], admin_set)
    assert (await clinic.client.post("/api/auth/logout", headers=bearer(token))).status_code == 204
    await clinic.client.post(
        "/api/auth/login", data={"username": admin_set, "password": new_password}
    )

    async with engine.connect() as connection:
        rows = (await connection.execute(select(audit_events))).all()
    recorded = json.dumps([dict(r._mapping) for r in rows], default=str)
    actions = {r.action for r in rows}
    assert {"user.password_changed", "user.updated", "auth.logout", "auth.login_failed"} <= actions
    for secret in (PASSWORD, new_password, admin_set, token, admin.token, "$argon2", "_hash"):
        assert secret not in recorded, secret
    assert '"password": {"old": "[redacted]", "new": "[redacted]"}' in recorded
