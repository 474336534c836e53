"""Services: names unique within their department, case-insensitively, as the SQL unique
index keeps them."""

from __future__ import annotations

import copy
from uuid import UUID

from appointments.adapters.memory.repositories.base import MemoryRepository, page_of, stored
from appointments.application.ports.queries import CatalogFilter, Page, PageRequest
from appointments.domain.errors import ServiceExists
from appointments.domain.services import Service


class MemoryServiceRepository(MemoryRepository):
    async def add(self, service: Service) -> None:
        if await self.name_taken(service.department_id, service.name):
            raise ServiceExists()
        self._s.services[service.id] = stored(service)

    async def get(self, service_id: UUID) -> Service | None:
        return copy.copy(self._s.services.get(service_id))

    async def save(self, service: Service) -> None:
        if service.id not in self._s.services:
            return
        if await self.name_taken(service.department_id, service.name, except_id=service.id):
            raise ServiceExists()
        self._s.services[service.id] = stored(service)

    async def search(self, filters: CatalogFilter, page: PageRequest) -> Page[Service]:
        found = [
            s
            for s in self._s.services.values()
            if (filters.department_id is None or s.department_id == filters.department_id)
            and (filters.is_active is None or s.is_active == filters.is_active)
        ]
        return page_of(found, lambda s: (s.department_id, s.name.lower(), s.id), page)

    async def name_taken(
        self, department_id: UUID, name: str, *, except_id: UUID | None = None
    ) -> bool:
        return any(
            (s.department_id, s.name.lower()) == (department_id, name.lower()) and s.id != except_id
            for s in self._s.services.values()
        )
