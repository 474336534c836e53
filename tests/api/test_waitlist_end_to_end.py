"""Holds and the waitlist end to end, on PostgreSQL with `appointments serve --workers 2`
(two processes, each with its dispatcher inline) and a real SMTP server on loopback.

1. 20 concurrent holds on one slot: exactly one is placed. A hold and a booking racing
   for one slot, slot after slot: exactly one of them wins each.
2. A full day, two waiting patients, a cancellation: the first is offered the time (a
   hold in their name, an email), nobody else can book it; the offer lapses and the
   second is offered it and accepts (booked); the next cancellation goes to the first,
   who accepts. Two dispatchers plan every cancellation, yet each is offered once.

Every wait is bounded and every process is stopped in `finally`.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from appointments.adapters.sqlalchemy.calendar_tables import holds
from tests.api.test_booking_race import _wait_until_healthy
from tests.api.test_delivery_end_to_end import (
    MAIL_FROM,
    Clinic,
    _count,
    _env,
    _ok,
    db,  # noqa: F401  (the fixture)
    processes,
)
from tests.smtp_server import SmtpServer, smtp_server

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

OFFER_MINUTES = "0.2"  # 12 s: long enough to act on, short enough to watch lapse
WAIT_SECONDS = 60.0


def next_weekday(days_ahead: int = 2) -> datetime:
    """Midnight UTC of the first Monday-Friday at least `days_ahead` from today."""
    day = datetime.now(UTC).date() + timedelta(days=days_ahead)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


async def test_holds_race_against_holds_and_bookings(
    db: AsyncEngine,  # noqa: F811
    postgres_url: str,
    tmp_path: Path,
) -> None:
    env = _env(postgres_url, DISPATCHER="inline")
    async with processes(tmp_path) as started:
        url = started.serve("server", env)
        limits = httpx.Limits(max_connections=60, max_keepalive_connections=60)
        async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
            await _wait_until_healthy(client)
            clinic = Clinic([client], uuid.uuid4().hex[:8])
            admin = await clinic.admin(env)
            doctor = await clinic.doctor(admin)
            patients = [(await clinic.patient(n))[0] for n in range(20)]
            day = next_weekday()
            slot = (day + timedelta(hours=10)).isoformat()

            def hold(headers: dict[str, str], starts_at: str) -> Any:
                body = {"doctor_id": doctor, "starts_at": starts_at, "duration_minutes": 30}
                return client.post("/api/holds", json=body, headers=headers)

            answers = await asyncio.gather(*(hold(p, slot) for p in patients))
            outcomes = Counter(
                (a.status_code, a.json().get("code") if a.status_code >= 400 else None)
                for a in answers
            )
            assert outcomes == {(201, None): 1, (409, "doctor_unavailable"): 19}, outcomes
            assert await _count(db, select(func.count()).select_from(holds)) == 1

            # A hold and a booking on each of 10 slots at once: one winner per slot.
            rounds = []
            for n in range(10):
                starts = (day + timedelta(hours=11, minutes=30 * n)).isoformat()
                first, second = patients[2 * n], patients[2 * n + 1]
                rounds.append(
                    asyncio.gather(
                        hold(first, starts),
                        client.post(
                            "/api/appointments",
                            json={"doctor_id": doctor, "starts_at": starts},
                            headers=second,
                        ),
                    )
                )
            for held, booked in await asyncio.gather(*rounds):
                statuses = sorted((held.status_code, booked.status_code))
                assert statuses == [201, 409], (held.text, booked.text)
                loser = held if held.status_code == 409 else booked
                assert loser.json()["code"] == "doctor_unavailable"


async def _entry(client: httpx.AsyncClient, headers: dict[str, str], entry_id: str) -> Any:
    return _ok(await client.get(f"/api/waitlist/{entry_id}", headers=headers))


async def _until(
    client: httpx.AsyncClient, headers: dict[str, str], entry_id: str, status: str
) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        entry = await _entry(client, headers, entry_id)
        if entry["status"] == status:
            return dict(entry)
        await asyncio.sleep(0.2)
    pytest.fail(f"waitlist entry {entry_id} did not become {status} in {WAIT_SECONDS} s")


def _offers_to(smtp: SmtpServer, address: str) -> int:
    return sum(
        1
        for m in smtp.received
        if address in m.rcpt_tos and str(m.message["Subject"]).startswith("Appointment offered")
    )


async def _emails(smtp: SmtpServer, expected: dict[str, int]) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if all(_offers_to(smtp, a) >= n for a, n in expected.items()):
            return
        await asyncio.sleep(0.2)
    pytest.fail(f"offer emails {expected} did not all arrive")


async def test_a_cancellation_in_a_full_day_goes_down_the_waitlist(
    db: AsyncEngine,  # noqa: F811
    postgres_url: str,
    tmp_path: Path,
) -> None:
    with smtp_server() as smtp:
        env = _env(
            postgres_url,
            DISPATCHER="inline",
            SMTP_URL=smtp.url(),
            MAIL_FROM=MAIL_FROM,
            WAITLIST_OFFER_MINUTES=OFFER_MINUTES,
        )
        async with processes(tmp_path) as started:
            url = started.serve("server", env)
            async with httpx.AsyncClient(base_url=url, timeout=30) as client:
                await _wait_until_healthy(client)
                clinic = Clinic([client], uuid.uuid4().hex[:8])
                admin = await clinic.admin(env)
                doctor = await clinic.doctor(admin)
                booker, _ = await clinic.patient(1)
                (first, first_address), (second, second_address) = [
                    await clinic.patient(n) for n in (2, 3)
                ]
                outsider, _ = await clinic.patient(4)
                day = next_weekday()
                # The full day: 09:00 to 17:00 in 30-minute appointments.
                booked = [
                    _ok(
                        await clinic.book(
                            0, booker, doctor, day + timedelta(hours=9, minutes=30 * n)
                        )
                    )
                    for n in range(16)
                ]
                wanted = {
                    "doctor_id": doctor,
                    "date_from": str(day.date()),
                    "date_to": str(day.date()),
                }
                early = _ok(await client.post("/api/waitlist", json=wanted, headers=first), 201)
                late = _ok(await client.post("/api/waitlist", json=wanted, headers=second), 201)
                eleven = booked[4]
                _ok(
                    await client.post(
                        f"/api/appointments/{eleven['id']}/cancel", json={}, headers=booker
                    )
                )

                offered = await _until(client, first, early["id"], "offered")
                assert offered["offer"]["starts_at"] == eleven["starts_at"]
                await _emails(smtp, {first_address: 1})
                taken = await clinic.book(
                    0, outsider, doctor, datetime.fromisoformat(eleven["starts_at"])
                )
                assert (taken.status_code, taken.json()["code"]) == (409, "doctor_unavailable")
                assert (await _entry(client, second, late["id"]))["status"] == "waiting"

                # The first lets it lapse: the second is offered it, and takes it.
                moved = await _until(client, second, late["id"], "offered")
                assert moved["offer"]["starts_at"] == eleven["starts_at"]
                await _emails(smtp, {second_address: 1})
                accepted = await client.post(f"/api/waitlist/{late['id']}/accept", headers=second)
                assert accepted.status_code == 201, accepted.text
                assert accepted.json()["starts_at"] == eleven["starts_at"]
                assert (await _entry(client, second, late["id"]))["status"] == "booked"
                assert (await _entry(client, first, early["id"]))["status"] == "waiting"

                # The next cancellation goes to the first, waiting again in their place.
                two = booked[10]
                _ok(
                    await client.post(
                        f"/api/appointments/{two['id']}/cancel", json={}, headers=booker
                    )
                )
                again = await _until(client, first, early["id"], "offered")
                assert again["offer"]["starts_at"] == two["starts_at"]
                mine = await client.post(f"/api/waitlist/{early['id']}/accept", headers=first)
                assert mine.status_code == 201, mine.text
                await _emails(smtp, {first_address: 2, second_address: 1})
                await asyncio.sleep(2)  # time for a duplicate offer to show, if any
                assert (_offers_to(smtp, first_address), _offers_to(smtp, second_address)) == (2, 1)
                audit = _ok(
                    await client.get(
                        "/api/admin/audit",
                        params={"action": "waitlist.offered", "limit": 100},
                        headers=admin,
                    )
                )
                assert audit["total"] == 3  # one offer per freed time, two dispatchers or not
