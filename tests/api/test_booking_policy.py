"""Services, buffers, rooms and the booking policy as bookings see them (API.md,
"Services, rooms and booking policy"), on both databases."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

import httpx
import pytest

from tests.api.support import ApiClinic, Party, parse_utc


class World:
    def __init__(self, clinic: ApiClinic) -> None:
        self.clinic = clinic

    async def setup(self) -> World:
        clinic = self.clinic
        self.admin = await clinic.admin()
        self.department = await clinic.department(self.admin)
        self.doctor = await clinic.doctor(self.admin, self.department)
        self.doctor2 = await clinic.doctor(self.admin, self.department)
        self.patient = await clinic.patient()
        self.other = await clinic.patient()
        self.day = clinic.next_working_day(at=time(0), days_ahead=2)
        return self

    def at(self, hour: int, minute: int = 0) -> datetime:
        return self.day + timedelta(hours=hour, minutes=minute)

    async def post(self, path: str, body: dict[str, Any], who: Party | None = None) -> Any:
        response = await self.clinic.client.post(
            path, json=body, headers=(who or self.admin).headers
        )
        assert response.status_code == 201, response.text
        return response.json()

    async def service(self, **fields: Any) -> str:
        body = {"name": f"Service {id(fields)}{len(fields)}", "department_id": self.department}
        body |= {"duration_minutes": 30, **fields}
        return str((await self.post("/api/services", body))["id"])

    async def room(self, name: str = "Room 1") -> str:
        return str((await self.post("/api/rooms", {"name": name}))["id"])

    async def policy(self, **fields: Any) -> None:
        body = {
            "min_notice_minutes": 0,
            "booking_horizon_days": 365,
            "cancellation_cutoff_hours": 0,
            "max_active_per_patient": 0,
            "reminder_offsets_minutes": [1440],
        } | fields
        response = await self.clinic.client.put(
            "/api/policy", json=body, headers=self.admin.headers
        )
        assert response.status_code == 200, response.text

    async def book(
        self, starts_at: datetime, who: Party | None = None, **extra: Any
    ) -> httpx.Response:
        who = who or self.patient
        body: dict[str, Any] = {"doctor_id": self.doctor.doctor_id}
        body |= {"starts_at": starts_at.isoformat(), **extra}
        if who.patient_id is None and "patient_id" not in body:
            body["patient_id"] = self.patient.patient_id
        return await self.clinic.client.post("/api/appointments", json=body, headers=who.headers)

    async def slots(self, who: Party, **params: Any) -> list[datetime]:
        day = self.day.date().isoformat()
        response = await self.clinic.client.get(
            f"/api/doctors/{self.doctor.doctor_id}/availability",
            params={"date_from": day, "date_to": day, **params},
            headers=who.headers,
        )
        assert response.status_code == 200, response.text
        return [parse_utc(s["starts_at"]) for s in response.json()["slots"]]


@pytest.fixture
async def world(clinic: ApiClinic) -> World:
    return await World(clinic).setup()


def _code(response: httpx.Response) -> tuple[int, str | None]:
    return response.status_code, response.json().get("code")


# --- services and buffers ---------------------------------------------------------------


async def test_a_service_sets_the_duration_and_is_recorded(world: World) -> None:
    service = await world.service(duration_minutes=45)
    booked = await world.book(world.at(10), service_id=service)
    assert booked.status_code == 201, booked.text
    body = booked.json()
    assert body["service_id"] == service
    assert body["room_id"] is None
    assert parse_utc(body["ends_at"]) - parse_utc(body["starts_at"]) == timedelta(minutes=45)
    explicit = await world.book(world.at(14), service_id=service, duration_minutes=20)
    assert parse_utc(explicit.json()["ends_at"]) == world.at(14, 20)


@pytest.mark.parametrize(
    ("start", "minutes", "expected"),
    [
        ((10, 30), 30, (409, "doctor_unavailable")),  # inside the 15-minute buffer after
        ((10, 45), 30, (201, None)),  # touches the buffered span: allowed
        ((9, 30), 30, (409, "doctor_unavailable")),  # inside the 15-minute buffer before
        ((9, 15), 30, (201, None)),  # ends where the buffer before starts
    ],
)
async def test_buffers_block_the_doctor_around_the_appointment(
    world: World, start: tuple[int, int], minutes: int, expected: tuple[int, str | None]
) -> None:
    service = await world.service(buffer_before_minutes=15, buffer_after_minutes=15)
    assert (await world.book(world.at(10), service_id=service)).status_code == 201
    other = await world.book(
        world.at(*start), world.admin, duration_minutes=minutes, patient_id=world.other.patient_id
    )
    assert _code(other) == expected, other.text


async def test_a_buffered_booking_is_refused_by_a_plain_neighbour(world: World) -> None:
    """The new appointment's buffers count too, not only the existing ones'."""
    assert (await world.book(world.at(10), duration_minutes=30)).status_code == 201
    service = await world.service(buffer_before_minutes=10)
    refused = await world.book(world.at(10, 35), world.other, service_id=service)
    assert _code(refused) == (409, "doctor_unavailable")
    assert (await world.book(world.at(10, 40), world.other, service_id=service)).status_code == 201


async def test_buffers_may_lie_outside_working_hours(world: World) -> None:
    service = await world.service(buffer_before_minutes=30, buffer_after_minutes=30)
    assert (await world.book(world.at(9), service_id=service)).status_code == 201
    last = await world.book(world.at(16, 30), world.other, service_id=service)
    assert last.status_code == 201, last.text


async def test_a_service_must_be_offered_by_the_doctors_department(world: World) -> None:
    other_department = await world.clinic.department(world.admin)
    foreign = str(
        (
            await world.post(
                "/api/services",
                {"name": "Elsewhere", "department_id": other_department, "duration_minutes": 30},
            )
        )["id"]
    )
    retired = await world.service()
    deleted = await world.clinic.client.delete(
        f"/api/services/{retired}", headers=world.admin.headers
    )
    assert deleted.status_code == 204
    for service in (foreign, retired, "00000000-0000-0000-0000-000000000000"):
        refused = await world.book(world.at(10), service_id=service)
        assert _code(refused) == (422, "service_not_offered"), refused.text


# --- rooms ------------------------------------------------------------------------------


async def test_one_room_holds_one_appointment_at_a_time(world: World) -> None:
    room = await world.room()
    assert (await world.book(world.at(10), room_id=room)).status_code == 201
    clash = await world.clinic.client.post(
        "/api/appointments",
        json={
            "doctor_id": world.doctor2.doctor_id,
            "patient_id": world.other.patient_id,
            "starts_at": world.at(10, 15).isoformat(),
            "room_id": room,
        },
        headers=world.admin.headers,
    )
    assert _code(clash) == (409, "room_unavailable")
    elsewhere = await world.room("Room 2")
    moved = await world.clinic.client.post(
        "/api/appointments",
        json={
            "doctor_id": world.doctor2.doctor_id,
            "patient_id": world.other.patient_id,
            "starts_at": world.at(10, 15).isoformat(),
            "room_id": elsewhere,
        },
        headers=world.admin.headers,
    )
    assert moved.status_code == 201, moved.text


async def test_an_inactive_or_unknown_room_is_refused(world: World) -> None:
    room = await world.room()
    deleted = await world.clinic.client.delete(f"/api/rooms/{room}", headers=world.admin.headers)
    assert deleted.status_code == 204
    assert _code(await world.book(world.at(10), room_id=room)) == (422, "inactive_party")
    unknown = await world.book(world.at(10), room_id="00000000-0000-0000-0000-000000000000")
    assert _code(unknown) == (404, "not_found")


async def test_availability_respects_service_and_room(world: World) -> None:
    room = await world.room()
    service = await world.service(duration_minutes=60, buffer_after_minutes=30)
    everything = await world.slots(world.admin, service_id=service)
    # 60 minutes stepping from 09:00: 09:00 ... 16:00.
    assert everything == [world.at(h) for h in range(9, 17)]
    assert (await world.book(world.at(12), service_id=service)).status_code == 201
    # Booked 12:00-13:00, blocking to 13:30: 11:00 (its buffer reaches 12:30) and 13:00
    # (inside the blocked time) are gone too.
    after = await world.slots(world.admin, service_id=service)
    assert after == [world.at(h) for h in (9, 10, 14, 15, 16)]
    # The room is taken 15:00-15:30 by another doctor's appointment.
    taken = await world.clinic.client.post(
        "/api/appointments",
        json={
            "doctor_id": world.doctor2.doctor_id,
            "patient_id": world.other.patient_id,
            "starts_at": world.at(15).isoformat(),
            "room_id": room,
        },
        headers=world.admin.headers,
    )
    assert taken.status_code == 201, taken.text
    with_room = await world.slots(world.admin, service_id=service, room_id=room)
    assert with_room == [world.at(h) for h in (9, 10, 14, 16)]
    first = await world.book(with_room[-1], service_id=service, room_id=room)
    assert first.status_code == 201, first.text
    refused = await world.clinic.client.post(
        "/api/appointments",
        json={
            "doctor_id": world.doctor2.doctor_id,
            "patient_id": world.other.patient_id,
            "starts_at": world.at(16, 15).isoformat(),
            "room_id": room,
        },
        headers=world.admin.headers,
    )
    assert _code(refused) == (409, "room_unavailable")


# --- the booking policy ------------------------------------------------------------------


async def test_policy_rules_bind_patients_only(world: World) -> None:
    now = world.clinic.clock.now()
    too_soon = world.at(10)  # the next working day ahead, whatever weekday today is
    notice = too_soon - now + timedelta(days=1)  # a day more notice than it gives
    await world.policy(
        min_notice_minutes=int(notice / timedelta(minutes=1)), booking_horizon_days=30
    )
    assert _code(await world.book(too_soon)) == (422, "too_short_notice")
    far = world.at(10) + timedelta(days=35)
    while far.weekday() >= 5:
        far += timedelta(days=1)
    assert _code(await world.book(far)) == (422, "beyond_horizon")
    for staff in (world.admin, world.doctor):
        assert (await world.book(too_soon, staff)).status_code == 201
        too_soon += timedelta(hours=1)


async def test_cancellation_cutoff_closes_cancel_and_move_for_patients(world: World) -> None:
    booked = await world.book(world.at(10))
    assert booked.status_code == 201
    appointment = booked.json()["id"]
    await world.policy(cancellation_cutoff_hours=336)
    client = world.clinic.client
    cancel = await client.post(
        f"/api/appointments/{appointment}/cancel", headers=world.patient.headers
    )
    assert _code(cancel) == (409, "change_window_closed")
    delete = await client.delete(f"/api/appointments/{appointment}", headers=world.patient.headers)
    assert _code(delete) == (409, "change_window_closed")
    move = await client.patch(
        f"/api/appointments/{appointment}",
        json={"starts_at": world.at(11).isoformat()},
        headers=world.patient.headers,
    )
    assert _code(move) == (409, "change_window_closed")
    reason = await client.patch(
        f"/api/appointments/{appointment}",
        json={"reason": "still fine"},
        headers=world.patient.headers,
    )
    assert reason.status_code == 200  # not a move
    by_doctor = await client.post(
        f"/api/appointments/{appointment}/cancel", headers=world.doctor.headers
    )
    assert by_doctor.status_code == 200
    body = by_doctor.json()
    assert body["cancelled_by"] == "DOCTOR"
    assert parse_utc(body["cancelled_at"]) == world.clinic.clock.now()


async def test_booking_limit_counts_future_active_appointments(world: World) -> None:
    await world.policy(max_active_per_patient=2)
    first = await world.book(world.at(9))
    assert first.status_code == 201
    assert (await world.book(world.at(10))).status_code == 201
    assert _code(await world.book(world.at(11))) == (409, "booking_limit_reached")
    assert await world.slots(world.patient) == []  # nothing left to offer this patient
    cancel = await world.clinic.client.post(
        f"/api/appointments/{first.json()['id']}/cancel", headers=world.patient.headers
    )
    assert cancel.json()["cancelled_by"] == "PATIENT"
    assert (await world.book(world.at(11))).status_code == 201
    staff = await world.book(world.at(12), world.admin)
    assert staff.status_code == 201  # staff are exempt


async def test_the_policy_is_judged_before_whether_the_time_is_free(world: World) -> None:
    """A patient's request that breaks the policy and asks for a taken time gets the
    policy's answer on every database: PostgreSQL learns of the overlap only at the
    INSERT, so the rules that need no calendar are judged first everywhere."""
    taken = world.at(10)
    assert (await world.book(taken, world.other)).status_code == 201
    mine = await world.book(world.at(14))
    assert mine.status_code == 201
    assert _code(await world.book(taken)) == (409, "doctor_unavailable")  # the policy allows

    await world.policy(max_active_per_patient=1)
    assert _code(await world.book(taken)) == (409, "booking_limit_reached")
    hold = await world.clinic.client.post(
        "/api/holds",
        json={"doctor_id": world.doctor.doctor_id, "starts_at": taken.isoformat()},
        headers=world.patient.headers,
    )
    assert _code(hold) == (409, "booking_limit_reached")  # a hold as a booking

    await world.policy(booking_horizon_days=1)  # the day is two days ahead
    move = await world.clinic.client.patch(
        f"/api/appointments/{mine.json()['id']}",
        json={"starts_at": taken.isoformat()},
        headers=world.patient.headers,
    )
    assert _code(move) == (422, "beyond_horizon")
    assert _code(await world.book(world.at(15), world.admin)) == (201, None)  # staff: free


async def test_every_slot_offered_to_a_patient_is_bookable_under_a_strict_policy(
    world: World,
) -> None:
    """Offered == bookable for the caller: book every slot the patient is offered (with a
    buffered service) under notice and horizon rules, and all succeed."""
    now = world.clinic.clock.now()
    notice = world.at(11) - now  # the first two hours of the day are too soon
    await world.policy(min_notice_minutes=int(notice / timedelta(minutes=1)))
    service = await world.service(duration_minutes=30, buffer_after_minutes=30)
    admin_view = await world.slots(world.admin, service_id=service)
    offered = await world.slots(world.patient, service_id=service)
    assert offered
    assert set(offered) < set(admin_view)
    assert min(offered) >= world.at(11)
    taken = 0
    while offered:
        booked = await world.book(offered[0], service_id=service)
        assert booked.status_code == 201, booked.text
        taken += 1
        offered = await world.slots(world.patient, service_id=service)
    assert taken >= 3


async def test_policy_can_be_read_by_anyone_and_stats_count_late_cancellations(
    world: World,
) -> None:
    booked = await world.book(world.at(10))
    await world.policy(cancellation_cutoff_hours=336)
    policy = await world.clinic.client.get("/api/policy", headers=world.patient.headers)
    assert policy.json()["cancellation_cutoff_hours"] == 336
    # A patient cannot cancel inside the window; a late cancellation by a patient needs a
    # cut-off that was open when they cancelled: lower it, cancel, raise it again.
    await world.policy(cancellation_cutoff_hours=1)
    cancel = await world.clinic.client.post(
        f"/api/appointments/{booked.json()['id']}/cancel", headers=world.patient.headers
    )
    assert cancel.status_code == 200
    stats = await world.clinic.client.get("/api/admin/dashboard/stats", headers=world.admin.headers)
    assert stats.json()["appointments"]["late_cancellations_30d"] == 0
    await world.policy(cancellation_cutoff_hours=336)
    stats = await world.clinic.client.get("/api/admin/dashboard/stats", headers=world.admin.headers)
    assert stats.json()["appointments"]["late_cancellations_30d"] == 1


async def test_deactivation_cancels_with_system_as_the_canceller(world: World) -> None:
    booked = await world.book(world.at(10))
    deleted = await world.clinic.client.delete(
        f"/api/doctors/{world.doctor.doctor_id}", headers=world.admin.headers
    )
    assert deleted.status_code == 204
    found = await world.clinic.client.get(
        f"/api/appointments/{booked.json()['id']}", headers=world.admin.headers
    )
    assert found.json()["cancelled_by"] == "SYSTEM"
    assert found.json()["cancellation_reason"] == "doctor_deactivated"
