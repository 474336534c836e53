"""Rooms: everyone reads, admins manage; deleting deactivates.

A room's name is unique in the clinic (case-insensitively): the use-cases check it for a
friendly 409, the database's unique index guards it under concurrency. A room may belong
to a department (an existing one) or to none."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from appointments.application.access import ADMIN_ONLY, Actor, Restricted, visible
from appointments.application.departments import department_must_exist
from appointments.application.events import Tracked, created
from appointments.application.ports.queries import CatalogFilter, Page, PageRequest
from appointments.application.ports.unit_of_work import UnitOfWork
from appointments.domain.changes import UNSET, Maybe
from appointments.domain.errors import RoomExists
from appointments.domain.rooms import Room


class ListRooms:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def __call__(self, actor: Actor, filters: CatalogFilter, page: PageRequest) -> Page[Room]:
        async with self._uow as uow:
            return await uow.rooms.search(filters, page)


class GetRoom:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def __call__(self, actor: Actor, room_id: UUID) -> Room:
        async with self._uow as uow:
            return visible(await uow.rooms.get(room_id))


class CreateRoom(Restricted, roles=ADMIN_ONLY):
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def __call__(self, actor: Actor, name: str, department_id: UUID | None) -> Room:
        room = Room(name=name, department_id=department_id)
        async with self._uow as uow:
            if department_id is not None:
                await department_must_exist(uow, department_id)
            if await uow.rooms.name_taken(room.name):
                raise RoomExists()
            await uow.rooms.add(room)
            uow.record(created("room.created", actor, room))
            await uow.commit()
        return room


@dataclass(frozen=True, slots=True)
class RoomChanges:
    name: Maybe[str] = UNSET
    department_id: Maybe[UUID | None] = UNSET
    is_active: Maybe[bool] = UNSET


class UpdateRoom(Restricted, roles=ADMIN_ONLY):
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def __call__(self, actor: Actor, room_id: UUID, changes: RoomChanges) -> Room:
        async with self._uow as uow:
            room = visible(await uow.rooms.get(room_id))
            tracked = Tracked(room)
            if changes.name is not UNSET:
                room.rename(changes.name)
            if changes.department_id is not UNSET:
                if changes.department_id is not None:
                    await department_must_exist(uow, changes.department_id)
                room.department_id = changes.department_id
            if changes.is_active is not UNSET:
                room.is_active = changes.is_active
            if changes.name is not UNSET and await uow.rooms.name_taken(
                room.name, except_id=room.id
            ):
                raise RoomExists()
            await uow.rooms.save(room)
            uow.record(tracked.event("room.updated", actor))
            await uow.commit()
        return room


class DeleteRoom(Restricted, roles=ADMIN_ONLY):
    """Deactivates: new bookings and holds refuse the room, booked appointments keep it."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def __call__(self, actor: Actor, room_id: UUID) -> None:
        async with self._uow as uow:
            room = visible(await uow.rooms.get(room_id))
            tracked = Tracked(room)
            room.deactivate()
            await uow.rooms.save(room)
            uow.record(tracked.event("room.deleted", actor))
            await uow.commit()
