"""Departments: unique names, and no deletion while anything refers to them."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import Row, and_, delete, exists, func, select
from sqlalchemy.exc import IntegrityError

from appointments.adapters.sqlalchemy.repositories.base import SqlEntityRepository, entity_from
from appointments.adapters.sqlalchemy.tables import departments, doctors
from appointments.application.ports.queries import Page, PageRequest
from appointments.domain.departments import Department
from appointments.domain.errors import DepartmentNotEmpty


def _department(row: Row[Any]) -> Department:
    return entity_from(Department, row)


class SqlDepartmentRepository(SqlEntityRepository[Department]):
    table = departments
    _from_row = staticmethod(_department)

    async def delete(self, department_id: UUID) -> None:
        try:
            await self._db.execute(delete(departments).where(departments.c.id == department_id))
        except IntegrityError as error:
            # Still referenced (doctors, or appointment history). SQLite's foreign key
            # errors name no constraint, so the UoW cannot map them by name.
            raise DepartmentNotEmpty() from error

    async def search(self, page: PageRequest) -> Page[Department]:
        order = [func.lower(departments.c.name), departments.c.id]
        rows, total = await self._page(select(departments), order, page)
        return Page([_department(r) for r in rows], total, page.limit, page.offset)

    async def name_taken(self, name: str, *, except_id: UUID | None = None) -> bool:
        condition = func.lower(departments.c.name) == name.lower()
        if except_id is not None:
            condition = and_(condition, departments.c.id != except_id)
        return bool((await self._db.execute(select(exists().where(condition)))).scalar())

    async def has_doctors(self, department_id: UUID) -> bool:
        query = select(exists().where(doctors.c.department_id == department_id))
        return bool((await self._db.execute(query)).scalar())
