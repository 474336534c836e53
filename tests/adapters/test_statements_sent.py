"""What a booking and a login send PostgreSQL, statement by statement: the round trips
the issue of per-request cost took out must not creep back in."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import uuid4

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from appointments.application.access import Actor
from appointments.application.booking import BookingRequest
from appointments.container import Container
from appointments.domain.users import Role
from tests.adapters.conftest import Seed, next_working_day, postgres_only

pytestmark = postgres_only

ADMIN = Actor(user_id=uuid4(), role=Role.ADMIN)


@contextmanager
def statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """The statements the engine sends while inside; BEGIN and COMMIT, which the driver
    sends itself, are not among them."""
    sent: list[str] = []

    def note(*args: Any) -> None:
        sent.append(" ".join(str(args[2]).split()))

    event.listen(engine.sync_engine, "before_cursor_execute", note)
    try:
        yield sent
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", note)


async def test_a_booking_locks_its_parties_then_writes_everything_at_once(
    engine: AsyncEngine, container: Container, seed: Seed
) -> None:
    doctor, patient = await seed.doctor(), await seed.patient()
    request = BookingRequest(
        doctor_id=doctor.id, patient_id=patient.id, starts_at=next_working_day(seed.clock.now())
    )
    with statements(engine) as sent:
        await container.book_appointment()(ADMIN, request)
    locking, writing = sent  # no holds read: the doctor never had one
    assert "FOR NO KEY UPDATE OF patients, doctors" in locking
    for table in ("appointments", "audit_events", "outbox_messages"):
        assert f"INSERT INTO {table}" in writing


async def test_a_login_counts_the_attempt_and_clears_it_with_its_audit_event(
    engine: AsyncEngine, container: Container, seed: Seed
) -> None:
    password = "a-long-password"
    hashed = await container.hasher().hash(password)
    user = dataclasses.replace(seed.new_user(Role.PATIENT), password_hash=hashed)
    async with seed.uow() as uow:
        await uow.users.add(user)
        await uow.commit()
    with statements(engine) as sent:
        await container.login()(user.username, password)
    finding, counting, recording = sent
    assert finding.startswith("SELECT")
    assert "FROM users" in finding
    assert "DELETE FROM login_failures" in counting
    assert "INSERT INTO login_failures" in counting
    assert "DELETE FROM login_failures" in recording
    assert "INSERT INTO audit_events" in recording
