"""What a request costs the database. One pooled connection: authentication hands its
connection to the use-case, and no request ever holds two at once (the pool is a hard
cap, so a request holding two could deadlock a full pool). And a list's total is counted
only when the page is full."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import time
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.support import ApiClinic


@dataclass
class Checkouts:
    total: int = 0
    held: int = 0
    most_held: int = 0

    def reset(self) -> None:
        self.total = self.most_held = 0


@pytest.fixture
def checkouts(engine: AsyncEngine) -> Iterator[Checkouts]:
    seen = Checkouts()
    pool = engine.sync_engine.pool

    def out(*_: Any) -> None:
        seen.total += 1
        seen.held += 1
        seen.most_held = max(seen.most_held, seen.held)

    def back(*_: Any) -> None:
        seen.held -= 1

    event.listen(pool, "checkout", out)
    event.listen(pool, "checkin", back)
    yield seen
    event.remove(pool, "checkout", out)
    event.remove(pool, "checkin", back)


@pytest.fixture
def statements(engine: AsyncEngine) -> Iterator[list[str]]:
    seen: list[str] = []

    def executed(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", executed)
    yield seen
    event.remove(engine.sync_engine, "before_cursor_execute", executed)


def counts(statements: list[str]) -> int:
    return sum("count(" in s.lower() for s in statements)


async def test_a_list_counts_only_when_its_page_is_full(
    clinic: ApiClinic, statements: list[str]
) -> None:
    """The total is exact either way: a page that is not full ends the list."""
    admin = await clinic.admin()
    doctor = await clinic.doctor(admin)
    patient = await clinic.patient()
    for hour in (9, 10, 11):
        booked = await clinic.book(patient, doctor, clinic.next_working_day(time(hour)))
        assert booked.status_code == 201, booked.text

    expected = {  # (limit, offset): (items, total, counted)
        (10, 0): (3, 3, False),
        (2, 2): (1, 3, False),
        (3, 0): (3, 3, True),  # full: the next page could hold more
        (2, 0): (2, 3, True),
        (5, 7): (0, 3, True),  # past the end: nothing says where the end was
    }
    for (limit, offset), (items, total, counted) in expected.items():
        statements.clear()
        response = await clinic.client.get(
            "/api/appointments",
            params={"limit": limit, "offset": offset},
            headers=patient.headers,
        )
        assert response.status_code == 200
        body = response.json()
        assert (len(body["items"]), body["total"]) == (items, total), (limit, offset)
        assert counts(statements) == int(counted), (limit, offset)


async def test_an_authenticated_read_checks_out_one_connection(
    clinic: ApiClinic, checkouts: Checkouts
) -> None:
    admin = await clinic.admin()
    doctor = await clinic.doctor(admin)
    patient = await clinic.patient()
    booked = await clinic.book(patient, doctor, clinic.next_working_day())
    assert booked.status_code == 201, booked.text

    checkouts.reset()
    response = await clinic.client.get(
        f"/api/appointments/{booked.json()['id']}", headers=patient.headers
    )
    assert response.status_code == 200
    assert (checkouts.total, checkouts.most_held, checkouts.held) == (1, 1, 0)


async def test_a_booking_checks_out_one_connection(clinic: ApiClinic, checkouts: Checkouts) -> None:
    """Authentication runs in autocommit; the same connection then opens the booking's
    transaction."""
    admin = await clinic.admin()
    doctor = await clinic.doctor(admin)
    patient = await clinic.patient()

    checkouts.reset()
    booked = await clinic.book(patient, doctor, clinic.next_working_day())
    assert booked.status_code == 201, booked.text
    assert (checkouts.total, checkouts.most_held, checkouts.held) == (1, 1, 0)

    checkouts.reset()
    again = await clinic.book(patient, doctor, clinic.next_working_day())
    assert again.status_code == 409  # refused: rolled back, and the connection is back
    assert (checkouts.total, checkouts.most_held, checkouts.held) == (1, 1, 0)
    listed = await clinic.client.get("/api/appointments", headers=patient.headers)
    assert listed.json()["total"] == 1


async def test_a_request_refused_after_authentication_returns_its_connection(
    clinic: ApiClinic, checkouts: Checkouts
) -> None:
    """Authenticated, then refused by validation before any use-case runs: the connection
    authentication kept goes back to the pool when the request ends."""
    patient = await clinic.patient()
    checkouts.reset()
    response = await clinic.client.post(
        "/api/appointments", json={"duration_minutes": "x"}, headers=patient.headers
    )
    assert response.status_code == 422
    assert (checkouts.total, checkouts.held) == (1, 0)
