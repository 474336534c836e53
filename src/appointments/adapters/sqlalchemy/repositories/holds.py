"""Holds and the waitlist, in SQL."""

from __future__ import annotations

import functools
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    and_,
    bindparam,
    delete,
    false,
    or_,
    select,
    true,
    update,
)

from appointments.adapters.sqlalchemy.calendar_tables import holds, waitlist_entries
from appointments.adapters.sqlalchemy.repositories.appointments import MAX_BLOCKED
from appointments.adapters.sqlalchemy.repositories.base import (
    SqlEntityRepository,
    SqlRepository,
    entity_from,
    values_of,
)
from appointments.application.access import WaitlistScope
from appointments.application.ports.holds import WaitlistFilter
from appointments.application.ports.queries import Page, PageRequest
from appointments.domain.booking import MAX_DURATION
from appointments.domain.holds import Hold
from appointments.domain.schedule import Span
from appointments.domain.waitlist import Offer, PassedTime, WaitlistEntry, WaitlistStatus


def _hold(row: Row[Any]) -> Hold:
    return entity_from(
        Hold,
        row,
        buffer_before=row.starts_at - row.blocked_from,
        buffer_after=row.blocked_until - row.ends_at,
    )


def _hold_row(hold: Hold) -> dict[str, Any]:
    values = values_of(hold)
    del values["buffer_before"], values["buffer_after"]
    blocked = hold.blocked
    values.update(blocked_from=blocked.starts_at, blocked_until=blocked.ends_at)
    return values


@functools.cache
def _blocking(*, by_room: bool, excluding: bool) -> Select[Any]:
    """The live holds of a doctor (the time they block) or of a room (their own span)
    overlapping since..until, starting after `floor` (an index-friendly lower bound:
    nothing lasts longer than MAX_BLOCKED, a room's span MAX_DURATION); built once."""
    if by_room:
        party, start, end = holds.c.room_id, holds.c.starts_at, holds.c.ends_at
    else:
        party, start, end = holds.c.doctor_id, holds.c.blocked_from, holds.c.blocked_until
    query = select(start.label("a"), end.label("b")).where(
        party == bindparam("party"),
        start < bindparam("until", type_=start.type),
        end > bindparam("since", type_=end.type),
        start > bindparam("floor", type_=start.type),
        holds.c.expires_at > bindparam("now", type_=holds.c.expires_at.type),
    )
    return query.where(holds.c.id != bindparam("exclude_id")) if excluding else query


