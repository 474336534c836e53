"""Appointments: searches within what the caller may see, and the busy time of a party."""

from __future__ import annotations

import copy
from datetime import datetime
from uuid import UUID

from appointments.adapters.memory.repositories.base import MemoryRepository, page_of, stored
from appointments.application.ports.queries import AppointmentFilter, Page, PageRequest
from appointments.domain.appointments import CHANGEABLE_STATUSES, Appointment
from appointments.domain.errors import DoctorUnavailable, PatientUnavailable, RoomUnavailable
from appointments.domain.schedule import Span


class MemoryAppointmentRepository(MemoryRepository):
    """Refuses overlaps on write, like the PostgreSQL exclusion constraints (the doctor's
    checked first)."""

    refuses_overlaps = True

    def _refuse_overlaps(self, appointment: Appointment) -> None:
        if not appointment.is_active:
            return
        others = [
            other
            for other in self._s.appointments.values()
            if other.id != appointment.id and other.is_active
        ]
        if any(
            o.doctor_id == appointment.doctor_id and o.blocked.overlaps(appointment.blocked)
            for o in others
        ):
            raise DoctorUnavailable()
        clashes = [o for o in others if o.span.overlaps(appointment.span)]
        if any(other.patient_id == appointment.patient_id for other in clashes):
            raise PatientUnavailable()
        if appointment.room_id is not None and any(
            other.room_id == appointment.room_id for other in clashes
        ):
            raise RoomUnavailable()

    async def add(self, appointment: Appointment) -> None:
        self._refuse_overlaps(appointment)
        self._s.appointments[appointment.id] = stored(appointment)

    async def add_at_commit(self, appointment: Appointment) -> None:
        """Written at once: a memory store has no round trips to save."""
        await self.add(appointment)

    async def get(self, appointment_id: UUID, *, lock: bool = False) -> Appointment | None:
        return copy.copy(self._s.appointments.get(appointment_id))

    async def save(self, appointment: Appointment) -> None:
        if appointment.id in self._s.appointments:
            self._refuse_overlaps(appointment)
            self._s.appointments[appointment.id] = stored(appointment)

    async def search(self, filters: AppointmentFilter, page: PageRequest) -> Page[Appointment]:
        def keep(a: Appointment) -> bool:
            return (
                filters.scope.admits(a)
                and (filters.doctor_id is None or a.doctor_id == filters.doctor_id)
                and (filters.patient_id is None or a.patient_id == filters.patient_id)
                and (filters.status is None or a.status is filters.status)
                and (filters.statuses is None or a.status in filters.statuses)
                and (filters.starts_from is None or a.starts_at >= filters.starts_from)
                and (filters.starts_before is None or a.starts_at < filters.starts_before)
            )

        found = filter(keep, self._s.appointments.values())
        return page_of(found, lambda a: (a.starts_at, a.id), page)

    async def busy_spans(
        self,
        *,
        within: Span,
        doctor_id: UUID | None = None,
        patient_id: UUID | None = None,
        room_id: UUID | None = None,
        exclude_id: UUID | None = None,
    ) -> list[Span]:
        return sorted(
            a.span
            for a in self._s.appointments.values()
            if a.is_active
            and a.id != exclude_id
            and a.span.overlaps(within)
            and (doctor_id is None or a.doctor_id == doctor_id)
            and (patient_id is None or a.patient_id == patient_id)
            and (room_id is None or a.room_id == room_id)
        )

    async def blocked_spans(
        self, *, within: Span, doctor_id: UUID, exclude_id: UUID | None = None
    ) -> list[Span]:
        return sorted(
            a.blocked
            for a in self._s.appointments.values()
            if a.is_active
            and a.id != exclude_id
            and a.doctor_id == doctor_id
            and a.blocked.overlaps(within)
        )

    async def count_future_active(self, *, patient_id: UUID, now: datetime) -> int:
        return sum(
            1
            for a in self._s.appointments.values()
            if a.patient_id == patient_id and a.is_active and a.starts_at > now
        )

    async def future_active(
        self, *, now: datetime, doctor_id: UUID | None = None, patient_id: UUID | None = None
    ) -> list[Appointment]:
        found = [
            copy.copy(a)
            for a in self._s.appointments.values()
            if a.status in CHANGEABLE_STATUSES
            and a.starts_at > now
            and (doctor_id is None or a.doctor_id == doctor_id)
            and (patient_id is None or a.patient_id == patient_id)
        ]
        return sorted(found, key=lambda a: a.starts_at)

    async def in_series(self, series_id: UUID, *, lock: bool = False) -> list[Appointment]:
        found = [copy.copy(a) for a in self._s.appointments.values() if a.series_id == series_id]
        return sorted(found, key=lambda a: (a.starts_at, a.id))
