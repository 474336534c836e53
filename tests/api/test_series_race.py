"""Overlapping series race for one doctor: exactly one wins, every other is refused with
doctor_unavailable and nothing of it is left (no occurrence, no audit record). In-process
on both databases, then against a real two-worker server on PostgreSQL."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from appointments.adapters.sqlalchemy.engine import create_engine
from appointments.adapters.sqlalchemy.tables import appointments, audit_events
from tests.api.support import PASSWORD, ApiClinic, bearer
from tests.api.test_booking_race import _created, _wait_until_healthy, create_admin, server

__all__ = ["server"]  # the served fixture, shared with the booking race

SERIES = "/api/appointments/series"
RACERS = 6


def _series(doctor_id: str, patient_id: str, first: datetime, offset_weeks: int) -> dict[str, Any]:
    """12 weekly occurrences from `offset_weeks` after `first`: every pair of racers
    overlaps on most of their occurrences."""
    return {
        "doctor_id": doctor_id,
        "patient_id": patient_id,
        "starts_at": (first + timedelta(weeks=offset_weeks)).isoformat(),
        "recurrence": {"frequency": "weekly", "count": 12},
    }


async def _rows(engine: AsyncEngine, doctor_id: str) -> tuple[int, set[uuid.UUID | None]]:
    doctor = uuid.UUID(doctor_id)
    query = select(appointments.c.series_id).where(appointments.c.doctor_id == doctor)
    async with engine.connect() as connection:
        series = [row.series_id for row in await connection.execute(query)]
    return len(series), set(series)


async def _series_records(engine: AsyncEngine, series_ids: list[str]) -> int:
    ids = [uuid.UUID(s) for s in series_ids]
    query = select(func.count()).select_from(audit_events).where(audit_events.c.entity_id.in_(ids))
    async with engine.connect() as connection:
        return int((await connection.execute(query)).scalar_one())


def _outcomes(responses: list[httpx.Response]) -> Counter[tuple[int, str | None]]:
    return Counter(
        (r.status_code, None if r.status_code == 201 else r.json().get("code")) for r in responses
    )


def _monday_after_two_days() -> datetime:
    day = datetime.now(UTC).date() + timedelta(days=2)
    while day.weekday() != 0:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, 10, tzinfo=UTC)


async def test_overlapping_series_in_process(clinic: ApiClinic, engine: AsyncEngine) -> None:
    admin = await clinic.admin()
    doctor = await clinic.doctor(admin)
    patients = [await clinic.patient() for _ in range(RACERS)]
    first = _monday_after_two_days()
    bodies = [
        _series(str(doctor.doctor_id), str(p.patient_id), first, offset)
        for offset, p in enumerate(patients)
    ]
    responses = await asyncio.gather(
        *(clinic.client.post(SERIES, json=b, headers=admin.headers) for b in bodies)
    )
    assert _outcomes(list(responses)) == {(201, None): 1, (409, "doctor_unavailable"): RACERS - 1}
    winner = next(r for r in responses if r.status_code == 201).json()
    assert await _rows(engine, str(doctor.doctor_id)) == (12, {uuid.UUID(winner["id"])})
    for lost in (r for r in responses if r.status_code == 409):
        assert lost.json()["conflicts"], lost.text


@pytest.mark.slow
@pytest.mark.postgres
async def test_overlapping_series_against_two_workers(
    server: tuple[str, dict[str, str]], postgres_url: str
) -> None:
    base_url, env = server
    tag = uuid.uuid4().hex[:8]
    await create_admin(env, f"seriesadmin{tag}")
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        await _wait_until_healthy(client)
        login = await client.post(
            "/api/auth/login", data={"username": f"seriesadmin{tag}", "password": PASSWORD}
        )
        admin = bearer(str((await _created(login))["access_token"]))
        department = await _created(
            await client.post("/api/departments", json={"name": f"Series {tag}"}, headers=admin)
        )
        doctor = await _created(
            await client.post(
                "/api/doctors",
                json={
                    "email": f"seriesdoc{tag}@example.com",
                    "username": f"seriesdoc{tag}",
                    "full_name": "Dr Series",
                    "password": PASSWORD,
                    "department_id": department["id"],
                    "specialization": "Racing",
                },
                headers=admin,
            )
        )
        patients = [
            await _created(
                await client.post("/api/patients", json={"full_name": f"Racer {n}"}, headers=admin)
            )
            for n in range(RACERS)
        ]
        first = _monday_after_two_days()
        bodies = [
            _series(doctor["id"], p["id"], first, offset) for offset, p in enumerate(patients)
        ]
        started = time.monotonic()
        responses = await asyncio.gather(
            *(client.post(SERIES, json=body, headers=admin) for body in bodies)
        )
        elapsed = time.monotonic() - started

    outcomes = _outcomes(list(responses))
    print(f"\nseries race on 2 workers: {dict(outcomes)} in {elapsed:.2f}s")
    assert outcomes == {(201, None): 1, (409, "doctor_unavailable"): RACERS - 1}
    assert all(r.json()["conflicts"] for r in responses if r.status_code == 409)
    winner = next(r for r in responses if r.status_code == 201).json()
    engine = create_engine(postgres_url)
    try:
        assert await _rows(engine, doctor["id"]) == (12, {uuid.UUID(winner["id"])})
        assert await _series_records(engine, [winner["id"]]) == 1  # series.booked
    finally:
        await engine.dispose()
