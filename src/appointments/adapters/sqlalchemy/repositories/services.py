"""Services: names unique within their department, case-insensitively (the unique index
uq_services_department_id_name_lower; its violation maps to ServiceExists)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import Row, and_, exists, func, select

from appointments.adapters.sqlalchemy.repositories.base import SqlEntityRepository, entity_from
from appointments.adapters.sqlalchemy.tables import services
from appointments.application.ports.queries import CatalogFilter, Page, PageRequest
from appointments.domain.services import Service


def _service(row: Row[Any]) -> Service:
    return entity_from(Service, row)


class SqlServiceRepository(SqlEntityRepository[Service]):
    table = services
    _from_row = staticmethod(_service)

    async def search(self, filters: CatalogFilter, page: PageRequest) -> Page[Service]:
        query = select(services)
        if filters.department_id is not None:
            query = query.where(services.c.department_id == filters.department_id)
        if filters.is_active is not None:
            query = query.where(services.c.is_active == filters.is_active)
        order = [services.c.department_id, func.lower(services.c.name), services.c.id]
        rows, total = await self._page(query, order, page)
        return Page([_service(r) for r in rows], total, page.limit, page.offset)

    async def name_taken(
        self, department_id: UUID, name: str, *, except_id: UUID | None = None
    ) -> bool:
        condition = and_(
            services.c.department_id == department_id,
            func.lower(services.c.name) == name.lower(),
        )
        if except_id is not None:
            condition = and_(condition, services.c.id != except_id)
        return bool((await self._db.execute(select(exists().where(condition)))).scalar())
