"""Doctors (named by their user), their weekly schedules and their time off."""

from __future__ import annotations

import copy
from uuid import UUID

from appointments.adapters.memory.repositories.base import (
    MemoryRepository,
    contains,
    page_of,
    stored,
)
from appointments.application.ports.queries import DoctorFilter, Page, PageRequest
from appointments.application.ports.repositories import PlacementParties
from appointments.domain.doctors import Doctor
from appointments.domain.schedule import Span, TimeOff, WeeklySchedule


class MemoryDoctorRepository(MemoryRepository):
    def _with_user(self, doctor: Doctor) -> Doctor:
        """A copy named by its user, as the SQL join reads it."""
        user = self._s.users[doctor.user_id]
        result = copy.copy(doctor)
        result.full_name, result.email = user.full_name, user.email
        return result

    async def add(self, doctor: Doctor, schedule: WeeklySchedule) -> None:
        self._s.doctors[doctor.id] = stored(doctor)
        await self.set_schedule(doctor.id, schedule)

    async def get(self, doctor_id: UUID, *, lock: bool = False) -> Doctor | None:
        doctor = self._s.doctors.get(doctor_id)
        return self._with_user(doctor) if doctor else None

    async def save(self, doctor: Doctor) -> None:
        """Only the doctor's own columns; name and email are the user's."""
        kept = self._s.doctors.get(doctor.id)
        if kept is not None:
            kept.department_id = doctor.department_id
            kept.specialization = doctor.specialization
            kept.phone = doctor.phone
            kept.is_active = doctor.is_active

    async def search(self, filters: DoctorFilter, page: PageRequest) -> Page[Doctor]:
        q = filters.q

        def keep(d: Doctor) -> bool:
            return (
                (filters.department_id is None or d.department_id == filters.department_id)
                and (filters.is_active is None or d.is_active == filters.is_active)
                and (not q or any(contains(v, q) for v in (d.full_name, d.specialization, d.email)))
            )

        found = [d for d in map(self._with_user, self._s.doctors.values()) if keep(d)]
        return page_of(found, lambda d: (d.full_name, d.id), page)

    async def get_schedule(self, doctor_id: UUID) -> WeeklySchedule:
        return self._s.schedules.get(doctor_id, WeeklySchedule(()))

    async def lock_for_placement(
        self, patient_id: UUID, doctor_id: UUID, within: Span
    ) -> PlacementParties | None:
        patient, doctor = self._s.patients.get(patient_id), await self.get(doctor_id)
        if patient is None or doctor is None:
            return None
        schedule = await self.get_schedule(doctor_id)
        absences = await self.list_time_off(doctor_id, within)
        expiries = [h.expires_at for h in self._s.holds.values() if h.doctor_id == doctor_id]
        holds_until = max(expiries, default=None)
        return PlacementParties(copy.copy(patient), doctor, schedule, absences, holds_until)

    async def set_schedule(self, doctor_id: UUID, schedule: WeeklySchedule) -> None:
        # Read back in order, as WeeklySchedule.of builds it from the rows.
        self._s.schedules[doctor_id] = WeeklySchedule.of(schedule.intervals)

    async def add_time_off(self, time_off: TimeOff) -> None:
        self._s.time_off[time_off.id] = stored(time_off)

    async def get_time_off(self, time_off_id: UUID) -> TimeOff | None:
        return copy.copy(self._s.time_off.get(time_off_id))

    async def delete_time_off(self, time_off_id: UUID) -> None:
        self._s.time_off.pop(time_off_id, None)

    async def list_time_off(self, doctor_id: UUID, within: Span | None = None) -> list[TimeOff]:
        found = [
            copy.copy(t)
            for t in self._s.time_off.values()
            if t.doctor_id == doctor_id and (within is None or t.span.overlaps(within))
        ]
        return sorted(found, key=lambda t: (t.starts_at, t.id))
