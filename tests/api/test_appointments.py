"""Appointments over HTTP: booking rules and their codes, the status machine, rescheduling,
notes, listing and UTC output."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from tests.api.support import (
    APPOINTMENT_FIELDS,
    ApiClinic,
    Party,
    at,
    next_monday,
    parse_utc,
    relogin,
)


@dataclass
class World:
    clinic: ApiClinic
    admin: Party
    doctor: Party
    doctor2: Party
    patient: Party
    other: Party
    department: str
    monday: date  # next Monday when the world was made; fixed even when the clock moves

    def when(self, hour: int, minute: int = 0, day: int = 0) -> datetime:
        """`hour:minute` UTC, `day` days after `monday`."""
        return at(self.monday + timedelta(days=day), hour, minute)

    async def book(
        self, who: Party, starts_at: datetime, doctor: Party | None = None, **extra: Any
    ) -> dict[str, Any]:
        body = {
            "doctor_id": (doctor or self.doctor).doctor_id,
            "starts_at": starts_at.isoformat(),
            **extra,
        }
        if who is self.admin and "patient_id" not in body:
            body["patient_id"] = self.patient.patient_id
        response = await self.clinic.client.post(
            "/api/appointments", json=body, headers=who.headers
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def read(self, appointment_id: str) -> dict[str, Any]:
        response = await self.clinic.client.get(
            f"/api/appointments/{appointment_id}", headers=self.admin.headers
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def all(self) -> list[dict[str, Any]]:
        response = await self.clinic.client.get(
            "/api/appointments", params={"limit": 100}, headers=self.admin.headers
        )
        return list(response.json()["items"])

    async def act(self, who: Party, appointment_id: str, action: str, **kw: Any) -> Any:
        return await self.clinic.client.post(
            f"/api/appointments/{appointment_id}/{action}", headers=who.headers, **kw
        )


@pytest.fixture
async def world(clinic: ApiClinic) -> World:
    admin = await clinic.admin()
    department = await clinic.department(admin)
    doctor = await clinic.doctor(admin, department)
    doctor2 = await clinic.doctor(admin)
    patient = await clinic.patient()
    other = await clinic.patient()
    return World(
        clinic, admin, doctor, doctor2, patient, other, department, next_monday(clinic.clock)
    )


# --- booking ---------------------------------------------------------------------------


async def test_booking_returns_a_scheduled_appointment(world: World) -> None:
    response = await world.clinic.client.post(
        "/api/appointments",
        json={
            "doctor_id": world.doctor.doctor_id,
            "starts_at": world.when(9).isoformat(),
            "reason": "Check-up",
        },
        headers=world.patient.headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == APPOINTMENT_FIELDS
    assert body["status"] == "scheduled"
    assert body["patient_id"] == world.patient.patient_id
    assert body["doctor_id"] == world.doctor.doctor_id
    assert body["department_id"] == world.department
    assert parse_utc(body["starts_at"]) == world.when(9)
    assert parse_utc(body["ends_at"]) == world.when(9, 30)  # default 30 minutes
    assert body["reason"] == "Check-up"
    assert body["notes"] is None
    assert body["cancellation_reason"] is None
    assert parse_utc(body["created_at"]) == world.clinic.clock.now()
    assert parse_utc(body["updated_at"]) == world.clinic.clock.now()
    assert await world.read(body["id"]) == body


@pytest.mark.parametrize(
    ("extra", "minutes"),
    [
        ({}, 30),
        ({"duration_minutes": 50}, 50),
        ({"duration_minutes": 5}, 5),
        ({"ends_at": "+75"}, 75),
        ({"duration_minutes": 480}, 480),
    ],
)
async def test_end_from_ends_at_or_duration(
    world: World, extra: dict[str, Any], minutes: int
) -> None:
    starts_at = world.when(9)
    if "ends_at" in extra:
        extra = {"ends_at": (starts_at + timedelta(minutes=75)).isoformat()}
    body = await world.book(world.patient, starts_at, **extra)
    assert parse_utc(body["ends_at"]) - parse_utc(body["starts_at"]) == timedelta(minutes=minutes)


@dataclass(frozen=True)
class Attempt:
    """A booking attempt by `world.patient` with `world.doctor` unless said otherwise."""

    starts: tuple[int, int, int] | int  # (day, hour, minute) from next Monday, or minutes from now
    status: int
    code: str | None = None
    minutes: int | None = None
    ends_delta: int | None = None  # ends_at = starts_at + this many minutes
    doctor: str = "doctor"


# Grouped by the rule they probe; the cases of a group share one calendar. Each group
# also holds the nearest times that are allowed, so an over-eager rule fails too.
BOOKING_RULES: dict[str, dict[str, Attempt]] = {
    "invalid_duration": {
        "shortest": Attempt((0, 9, 0), 201, minutes=5),
        "whole_day": Attempt((1, 9, 0), 201, minutes=480),
        "too_short": Attempt((0, 9, 0), 422, "invalid_duration", minutes=4),
        "too_long": Attempt((0, 9, 0), 422, "invalid_duration", minutes=481),
        "ends_at_start": Attempt((0, 9, 0), 422, "invalid_duration", ends_delta=0),
        "ends_before_start": Attempt((0, 9, 0), 422, "invalid_duration", ends_delta=-30),
    },
    "in_the_past": {
        "just_past": Attempt(-1, 422, "in_the_past"),
        "right_now": Attempt(0, 422, "in_the_past"),
        "past_week": Attempt(-7 * 24 * 60, 422, "in_the_past"),
    },
    "outside_schedule": {
        "saturday": Attempt((5, 10, 0), 422, "outside_schedule"),
        "sunday": Attempt((6, 10, 0), 422, "outside_schedule"),
        "evening": Attempt((1, 17, 0), 422, "outside_schedule"),
        "running_past_closing": Attempt((1, 16, 45), 422, "outside_schedule"),
        "before_opening": Attempt((1, 8, 30), 422, "outside_schedule"),
        "ending_at_closing": Attempt((1, 16, 30), 201),
        "during_time_off": Attempt((0, 12, 15), 422, "outside_schedule"),
        "into_time_off": Attempt((0, 11, 45), 422, "outside_schedule"),
        "before_time_off": Attempt((0, 11, 30), 201),
        "after_time_off": Attempt((0, 13, 0), 201),
    },
    "doctor_unavailable": {
        "same_time": Attempt((0, 10, 0), 409, "doctor_unavailable"),
        "partly": Attempt((0, 10, 15), 409, "doctor_unavailable"),
        "around": Attempt((0, 9, 45), 409, "doctor_unavailable", minutes=60),
        "right_after": Attempt((0, 10, 30), 201),
        "right_before": Attempt((0, 9, 30), 201),
    },
    "patient_unavailable": {
        "with_another_doctor": Attempt((0, 14, 15), 409, "patient_unavailable"),
        "right_after": Attempt((0, 14, 30), 201),
    },
    "not_found": {"unknown_doctor": Attempt((0, 9, 0), 404, "not_found", doctor="unknown")},
}


@pytest.mark.parametrize("rule", BOOKING_RULES)
async def test_booking_rules(world: World, rule: str) -> None:
    # The calendar: the doctor is busy 10:00-10:30 (another patient) and off 12:00-13:00;
    # our patient is with another doctor 14:00-14:30.
    await world.book(world.other, world.when(10))
    await world.book(world.patient, world.when(14), doctor=world.doctor2)
    time_off = await world.clinic.client.post(
        f"/api/doctors/{world.doctor.doctor_id}/time-off",
        json={"starts_at": world.when(12).isoformat(), "ends_at": world.when(13).isoformat()},
        headers=world.admin.headers,
    )
    assert time_off.status_code == 201

    problems = []
    for name, case in BOOKING_RULES[rule].items():
        before = await world.all()
        if isinstance(case.starts, int):
            starts_at = world.clinic.clock.now() + timedelta(minutes=case.starts)
        else:
            day, hour, minute = case.starts
            starts_at = world.when(hour, minute, day)
        body: dict[str, Any] = {
            "doctor_id": world.doctor.doctor_id if case.doctor == "doctor" else str(uuid.uuid4()),
            "starts_at": starts_at.isoformat(),
        }
        if case.minutes is not None:
            body["duration_minutes"] = case.minutes
        if case.ends_delta is not None:
            body["ends_at"] = (starts_at + timedelta(minutes=case.ends_delta)).isoformat()

        response = await world.clinic.client.post(
            "/api/appointments", json=body, headers=world.patient.headers
        )
        got = (response.status_code, response.json().get("code"))
        if got[0] != case.status or (case.code is not None and got[1] != case.code):
            problems.append(f"{name}: {got} != {(case.status, case.code)}")
        after = await world.all()
        if case.status == 201 and response.status_code == 201:
            assert len(after) == len(before) + 1
            # cancel it again, so the next case meets the same calendar
            cancel = await world.act(world.admin, response.json()["id"], "cancel")
            assert cancel.status_code == 200
        elif after != before:
            problems.append(f"{name}: refused, but the appointments changed")
    assert not problems, "\n".join(problems)


MALFORMED_BOOKINGS = [
    {"starts_at": "<monday>T09:00:00"},
    {"starts_at": "<monday>"},
    {"starts_at": 1893578400},
    {"starts_at": 1893578400.5},
    {"starts_at": "next monday at nine"},
    {"starts_at": None},
    {"ends_at": "<monday>T09:30:00"},
    {"duration_minutes": "30"},
    {"duration_minutes": 30.5},
    {"duration_minutes": 30, "ends_at": "<monday>T09:30:00Z"},
    {"doctor_id": "not-a-uuid"},
    {"doctor_id": None},
    {"priority": "high"},
]


async def test_malformed_booking_is_422_and_books_nothing(world: World) -> None:
    """Naive datetimes, numbers for datetimes, wrong types and unknown fields."""
    monday = world.monday.isoformat()
    problems = []
    for change in MALFORMED_BOOKINGS:
        body: dict[str, Any] = {
            "doctor_id": world.doctor.doctor_id,
            "starts_at": f"{monday}T09:00:00Z",
        }
        body.update(
            {
                k: v.replace("<monday>", monday) if isinstance(v, str) else v
                for k, v in change.items()
            }
        )
        response = await world.clinic.client.post(
            "/api/appointments", json=body, headers=world.patient.headers
        )
        if response.status_code != 422:
            problems.append(f"{change}: {response.status_code} {response.text}")
    assert not problems, "\n".join(problems)
    assert await world.all() == []


async def test_missing_body_fields_are_422(world: World) -> None:
    response = await world.clinic.client.post(
        "/api/appointments", json={"doctor_id": world.doctor.doctor_id}, headers=world.admin.headers
    )
    assert response.status_code == 422
    assert isinstance(response.json()["detail"], list)


@pytest.mark.parametrize("who", ["doctor", "patient"])
async def test_inactive_party_is_422(world: World, who: str) -> None:
    target = world.doctor if who == "doctor" else world.patient
    path = (
        f"/api/doctors/{target.doctor_id}"
        if who == "doctor"
        else (f"/api/patients/{target.patient_id}")
    )
    assert (await world.clinic.client.delete(path, headers=world.admin.headers)).status_code == 204
    response = await world.clinic.client.post(
        "/api/appointments",
        json={
            "doctor_id": world.doctor.doctor_id,
            "patient_id": world.patient.patient_id,
            "starts_at": world.when(9).isoformat(),
        },
        headers=world.admin.headers,
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "inactive_party"
    assert await world.all() == []


@pytest.mark.parametrize(
    ("who", "patient", "doctor", "status"),
    [
        ("admin", "patient", "doctor", 201),
        ("admin", None, "doctor", 422),
        ("doctor", "patient", "doctor", 201),
        ("doctor", None, "doctor", 422),
        ("doctor", "patient", "doctor2", 403),
        ("patient", None, "doctor", 201),
        ("patient", "patient", "doctor", 201),
        ("patient", "other", "doctor", 404),
    ],
)
async def test_who_may_book_for_whom(
    world: World, who: str, patient: str | None, doctor: str, status: int
) -> None:
    caller: Party = getattr(world, who)
    body: dict[str, Any] = {
        "doctor_id": getattr(world, doctor).doctor_id,
        "starts_at": world.when(9).isoformat(),
    }
    if patient is not None:
        body["patient_id"] = getattr(world, patient).patient_id
    response = await world.clinic.client.post(
        "/api/appointments", json=body, headers=caller.headers
    )
    assert response.status_code == status, response.text
    booked = await world.all()
    if status == 201:
        assert [(a["patient_id"], a["doctor_id"]) for a in booked] == [
            (world.patient.patient_id, body["doctor_id"])
        ]
    else:
        assert booked == []


async def test_times_are_answered_in_utc_whatever_offset_was_sent(world: World) -> None:
    monday = world.monday
    response = await world.clinic.client.post(
        "/api/appointments",
        json={
            "doctor_id": world.doctor.doctor_id,
            "starts_at": f"{monday}T10:00:00+01:00",
            "ends_at": f"{monday}T11:45:00+02:00",
        },
        headers=world.patient.headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    for field in ("starts_at", "ends_at", "created_at", "updated_at"):
        parse_utc(body[field])  # Z or +00:00, never the offset that was sent
    assert parse_utc(body["starts_at"]) == at(monday, 9)
    assert parse_utc(body["ends_at"]) == at(monday, 9, 45)
    read = await world.read(body["id"])
    listed = (await world.all())[0]
    for shown in (read, listed):
        assert parse_utc(shown["starts_at"]) == at(monday, 9)
        assert parse_utc(shown["ends_at"]) == at(monday, 9, 45)


# --- status machine --------------------------------------------------------------------

ACTIONS = ("confirm", "check-in", "complete", "no-show", "cancel")
# How to reach each status from `scheduled`, and every allowed move (anything else is 409).
PATHS = {
    "scheduled": [],
    "confirmed": ["confirm"],
    "checked_in": ["check-in"],
    "completed": ["check-in", "complete"],
    "cancelled": ["cancel"],
    "no_show": ["no-show"],
}
ALLOWED = {
    ("scheduled", "confirm"): "confirmed",
    ("scheduled", "check-in"): "checked_in",
    ("confirmed", "check-in"): "checked_in",
    ("checked_in", "complete"): "completed",
    ("scheduled", "cancel"): "cancelled",
    ("confirmed", "cancel"): "cancelled",
    ("scheduled", "no-show"): "no_show",
    ("confirmed", "no-show"): "no_show",
}


@pytest.mark.parametrize("start", PATHS)
async def test_every_move_from_every_status(world: World, start: str) -> None:
    """From `start`, each action either makes the allowed move (200) or is 409
    invalid_transition and leaves the appointment as it was. Time is moved past the
    appointments so no-show is possible at all."""
    booked = [(await world.book(world.admin, world.when(9 + i)))["id"] for i in range(len(ACTIONS))]
    world.clinic.clock.at = world.when(18)
    await relogin(world.clinic, world.admin)
    await relogin(world.clinic, world.doctor)
    for appointment in booked:
        for step in PATHS[start]:
            assert (await world.act(world.admin, appointment, step)).status_code == 200
        assert (await world.read(appointment))["status"] == start

    for appointment, action in zip(booked, ACTIONS, strict=True):
        before = await world.read(appointment)
        response = await world.act(world.doctor, appointment, action)
        target = ALLOWED.get((start, action))
        if target is None:
            assert response.status_code == 409, (action, response.text)
            assert response.json()["code"] == "invalid_transition"
            assert await world.read(appointment) == before
        else:
            assert response.status_code == 200, (action, response.text)
            assert response.json()["status"] == target
            assert (await world.read(appointment))["status"] == target

    current = (await world.read(booked[0]))["status"]
    delete = await world.clinic.client.delete(
        f"/api/appointments/{booked[0]}", headers=world.admin.headers
    )
    if current in ("scheduled", "confirmed"):
        assert delete.status_code == 204
    else:
        assert delete.status_code == 409
        assert delete.json()["code"] == "invalid_transition"


async def test_no_show_only_after_the_start(world: World) -> None:
    scheduled = (await world.book(world.patient, world.when(9)))["id"]
    confirmed = (await world.book(world.patient, world.when(10)))["id"]
    await world.act(world.doctor, confirmed, "confirm")

    for appointment, status in ((scheduled, "scheduled"), (confirmed, "confirmed")):
        early = await world.act(world.doctor, appointment, "no-show")
        assert early.status_code == 409, early.text
        assert early.json()["code"] == "invalid_transition"
        assert (await world.read(appointment))["status"] == status

    world.clinic.clock.at = world.when(9)  # exactly at the start: not yet
    await relogin(world.clinic, world.doctor)
    await relogin(world.clinic, world.admin)
    at_start = await world.act(world.doctor, scheduled, "no-show")
    assert at_start.status_code == 409
    assert (await world.read(scheduled))["status"] == "scheduled"

    world.clinic.clock.at = world.when(9, 1)
    await relogin(world.clinic, world.doctor)
    await relogin(world.clinic, world.admin)
    late = await world.act(world.doctor, scheduled, "no-show")
    assert late.status_code == 200, late.text
    assert late.json()["status"] == "no_show"
    assert (await world.act(world.doctor, confirmed, "no-show")).status_code == 409

    world.clinic.clock.at = world.when(10, 5)
    await relogin(world.clinic, world.doctor)
    await relogin(world.clinic, world.admin)
    assert (await world.act(world.doctor, confirmed, "no-show")).json()["status"] == "no_show"


@pytest.mark.parametrize("who", ["patient", "doctor", "admin"])
async def test_cancel_with_reason_frees_the_slot(world: World, who: str) -> None:
    appointment = await world.book(world.patient, world.when(9))
    response = await world.act(
        getattr(world, who), appointment["id"], "cancel", json={"reason": "Feeling better"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    assert response.json()["cancellation_reason"] == "Feeling better"
    assert (await world.read(appointment["id"]))["cancellation_reason"] == "Feeling better"
    again = await world.book(world.other, world.when(9))
    assert again["status"] == "scheduled"


async def test_cancel_without_a_body_and_with_a_bad_body(world: World) -> None:
    first = (await world.book(world.patient, world.when(9)))["id"]
    bad = await world.act(world.patient, first, "cancel", json={"reason": "x", "refund": True})
    assert bad.status_code == 422
    assert (await world.read(first))["status"] == "scheduled"
    plain = await world.act(world.patient, first, "cancel")
    assert plain.status_code == 200
    assert plain.json()["cancellation_reason"] is None


@pytest.mark.parametrize("who", ["patient", "doctor", "admin"])
async def test_delete_cancels_and_keeps_the_record(world: World, who: str) -> None:
    appointment = await world.book(world.patient, world.when(9))
    caller: Party = getattr(world, who)
    path = f"/api/appointments/{appointment['id']}"
    response = await world.clinic.client.delete(path, headers=caller.headers)
    assert response.status_code == 204, response.text
    assert response.content == b""
    read = await world.clinic.client.get(path, headers=caller.headers)
    assert read.status_code == 200
    assert read.json()["status"] == "cancelled"
    assert [a["status"] for a in await world.all()] == ["cancelled"]
    again = await world.clinic.client.delete(path, headers=caller.headers)
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_transition"


async def test_unknown_appointment_is_404_on_every_verb(world: World) -> None:
    path = f"/api/appointments/{uuid.uuid4()}"
    requests: list[tuple[str, str, Any]] = [
        ("GET", path, None),
        ("PATCH", path, {"reason": "x"}),
        ("DELETE", path, None),
        *[("POST", f"{path}/{action}", None) for action in ACTIONS],
    ]
    for method, url, body in requests:
        response = await world.clinic.client.request(
            method, url, json=body, headers=world.admin.headers
        )
        assert response.status_code == 404, (method, url)
        assert response.json()["code"] == "not_found"


# --- PATCH: reschedule, reason, notes --------------------------------------------------


@pytest.mark.parametrize("who", ["patient", "doctor", "admin"])
async def test_reschedule_moves_back_to_scheduled(world: World, who: str) -> None:
    appointment = await world.book(world.patient, world.when(9), duration_minutes=45)
    await world.act(world.doctor, appointment["id"], "confirm")
    world.clinic.clock.advance(timedelta(minutes=1))

    response = await world.clinic.client.patch(
        f"/api/appointments/{appointment['id']}",
        json={"starts_at": world.when(11, 0, day=1).isoformat()},
        headers=getattr(world, who).headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "scheduled"
    assert parse_utc(body["starts_at"]) == world.when(11, 0, day=1)
    assert parse_utc(body["ends_at"]) == world.when(11, 45, day=1)  # the duration is kept
    assert parse_utc(body["updated_at"]) > parse_utc(body["created_at"])
    assert await world.read(appointment["id"]) == body
    # the old time is free again
    assert (await world.book(world.other, world.when(9)))["status"] == "scheduled"


@pytest.mark.parametrize(
    ("extra", "minutes"), [({"duration_minutes": 20}, 20), ({"ends_at": 90}, 90)]
)
async def test_reschedule_with_a_new_end(world: World, extra: dict[str, Any], minutes: int) -> None:
    appointment = await world.book(world.patient, world.when(9))
    starts_at = world.when(13)
    if "ends_at" in extra:
        extra = {"ends_at": (starts_at + timedelta(minutes=extra["ends_at"])).isoformat()}
    response = await world.clinic.client.patch(
        f"/api/appointments/{appointment['id']}",
        json={"starts_at": starts_at.isoformat(), **extra},
        headers=world.patient.headers,
    )
    assert response.status_code == 200, response.text
    assert parse_utc(response.json()["ends_at"]) == starts_at + timedelta(minutes=minutes)


async def test_reschedule_may_overlap_its_own_old_time(world: World) -> None:
    appointment = await world.book(world.patient, world.when(9), duration_minutes=60)
    response = await world.clinic.client.patch(
        f"/api/appointments/{appointment['id']}",
        json={"starts_at": world.when(9, 30).isoformat()},
        headers=world.patient.headers,
    )
    assert response.status_code == 200, response.text
    assert parse_utc(response.json()["ends_at"]) == world.when(10, 30)


RESCHEDULE_RULES = {
    "doctor_busy": ({"starts": (0, 10, 15)}, 409, "doctor_unavailable"),
    "patient_busy": ({"starts": (0, 14, 0)}, 409, "patient_unavailable"),
    "saturday": ({"starts": (5, 10, 0)}, 422, "outside_schedule"),
    "evening": ({"starts": (1, 16, 45)}, 422, "outside_schedule"),
    "time_off": ({"starts": (0, 12, 0)}, 422, "outside_schedule"),
    "past": ({"starts": "past"}, 422, "in_the_past"),
    "too_long": ({"starts": (1, 9, 0), "duration_minutes": 481}, 422, "invalid_duration"),
    "backwards": ({"starts": (1, 9, 0), "ends_at": -10}, 422, "invalid_duration"),
    "naive": ({"raw": {"starts_at": "2031-01-06T09:00:00"}}, 422, None),
    "number": ({"raw": {"starts_at": 1925000000}}, 422, None),
    "null_start": ({"raw": {"starts_at": None}}, 422, None),
    "end_without_start": ({"raw": {"duration_minutes": 60}}, 422, None),
    "unknown_field": ({"raw": {"doctor_id": str(uuid.uuid4())}}, 422, None),
}


async def test_reschedule_checks_every_booking_rule_again(world: World) -> None:
    """Each refused move leaves the appointment confirmed at its old time."""
    appointment = await world.book(world.patient, world.when(9))
    await world.act(world.doctor, appointment["id"], "confirm")
    await world.book(world.other, world.when(10))
    await world.book(world.patient, world.when(14), doctor=world.doctor2)
    await world.clinic.client.post(
        f"/api/doctors/{world.doctor.doctor_id}/time-off",
        json={"starts_at": world.when(12).isoformat(), "ends_at": world.when(13).isoformat()},
        headers=world.admin.headers,
    )
    before = await world.read(appointment["id"])
    assert before["status"] == "confirmed"

    problems = []
    for name, (spec, status, code) in RESCHEDULE_RULES.items():
        if "raw" in spec:
            body = spec["raw"]
        else:
            if spec["starts"] == "past":
                starts_at = world.clinic.clock.now() - timedelta(hours=1)
            else:
                day, hour, minute = spec["starts"]
                starts_at = world.when(hour, minute, day)
            body = {"starts_at": starts_at.isoformat()}
            if "duration_minutes" in spec:
                body["duration_minutes"] = spec["duration_minutes"]
            if "ends_at" in spec:
                body["ends_at"] = (starts_at + timedelta(minutes=spec["ends_at"])).isoformat()

        response = await world.clinic.client.patch(
            f"/api/appointments/{appointment['id']}", json=body, headers=world.patient.headers
        )
        if response.status_code != status or (
            code is not None and response.json().get("code") != code
        ):
            problems.append(f"{name}: {response.status_code} {response.text}")
        if await world.read(appointment["id"]) != before:
            problems.append(f"{name}: the appointment changed")
            break
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("status", ["checked_in", "completed", "cancelled", "no_show"])
async def test_only_scheduled_or_confirmed_can_be_rescheduled(world: World, status: str) -> None:
    appointment = (await world.book(world.patient, world.when(9)))["id"]
    if status == "no_show":
        world.clinic.clock.at = world.when(9, 30)
        await relogin(world.clinic, world.admin)
        await relogin(world.clinic, world.patient)
    for step in PATHS[status]:
        assert (await world.act(world.admin, appointment, step)).status_code == 200
    before = await world.read(appointment)

    response = await world.clinic.client.patch(
        f"/api/appointments/{appointment}",
        json={"starts_at": world.when(11, 0, day=2).isoformat()},
        headers=world.patient.headers,
    )
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "invalid_transition"
    assert await world.read(appointment) == before


async def test_notes_are_for_the_doctor_and_admins(world: World) -> None:
    appointment = (await world.book(world.patient, world.when(9), reason="Cough"))["id"]
    path = f"/api/appointments/{appointment}"
    before = await world.read(appointment)

    by_patient = await world.clinic.client.patch(
        path, json={"notes": "I am fine"}, headers=world.patient.headers
    )
    assert by_patient.status_code == 422, by_patient.text
    assert by_patient.json()["code"] == "field_not_allowed"
    mixed = await world.clinic.client.patch(
        path, json={"reason": "Fever", "notes": "x"}, headers=world.patient.headers
    )
    assert mixed.status_code == 422
    assert await world.read(appointment) == before

    by_doctor = await world.clinic.client.patch(
        path, json={"notes": "Prescribed rest"}, headers=world.doctor.headers
    )
    assert by_doctor.status_code == 200, by_doctor.text
    assert by_doctor.json()["notes"] == "Prescribed rest"
    assert by_doctor.json()["status"] == "scheduled"  # not a reschedule

    by_admin = await world.clinic.client.patch(
        path, json={"notes": "Reviewed"}, headers=world.admin.headers
    )
    assert by_admin.json()["notes"] == "Reviewed"

    reason = await world.clinic.client.patch(
        path, json={"reason": "Fever"}, headers=world.patient.headers
    )
    assert reason.status_code == 200
    assert (reason.json()["reason"], reason.json()["notes"]) == ("Fever", "Reviewed")
    assert parse_utc(reason.json()["starts_at"]) == world.when(9)


# --- listing ---------------------------------------------------------------------------


async def test_list_is_ordered_by_start_and_filters(world: World) -> None:
    plan = [  # (day, hour, patient, doctor) in a deliberately shuffled order
        (2, 11, "patient", "doctor"),
        (0, 15, "other", "doctor"),
        (1, 9, "patient", "doctor2"),
        (0, 9, "patient", "doctor"),
        (2, 9, "other", "doctor2"),
        (1, 16, "other", "doctor"),
    ]
    made = []
    for day, hour, patient, doctor in plan:
        booked = await world.book(
            world.admin,
            world.when(hour, 0, day),
            doctor=getattr(world, doctor),
            patient_id=getattr(world, patient).patient_id,
        )
        made.append(booked)
    await world.act(world.admin, made[1]["id"], "confirm")
    await world.act(world.admin, made[2]["id"], "cancel")
    records = [await world.read(a["id"]) for a in made]
    monday = world.monday

    async def listed(who: Party, **params: Any) -> list[str]:
        response = await world.clinic.client.get(
            "/api/appointments", params=params, headers=who.headers
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["total"] == len(body["items"])
        starts = [parse_utc(a["starts_at"]) for a in body["items"]]
        assert starts == sorted(starts)
        return [a["id"] for a in body["items"]]

    def expect(keep: Any) -> list[str]:
        chosen = [r for r in records if keep(r)]
        return [r["id"] for r in sorted(chosen, key=lambda r: parse_utc(r["starts_at"]))]

    doctor_id, patient_id = world.doctor.doctor_id, world.patient.patient_id
    assert await listed(world.admin) == expect(lambda r: True)
    assert await listed(world.admin, doctor_id=doctor_id) == expect(
        lambda r: r["doctor_id"] == doctor_id
    )
    assert await listed(world.admin, patient_id=patient_id) == expect(
        lambda r: r["patient_id"] == patient_id
    )
    assert await listed(world.admin, status="confirmed") == [made[1]["id"]]
    assert await listed(world.admin, status="cancelled") == [made[2]["id"]]
    assert await listed(world.admin, status="scheduled") == expect(
        lambda r: r["status"] == "scheduled"
    )
    tuesday = str(monday + timedelta(days=1))
    assert await listed(world.admin, date_from=tuesday) == expect(
        lambda r: parse_utc(r["starts_at"]) >= world.when(0, 0, 1)
    )
    assert await listed(world.admin, date_to=tuesday) == expect(
        lambda r: parse_utc(r["starts_at"]) < world.when(0, 0, 2)
    )
    assert await listed(world.admin, date_from=tuesday, date_to=tuesday) == [
        made[2]["id"],
        made[5]["id"],
    ]
    assert await listed(
        world.admin, doctor_id=doctor_id, patient_id=patient_id, status="scheduled"
    ) == [made[3]["id"], made[0]["id"]]

    # doctors and patients see their own only, whatever they ask for
    assert await listed(world.doctor) == expect(lambda r: r["doctor_id"] == doctor_id)
    assert await listed(world.doctor, doctor_id=world.doctor2.doctor_id) == []
    assert await listed(world.patient) == expect(lambda r: r["patient_id"] == patient_id)
    assert await listed(world.patient, patient_id=world.other.patient_id) == []

    page = await world.clinic.client.get(
        "/api/appointments", params={"limit": 2, "offset": 2}, headers=world.admin.headers
    )
    assert page.json()["total"] == 6
    assert [a["id"] for a in page.json()["items"]] == expect(lambda r: True)[2:4]

    for bad in ({"status": "pending"}, {"date_from": "tomorrow"}, {"doctor_id": "x"}):
        response = await world.clinic.client.get(
            "/api/appointments", params=bad, headers=world.admin.headers
        )
        assert response.status_code == 422, bad
