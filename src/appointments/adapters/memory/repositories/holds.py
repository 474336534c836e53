"""Holds and the waitlist, in memory."""

from __future__ import annotations

import copy
from datetime import date, datetime
from uuid import UUID

from appointments.adapters.memory.repositories.base import MemoryRepository, page_of, stored
from appointments.application.ports.holds import WaitlistFilter
from appointments.application.ports.queries import Page, PageRequest
from appointments.domain.holds import Hold
from appointments.domain.schedule import Span
from appointments.domain.waitlist import WaitlistEntry, WaitlistStatus


class MemoryHoldRepository(MemoryRepository):
    async def add(self, hold: Hold) -> None:
        self._s.holds[hold.id] = stored(hold)

    async def get(self, hold_id: UUID, *, lock: bool = False) -> Hold | None:
        return self._s.holds.get(hold_id)

    async def delete(self, hold_id: UUID) -> None:
        self._s.holds.pop(hold_id, None)

    async def blocking(
        self,
        *,
        within: Span,
        now: datetime,
        doctor_id: UUID | None = None,
        room_id: UUID | None = None,
        exclude_id: UUID | None = None,
    ) -> list[Span]:
        live = [h for h in self._s.holds.values() if h.is_live(now) and h.id != exclude_id]
        spans = [h.blocked for h in live if doctor_id is not None and h.doctor_id == doctor_id]
        spans += [h.span for h in live if room_id is not None and h.room_id == room_id]
        return sorted((s for s in spans if s.overlaps(within)), key=lambda s: s.starts_at)

    async def take_expired(self, now: datetime, limit: int) -> list[Hold]:
        expired = sorted(
            (h for h in self._s.holds.values() if not h.is_live(now)), key=lambda h: h.expires_at
        )
        return expired[:limit]


class MemoryWaitlistRepository(MemoryRepository):
    async def add(self, entry: WaitlistEntry) -> None:
        self._s.waitlist[entry.id] = stored(entry)

    async def get(self, entry_id: UUID, *, lock: bool = False) -> WaitlistEntry | None:
        return copy.copy(self._s.waitlist.get(entry_id))

    async def save(self, entry: WaitlistEntry) -> None:
        if entry.id in self._s.waitlist:
            self._s.waitlist[entry.id] = stored(entry)

    async def search(self, filters: WaitlistFilter, page: PageRequest) -> Page[WaitlistEntry]:
        def keep(e: WaitlistEntry) -> bool:
            return filters.scope.admits(e) and (
                filters.status is None or e.status is filters.status
            )

        found = filter(keep, self._s.waitlist.values())
        return page_of(found, lambda e: (e.created_at, str(e.id)), page)

    async def waiting_for(
        self, *, doctor_id: UUID, department_id: UUID, day_from: date, day_to: date
    ) -> list[WaitlistEntry]:
        found = [
            copy.copy(e)
            for e in self._s.waitlist.values()
            if e.status is WaitlistStatus.WAITING
            and e.date_from <= day_to
            and e.date_to >= day_from
            and (
                e.doctor_id == doctor_id
                or (e.doctor_id is None and e.department_id == department_id)
            )
        ]
        return sorted(found, key=lambda e: (e.created_at, str(e.id)))

    async def ended_before(self, today: date, limit: int) -> list[WaitlistEntry]:
        ended = [
            copy.copy(e)
            for e in self._s.waitlist.values()
            if e.status is WaitlistStatus.WAITING and e.date_to < today
        ]
        return sorted(ended, key=lambda e: (e.date_to, str(e.id)))[:limit]