class SqlHoldRepository(SqlRepository):
    async def add(self, hold: Hold) -> None:
        # The doctor's holds_until is raised by the database (a trigger, migration 0011).
        await self._db.execute(holds.insert().values(_hold_row(hold)))

    async def get(self, hold_id: UUID, *, lock: bool = False) -> Hold | None:
        query = select(holds).where(holds.c.id == hold_id)
        if lock:
            query = query.with_for_update()
        row = (await self._db.execute(query)).first()
        return _hold(row) if row else None

    async def delete(self, hold_id: UUID) -> None:
        await self._db.execute(delete(holds).where(holds.c.id == hold_id))

    async def blocking(
        self,
        *,
        within: Span,
        now: datetime,
        doctor_id: UUID | None = None,
        room_id: UUID | None = None,
        exclude_id: UUID | None = None,
    ) -> list[Span]:
        spans: list[Span] = []
        values: dict[str, Any] = {"now": now, "since": within.starts_at, "until": within.ends_at}
        excluding = exclude_id is not None
        if excluding:
            values["exclude_id"] = exclude_id
        if doctor_id is not None:
            query = _blocking(by_room=False, excluding=excluding)
            floor = within.starts_at - MAX_BLOCKED
            found = await self._db.execute(query, {**values, "party": doctor_id, "floor": floor})
            spans += [Span(r.a, r.b) for r in found]
        if room_id is not None:
            query = _blocking(by_room=True, excluding=excluding)
            floor = within.starts_at - MAX_DURATION
            found = await self._db.execute(query, {**values, "party": room_id, "floor": floor})
            spans += [Span(r.a, r.b) for r in found]
        return sorted(spans, key=lambda s: s.starts_at)

    async def take_expired(self, now: datetime, limit: int) -> list[Hold]:
        query = (
            select(holds)
            .where(holds.c.expires_at <= now)
            .order_by(holds.c.expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [_hold(r) for r in await self._db.execute(query)]


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _entry(row: Row[Any]) -> WaitlistEntry:
    offer = row.offer
    return entity_from(
        WaitlistEntry,
        row,
        status=WaitlistStatus(row.status),
        offer=None
        if offer is None
        else Offer(
            hold_id=UUID(offer["hold_id"]),
            doctor_id=UUID(offer["doctor_id"]),
            starts_at=_when(offer["starts_at"]),
            ends_at=_when(offer["ends_at"]),
            expires_at=_when(offer["expires_at"]),
        ),
        passed=tuple(
            PassedTime(UUID(p["doctor_id"]), _when(p["starts_at"]), _when(p["ends_at"]))
            for p in row.passed
        ),
    )


def _entry_row(entry: WaitlistEntry) -> dict[str, Any]:
    values = values_of(entry)
    offer = entry.offer
    values["offer"] = (
        None
        if offer is None
        else {
            "hold_id": str(offer.hold_id),
            "doctor_id": str(offer.doctor_id),
            "starts_at": offer.starts_at.isoformat(),
            "ends_at": offer.ends_at.isoformat(),
            "expires_at": offer.expires_at.isoformat(),
        }
    )
    values["passed"] = [
        {
            "doctor_id": str(p.doctor_id),
            "starts_at": p.starts_at.isoformat(),
            "ends_at": p.ends_at.isoformat(),
        }
        for p in entry.passed
    ]
    return values


def _serves(doctor_id: UUID, department_id: UUID) -> ColumnElement[bool]:
    """The entries a doctor could serve: their own, and their department's."""
    t = waitlist_entries
    return or_(
        t.c.doctor_id == doctor_id,
        and_(t.c.doctor_id.is_(None), t.c.department_id == department_id),
    )


def _in_scope(scope: WaitlistScope) -> ColumnElement[bool]:
    """WaitlistScope.admits, as SQL."""
    if scope.everyone:
        return true()
    if scope.doctor is not None:
        return _serves(*scope.doctor)
    if scope.patient_id is not None:
        return waitlist_entries.c.patient_id == scope.patient_id
    return false()


class SqlWaitlistRepository(SqlEntityRepository[WaitlistEntry]):
    table = waitlist_entries
    _from_row = staticmethod(_entry)
    lock_mode = "update"

    async def add(self, entity: WaitlistEntry) -> None:
        await self._db.execute(waitlist_entries.insert().values(_entry_row(entity)))

    async def save(self, entity: WaitlistEntry) -> None:
        t = waitlist_entries
        await self._db.execute(update(t).where(t.c.id == entity.id).values(_entry_row(entity)))

    async def search(self, filters: WaitlistFilter, page: PageRequest) -> Page[WaitlistEntry]:
        t = waitlist_entries
        query = select(t).where(_in_scope(filters.scope))
        if filters.status is not None:
            query = query.where(t.c.status == filters.status.value)
        rows, total = await self._page(query, [t.c.created_at, t.c.id], page)
        return Page([_entry(r) for r in rows], total, page.limit, page.offset)

    async def waiting_for(
        self, *, doctor_id: UUID, department_id: UUID, day_from: date, day_to: date
    ) -> list[WaitlistEntry]:
        t = waitlist_entries
        query = (
            select(t)
            .where(
                _serves(doctor_id, department_id),
                t.c.status == WaitlistStatus.WAITING.value,
                t.c.date_from <= day_to,
                t.c.date_to >= day_from,
            )
            .order_by(t.c.created_at, t.c.id)
            .with_for_update()
        )
        return [_entry(r) for r in await self._db.execute(query)]

    async def ended_before(self, today: date, limit: int) -> list[WaitlistEntry]:
        t = waitlist_entries
        query = (
            select(t)
            .where(t.c.status == WaitlistStatus.WAITING.value, t.c.date_to < today)
            .order_by(t.c.date_to, t.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [_entry(r) for r in await self._db.execute(query)]
