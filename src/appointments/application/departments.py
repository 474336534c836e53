"""Departments: everyone reads, admins manage."""

from __future__ import annotations

from uuid import UUID

from appointments.application.actor import ADMIN_ONLY, Actor, visible_or_404
from appointments.application.ports import Page, PageRequest, UnitOfWork
from appointments.domain.clinic import Department
from appointments.domain.errors import DepartmentExists, DepartmentNotEmpty, InvalidValue


def _name(name: str) -> str:
    cleaned = name.strip()
    if not 1 <= len(cleaned) <= 100:
        raise InvalidValue("A department name is 1 to 100 characters.")
    return cleaned


class ListDepartments:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def __call__(self, actor: Actor, page: PageRequest) -> Page[Department]:
        async with self._uow as uow:
            return await uow.departments.search(page)


class GetDepartment:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def __call__(self, actor: Actor, department_id: UUID) -> Department:
        async with self._uow as uow:
            return visible_or_404(await uow.departments.get(department_id))


class CreateDepartment:
    roles = ADMIN_ONLY

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def __call__(self, actor: Actor, name: str, description: str | None) -> Department:
        actor.require(*self.roles)
        department = Department(name=_name(name), description=description)
        async with self._uow as uow:
            if await uow.departments.name_taken(department.name):
                raise DepartmentExists()
            await uow.departments.add(department)
            await uow.commit()
        return department


class UpdateDepartment:
    roles = ADMIN_ONLY

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def __call__(
        self,
        actor: Actor,
        department_id: UUID,
        name: str | None,
        description: str | None,
        description_sent: bool,
    ) -> Department:
        actor.require(*self.roles)
        async with self._uow as uow:
            department = visible_or_404(await uow.departments.get(department_id))
            if name is not None:
                department.name = _name(name)
                if await uow.departments.name_taken(department.name, except_id=department.id):
                    raise DepartmentExists()
            if description_sent:
                department.description = description
            await uow.departments.save(department)
            await uow.commit()
        return department


class DeleteDepartment:
    roles = ADMIN_ONLY

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def __call__(self, actor: Actor, department_id: UUID) -> None:
        actor.require(*self.roles)
        async with self._uow as uow:
            visible_or_404(await uow.departments.get(department_id))
            if await uow.departments.has_doctors(department_id):
                raise DepartmentNotEmpty()
            await uow.departments.delete(department_id)
            await uow.commit()
