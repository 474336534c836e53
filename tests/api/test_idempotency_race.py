"""One booking sent twenty times at once with one Idempotency-Key, against
`appointments serve --workers 2` on PostgreSQL: it runs exactly once. Every answer is that
booking's 201 (the original or a replay of it) or 409 `idempotency_key_in_use` for a copy
that arrived while the original still ran."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from appointments.adapters.sqlalchemy.engine import create_engine
from tests.api.support import PASSWORD, bearer
from tests.api.test_booking_race import _active_rows, _wait_until_healthy, create_admin
from tests.api.test_booking_race import server as server

COPIES = 20


async def _created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


@pytest.mark.slow
@pytest.mark.postgres
async def test_concurrent_copies_of_one_keyed_booking_book_once(
    server: tuple[str, dict[str, str]], postgres_url: str
) -> None:
    base_url, env = server
    tag = uuid.uuid4().hex[:8]
    await create_admin(env, f"idemadmin{tag}")
    limits = httpx.Limits(max_connections=COPIES * 2, max_keepalive_connections=COPIES * 2)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as client:
        await _wait_until_healthy(client)

        async def login(username: str) -> dict[str, str]:
            form = {"username": username, "password": PASSWORD}
            token = await _created(await client.post("/api/auth/login", data=form))
            return bearer(str(token["access_token"]))

        admin = await login(f"idemadmin{tag}")
        department = await _created(
            await client.post("/api/departments", json={"name": f"Idem {tag}"}, headers=admin)
        )
        doctor = await _created(
            await client.post(
                "/api/doctors",
                json={
                    "email": f"idemdoc{tag}@example.com",
                    "username": f"idemdoc{tag}",
                    "full_name": "Dr Once",
                    "password": PASSWORD,
                    "department_id": department["id"],
                    "specialization": "Repetition",
                },
                headers=admin,
            )
        )
        await _created(
            await client.post(
                "/api/auth/register",
                json={
                    "email": f"idempat{tag}@example.com",
                    "username": f"idempat{tag}",
                    "full_name": "Patient Once",
                    "password": PASSWORD,
                },
            )
        )
        patient = {**await login(f"idempat{tag}"), "Idempotency-Key": f"race-{tag}"}

        day = datetime.now(UTC).date() + timedelta(days=2)
        while day.weekday() >= 5:
            day += timedelta(days=1)
        slot = datetime(day.year, day.month, day.day, 10, tzinfo=UTC).isoformat()
        body = {"doctor_id": doctor["id"], "starts_at": slot}
        responses = await asyncio.gather(
            *(client.post("/api/appointments", json=body, headers=patient) for _ in range(COPIES))
        )
        # Once the dust settles, a late copy is always a replay.
        late = await client.post("/api/appointments", json=body, headers=patient)

    engine = create_engine(postgres_url)
    try:
        rows = await _active_rows(engine, doctor["id"])
    finally:
        await engine.dispose()
    outcomes = Counter(
        (
            r.status_code,
            r.headers.get("Idempotent-Replayed"),
            None if r.status_code == 201 else r.json().get("code"),
        )
        for r in responses
    )
    print(f"\nidempotent booking race on 2 workers: rows={rows} outcomes={dict(outcomes)}")
    assert rows == 1
    assert set(outcomes) <= {
        (201, None, None),
        (201, "true", None),
        (409, None, "idempotency_key_in_use"),
    }
    assert outcomes[(201, None, None)] == 1  # exactly one copy ran
    booked = {r.content for r in responses if r.status_code == 201}
    assert len(booked) == 1  # and every replay is its answer
    assert (late.status_code, late.headers.get("Idempotent-Replayed")) == (201, "true")
    assert late.content in booked
