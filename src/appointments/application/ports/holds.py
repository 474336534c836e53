"""Repositories of the calendar-filling pieces: holds and the waitlist."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol
from uuid import UUID

from appointments.application.access import WaitlistScope
from appointments.application.ports.queries import Page, PageRequest
from appointments.domain.holds import Hold
from appointments.domain.schedule import Span
from appointments.domain.waitlist import WaitlistEntry, WaitlistStatus


class HoldRepository(Protocol):
    async def add(self, hold: Hold) -> None: ...

    async def get(self, hold_id: UUID, *, lock: bool = False) -> Hold | None: ...

    async def delete(self, hold_id: UUID) -> None: ...

    async def blocking(
        self,
        *,
        within: Span,
        now: datetime,
        doctor_id: UUID | None = None,
        room_id: UUID | None = None,
        exclude_id: UUID | None = None,
    ) -> list[Span]:
        """Live holds overlapping `within`: the doctor's as the time they block (buffers
        included), the room's as their own spans."""

    async def take_expired(self, now: datetime, limit: int) -> list[Hold]:
        """Expired holds, locked (skipping those another sweeper holds), oldest first."""


@dataclass(frozen=True, slots=True)
class WaitlistFilter:
    """What the caller asked for, within what the caller may see (`scope`)."""

    scope: WaitlistScope
    status: WaitlistStatus | None = None


class WaitlistRepository(Protocol):
    async def add(self, entry: WaitlistEntry) -> None: ...

    async def get(self, entry_id: UUID, *, lock: bool = False) -> WaitlistEntry | None: ...

    async def save(self, entry: WaitlistEntry) -> None: ...

    async def search(self, filters: WaitlistFilter, page: PageRequest) -> Page[WaitlistEntry]:
        """Oldest first (created_at, id)."""

    async def waiting_for(
        self, *, doctor_id: UUID, department_id: UUID, day_from: date, day_to: date
    ) -> list[WaitlistEntry]:
        """Waiting entries for this doctor, or for any doctor of the department, whose
        days meet [day_from, day_to]; oldest first, locked (skipping none: two offers of
        one entry at once must queue)."""

    async def ended_before(self, today: date, limit: int) -> list[WaitlistEntry]:
        """Waiting entries whose last day is before `today` (to expire), locked, skipping
        those another sweeper holds."""
