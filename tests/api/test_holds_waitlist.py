"""Holds and the waitlist through HTTP against the real app (SQLite and PostgreSQL):
fields, status codes, error codes, and a waitlist offer made by the dispatcher."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from appointments.adapters.clock import FixedClock
from tests.api.support import ApiClinic, Party

HOLD_FIELDS = {
    "id",
    "doctor_id",
    "patient_id",
    "room_id",
    "service_id",
    "starts_at",
    "ends_at",
    "expires_at",
}
ENTRY_FIELDS = {
    "id",
    "patient_id",
    "doctor_id",
    "department_id",
    "service_id",
    "date_from",
    "date_to",
    "duration_minutes",
    "status",
    "offer",
    "created_at",
}


async def place(clinic: ApiClinic, who: Party, doctor: Party, **fields: Any) -> Any:
    body = {
        "doctor_id": doctor.doctor_id,
        "starts_at": clinic.next_working_day().isoformat(),
        "duration_minutes": 30,
        **fields,
    }
    return await clinic.client.post("/api/holds", json=body, headers=who.headers)


async def test_a_hold_is_placed_read_booked_and_gone(clinic: ApiClinic, clock: FixedClock) -> None:
    admin = await clinic.admin()
    doctor, patient, other = (
        await clinic.doctor(admin),
        await clinic.patient(),
        await clinic.patient(),
    )
    response = await place(clinic, patient, doctor)
    assert response.status_code == 201, response.text
    hold = response.json()
    assert set(hold) == HOLD_FIELDS
    assert hold["patient_id"] == patient.patient_id
    expires = clock.now() + timedelta(minutes=10)
    assert hold["expires_at"].replace("Z", "+00:00") == expires.isoformat()
    got = await clinic.client.get(f"/api/holds/{hold['id']}", headers=doctor.headers)
    assert got.json() == hold
    hidden = await clinic.client.get(f"/api/holds/{hold['id']}", headers=other.headers)
    assert (hidden.status_code, hidden.json()["code"]) == (404, "not_found")

    taken = await place(clinic, other, doctor)
    assert (taken.status_code, taken.json()["code"]) == (409, "doctor_unavailable")
    blocked = await clinic.book(other, doctor, clinic.next_working_day())
    assert (blocked.status_code, blocked.json()["code"]) == (409, "doctor_unavailable")
    foreign = await clinic.client.post(
        "/api/appointments", json={"hold_id": hold["id"]}, headers=other.headers
    )
    assert foreign.status_code == 404
    booked = await clinic.client.post(
        "/api/appointments", json={"hold_id": hold["id"]}, headers=patient.headers
    )
    assert booked.status_code == 201, booked.text
    assert booked.json()["starts_at"] == hold["starts_at"]
    gone = await clinic.client.get(f"/api/holds/{hold['id']}", headers=patient.headers)
    assert gone.status_code == 404


async def test_an_expired_hold_blocks_nothing_and_cannot_be_booked(
    clinic: ApiClinic, clock: FixedClock
) -> None:
    admin = await clinic.admin()
    doctor, patient, other = (
        await clinic.doctor(admin),
        await clinic.patient(),
        await clinic.patient(),
    )
    hold = (await place(clinic, patient, doctor)).json()
    clock.advance(timedelta(minutes=10))
    late = await clinic.client.post(
        "/api/appointments", json={"hold_id": hold["id"]}, headers=patient.headers
    )
    assert (late.status_code, late.json()["code"]) == (409, "hold_expired")
    assert (await clinic.book(other, doctor, clinic.next_working_day())).status_code == 201


async def test_release_and_bad_input(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    doctor, patient = await clinic.doctor(admin), await clinic.patient()
    hold = (await place(clinic, patient, doctor)).json()
    released = await clinic.client.delete(f"/api/holds/{hold['id']}", headers=patient.headers)
    assert released.status_code == 204
    again = await clinic.client.delete(f"/api/holds/{hold['id']}", headers=patient.headers)
    assert again.status_code == 404
    assert (await clinic.book(patient, doctor, clinic.next_working_day())).status_code == 201
    for_whom = await place(clinic, admin, doctor)
    assert (for_whom.status_code, for_whom.json()["code"]) == (422, "invalid_value")
    long = await place(clinic, patient, doctor, duration_minutes=9999)
    assert (long.status_code, long.json()["code"]) == (422, "invalid_duration")
    neither = await clinic.client.post("/api/appointments", json={}, headers=patient.headers)
    assert neither.status_code == 422


async def join(clinic: ApiClinic, who: Party, **fields: Any) -> Any:
    day = clinic.next_working_day().date()
    body = {"date_from": day.isoformat(), "date_to": (day + timedelta(days=5)).isoformat()}
    body.update(fields)
    return await clinic.client.post("/api/waitlist", json=body, headers=who.headers)


async def test_a_cancellation_is_offered_to_the_first_in_line_who_accepts(
    clinic: ApiClinic, clock: FixedClock
) -> None:
    admin = await clinic.admin()
    doctor = await clinic.doctor(admin)
    first, second, booker = [await clinic.patient() for _ in range(3)]
    slot = clinic.next_working_day()
    appointment = (await clinic.book(booker, doctor, slot)).json()
    early = await join(clinic, first, doctor_id=doctor.doctor_id)
    assert early.status_code == 201, early.text
    assert set(early.json()) == ENTRY_FIELDS
    assert (early.json()["status"], early.json()["offer"]) == ("waiting", None)
    clock.advance(timedelta(minutes=1))
    late = (await join(clinic, second, doctor_id=doctor.doctor_id)).json()

    cancelled = await clinic.client.post(
        f"/api/appointments/{appointment['id']}/cancel", json={}, headers=booker.headers
    )
    assert cancelled.status_code == 200, cancelled.text
    await clinic.container.dispatcher().run_once()
    entry = (
        await clinic.client.get(f"/api/waitlist/{early.json()['id']}", headers=first.headers)
    ).json()
    assert entry["status"] == "offered"
    assert set(entry["offer"]) == {"hold_id", "doctor_id", "starts_at", "ends_at", "expires_at"}
    listed = await clinic.client.get("/api/waitlist?status=waiting", headers=second.headers)
    assert [e["id"] for e in listed.json()["items"]] == [late["id"]]
    hidden = await clinic.client.post(f"/api/waitlist/{entry['id']}/accept", headers=second.headers)
    assert hidden.status_code == 404

    accepted = await clinic.client.post(
        f"/api/waitlist/{entry['id']}/accept", headers=first.headers
    )
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["patient_id"] == first.patient_id
    assert accepted.json()["starts_at"] == entry["offer"]["starts_at"]
    done = await clinic.client.get(f"/api/waitlist/{entry['id']}", headers=first.headers)
    assert done.json()["status"] == "booked"
    twice = await clinic.client.post(f"/api/waitlist/{entry['id']}/accept", headers=first.headers)
    assert (twice.status_code, twice.json()["code"]) == (409, "hold_expired")


async def test_waitlist_input_and_who(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    department = await clinic.department(admin)
    doctor = await clinic.doctor(admin, department)
    patient, other = await clinic.patient(), await clinic.patient()
    neither = await join(clinic, patient)
    assert (neither.status_code, neither.json()["code"]) == (422, "invalid_value")
    day = clinic.next_working_day().date()
    backwards = await join(
        clinic, patient, doctor_id=doctor.doctor_id, date_to=(day - timedelta(days=1)).isoformat()
    )
    assert backwards.status_code == 422
    unknown = await join(clinic, patient, department_id="00000000-0000-0000-0000-000000000000")
    assert unknown.status_code == 404
    doctor_for_department = await join(
        clinic, doctor, department_id=department, patient_id=other.patient_id
    )
    assert doctor_for_department.status_code == 403
    entry = (await join(clinic, patient, department_id=department)).json()
    assert entry["doctor_id"] is None
    assert entry["department_id"] == department
    seen = await clinic.client.get(f"/api/waitlist/{entry['id']}", headers=other.headers)
    assert seen.status_code == 404
    theirs = await clinic.client.get("/api/waitlist", headers=doctor.headers)
    assert [e["id"] for e in theirs.json()["items"]] == [entry["id"]]
    refused = await clinic.client.delete(f"/api/waitlist/{entry['id']}", headers=other.headers)
    assert refused.status_code == 404
    left = await clinic.client.delete(f"/api/waitlist/{entry['id']}", headers=patient.headers)
    assert left.status_code == 204
    again = await clinic.client.delete(f"/api/waitlist/{entry['id']}", headers=patient.headers)
    assert (again.status_code, again.json()["code"]) == (409, "invalid_transition")


async def test_an_idempotency_key_replays_a_hold_and_a_waitlist_entry(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    doctor, patient = await clinic.doctor(admin), await clinic.patient()
    key = {**patient.headers, "Idempotency-Key": "hold-once-1"}
    body = {
        "doctor_id": doctor.doctor_id,
        "starts_at": clinic.next_working_day().isoformat(),
        "duration_minutes": 30,
    }
    first = await clinic.client.post("/api/holds", json=body, headers=key)
    again = await clinic.client.post("/api/holds", json=body, headers=key)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()  # the same hold, not a 409 against itself
    day = clinic.next_working_day().date().isoformat()
    wanted = {"doctor_id": doctor.doctor_id, "date_from": day, "date_to": day}
    key = {**patient.headers, "Idempotency-Key": "join-once-1"}
    joined = [await clinic.client.post("/api/waitlist", json=wanted, headers=key) for _ in "ab"]
    assert joined[0].json() == joined[1].json()
    listed = await clinic.client.get("/api/waitlist", headers=patient.headers)
    assert listed.json()["total"] == 1
