"""Recurring appointment series over HTTP (API.md, "Filling the calendar"), on both
databases: all or nothing with every conflict listed, the policy per occurrence, local
time across daylight-saving changes, read, cancel, idempotency keys and audit."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from appointments.adapters.clock import FixedClock
from appointments.entrypoints.api.app import create_app
from tests.api.support import ApiClinic, Party, at, make_container, next_monday, parse_utc

SERIES = "/api/appointments/series"


class World:
    def __init__(self, clinic: ApiClinic) -> None:
        self.clinic = clinic

    async def setup(self) -> World:
        self.admin = await self.clinic.admin()
        self.doctor = await self.clinic.doctor(self.admin)
        self.patient = await self.clinic.patient()
        self.other = await self.clinic.patient()
        self.monday = next_monday(self.clinic.clock)
        return self

    def body(self, starts_at: datetime, **recurrence: Any) -> dict[str, Any]:
        return {
            "doctor_id": self.doctor.doctor_id,
            "patient_id": self.patient.patient_id,
            "starts_at": starts_at.isoformat(),
            "duration_minutes": 30,
            "recurrence": {"frequency": "weekly", "count": 12} | recurrence,
        }

    async def book(
        self, body: dict[str, Any], who: Party | None = None, **headers: str
    ) -> httpx.Response:
        return await self.clinic.client.post(
            SERIES, json=body, headers={**(who or self.admin).headers, **headers}
        )

    async def appointment_count(self) -> int:
        response = await self.clinic.client.get("/api/appointments", headers=self.admin.headers)
        return int(response.json()["total"])

    async def audited(self, action: str) -> int:
        response = await self.clinic.client.get(
            "/api/admin/audit", params={"action": action}, headers=self.admin.headers
        )
        return int(response.json()["total"])

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


@pytest.fixture
async def world(clinic: ApiClinic) -> World:
    return await World(clinic).setup()


async def test_a_weekly_series_is_booked_read_and_audited(world: World) -> None:
    first = at(world.monday, 10)
    response = await world.book(world.body(first))
    assert response.status_code == 201, response.text
    series = response.json()
    booked = series["appointments"]
    assert [parse_utc(a["starts_at"]) for a in booked] == [
        first + timedelta(weeks=k) for k in range(12)
    ]
    assert {a["series_id"] for a in booked} == {series["id"]}
    assert {a["status"] for a in booked} == {"scheduled"}

    read = await world.clinic.client.get(f"{SERIES}/{series['id']}", headers=world.patient.headers)
    assert read.status_code == 200, read.text
    assert read.json() == series
    one = await world.clinic.client.get(
        f"/api/appointments/{booked[3]['id']}", headers=world.admin.headers
    )
    assert one.json()["series_id"] == series["id"]
    assert await world.audited("appointment.booked") == 12
    assert await world.audited("series.booked") == 1


async def test_all_or_nothing_with_every_conflict_listed(world: World) -> None:
    first = at(world.monday, 10)
    for week in (2, 5):
        taken = await world.clinic.book(
            world.admin, world.doctor, first + timedelta(weeks=week), world.other.patient_id
        )
        assert taken.status_code == 201, taken.text
    response = await world.book(world.body(first))
    assert response.status_code == 409, response.text
    body = response.json()
    assert body["code"] == "doctor_unavailable"
    assert [(parse_utc(c["starts_at"]), c["code"]) for c in body["conflicts"]] == [
        (first + timedelta(weeks=2), "doctor_unavailable"),
        (first + timedelta(weeks=5), "doctor_unavailable"),
    ]
    assert await world.appointment_count() == 2
    assert await world.audited("series.booked") == 0


async def time_off(world: World, starts_at: datetime) -> None:
    response = await world.clinic.client.post(
        f"/api/doctors/{world.doctor.doctor_id}/time-off",
        json={
            "starts_at": starts_at.isoformat(),
            "ends_at": (starts_at + timedelta(hours=1)).isoformat(),
        },
        headers=world.admin.headers,
    )
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(("off_week", "taken_week", "status"), [(1, 2, 422), (2, 1, 409)])
async def test_the_first_failure_sets_the_status(
    world: World, off_week: int, taken_week: int, status: int
) -> None:
    """A 422 rule and a 409 conflict on two occurrences: the earlier one answers, both
    are listed."""
    first = at(world.monday, 10)
    await time_off(world, first + timedelta(weeks=off_week))
    taken = await world.clinic.book(
        world.admin, world.doctor, first + timedelta(weeks=taken_week), world.other.patient_id
    )
    assert taken.status_code == 201, taken.text
    response = await world.book(world.body(first, count=4))
    assert response.status_code == status, response.text
    codes = {off_week: "outside_schedule", taken_week: "doctor_unavailable"}
    assert response.json()["code"] == codes[min(codes)]
    assert [c["code"] for c in response.json()["conflicts"]] == [codes[1], codes[2]]
    assert await world.appointment_count() == 1


@pytest.mark.parametrize(
    "recurrence",
    [
        {"count": 53},
        {"count": 1},
        {"interval": 9},
        {"interval": 0},
        {"count": None, "until": None},
        {"count": 2, "until": "2027-12-31"},
        {"count": None, "until": "2099-12-31"},
    ],
)
async def test_invalid_recurrences_are_refused(world: World, recurrence: dict[str, Any]) -> None:
    response = await world.book(world.body(at(world.monday, 10), **recurrence))
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_recurrence"
    assert await world.appointment_count() == 0


async def test_until_and_daily_with_an_interval(world: World) -> None:
    first = at(world.monday, 10)
    until = str(world.monday + timedelta(days=4))
    response = await world.book(world.body(first, frequency="daily", count=None, until=until))
    assert response.status_code == 201, response.text
    assert len(response.json()["appointments"]) == 5  # Monday to Friday
    second = await world.book(
        world.body(at(world.monday, 11), frequency="daily", interval=2, count=3)
    )
    assert [parse_utc(a["starts_at"]).date() for a in second.json()["appointments"]] == [
        world.monday + timedelta(days=d) for d in (0, 2, 4)
    ]


async def test_the_policy_applies_to_each_occurrence(world: World) -> None:
    await world.policy(max_active_per_patient=3, booking_horizon_days=30)
    body = world.body(at(world.monday, 10), count=6)
    body.pop("patient_id")
    response = await world.book(body, who=world.patient)
    assert response.status_code == 409, response.text
    found = {parse_utc(c["starts_at"]): c["code"] for c in response.json()["conflicts"]}
    assert response.json()["code"] == "booking_limit_reached"
    for week in range(6):
        start = at(world.monday, 10) + timedelta(weeks=week)
        if week < 3:
            assert start not in found
        else:  # the fourth is beyond the limit (and maybe the horizon): listed
            assert start in found
    assert await world.appointment_count() == 0
    staff = await world.book(world.body(at(world.monday, 10), count=6))
    assert staff.status_code == 201, staff.text  # admins are exempt


async def test_cancel_cancels_only_future_active_occurrences(world: World) -> None:
    booked = (await world.book(world.body(at(world.monday, 10), count=4))).json()
    ids = [a["id"] for a in booked["appointments"]]
    client, admin = world.clinic.client, world.admin.headers
    assert (await client.post(f"/api/appointments/{ids[0]}/check-in", headers=admin)).is_success
    assert (await client.post(f"/api/appointments/{ids[1]}/cancel", headers=admin)).is_success
    response = await client.post(
        f"{SERIES}/{booked['id']}/cancel", json={"reason": "Moving away"}, headers=admin
    )
    assert response.status_code == 200, response.text
    statuses = [a["status"] for a in response.json()["appointments"]]
    assert statuses == ["checked_in", "cancelled", "cancelled", "cancelled"]
    assert response.json()["appointments"][3]["cancellation_reason"] == "Moving away"
    assert response.json()["appointments"][3]["cancelled_by"] == "ADMIN"
    assert await world.audited("appointment.cancelled") == 3
    assert await world.audited("series.cancelled") == 1


async def test_a_patient_within_the_cutoff_cancels_nothing(world: World) -> None:
    booked = (await world.book(world.body(at(world.monday, 10), count=3))).json()
    await world.policy(cancellation_cutoff_hours=336)  # the first occurrence is within it
    response = await world.clinic.client.post(
        f"{SERIES}/{booked['id']}/cancel", headers=world.patient.headers
    )
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "change_window_closed"
    read = await world.clinic.client.get(f"{SERIES}/{booked['id']}", headers=world.admin.headers)
    assert {a["status"] for a in read.json()["appointments"]} == {"scheduled"}
    assert await world.audited("appointment.cancelled") == 0
    await world.policy(cancellation_cutoff_hours=0)
    allowed = await world.clinic.client.post(
        f"{SERIES}/{booked['id']}/cancel", headers=world.patient.headers
    )
    assert allowed.status_code == 200, allowed.text
    assert {a["cancelled_by"] for a in allowed.json()["appointments"]} == {"PATIENT"}


async def test_others_and_unknown_ids_get_the_same_404(world: World) -> None:
    booked = (await world.book(world.body(at(world.monday, 10), count=2))).json()
    client = world.clinic.client
    for path in (f"{SERIES}/{booked['id']}", f"{SERIES}/{uuid.uuid4()}"):
        read = await client.get(path, headers=world.other.headers)
        cancel = await client.post(path + "/cancel", headers=world.other.headers)
        assert (read.status_code, read.json()["code"]) == (404, "not_found")
        assert (cancel.status_code, cancel.json()) == (404, read.json())


async def test_an_idempotency_key_replays_the_series(world: World) -> None:
    body = world.body(at(world.monday, 10))
    first = await world.book(body, **{"Idempotency-Key": "series-1"})
    again = await world.book(body, **{"Idempotency-Key": "series-1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert await world.appointment_count() == 12
    other = await world.book(world.body(at(world.monday, 11)), **{"Idempotency-Key": "series-1"})
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")


@pytest.fixture(params=["Europe/Berlin", "America/New_York"])
async def zoned(
    request: pytest.FixtureRequest, engine: AsyncEngine, database_url: str, clock: FixedClock
) -> AsyncIterator[tuple[ApiClinic, str]]:
    clock.at = datetime(2027, 3, 1, 8, tzinfo=UTC)
    container = make_container(database_url, engine, clock, clinic_timezone=request.param)
    transport = httpx.ASGITransport(app=create_app(container))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield ApiClinic(client, container, clock), request.param
    container.unwire()


async def test_weekly_series_keep_local_time_across_dst(zoned: tuple[ApiClinic, str]) -> None:
    clinic, zone = zoned
    world = await World(clinic).setup()
    # Both zones spring forward within three weeks of 2027-03-08.
    first = at(date(2027, 3, 8), 9, zone=zone)
    response = await world.book(world.body(first, count=4))
    assert response.status_code == 201, response.text
    starts = [parse_utc(a["starts_at"]) for a in response.json()["appointments"]]
    assert all(
        s == at(first.date() + timedelta(weeks=k), 9, zone=zone) for k, s in enumerate(starts)
    )
    offsets = {s - (first + timedelta(weeks=k)) for k, s in enumerate(starts)}
    assert offsets == {timedelta(0), -timedelta(hours=1)}  # an hour earlier in UTC after


@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"])
async def test_the_series_path_is_no_appointment_id(world: World, method: str) -> None:
    response = await world.clinic.client.request(method, SERIES, headers=world.admin.headers)
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == "POST"
    if method != "HEAD":
        assert response.json()["code"] == "method_not_allowed"
