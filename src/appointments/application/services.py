"""Services (appointment types): everyone reads, admins manage; deleting deactivates.

A service belongs to an existing department, and its name is unique within that
department (case-insensitively): the use-cases check it for a friendly 409, the database's
unique index guards it under concurrency."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TypeVar
from uuid import UUID

from appointments.application.access import ADMIN_ONLY, Actor, Restricted, visible
from appointments.application.departments import department_must_exist
from appointments.application.events import Tracked, created, replaced
from appointments.application.ports.queries import CatalogFilter, Page, PageRequest
from appointments.application.ports.unit_of_work import UnitOfWork
from appointments.domain.changes import UNSET, Maybe, kept
from appointments.domain.errors import ServiceExists
from appointments.domain.services import Service

T = TypeVar("T")


class ListServices:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def __call__(
        self, actor: Actor, filters: CatalogFilter, page: PageRequest
    ) -> Page[Service]:
        async with self._uow as uow:
            return await uow.services.search(filters, page)


class GetService:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def __call__(self, actor: Actor, service_id: UUID) -> Service:
        async with self._uow as uow:
            return visible(await uow.services.get(service_id))


@dataclass(frozen=True, slots=True)
class NewService:
    name: str
    department_id: UUID
    duration_minutes: int
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 0
    description: str | None = None


class CreateService(Restricted, roles=ADMIN_ONLY):
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def __call__(self, actor: Actor, data: NewService) -> Service:
        service = Service(**dataclasses.asdict(data))
        async with self._uow as uow:
            await department_must_exist(uow, service.department_id)
            if await uow.services.name_taken(service.department_id, service.name):
                raise ServiceExists()
            await uow.services.add(service)
            uow.record(created("service.created", actor, service))
            await uow.commit()
        return service


@dataclass(frozen=True, slots=True)
class ServiceChanges:
    name: Maybe[str] = UNSET
    department_id: Maybe[UUID] = UNSET
    duration_minutes: Maybe[int] = UNSET
    buffer_before_minutes: Maybe[int] = UNSET
    buffer_after_minutes: Maybe[int] = UNSET
    description: Maybe[str | None] = UNSET
    is_active: Maybe[bool] = UNSET


def _changed(service: Service, changes: ServiceChanges) -> Service:
    """The service with `changes` applied, validated as a whole by Service itself."""
    return Service(
        name=kept(changes.name, service.name),
        department_id=kept(changes.department_id, service.department_id),
        duration_minutes=kept(changes.duration_minutes, service.duration_minutes),
        buffer_before_minutes=kept(changes.buffer_before_minutes, service.buffer_before_minutes),
        buffer_after_minutes=kept(changes.buffer_after_minutes, service.buffer_after_minutes),
        description=kept(changes.description, service.description),
        is_active=kept(changes.is_active, service.is_active),
        id=service.id,
    )


class UpdateService(Restricted, roles=ADMIN_ONLY):
    """Any field; the changed service is checked as a whole (Service's own rules), and its
    name again within its (possibly new) department."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def __call__(self, actor: Actor, service_id: UUID, changes: ServiceChanges) -> Service:
        async with self._uow as uow:
            current = visible(await uow.services.get(service_id))
            service = _changed(current, changes)
            if changes.department_id is not UNSET:
                await department_must_exist(uow, service.department_id)
            moved = (service.department_id, service.name) != (current.department_id, current.name)
            if moved and await uow.services.name_taken(
                service.department_id, service.name, except_id=service.id
            ):
                raise ServiceExists()
            await uow.services.save(service)
            uow.record(replaced("service.updated", actor, current, service))
            await uow.commit()
        return service


class DeleteService(Restricted, roles=ADMIN_ONLY):
    """Deactivates: appointments booked with the service keep it."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def __call__(self, actor: Actor, service_id: UUID) -> None:
        async with self._uow as uow:
            service = visible(await uow.services.get(service_id))
            tracked = Tracked(service)
            service.deactivate()
            await uow.services.save(service)
            uow.record(tracked.event("service.deleted", actor))
            await uow.commit()
