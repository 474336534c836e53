"""Departments: everyone reads, admins manage."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from appointments.application.access import ADMIN_ONLY, Actor, Restricted, visible
from appointments.application.events import Tracked, created, deleted
from appointments.application.ports.queries import Page, PageRequest
from appointments.application.ports.unit_of_work import UnitOfWork
from appointments.domain.changes import UNSET, Maybe
from appointments.domain.departments import Department
from appointments.domain.errors import DepartmentExists, DepartmentNotEmpty, InvalidValue


async def department_must_exist(uow: UnitOfWork, department_id: UUID) -> None:
    """What refers to a department (a doctor, a service, a room) names an existing one:
    422, the id is input, not the object the request is about."""
    if await uow.departments.get(department_id) is None:
        raise InvalidValue("The department does not exist.")


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
            return visible(await uow.departments.get(department_id))


class CreateDepartment(Restricted, roles=ADMIN_ONLY):
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def __call__(self, actor: Actor, name: str, description: str | None) -> Department:
        department = Department(name=name, description=description)
        async with self._uow as uow:
            if await uow.departments.name_taken(department.name):
                raise DepartmentExists()
            await uow.departments.add(department)
            uow.record(created("department.created", actor, department))
            await uow.commit()
        return department


@dataclass(frozen=True, slots=True)
class DepartmentChanges:
    name: Maybe[str] = UNSET
    description: Maybe[str | None] = UNSET


class UpdateDepartment(Restricted, roles=ADMIN_ONLY):
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def __call__(
        self, actor: Actor, department_id: UUID, changes: DepartmentChanges
    ) -> Department:
        async with self._uow as uow:
            department = visible(await uow.departments.get(department_id))
            tracked = Tracked(department)
            if changes.name is not UNSET:
                department.rename(changes.name)
                if await uow.departments.name_taken(department.name, except_id=department.id):
                    raise DepartmentExists()
            if changes.description is not UNSET:
                department.description = changes.description
            await uow.departments.save(department)
            uow.record(tracked.event("department.updated", actor))
            await uow.commit()
        return department


class DeleteDepartment(Restricted, roles=ADMIN_ONLY):
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def __call__(self, actor: Actor, department_id: UUID) -> None:
        async with self._uow as uow:
            department = visible(await uow.departments.get(department_id))
            if await uow.departments.has_doctors(department_id):
                raise DepartmentNotEmpty()
            await uow.departments.delete(department_id)
            uow.record(deleted("department.deleted", actor, department))
            await uow.commit()
