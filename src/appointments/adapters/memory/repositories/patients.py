"""Patient records, and which of them a caller may see."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from uuid import UUID

from appointments.adapters.memory.repositories.base import (
    MemoryRepository,
    contains,
    page_of,
    stored,
)
from appointments.application.access import PatientScope
from appointments.application.ports.queries import Page, PageRequest, PatientFilter
from appointments.domain.patients import Patient


class MemoryPatientRepository(MemoryRepository):
    def _in_scope(self, scope: PatientScope) -> Callable[[Patient], bool]:
        """The patients `scope` admits, for `search` and `get_in_scope` alike. Every field
        set narrows; none set admits nobody (as the SQL clause)."""
        if scope.everyone:
            return lambda _: True
        if scope.only_id is None and scope.treated_by is None:
            return lambda _: False
        treated = {
            a.patient_id
            for a in self._s.appointments.values()
            if a.doctor_id == scope.treated_by  # any status
        }
        return lambda p: (
            (scope.only_id is None or p.id == scope.only_id)
            and (scope.treated_by is None or p.id in treated)
        )

    async def add(self, patient: Patient) -> None:
        self._s.patients[patient.id] = stored(patient)

    async def get(self, patient_id: UUID, *, lock: bool = False) -> Patient | None:
        return copy.copy(self._s.patients.get(patient_id))

    async def get_in_scope(self, patient_id: UUID, scope: PatientScope) -> Patient | None:
        patient = self._s.patients.get(patient_id)
        return copy.copy(patient) if patient and self._in_scope(scope)(patient) else None

    async def lock(self, patient_ids: Sequence[UUID]) -> None:
        """One unit of work at a time sees the state: nothing to lock."""

    async def get_by_user(self, user_id: UUID) -> Patient | None:
        found = (p for p in self._s.patients.values() if p.user_id == user_id)
        return copy.copy(next(found, None))

    async def save(self, patient: Patient) -> None:
        if patient.id in self._s.patients:
            self._s.patients[patient.id] = stored(patient)

    async def search(self, filters: PatientFilter, page: PageRequest) -> Page[Patient]:
        q = filters.q
        admits = self._in_scope(filters.scope)

        def keep(p: Patient) -> bool:
            return admits(p) and (
                not q or any(contains(v, q) for v in (p.full_name, p.email, p.phone))
            )

        found = filter(keep, self._s.patients.values())
        return page_of(found, lambda p: (p.full_name, p.id), page)
