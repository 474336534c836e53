"""Departments: unique names, and no deletion while anything refers to them."""

from __future__ import annotations

import copy
import itertools
from uuid import UUID

from appointments.adapters.memory.repositories.base import MemoryRepository, page_of, stored
from appointments.application.ports.queries import Page, PageRequest
from appointments.domain.departments import Department
from appointments.domain.errors import DepartmentExists, DepartmentNotEmpty


class MemoryDepartmentRepository(MemoryRepository):
    async def add(self, department: Department) -> None:
        if await self.name_taken(department.name):
            raise DepartmentExists()
        self._s.departments[department.id] = stored(department)

    async def get(self, department_id: UUID) -> Department | None:
        return copy.copy(self._s.departments.get(department_id))

    async def save(self, department: Department) -> None:
        if department.id not in self._s.departments:
            return
        if await self.name_taken(department.name, except_id=department.id):
            raise DepartmentExists()
        self._s.departments[department.id] = stored(department)

    async def delete(self, department_id: UUID) -> None:
        """Refused while doctors, appointments, services or rooms refer to it (the foreign
        keys)."""
        referrers = itertools.chain(
            (a.department_id for a in self._s.appointments.values()),
            (s.department_id for s in self._s.services.values()),
            (r.department_id for r in self._s.rooms.values()),
        )
        referenced = await self.has_doctors(department_id) or department_id in referrers
        if referenced:
            raise DepartmentNotEmpty()
        self._s.departments.pop(department_id, None)

    async def search(self, page: PageRequest) -> Page[Department]:
        return page_of(self._s.departments.values(), lambda d: (d.name.lower(), d.id), page)

    async def name_taken(self, name: str, *, except_id: UUID | None = None) -> bool:
        return any(
            d.name.lower() == name.lower() and d.id != except_id
            for d in self._s.departments.values()
        )

    async def has_doctors(self, department_id: UUID) -> bool:
        return any(d.department_id == department_id for d in self._s.doctors.values())
