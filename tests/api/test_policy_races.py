"""Rooms, buffers and the booking limit under concurrency: the database (exclusion
constraints on PostgreSQL, serialised writes on SQLite, a row lock for the limit) lets
exactly one of many overlapping requests through. In-process on both databases, then
through `appointments serve --workers 2` on PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any

import httpx
import pytest

from tests.api.support import PASSWORD, ApiClinic, bearer
from tests.api.test_booking_race import _wait_until_healthy, create_admin
from tests.api.test_booking_race import server as server

Post = Callable[[str, dict[str, Any], dict[str, str]], Awaitable[httpx.Response]]
RACERS = 20


def _outcomes(responses: list[httpx.Response]) -> Counter[tuple[int, str | None]]:
    return Counter(
        (r.status_code, None if r.status_code == 201 else r.json().get("code")) for r in responses
    )


async def _created(response: Awaitable[httpx.Response]) -> dict[str, Any]:
    done = await response
    assert done.status_code in (200, 201), done.text
    return dict(done.json())


async def _room_race(
    post: Post, admin: dict[str, str], doctors: list[str], patients: list[str], slot: datetime
) -> Counter[tuple[int, str | None]]:
    room = await _created(post("/api/rooms", {"name": f"Race room {uuid.uuid4().hex}"}, admin))
    responses = await asyncio.gather(
        *(
            post(
                "/api/appointments",
                {
                    "doctor_id": doctor,
                    "patient_id": patient,
                    "starts_at": (slot + timedelta(minutes=i)).isoformat(),
                    "room_id": room["id"],
                },
                admin,
            )
            for i, (doctor, patient) in enumerate(zip(doctors, patients, strict=True))
        )
    )
    return _outcomes(list(responses))


async def _buffer_race(
    post: Post,
    admin: dict[str, str],
    department: str,
    doctor: str,
    patients: list[str],
    slot: datetime,
) -> Counter[tuple[int, str | None]]:
    """Each attempt's own 5 minutes are disjoint from the others'; only the two-hour buffers
    make them overlap."""
    service = await _created(
        post(
            "/api/services",
            {
                "name": f"Buffered {uuid.uuid4().hex}",
                "department_id": department,
                "duration_minutes": 5,
                "buffer_before_minutes": 120,
                "buffer_after_minutes": 120,
            },
            admin,
        )
    )
    responses = await asyncio.gather(
        *(
            post(
                "/api/appointments",
                {
                    "doctor_id": doctor,
                    "patient_id": patient,
                    "starts_at": (slot + timedelta(minutes=5 * i)).isoformat(),
                    "service_id": service["id"],
                },
                admin,
            )
            for i, patient in enumerate(patients)
        )
    )
    return _outcomes(list(responses))


def _next_working_day(now: datetime, days: int = 2) -> datetime:
    day = now.date() + timedelta(days=days)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day, time(10), tzinfo=UTC)


ONE_WINNER = {(201, None): 1}


async def test_room_and_buffer_races_in_process(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    department = await clinic.department(admin)
    doctors = [await clinic.doctor(admin, department) for _ in range(RACERS)]
    patients = [await clinic.patient() for _ in range(RACERS)]

    async def post(path: str, body: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
        return await clinic.client.post(path, json=body, headers=headers)

    slot = _next_working_day(clinic.clock.now())
    doctor_ids = [str(d.doctor_id) for d in doctors]
    patient_ids = [str(p.patient_id) for p in patients]
    rooms = await _room_race(post, admin.headers, doctor_ids, patient_ids, slot)
    assert rooms == ONE_WINNER | {(409, "room_unavailable"): RACERS - 1}

    buffers = await _buffer_race(
        post, admin.headers, department, doctor_ids[0], patient_ids, slot + timedelta(hours=2)
    )
    assert buffers == ONE_WINNER | {(409, "doctor_unavailable"): RACERS - 1}


async def test_booking_limit_holds_under_concurrent_bookings_of_one_patient(
    clinic: ApiClinic,
) -> None:
    admin = await clinic.admin()
    department = await clinic.department(admin)
    doctors = [await clinic.doctor(admin, department) for _ in range(10)]
    patient = await clinic.patient()
    policy = {
        "min_notice_minutes": 0,
        "booking_horizon_days": 365,
        "cancellation_cutoff_hours": 0,
        "max_active_per_patient": 1,
        "reminder_offsets_minutes": [],
    }
    assert (await clinic.client.put("/api/policy", json=policy, headers=admin.headers)).is_success
    slot = _next_working_day(clinic.clock.now())
    responses = await asyncio.gather(
        *(
            clinic.client.post(
                "/api/appointments",
                json={
                    "doctor_id": d.doctor_id,
                    "starts_at": (slot + timedelta(hours=i)).isoformat(),
                },
                headers=patient.headers,
            )
            for i, d in enumerate(doctors[:6])
        )
    )
    assert _outcomes(list(responses)) == ONE_WINNER | {(409, "booking_limit_reached"): 5}


@pytest.mark.slow
@pytest.mark.postgres
async def test_room_and_buffer_races_against_two_workers(
    server: tuple[str, dict[str, str]],
) -> None:
    base_url, env = server
    tag = uuid.uuid4().hex[:8]
    admin_name = f"policyadmin{tag}"
    await create_admin(env, admin_name)
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as client:
        await _wait_until_healthy(client)

        async def post(path: str, body: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
            return await client.post(path, json=body, headers=headers)

        login = await _created(
            client.post("/api/auth/login", data={"username": admin_name, "password": PASSWORD})
        )
        admin = bearer(str(login["access_token"]))
        department = (await _created(post("/api/departments", {"name": f"R {tag}"}, admin)))["id"]

        async def doctor(n: int) -> str:
            body = {
                "email": f"d{n}{tag}@example.com",
                "username": f"d{n}{tag}",
                "full_name": f"Dr {n}",
                "password": PASSWORD,
                "department_id": department,
                "specialization": "Racing",
            }
            return str((await _created(post("/api/doctors", body, admin)))["id"])

        async def patient(n: int) -> str:
            body = {"full_name": f"Patient {n}"}
            return str((await _created(post("/api/patients", body, admin)))["id"])

        doctors = [await doctor(n) for n in range(RACERS)]
        patients = [await patient(n) for n in range(RACERS)]
        slot = _next_working_day(datetime.now(UTC))
        rooms = await _room_race(post, admin, doctors, patients, slot)
        buffers = await _buffer_race(
            post, admin, department, doctors[0], patients, slot + timedelta(hours=2)
        )
    print(f"\nrace on 2 workers: rooms={dict(rooms)} buffers={dict(buffers)}")
    assert rooms == ONE_WINNER | {(409, "room_unavailable"): RACERS - 1}
    assert buffers == ONE_WINNER | {(409, "doctor_unavailable"): RACERS - 1}
