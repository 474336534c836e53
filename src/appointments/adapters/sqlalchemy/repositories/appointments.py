"""Appointments: searches within what the caller may see, and the busy time of a party."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    Integer,
    Row,
    Select,
    bindparam,
    false,
    func,
    select,
)

from appointments.adapters.sqlalchemy.repositories.base import (
    SqlEntityRepository,
    entity_from,
    inserting,
    one_row,
    updating,
    values_of,
)
from appointments.adapters.sqlalchemy.tables import appointments
from appointments.application.ports.queries import AppointmentFilter, Page, PageRequest
from appointments.domain.appointments import (
    ACTIVE_STATUSES,
    CHANGEABLE_STATUSES,
    Appointment,
    CancelledBy,
    Status,
)
from appointments.domain.booking import MAX_DURATION
from appointments.domain.schedule import Span
from appointments.domain.services import MAX_BUFFER_MINUTES

ACTIVE = sorted(s.value for s in ACTIVE_STATUSES)
CHANGEABLE = sorted(s.value for s in CHANGEABLE_STATUSES)
MAX_BLOCKED = MAX_DURATION + 2 * timedelta(minutes=MAX_BUFFER_MINUTES)


def _appointment(row: Row[Any]) -> Appointment:
    return entity_from(
        Appointment,
        row,
        status=Status(row.status),
        cancelled_by=None if row.cancelled_by is None else CancelledBy(row.cancelled_by),
        buffer_before=row.starts_at - row.blocked_from,
        buffer_after=row.blocked_until - row.ends_at,
    )


def _row(appointment: Appointment) -> dict[str, Any]:
    """Columns: the buffers are stored as the span they block (what the doctor's exclusion
    constraint compares)."""
    values = values_of(appointment)
    del values["buffer_before"], values["buffer_after"]
    blocked = appointment.blocked
    values.update(blocked_from=blocked.starts_at, blocked_until=blocked.ends_at)
    return values


# search(): each filter as a condition on its bound value (the scope's own, named apart).
_SEARCH_CONDITIONS: dict[str, ColumnElement[bool]] = {
    "scope_doctor_id": appointments.c.doctor_id == bindparam("scope_doctor_id"),
    "scope_patient_id": appointments.c.patient_id == bindparam("scope_patient_id"),
    "doctor_id": appointments.c.doctor_id == bindparam("doctor_id"),
    "patient_id": appointments.c.patient_id == bindparam("patient_id"),
    "status": appointments.c.status == bindparam("status"),
    "statuses": appointments.c.status.in_(bindparam("statuses", expanding=True)),
    "starts_from": appointments.c.starts_at
    >= bindparam("starts_from", type_=appointments.c.starts_at.type),
    "starts_before": appointments.c.starts_at
    < bindparam("starts_before", type_=appointments.c.starts_at.type),
}


@functools.cache
def _search(filters: frozenset[str], nobody: bool) -> tuple[Select[Any], Select[Any]]:
    """The page and the count of a search by the filters named, built once per
    combination; `nobody`: a scope that admits nothing (AppointmentScope.admits)."""
    query = select(appointments).where(*(_SEARCH_CONDITIONS[name] for name in sorted(filters)))
    if nobody:
        query = query.where(false())
    page = (
        query.order_by(appointments.c.starts_at, appointments.c.id)
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
    )
    return page, select(func.count()).select_from(query.subquery())


@functools.cache
def _busy(filters: frozenset[str]) -> Select[Any]:
    """Active appointments overlapping since..until, by the party columns named in
    `filters` (and `exclude_id`); built once per combination."""
    starts_at, ends_at = appointments.c.starts_at, appointments.c.ends_at
    query = select(starts_at, ends_at).where(
        appointments.c.status.in_(ACTIVE),
        starts_at < bindparam("until", type_=starts_at.type),
        ends_at > bindparam("since", type_=ends_at.type),
        starts_at > bindparam("floor", type_=starts_at.type),
    )
    for name in sorted(filters - {"exclude_id"}):
        query = query.where(appointments.c[name] == bindparam(name))
    if "exclude_id" in filters:
        query = query.where(appointments.c.id != bindparam("exclude_id"))
    return query.order_by(starts_at)


class SqlAppointmentRepository(SqlEntityRepository[Appointment]):
    table = appointments
    _from_row = staticmethod(_appointment)
    lock_mode = "update"

    @property
    def refuses_overlaps(self) -> bool:
        """PostgreSQL's exclusion constraints do (errors.CONSTRAINT_ERRORS); SQLite has
        none, so there every booking reads the busy time first."""
        return self._db.dialect_name == "postgresql"

    async def add(self, entity: Appointment) -> None:
        await self._db.execute(inserting(appointments), _row(entity))

    async def add_at_commit(self, entity: Appointment) -> None:
        row = _row(entity)
        # "later_": no column of the tables written with it starts so (Database.later).
        values = {f"later_{name}": value for name, value in row.items()}
        await self._db.later(one_row(appointments, tuple(row), "later_"), values)

    async def save(self, entity: Appointment) -> None:
        await self._db.execute(updating(appointments), {**_row(entity), "where_id": entity.id})

    async def search(self, filters: AppointmentFilter, page: PageRequest) -> Page[Appointment]:
        scope = filters.scope
        given: dict[str, Any] = {
            "scope_doctor_id": None if scope.everyone else scope.doctor_id,
            "scope_patient_id": None if scope.everyone or scope.doctor_id else scope.patient_id,
            "doctor_id": filters.doctor_id,
            "patient_id": filters.patient_id,
            "status": filters.status.value if filters.status else None,
            "statuses": sorted(filters.statuses) if filters.statuses is not None else None,
            "starts_from": filters.starts_from,
            "starts_before": filters.starts_before,
        }
        values = {name: value for name, value in given.items() if value is not None}
        nobody = not (scope.everyone or scope.doctor_id or scope.patient_id)
        statement, count = _search(frozenset(values), nobody)
        values.update(limit=page.limit, offset=page.offset)
        rows, total = await self._built_page(statement, lambda: count, values, page)
        return Page([_appointment(r) for r in rows], total, page.limit, page.offset)

    async def busy_spans(
        self,
        *,
        within: Span,
        doctor_id: UUID | None = None,
        patient_id: UUID | None = None,
        room_id: UUID | None = None,
        exclude_id: UUID | None = None,
    ) -> list[Span]:
        parties = {"doctor_id": doctor_id, "patient_id": patient_id, "room_id": room_id}
        given = {name: value for name, value in parties.items() if value is not None}
        if exclude_id is not None:
            given["exclude_id"] = exclude_id
        query = _busy(frozenset(given))
        values = {
            "since": within.starts_at,
            "until": within.ends_at,
            # Redundant but index-friendly: nothing lasts longer than MAX_DURATION, so the
            # (doctor_id, starts_at) index scan gets a lower bound too.
            "floor": within.starts_at - MAX_DURATION,
            **given,
        }
        rows = await self._db.execute(query, values)
        return [Span(r.starts_at, r.ends_at) for r in rows]

    async def blocked_spans(
        self, *, within: Span, doctor_id: UUID, exclude_id: UUID | None = None
    ) -> list[Span]:
        blocked_from, blocked_until = appointments.c.blocked_from, appointments.c.blocked_until
        query = select(blocked_from, blocked_until).where(
            appointments.c.doctor_id == doctor_id,
            appointments.c.status.in_(ACTIVE),
            blocked_from < within.ends_at,
            blocked_until > within.starts_at,
            # Index-friendly lower bound, as in busy_spans: nothing blocks longer than the
            # longest appointment with the longest buffers.
            blocked_from > within.starts_at - MAX_BLOCKED,
        )
        if exclude_id is not None:
            query = query.where(appointments.c.id != exclude_id)
        rows = await self._db.execute(query.order_by(blocked_from))
        return [Span(r.blocked_from, r.blocked_until) for r in rows]

    async def count_future_active(self, *, patient_id: UUID, now: datetime) -> int:
        query = select(func.count()).where(
            appointments.c.patient_id == patient_id,
            appointments.c.status.in_(ACTIVE),
            appointments.c.starts_at > now,
        )
        return int((await self._db.execute(query)).scalar_one())

    async def future_active(
        self, *, now: datetime, doctor_id: UUID | None = None, patient_id: UUID | None = None
    ) -> list[Appointment]:
        query = select(appointments).where(
            appointments.c.status.in_(CHANGEABLE), appointments.c.starts_at > now
        )
        if doctor_id is not None:
            query = query.where(appointments.c.doctor_id == doctor_id)
        if patient_id is not None:
            query = query.where(appointments.c.patient_id == patient_id)
        rows = await self._db.execute(query.order_by(appointments.c.starts_at))
        return [_appointment(r) for r in rows]

    async def in_series(self, series_id: UUID, *, lock: bool = False) -> list[Appointment]:
        query = select(appointments).where(appointments.c.series_id == series_id)
        query = query.order_by(appointments.c.starts_at, appointments.c.id)
        if lock:
            query = query.with_for_update()
        return [_appointment(r) for r in await self._db.execute(query)]
