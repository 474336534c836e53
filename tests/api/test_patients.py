"""Patients over HTTP: who sees whom, front-desk records, self-service and deactivation."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from tests.api.support import PASSWORD, PATIENT_FIELDS, ApiClinic, Party, at, next_monday, relogin


async def _visible_ids(clinic: ApiClinic, who: Party, **params: Any) -> list[str]:
    response = await clinic.client.get("/api/patients", params=params, headers=who.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == len(body["items"])
    return sorted(p["id"] for p in body["items"])


async def test_visibility_of_patients_per_role(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    doctor = await clinic.doctor(admin)
    colleague = await clinic.doctor(admin)
    treated, cancelled_only, stranger = [await clinic.patient() for _ in range(3)]
    front_desk = await clinic.client.post(
        "/api/patients", json={"full_name": "Walk In"}, headers=admin.headers
    )
    monday = next_monday(clinic.clock)
    assert (await clinic.book(treated, doctor, at(monday, 9))).status_code == 201
    gone = await clinic.book(cancelled_only, doctor, at(monday, 10))
    await clinic.client.delete(f"/api/appointments/{gone.json()['id']}", headers=admin.headers)
    everyone = sorted(
        [str(p.patient_id) for p in (treated, cancelled_only, stranger)] + [front_desk.json()["id"]]
    )

    assert await _visible_ids(clinic, admin) == everyone
    # "with at least one appointment with them": a cancelled one still makes them known
    assert await _visible_ids(clinic, doctor) == sorted(
        [str(treated.patient_id), str(cancelled_only.patient_id)]
    )
    assert await _visible_ids(clinic, colleague) == []
    assert await _visible_ids(clinic, stranger) == [stranger.patient_id]

    cases: list[tuple[Party, str, int]] = [
        (admin, str(stranger.patient_id), 200),
        (admin, front_desk.json()["id"], 200),
        (doctor, str(treated.patient_id), 200),
        (doctor, str(stranger.patient_id), 404),
        (doctor, front_desk.json()["id"], 404),
        (colleague, str(treated.patient_id), 404),
        (treated, str(treated.patient_id), 200),
        (treated, str(stranger.patient_id), 404),
        (stranger, str(treated.patient_id), 404),
    ]
    for who, patient_id, status in cases:
        response = await clinic.client.get(f"/api/patients/{patient_id}", headers=who.headers)
        assert response.status_code == status, (who.user["username"], patient_id)
        if status == 404:
            assert response.json()["code"] == "not_found"


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("other_patient", 404),  # may edit patients (themself), so this one "does not exist"
        ("doctor_without_link", 403),  # doctors may not edit patients at all, whatever the id
    ],
)
async def test_patch_of_someone_else_is_refused_and_changes_nothing(
    clinic: ApiClinic, who: str, status: int
) -> None:
    admin = await clinic.admin()
    patient = await clinic.patient()
    caller = await clinic.doctor(admin) if who == "doctor_without_link" else await clinic.patient()
    path = f"/api/patients/{patient.patient_id}"
    before = (await clinic.client.get(path, headers=admin.headers)).json()

    response = await clinic.client.patch(
        path, json={"phone": "+1 555 0000"}, headers=caller.headers
    )
    assert response.status_code == status, response.text
    assert (await clinic.client.get(path, headers=admin.headers)).json() == before
    unknown = await clinic.client.patch(
        f"/api/patients/{uuid.uuid4()}", json={"phone": "+1 555 0000"}, headers=caller.headers
    )
    assert (unknown.status_code, unknown.json()) == (status, response.json())  # reveals nothing


async def test_treating_doctor_may_read_but_not_change_a_patient(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    doctor = await clinic.doctor(admin)
    patient = await clinic.patient()
    await clinic.book(patient, doctor, at(next_monday(clinic.clock), 9))
    path = f"/api/patients/{patient.patient_id}"
    before = (await clinic.client.get(path, headers=admin.headers)).json()

    assert (await clinic.client.get(path, headers=doctor.headers)).status_code == 200
    response = await clinic.client.patch(
        path, json={"phone": "+1 555 0000"}, headers=doctor.headers
    )
    assert response.status_code == 403, response.text
    assert (await clinic.client.get(path, headers=admin.headers)).json() == before


async def test_admin_creates_a_front_desk_patient_without_login(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    response = await clinic.client.post(
        "/api/patients",
        json={
            "full_name": "  Ada Lovelace ",
            "email": "ada@example.com",
            "phone": "+44 20 7946 0000",
            "date_of_birth": "1815-12-10",
        },
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == PATIENT_FIELDS
    assert body["user_id"] is None
    assert body["full_name"] == "Ada Lovelace"
    assert body["email"] == "ada@example.com"
    assert body["phone"] == "+44 20 7946 0000"
    assert body["date_of_birth"] == "1815-12-10"
    assert body["is_active"] is True
    read = await clinic.client.get(f"/api/patients/{body['id']}", headers=admin.headers)
    assert read.json() == body

    minimal = await clinic.client.post(
        "/api/patients", json={"full_name": "Nameonly"}, headers=admin.headers
    )
    assert minimal.status_code == 201
    assert minimal.json()["email"] is None


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"full_name": ""},
        {"full_name": "X", "email": "not-an-email"},
        {"full_name": "X", "date_of_birth": "10/12/1815"},
        {"full_name": "X", "user_id": str(uuid.uuid4())},
    ],
)
async def test_create_patient_refuses_invalid_input(
    clinic: ApiClinic, body: dict[str, Any]
) -> None:
    admin = await clinic.admin()
    response = await clinic.client.post("/api/patients", json=body, headers=admin.headers)
    assert response.status_code == 422, response.text
    assert await _visible_ids(clinic, admin) == []


async def test_patient_patches_themself(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    patient = await clinic.patient()
    path = f"/api/patients/{patient.patient_id}"
    response = await clinic.client.patch(
        path,
        json={"phone": "+1 555 0101", "date_of_birth": "1990-05-17", "full_name": "New Name"},
        headers=patient.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["phone"], body["date_of_birth"], body["full_name"]) == (
        "+1 555 0101",
        "1990-05-17",
        "New Name",
    )
    assert body["user_id"] == patient.user["id"]
    assert (await clinic.client.get(path, headers=admin.headers)).json() == body

    by_admin = await clinic.client.patch(path, json={"phone": None}, headers=admin.headers)
    assert by_admin.status_code == 200
    assert by_admin.json()["phone"] is None
    assert by_admin.json()["full_name"] == "New Name"


@pytest.mark.parametrize(
    "body",
    [{"full_name": None}, {"is_active": False}, {"user_id": None}, {"email": "nope"}],
)
async def test_patient_patch_refuses_invalid_input(clinic: ApiClinic, body: dict[str, Any]) -> None:
    admin = await clinic.admin()
    patient = await clinic.patient()
    path = f"/api/patients/{patient.patient_id}"
    before = (await clinic.client.get(path, headers=admin.headers)).json()
    response = await clinic.client.patch(path, json=body, headers=patient.headers)
    assert response.status_code == 422, response.text
    assert (await clinic.client.get(path, headers=admin.headers)).json() == before


async def test_delete_deactivates_patient_and_login_and_cancels_future_bookings(
    clinic: ApiClinic,
) -> None:
    admin = await clinic.admin()
    doctor = await clinic.doctor(admin)
    patient = await clinic.patient()
    other = await clinic.patient()
    monday = next_monday(clinic.clock)

    async def book(who: Party, hour: int, day_offset: int = 1) -> str:
        response = await clinic.book(who, doctor, at(monday + timedelta(days=day_offset), hour))
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    earlier = await book(patient, 9, day_offset=0)
    future = await book(patient, 9)
    confirmed = await book(patient, 10)
    someone_else = await book(other, 11)
    await clinic.client.post(f"/api/appointments/{confirmed}/confirm", headers=doctor.headers)
    clinic.clock.at = at(monday, 12)
    await relogin(clinic, admin)
    await relogin(clinic, patient)

    response = await clinic.client.delete(
        f"/api/patients/{patient.patient_id}", headers=admin.headers
    )
    assert response.status_code == 204, response.text

    record = await clinic.client.get(f"/api/patients/{patient.patient_id}", headers=admin.headers)
    assert record.json()["is_active"] is False
    assert (await clinic.client.get("/api/auth/me", headers=patient.headers)).status_code == 401
    login = await clinic.client.post(
        "/api/auth/login", data={"username": patient.user["username"], "password": PASSWORD}
    )
    assert login.status_code == 401

    async def status(appointment: str) -> str:
        response = await clinic.client.get(
            f"/api/appointments/{appointment}", headers=admin.headers
        )
        return str(response.json()["status"])

    assert await status(future) == "cancelled"
    assert await status(confirmed) == "cancelled"
    assert await status(earlier) == "scheduled"
    assert await status(someone_else) == "scheduled"

    rebook = await clinic.client.post(
        "/api/appointments",
        json={
            "doctor_id": doctor.doctor_id,
            "patient_id": patient.patient_id,
            "starts_at": at(monday + timedelta(days=2), 9).isoformat(),
        },
        headers=admin.headers,
    )
    assert rebook.status_code == 422
    assert rebook.json()["code"] == "inactive_party"


async def test_delete_front_desk_patient_and_unknown_patient(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    created = await clinic.client.post(
        "/api/patients", json={"full_name": "Walk In"}, headers=admin.headers
    )
    path = f"/api/patients/{created.json()['id']}"
    assert (await clinic.client.delete(path, headers=admin.headers)).status_code == 204
    assert (await clinic.client.get(path, headers=admin.headers)).json()["is_active"] is False
    for method in ("GET", "PATCH", "DELETE"):
        response = await clinic.client.request(
            method,
            f"/api/patients/{uuid.uuid4()}",
            json={"phone": "1"} if method == "PATCH" else None,
            headers=admin.headers,
        )
        assert response.status_code == 404, method


async def test_q_filter_matches_name_email_and_phone(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    ids = {}
    for name, email, phone in [
        ("Ada Lovelace", "ada@example.com", "+44 1"),
        ("Alan Turing", "alan@bletchley.example", "+44 2"),
        ("Grace Hopper", "grace@navy.example", "+1 3"),
    ]:
        response = await clinic.client.post(
            "/api/patients",
            json={"full_name": name, "email": email, "phone": phone},
            headers=admin.headers,
        )
        ids[name] = response.json()["id"]

    assert await _visible_ids(clinic, admin, q="lovelace") == [ids["Ada Lovelace"]]
    assert await _visible_ids(clinic, admin, q="BLETCHLEY") == [ids["Alan Turing"]]
    assert await _visible_ids(clinic, admin, q="+44") == sorted(
        [ids["Ada Lovelace"], ids["Alan Turing"]]
    )
    assert await _visible_ids(clinic, admin, q="%") == []
    assert await _visible_ids(clinic, admin, q="nobody") == []


async def test_q_filter_keeps_the_visibility_rule(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    me = await clinic.patient("searcher")
    await clinic.patient("searchable")
    assert await _visible_ids(clinic, me, q="search") == [me.patient_id]
    assert len(await _visible_ids(clinic, admin, q="search")) == 2


async def test_pagination_envelope_and_stable_order(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    for name in ["Eve", "bob", "Dave", "alice", "Carol"]:
        await clinic.client.post("/api/patients", json={"full_name": name}, headers=admin.headers)
    seen: list[str] = []
    for offset in (0, 2, 4):
        response = await clinic.client.get(
            "/api/patients", params={"limit": 2, "offset": offset}, headers=admin.headers
        )
        body = response.json()
        assert (body["total"], body["limit"], body["offset"]) == (5, 2, offset)
        seen += [p["id"] for p in body["items"]]
    assert len(set(seen)) == 5
    assert seen == await _ordered_ids(clinic, admin)
    for params in ({"limit": 0}, {"limit": 101}, {"offset": -1}):
        bad = await clinic.client.get("/api/patients", params=params, headers=admin.headers)
        assert bad.status_code == 422


async def _ordered_ids(clinic: ApiClinic, admin: Party) -> list[str]:
    response = await clinic.client.get(
        "/api/patients", params={"limit": 100}, headers=admin.headers
    )
    return [p["id"] for p in response.json()["items"]]
