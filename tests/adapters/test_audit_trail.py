"""The audit trail on every backend: events are written by the commit of the change they
record (and only then), read back by every filter in recording order; on SQLite and
PostgreSQL the table itself refuses to be changed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from appointments.adapters.clock import FixedClock
from appointments.application.events import REQUEST_ID, AuditEvent, Event, EventActor
from appointments.application.ports.queries import AuditFilter, PageRequest
from appointments.domain.appointments import Appointment, Status
from appointments.domain.audit import REDACTED, changed
from appointments.domain.users import Role
from tests.adapters.conftest import Backend, on, postgres_only

T0 = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)


def appointment_with(appointment_id: UUID, status: Status = Status.SCHEDULED) -> Appointment:
    """What an appointment event is about: the outbox sends it along."""
    return Appointment(
        patient_id=uuid4(),
        doctor_id=uuid4(),
        department_id=uuid4(),
        starts_at=T0 + timedelta(days=1),
        ends_at=T0 + timedelta(days=1, minutes=30),
        created_at=T0,
        updated_at=T0,
        status=status,
        id=appointment_id,
    )


ADMIN = EventActor(uuid4(), Role.ADMIN)
DOCTOR = EventActor(uuid4(), Role.DOCTOR)


async def _record(backend: Backend, clock: FixedClock, *events: Event) -> None:
    async with backend.uow(clock=clock) as uow:
        for event in events:
            uow.record(event)
        await uow.commit()


async def _search(backend: Backend, **filters: Any) -> list[AuditEvent]:
    async with backend.uow(read_only=True) as uow:
        page = await uow.audit.search(AuditFilter(**filters), PageRequest(limit=100))
    return list(page.items)


async def test_events_are_written_by_the_commit_and_lost_with_a_rollback(
    backend: Backend,
) -> None:
    clock = FixedClock(T0)
    entity = uuid4()
    async with backend.uow(clock=clock) as uow:
        uow.record(Event("department.created", entity, ADMIN))
        # not committed: rolled back with the change it described
    assert await backend.stored("audit_events") == 0

    token = REQUEST_ID.set("req-abc.1")
    try:
        await _record(
            backend, clock, Event("department.updated", entity, ADMIN, changed(name=("A", "B")))
        )
    finally:
        REQUEST_ID.reset(token)
    [event] = await _search(backend)
    assert event.action == "department.updated"
    assert event.entity_type == "department"
    assert event.entity_id == entity
    assert event.actor == ADMIN
    assert event.occurred_at == T0
    assert event.request_id == "req-abc.1"
    assert event.changes == {"name": {"old": "A", "new": "B"}}


async def test_system_events_have_no_actor_and_secrets_stay_redacted(backend: Backend) -> None:
    clock = FixedClock(T0)
    user = uuid4()
    cascaded = appointment_with(uuid4(), Status.CANCELLED)
    await _record(
        backend,
        clock,
        Event(
            "appointment.cancelled",
            cascaded.id,
            None,
            changed(status=("scheduled", "cancelled")),
            subject=cascaded,
        ),
        Event("user.password_changed", user, ADMIN, changed(password_hash=("$x$old", "$x$new"))),
    )
    newest, oldest = await _search(backend)
    assert oldest.actor is None
    assert newest.changes == {"password_hash": {"old": REDACTED, "new": REDACTED}}
    assert newest.entity_type == "user"


async def test_every_filter_and_both_orders(backend: Backend) -> None:
    clock = FixedClock(T0)
    appointment, department = uuid4(), uuid4()
    await _record(
        backend,
        clock,
        Event("appointment.booked", appointment, DOCTOR, subject=appointment_with(appointment)),
    )
    clock.advance(timedelta(hours=1))
    await _record(backend, clock, Event("department.created", department, ADMIN))
    clock.advance(timedelta(hours=1))
    await _record(
        backend,
        clock,
        Event("appointment.confirmed", appointment, ADMIN, subject=appointment_with(appointment)),
        Event("auth.login", ADMIN.user_id, ADMIN),
    )

    def actions(found: list[AuditEvent]) -> list[str]:
        return [e.action for e in found]

    assert actions(await _search(backend)) == [
        "auth.login",
        "appointment.confirmed",
        "department.created",
        "appointment.booked",
    ]
    history = await _search(
        backend, entity_type="appointment", entity_id=appointment, oldest_first=True
    )
    assert actions(history) == ["appointment.booked", "appointment.confirmed"]
    assert actions(await _search(backend, actor_user_id=DOCTOR.user_id)) == ["appointment.booked"]
    assert actions(await _search(backend, action="department.created")) == ["department.created"]
    assert actions(await _search(backend, entity_type="user")) == ["auth.login"]
    window = await _search(backend, since=T0 + timedelta(hours=1), until=T0 + timedelta(hours=2))
    assert actions(window) == ["department.created"]  # since inclusive, until exclusive
    ids = [e.id for e in await _search(backend)]
    assert ids == sorted(ids, reverse=True)
    assert len(set(ids)) == 4


async def test_pages_count_every_match(backend: Backend) -> None:
    clock = FixedClock(T0)
    entity: UUID = uuid4()
    await _record(backend, clock, *(Event("room.updated", entity, ADMIN) for _ in range(5)))
    async with backend.uow(read_only=True) as uow:
        page = await uow.audit.search(AuditFilter(), PageRequest(limit=2, offset=2))
    assert (page.total, len(page.items)) == (5, 2)


# --- append-only, enforced by the database itself ------------------------------------------

REFUSED = [
    "UPDATE audit_events SET action = 'forged.action'",
    "UPDATE audit_events SET changes = '{}' WHERE id = 1",
    "DELETE FROM audit_events",
    "DELETE FROM audit_events WHERE id = 1",
]


async def _one_event(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO audit_events (id, occurred_at, action, entity_type, changes) "
                "VALUES (1, :at, 'department.created', 'department', '{}')"
            ),
            {"at": T0},
        )


@on("sqlite", "postgres")
@pytest.mark.parametrize("statement", REFUSED)
async def test_the_database_refuses_to_change_or_delete_audit_events(
    engine: AsyncEngine, statement: str
) -> None:
    await _one_event(engine)
    with pytest.raises(DBAPIError, match="append-only"):
        async with engine.begin() as connection:
            await connection.execute(text(statement))
    async with engine.connect() as connection:
        rows = (await connection.execute(text("SELECT action FROM audit_events"))).all()
    assert [r.action for r in rows] == ["department.created"]


@postgres_only
async def test_postgres_refuses_truncate_too(engine: AsyncEngine) -> None:
    await _one_event(engine)
    with pytest.raises(DBAPIError, match="append-only"):
        async with engine.begin() as connection:
            await connection.execute(text("TRUNCATE audit_events"))
    async with engine.connect() as connection:
        count = (await connection.execute(text("SELECT count(*) FROM audit_events"))).scalar()
    assert count == 1
