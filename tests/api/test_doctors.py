"""Doctors over HTTP: creation in one transaction, list filters, who may patch what,
and deactivation (login gone, future appointments cancelled)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from tests.api.support import DOCTOR_FIELDS, PASSWORD, ApiClinic, Party, at, bearer, relogin


def _new_doctor(username: str, department_id: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "email": f"{username}@example.com",
        "username": username,
        "full_name": f"Dr {username.title()}",
        "password": PASSWORD,
        "department_id": department_id,
        "specialization": "Cardiology",
    }
    body.update(overrides)
    return body


async def _users_named(clinic: ApiClinic, admin: Party, q: str) -> int:
    response = await clinic.client.get("/api/admin/users", params={"q": q}, headers=admin.headers)
    assert response.status_code == 200, response.text
    return int(response.json()["total"])


async def _doctor_count(clinic: ApiClinic, admin: Party) -> int:
    total = 0
    for active in ("true", "false"):
        response = await clinic.client.get(
            "/api/doctors", params={"is_active": active}, headers=admin.headers
        )
        total += int(response.json()["total"])
    return total


async def test_create_returns_the_doctor_and_a_working_doctor_login(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    department = await clinic.department(admin)
    response = await clinic.client.post(
        "/api/doctors",
        json=_new_doctor("house", department, phone="+1 555 0100"),
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    doctor = response.json()
    assert set(doctor) == DOCTOR_FIELDS
    assert doctor["full_name"] == "Dr House"
    assert doctor["email"] == "house@example.com"
    assert doctor["department_id"] == department
    assert doctor["specialization"] == "Cardiology"
    assert doctor["phone"] == "+1 555 0100"
    assert doctor["is_active"] is True

    me = (
        await clinic.client.get("/api/auth/me", headers=bearer(await clinic.login("house")))
    ).json()
    assert me["role"] == "DOCTOR"
    assert me["id"] == doctor["user_id"]
    assert me["doctor_id"] == doctor["id"]

    read = await clinic.client.get(f"/api/doctors/{doctor['id']}", headers=admin.headers)
    assert read.status_code == 200
    assert read.json() == doctor


async def test_unknown_department_is_422_and_leaves_no_user(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    response = await clinic.client.post(
        "/api/doctors", json=_new_doctor("ghost", str(uuid.uuid4())), headers=admin.headers
    )
    assert response.status_code == 422, response.text
    assert await _users_named(clinic, admin, "ghost") == 0
    assert await _doctor_count(clinic, admin) == 0
    login = await clinic.client.post(
        "/api/auth/login", data={"username": "ghost", "password": PASSWORD}
    )
    assert login.status_code == 401


@pytest.mark.parametrize("holder", ["patient", "doctor"])
@pytest.mark.parametrize("email", ["taken@example.com", "TAKEN@example.com", "Taken@Example.COM"])
async def test_duplicate_email_is_409_and_leaves_nothing_behind(
    clinic: ApiClinic, holder: str, email: str
) -> None:
    admin = await clinic.admin()
    department = await clinic.department(admin)
    if holder == "patient":
        await clinic.patient("taken")
    else:
        await clinic.doctor(admin, department, "taken")
    doctors_before = await _doctor_count(clinic, admin)

    response = await clinic.client.post(
        "/api/doctors", json=_new_doctor("newcomer", department, email=email), headers=admin.headers
    )
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "email_taken"
    assert await _users_named(clinic, admin, "newcomer") == 0
    assert await _doctor_count(clinic, admin) == doctors_before


async def test_duplicate_username_is_409(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    department = await clinic.department(admin)
    await clinic.patient("taken")
    response = await clinic.client.post(
        "/api/doctors",
        json=_new_doctor("TAKEN", department, email="fresh@example.com"),
        headers=admin.headers,
    )
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "username_taken"
    assert await _users_named(clinic, admin, "fresh@") == 0
    assert await _doctor_count(clinic, admin) == 0


async def test_list_filters_by_department_name_and_activity(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    heart = await clinic.department(admin, "Heart")
    brain = await clinic.department(admin, "Brain")
    alice = await clinic.doctor(admin, heart, "alice")
    bob = await clinic.doctor(admin, heart, "bob")
    carol = await clinic.doctor(admin, brain, "carol")
    assert (
        await clinic.client.delete(f"/api/doctors/{bob.doctor_id}", headers=admin.headers)
    ).status_code == 204

    async def ids(**params: Any) -> list[str]:
        response = await clinic.client.get("/api/doctors", params=params, headers=admin.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["total"] == len(body["items"])
        return sorted(d["id"] for d in body["items"])

    def expect(*parties: Party) -> list[str]:
        return sorted(str(p.doctor_id) for p in parties)

    assert await ids() == expect(alice, carol)
    assert await ids(is_active="true") == expect(alice, carol)
    assert await ids(is_active="false") == expect(bob)
    assert await ids(department_id=heart) == expect(alice)
    assert await ids(department_id=heart, is_active="false") == expect(bob)
    assert await ids(department_id=brain) == expect(carol)
    assert await ids(q="ALI") == expect(alice)
    assert await ids(q="dr ") == expect(alice, carol)
    assert await ids(q="carol", department_id=heart) == []
    assert await ids(q="nobody") == []

    invalid = await clinic.client.get(
        "/api/doctors", params={"is_active": "maybe"}, headers=admin.headers
    )
    assert invalid.status_code == 422


async def test_doctor_patches_own_phone_and_specialization(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    doctor = await clinic.doctor(admin)
    response = await clinic.client.patch(
        f"/api/doctors/{doctor.doctor_id}",
        json={"phone": "+49 30 1234", "specialization": "Neurology"},
        headers=doctor.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["phone"] == "+49 30 1234"
    assert response.json()["specialization"] == "Neurology"
    read = await clinic.client.get(f"/api/doctors/{doctor.doctor_id}", headers=admin.headers)
    assert read.json() == response.json()

    cleared = await clinic.client.patch(
        f"/api/doctors/{doctor.doctor_id}", json={"phone": None}, headers=doctor.headers
    )
    assert cleared.status_code == 200
    assert cleared.json()["phone"] is None


@pytest.mark.parametrize(
    "body",
    [
        {"full_name": "Dr Renamed"},
        {"department_id": "<other department>"},
        {"phone": "+1 555 0199", "full_name": "Dr Renamed"},
        {"specialization": "Surgery", "department_id": "<other department>"},
    ],
)
async def test_doctor_may_not_change_name_or_department(
    clinic: ApiClinic, body: dict[str, Any]
) -> None:
    admin = await clinic.admin()
    doctor = await clinic.doctor(admin)
    other = await clinic.department(admin)
    before = (
        await clinic.client.get(f"/api/doctors/{doctor.doctor_id}", headers=admin.headers)
    ).json()
    sent = {k: other if v == "<other department>" else v for k, v in body.items()}

    response = await clinic.client.patch(
        f"/api/doctors/{doctor.doctor_id}", json=sent, headers=doctor.headers
    )
    assert response.status_code == 422, response.text
    after = await clinic.client.get(f"/api/doctors/{doctor.doctor_id}", headers=admin.headers)
    assert after.json() == before
    me = await clinic.client.get("/api/auth/me", headers=doctor.headers)
    assert me.json()["full_name"] == before["full_name"]


@pytest.mark.parametrize("who", ["admin", "doctor"])
@pytest.mark.parametrize(
    "body",
    [
        {"email": "new@example.com"},
        {"is_active": False},
        {"user_id": str(uuid.UUID(int=1))},
        {"phone": "+1 555 0100", "colour": "blue"},
        {"specialization": None},
        {"specialization": ""},
    ],
)
async def test_patch_refuses_unknown_fields_and_bad_values(
    clinic: ApiClinic, who: str, body: dict[str, Any]
) -> None:
    admin = await clinic.admin()
    doctor = await clinic.doctor(admin)
    before = (
        await clinic.client.get(f"/api/doctors/{doctor.doctor_id}", headers=admin.headers)
    ).json()
    caller = admin if who == "admin" else doctor
    response = await clinic.client.patch(
        f"/api/doctors/{doctor.doctor_id}", json=body, headers=caller.headers
    )
    assert response.status_code == 422, response.text
    after = await clinic.client.get(f"/api/doctors/{doctor.doctor_id}", headers=admin.headers)
    assert after.json() == before


async def test_admin_renames_and_moves_a_doctor(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    doctor = await clinic.doctor(admin)
    other = await clinic.department(admin)
    response = await clinic.client.patch(
        f"/api/doctors/{doctor.doctor_id}",
        json={"full_name": "Dr Renamed", "department_id": other},
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["full_name"] == "Dr Renamed"
    assert response.json()["department_id"] == other
    me = await clinic.client.get("/api/auth/me", headers=doctor.headers)
    assert me.json()["full_name"] == "Dr Renamed"  # the name lives on the user

    unknown = await clinic.client.patch(
        f"/api/doctors/{doctor.doctor_id}",
        json={"department_id": str(uuid.uuid4())},
        headers=admin.headers,
    )
    assert unknown.status_code == 422
    read = await clinic.client.get(f"/api/doctors/{doctor.doctor_id}", headers=admin.headers)
    assert read.json()["department_id"] == other


async def test_delete_deactivates_doctor_and_login_and_cancels_future_bookings(
    clinic: ApiClinic,
) -> None:
    admin = await clinic.admin()
    department = await clinic.department(admin)
    doctor = await clinic.doctor(admin, department)
    colleague = await clinic.doctor(admin, department)
    patient = await clinic.patient()
    day = clinic.next_working_day().date()
    tomorrow_ish = day + timedelta(days=1 if day.weekday() < 4 else 3)

    async def book(who: Party, when: Any) -> str:
        response = await clinic.book(patient, who, when)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    earlier = await book(doctor, at(day, 9))
    scheduled = await book(doctor, at(tomorrow_ish, 9))
    confirmed = await book(doctor, at(tomorrow_ish, 10))
    elsewhere = await book(colleague, at(tomorrow_ish, 11))
    await clinic.client.post(f"/api/appointments/{confirmed}/confirm", headers=admin.headers)
    clinic.clock.at = at(day, 12)  # `earlier` has started: it is history, not future
    await relogin(clinic, admin)
    await relogin(clinic, doctor)

    response = await clinic.client.delete(f"/api/doctors/{doctor.doctor_id}", headers=admin.headers)
    assert response.status_code == 204, response.text

    read = await clinic.client.get(f"/api/doctors/{doctor.doctor_id}", headers=admin.headers)
    assert read.status_code == 200
    assert read.json()["is_active"] is False
    assert (await clinic.client.get("/api/auth/me", headers=doctor.headers)).status_code == 401
    login = await clinic.client.post(
        "/api/auth/login", data={"username": doctor.user["username"], "password": PASSWORD}
    )
    assert login.status_code == 401
    user = await clinic.client.get(f"/api/admin/users/{doctor.user['id']}", headers=admin.headers)
    assert user.json()["is_active"] is False

    async def state(appointment: str) -> tuple[str, str | None]:
        body = (
            await clinic.client.get(f"/api/appointments/{appointment}", headers=admin.headers)
        ).json()
        return body["status"], body["cancellation_reason"]

    assert await state(scheduled) == ("cancelled", "doctor_deactivated")
    assert await state(confirmed) == ("cancelled", "doctor_deactivated")
    assert await state(earlier) == ("scheduled", None)
    assert await state(elsewhere) == ("scheduled", None)

    listed = await clinic.client.get("/api/doctors", headers=admin.headers)
    assert doctor.doctor_id not in [d["id"] for d in listed.json()["items"]]
    slots = await clinic.client.get(
        f"/api/doctors/{doctor.doctor_id}/availability",
        params={"date_from": str(tomorrow_ish), "date_to": str(tomorrow_ish)},
        headers=admin.headers,
    )
    assert slots.json()["slots"] == []


@pytest.mark.parametrize(
    ("method", "body"),
    [("GET", None), ("PATCH", {"phone": "+1 555 0100"}), ("DELETE", None)],
)
async def test_unknown_doctor_is_404(
    clinic: ApiClinic, method: str, body: dict[str, Any] | None
) -> None:
    admin = await clinic.admin()
    response = await clinic.client.request(
        method, f"/api/doctors/{uuid.uuid4()}", json=body, headers=admin.headers
    )
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
