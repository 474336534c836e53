"""Weekly schedules, time off and availability, including daylight-saving changes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from dependency_injector import providers
from sqlalchemy.ext.asyncio import AsyncEngine

from appointments.adapters.clock import FixedClock
from appointments.container import Container
from appointments.entrypoints.api.app import create_app
from tests.api.support import ApiClinic, Party, at, next_monday, parse_utc, relogin
from tests.conftest import test_settings as make_settings

DEFAULT_WEEK = [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)]


async def _schedule(clinic: ApiClinic, doctor: Party, who: Party) -> dict[str, Any]:
    response = await clinic.client.get(
        f"/api/doctors/{doctor.doctor_id}/schedule", headers=who.headers
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _slots(
    clinic: ApiClinic, doctor: Party, who: Party, first: date, last: date, **params: Any
) -> list[tuple[datetime, datetime]]:
    response = await clinic.client.get(
        f"/api/doctors/{doctor.doctor_id}/availability",
        params={"date_from": str(first), "date_to": str(last), **params},
        headers=who.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["doctor_id"] == doctor.doctor_id
    return [(parse_utc(s["starts_at"]), parse_utc(s["ends_at"])) for s in body["slots"]]


def _expected(
    day: date, start: tuple[int, int], end: tuple[int, int], minutes: int
) -> list[datetime]:
    """Starts stepping by `minutes` from `start` while the slot fits before `end` (UTC)."""
    first, last = at(day, *start), at(day, *end)
    step = timedelta(minutes=minutes)
    starts = []
    while first + step <= last:
        starts.append(first)
        first += step
    return starts


# --- weekly schedule -------------------------------------------------------------------


async def test_new_doctor_works_monday_to_friday_nine_to_five(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    doctor = await clinic.doctor(admin)
    patient = await clinic.patient()
    schedule = await _schedule(clinic, doctor, patient)
    assert schedule == {"timezone": "UTC", "weekly": DEFAULT_WEEK, "time_off": []}

    monday = next_monday(clinic.clock)
    week = await _slots(clinic, doctor, patient, monday, monday + timedelta(days=6))
    expected = [s for d in range(5) for s in _expected(monday + timedelta(d), (9, 0), (17, 0), 30)]
    assert [s for s, _ in week] == expected
    assert all(e - s == timedelta(minutes=30) for s, e in week)


@pytest.mark.parametrize("who", ["admin", "doctor"])
async def test_put_replaces_the_week_with_several_intervals_a_day(
    clinic: ApiClinic, who: str
) -> None:
    admin = await clinic.admin()
    doctor = await clinic.doctor(admin)
    weekly = [
        {"weekday": 0, "start": "08:00", "end": "12:00"},
        {"weekday": 0, "start": "13:00", "end": "17:30"},
        {"weekday": 2, "start": "14:00", "end": "20:00"},
        {"weekday": 5, "start": "10:00", "end": "12:00"},
    ]
    caller = admin if who == "admin" else doctor
    response = await clinic.client.put(
        f"/api/doctors/{doctor.doctor_id}/schedule", json={"weekly": weekly}, headers=caller.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["weekly"] == weekly
    assert (await _schedule(clinic, doctor, admin))["weekly"] == weekly

    monday = next_monday(clinic.clock)
    slots = [s for s, _ in await _slots(clinic, doctor, admin, monday, monday + timedelta(days=6))]
    assert slots == (
        _expected(monday, (8, 0), (12, 0), 30)
        + _expected(monday, (13, 0), (17, 30), 30)
        + _expected(monday + timedelta(2), (14, 0), (20, 0), 30)
        + _expected(monday + timedelta(5), (10, 0), (12, 0), 30)
    )


async def test_empty_week_means_no_slots(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    doctor = await clinic.doctor(admin)
    response = await clinic.client.put(
        f"/api/doctors/{doctor.doctor_id}/schedule", json={"weekly": []}, headers=doctor.headers
    )
    assert response.status_code == 200
    monday = next_monday(clinic.clock)
    assert await _slots(clinic, doctor, admin, monday, monday + timedelta(days=6)) == []


@pytest.mark.parametrize("who", ["other_doctor", "patient"])
async def test_only_admin_and_the_doctor_may_put_a_schedule(clinic: ApiClinic, who: str) -> None:
    admin = await clinic.admin()
    doctor = await clinic.doctor(admin)
    caller = await clinic.doctor(admin) if who == "other_doctor" else await clinic.patient()
    response = await clinic.client.put(
        f"/api/doctors/{doctor.doctor_id}/schedule",
        json={"weekly": [{"weekday": 6, "start": "09:00", "end": "10:00"}]},
        headers=caller.headers,
    )
    assert response.status_code == 403, response.text
    assert (await _schedule(clinic, doctor, admin))["weekly"] == DEFAULT_WEEK


@pytest.mark.parametrize(
    ("weekly", "needle"),
    [
        (
            [
                {"weekday": 1, "start": "09:00", "end": "12:00"},
                {"weekday": 1, "start": "11:30", "end": "15:00"},
            ],
            "overlap",
        ),
        (
            [
                {"weekday": 3, "start": "09:00", "end": "17:00"},
                {"weekday": 3, "start": "10:00", "end": "11:00"},
            ],
            "overlap",
        ),
        (
            [
                {"weekday": 4, "start": "09:00", "end": "12:00"},
                {"weekday": 4, "start": "09:00", "end": "12:00"},
            ],
            "overlap",
        ),
        ([{"weekday": 2, "start": "12:00", "end": "12:00"}], "does not end after it starts"),
        ([{"weekday": 2, "start": "17:00", "end": "09:00"}], "does not end after it starts"),
    ],
)
async def test_overlapping_or_backwards_intervals_are_422_with_a_clear_detail(
    clinic: ApiClinic, weekly: list[dict[str, Any]], needle: str
) -> None:
    admin = await clinic.admin()
    doctor = await clinic.doctor(admin)
    response = await clinic.client.put(
        f"/api/doctors/{doctor.doctor_id}/schedule", json={"weekly": weekly}, headers=admin.headers
    )
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "invalid_schedule"
    assert needle in body["detail"]
    weekday = weekly[0]["weekday"]
    assert f"weekday {weekday}" in body["detail"]
    assert (await _schedule(clinic, doctor, admin))["weekly"] == DEFAULT_WEEK


async def test_back_to_back_intervals_are_not_overlapping(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    doctor = await clinic.doctor(admin)
    weekly = [
        {"weekday": 0, "start": "09:00", "end": "12:00"},
        {"weekday": 0, "start": "12:00", "end": "13:00"},
    ]
    response = await clinic.client.put(
        f"/api/doctors/{doctor.doctor_id}/schedule", json={"weekly": weekly}, headers=admin.headers
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "interval",
    [
        {"weekday": 7, "start": "09:00", "end": "10:00"},
        {"weekday": -1, "start": "09:00", "end": "10:00"},
        {"weekday": "1", "start": "09:00", "end": "10:00"},
        {"weekday": 1, "start": "9:00", "end": "10:00"},
        {"weekday": 1, "start": "09:00", "end": "24:00"},
        {"weekday": 1, "start": "09:00"},
        {"weekday": 1, "start": "09:00", "end": "10:00", "room": 3},
    ],
)
async def test_malformed_intervals_are_422(clinic: ApiClinic, interval: dict[str, Any]) -> None:
    admin = await clinic.admin()
    doctor = await clinic.doctor(admin)
    response = await clinic.client.put(
        f"/api/doctors/{doctor.doctor_id}/schedule",
        json={"weekly": [interval]},
        headers=admin.headers,
    )
    assert response.status_code == 422, response.text
    assert (await _schedule(clinic, doctor, admin))["weekly"] == DEFAULT_WEEK


# --- time off --------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin", "doctor"])
async def test_time_off_is_created_listed_and_deleted(clinic: ApiClinic, who: str) -> None:
    admin = await clinic.admin()
    doctor = await clinic.doctor(admin)
    caller = admin if who == "admin" else doctor
    monday = next_monday(clinic.clock)
    created = await clinic.client.post(
        f"/api/doctors/{doctor.doctor_id}/time-off",
        json={
            "starts_at": f"{monday}T10:00:00+02:00",
            "ends_at": f"{monday}T12:00:00+02:00",
            "reason": "Conference",
        },
        headers=caller.headers,
    )
    assert created.status_code == 201, created.text
    item = created.json()
    assert set(item) == {"id", "starts_at", "ends_at", "reason"}
    assert parse_utc(item["starts_at"]) == at(monday, 8)
    assert parse_utc(item["ends_at"]) == at(monday, 10)
    assert item["reason"] == "Conference"

    listed = (await _schedule(clinic, doctor, caller))["time_off"]
    assert [(t["id"], parse_utc(t["starts_at"]), t["reason"]) for t in listed] == [
        (item["id"], at(monday, 8), "Conference")
    ]

    path = f"/api/doctors/{doctor.doctor_id}/time-off/{item['id']}"
    deleted = await clinic.client.delete(path, headers=caller.headers)
    assert deleted.status_code == 204
    assert (await _schedule(clinic, doctor, caller))["time_off"] == []
    again = await clinic.client.delete(path, headers=caller.headers)
    assert again.status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"starts_at": "2030-01-07T12:00:00Z", "ends_at": "2030-01-07T12:00:00Z"},
        {"starts_at": "2030-01-07T12:00:00Z", "ends_at": "2030-01-07T11:00:00Z"},
        {"starts_at": "2030-01-07T10:00:00", "ends_at": "2030-01-07T12:00:00Z"},
        {"starts_at": 1893578400, "ends_at": "2030-01-07T12:00:00Z"},
        {"starts_at": "2030-01-07T10:00:00Z"},
    ],
)
async def test_invalid_time_off_is_422(clinic: ApiClinic, body: dict[str, Any]) -> None:
    admin = await clinic.admin()
    doctor = await clinic.doctor(admin)
    response = await clinic.client.post(
        f"/api/doctors/{doctor.doctor_id}/time-off", json=body, headers=admin.headers
    )
    assert response.status_code == 422, response.text
    assert (await _schedule(clinic, doctor, admin))["time_off"] == []


async def test_time_off_of_another_doctor_is_404_through_this_doctor(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    doctor = await clinic.doctor(admin)
    other = await clinic.doctor(admin)
    monday = next_monday(clinic.clock)
    created = await clinic.client.post(
        f"/api/doctors/{other.doctor_id}/time-off",
        json={"starts_at": at(monday, 9).isoformat(), "ends_at": at(monday, 10).isoformat()},
        headers=admin.headers,
    )
    response = await clinic.client.delete(
        f"/api/doctors/{doctor.doctor_id}/time-off/{created.json()['id']}", headers=doctor.headers
    )
    assert response.status_code == 404
    assert len((await _schedule(clinic, other, admin))["time_off"]) == 1


# --- availability ----------------------------------------------------------------------


@pytest.mark.parametrize(("days", "status"), [(1, 200), (31, 200), (32, 422), (0, 422)])
async def test_availability_covers_at_most_31_days(
    clinic: ApiClinic, days: int, status: int
) -> None:
    admin = await clinic.admin()
    doctor = await clinic.doctor(admin)
    first = next_monday(clinic.clock)
    response = await clinic.client.get(
        f"/api/doctors/{doctor.doctor_id}/availability",
        params={"date_from": str(first), "date_to": str(first + timedelta(days=days - 1))},
        headers=admin.headers,
    )
    assert response.status_code == status, response.text


@pytest.mark.parametrize(
    "params",
    [
        {"duration_minutes": 4},
        {"duration_minutes": 481},
        {"duration_minutes": "half an hour"},
        {"date_to": None},
        {"date_from": "2030-02-30"},
    ],
)
async def test_availability_refuses_bad_queries(clinic: ApiClinic, params: dict[str, Any]) -> None:
    admin = await clinic.admin()
    doctor = await clinic.doctor(admin)
    monday = next_monday(clinic.clock)
    query = {"date_from": str(monday), "date_to": str(monday), **params}
    response = await clinic.client.get(
        f"/api/doctors/{doctor.doctor_id}/availability",
        params={k: v for k, v in query.items() if v is not None},
        headers=admin.headers,
    )
    assert response.status_code == 422, response.text


async def test_availability_of_unknown_doctor_is_404(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    monday = next_monday(clinic.clock)
    response = await clinic.client.get(
        f"/api/doctors/{uuid.uuid4()}/availability",
        params={"date_from": str(monday), "date_to": str(monday)},
        headers=admin.headers,
    )
    assert response.status_code == 404


@pytest.mark.parametrize("minutes", [None, 15, 45, 60, 480])
async def test_slots_step_by_duration_from_each_interval_start(
    clinic: ApiClinic, minutes: int | None
) -> None:
    admin = await clinic.admin()
    doctor = await clinic.doctor(admin)
    weekly = [
        {"weekday": 0, "start": "08:00", "end": "12:00"},
        {"weekday": 0, "start": "13:00", "end": "17:00"},
    ]
    await clinic.client.put(
        f"/api/doctors/{doctor.doctor_id}/schedule", json={"weekly": weekly}, headers=admin.headers
    )
    monday = next_monday(clinic.clock)
    params = {} if minutes is None else {"duration_minutes": minutes}
    slots = await _slots(clinic, doctor, admin, monday, monday, **params)
    step = minutes or 30  # the default
    assert [s for s, _ in slots] == (
        _expected(monday, (8, 0), (12, 0), step) + _expected(monday, (13, 0), (17, 0), step)
    )
    assert all(e - s == timedelta(minutes=step) for s, e in slots)
    if minutes == 45:
        # 08:00 + 45 min steps would give 12:30 and 13:15: the afternoon restarts at 13:00.
        assert at(monday, 13) in [s for s, _ in slots]


async def test_slots_exclude_time_off_bookings_and_the_past(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    doctor = await clinic.doctor(admin)
    patient = await clinic.patient()
    monday = next_monday(clinic.clock)
    all_day = _expected(monday, (9, 0), (17, 0), 30)

    time_off = await clinic.client.post(
        f"/api/doctors/{doctor.doctor_id}/time-off",
        json={"starts_at": at(monday, 10, 15).isoformat(), "ends_at": at(monday, 11).isoformat()},
        headers=doctor.headers,
    )
    assert time_off.status_code == 201
    booked = await clinic.book(patient, doctor, at(monday, 14), minutes=45)
    assert booked.status_code == 201
    cancelled = await clinic.book(patient, doctor, at(monday, 16))
    await clinic.client.post(
        f"/api/appointments/{cancelled.json()['id']}/cancel", headers=patient.headers
    )

    hidden = {at(monday, 10), at(monday, 10, 30), at(monday, 14), at(monday, 14, 30)}
    slots = [s for s, _ in await _slots(clinic, doctor, patient, monday, monday)]
    assert slots == [s for s in all_day if s not in hidden]
    assert at(monday, 16) in slots  # a cancelled appointment frees its slot

    clinic.clock.at = at(monday, 12, 10)
    await relogin(clinic, patient)
    later = [s for s, _ in await _slots(clinic, doctor, patient, monday, monday)]
    assert later == [s for s in slots if s > at(monday, 12, 10)]
    assert later[0] == at(monday, 12, 30)

    clinic.clock.at = at(monday, 12, 30)
    await relogin(clinic, patient)
    now_taken = [s for s, _ in await _slots(clinic, doctor, patient, monday, monday)]
    assert now_taken[0] == at(monday, 13)  # a slot starting right now is not bookable


async def test_every_offered_slot_of_a_week_can_be_booked(clinic: ApiClinic) -> None:
    """The key proof that availability and booking agree: book everything offered for a
    week (odd intervals, time off, a 45-minute grid) and nothing is left."""
    admin = await clinic.admin()
    doctor = await clinic.doctor(admin)
    patient = await clinic.patient()
    weekly = [
        {"weekday": 0, "start": "08:00", "end": "12:10"},
        {"weekday": 0, "start": "13:00", "end": "16:00"},
        {"weekday": 2, "start": "07:15", "end": "11:00"},
        {"weekday": 4, "start": "09:00", "end": "17:00"},
        {"weekday": 6, "start": "22:00", "end": "23:59"},
    ]
    await clinic.client.put(
        f"/api/doctors/{doctor.doctor_id}/schedule", json={"weekly": weekly}, headers=admin.headers
    )
    monday = next_monday(clinic.clock)
    sunday = monday + timedelta(days=6)
    await clinic.client.post(
        f"/api/doctors/{doctor.doctor_id}/time-off",
        json={
            "starts_at": at(monday + timedelta(4), 12).isoformat(),
            "ends_at": at(monday + timedelta(4), 13, 20).isoformat(),
        },
        headers=admin.headers,
    )
    offered = await _slots(clinic, doctor, patient, monday, sunday, duration_minutes=45)
    assert len(offered) > 15

    for starts_at, ends_at in offered:
        response = await clinic.client.post(
            "/api/appointments",
            json={
                "doctor_id": doctor.doctor_id,
                "starts_at": starts_at.isoformat(),
                "ends_at": ends_at.isoformat(),
            },
            headers=patient.headers,
        )
        assert response.status_code == 201, (starts_at, response.text)

    assert await _slots(clinic, doctor, patient, monday, sunday, duration_minutes=45) == []
    assert await _slots(clinic, doctor, patient, monday, sunday, duration_minutes=5) != []
    listed = await clinic.client.get(
        "/api/appointments",
        params={"doctor_id": doctor.doctor_id, "limit": 100},
        headers=admin.headers,
    )
    assert listed.json()["total"] == len(offered)


# --- daylight saving -------------------------------------------------------------------


@pytest.fixture
async def berlin(
    engine: AsyncEngine, database_url: str, clock: FixedClock
) -> AsyncIterator[ApiClinic]:
    """The app with CLINIC_TIMEZONE=Europe/Berlin, `now` in early 2027."""
    clock.at = datetime(2027, 3, 1, 8, tzinfo=UTC)
    container = Container()
    container.settings.override(
        providers.Object(make_settings(database_url, clinic_timezone="Europe/Berlin"))
    )
    container.engine.override(providers.Object(engine))
    container.clock.override(providers.Object(clock))
    transport = httpx.ASGITransport(app=create_app(container))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield ApiClinic(client, container, clock)
    container.unwire()


def _first_slot_per_day(slots: list[tuple[datetime, datetime]]) -> dict[date, datetime]:
    first: dict[date, datetime] = {}
    for start, _ in slots:
        first.setdefault(start.date(), start)
    return first


@pytest.mark.parametrize(
    ("first", "last", "expected_first_slots"),
    [
        (  # spring forward on Sunday 2027-03-28: CET (+01:00) -> CEST (+02:00)
            date(2027, 3, 25),
            date(2027, 3, 30),
            {
                date(2027, 3, 25): datetime(2027, 3, 25, 8, tzinfo=UTC),
                date(2027, 3, 26): datetime(2027, 3, 26, 8, tzinfo=UTC),
                date(2027, 3, 29): datetime(2027, 3, 29, 7, tzinfo=UTC),
                date(2027, 3, 30): datetime(2027, 3, 30, 7, tzinfo=UTC),
            },
        ),
        (  # fall back on Sunday 2027-10-31: CEST -> CET
            date(2027, 10, 28),
            date(2027, 11, 2),
            {
                date(2027, 10, 28): datetime(2027, 10, 28, 7, tzinfo=UTC),
                date(2027, 10, 29): datetime(2027, 10, 29, 7, tzinfo=UTC),
                date(2027, 11, 1): datetime(2027, 11, 1, 8, tzinfo=UTC),
                date(2027, 11, 2): datetime(2027, 11, 2, 8, tzinfo=UTC),
            },
        ),
    ],
)
async def test_nine_o_clock_stays_nine_o_clock_across_dst(
    berlin: ApiClinic, first: date, last: date, expected_first_slots: dict[date, datetime]
) -> None:
    admin = await berlin.admin()
    doctor = await berlin.doctor(admin)
    schedule = await _schedule(berlin, doctor, admin)
    assert schedule["timezone"] == "Europe/Berlin"
    assert schedule["weekly"] == DEFAULT_WEEK

    response = await berlin.client.get(
        f"/api/doctors/{doctor.doctor_id}/availability",
        params={"date_from": str(first), "date_to": str(last)},
        headers=admin.headers,
    )
    assert response.json()["timezone"] == "Europe/Berlin"
    slots = [(parse_utc(s["starts_at"]), parse_utc(s["ends_at"])) for s in response.json()["slots"]]
    assert _first_slot_per_day(slots) == expected_first_slots
    for day, nine in expected_first_slots.items():
        day_slots = [s for s, _ in slots if s.date() == day]
        assert len(day_slots) == 16  # still eight hours, 09:00-17:00 local
        assert day_slots[-1] == nine + timedelta(hours=7, minutes=30)


@pytest.mark.parametrize(
    ("starts_at", "status"),
    [
        ("2027-03-26T07:00:00Z", 422),  # 08:00 CET: before opening
        ("2027-03-26T08:00:00Z", 201),  # 09:00 CET
        ("2027-03-29T07:00:00Z", 201),  # 09:00 CEST
        ("2027-03-29T15:00:00Z", 422),  # 17:00 CEST: closed
        ("2027-03-29T09:00:00+02:00", 201),
        ("2027-11-01T07:30:00Z", 422),  # 08:30 CET
        ("2027-10-29T15:30:00Z", 422),  # 17:30 CEST
        ("2027-10-29T14:30:00Z", 201),  # 16:30 CEST
    ],
)
async def test_booking_follows_local_hours_across_dst(
    berlin: ApiClinic, starts_at: str, status: int
) -> None:
    admin = await berlin.admin()
    doctor = await berlin.doctor(admin)
    patient = await berlin.patient()
    response = await berlin.client.post(
        "/api/appointments",
        json={"doctor_id": doctor.doctor_id, "starts_at": starts_at},
        headers=patient.headers,
    )
    assert response.status_code == status, response.text
    if status == 422:
        assert response.json()["code"] == "outside_schedule"
