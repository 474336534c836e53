"""Rooms: names unique in the clinic, case-insensitively (the unique index
uq_rooms_name_lower; its violation maps to RoomExists)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import Row, and_, exists, func, select

from appointments.adapters.sqlalchemy.repositories.base import SqlEntityRepository, entity_from
from appointments.adapters.sqlalchemy.tables import rooms
from appointments.application.ports.queries import CatalogFilter, Page, PageRequest
from appointments.domain.rooms import Room


def _room(row: Row[Any]) -> Room:
    return entity_from(Room, row)


class SqlRoomRepository(SqlEntityRepository[Room]):
    table = rooms
    _from_row = staticmethod(_room)

    async def search(self, filters: CatalogFilter, page: PageRequest) -> Page[Room]:
        query = select(rooms)
        if filters.department_id is not None:
            query = query.where(rooms.c.department_id == filters.department_id)
        if filters.is_active is not None:
            query = query.where(rooms.c.is_active == filters.is_active)
        rows, total = await self._page(query, [func.lower(rooms.c.name), rooms.c.id], page)
        return Page([_room(r) for r in rows], total, page.limit, page.offset)

    async def name_taken(self, name: str, *, except_id: UUID | None = None) -> bool:
        condition = func.lower(rooms.c.name) == name.lower()
        if except_id is not None:
            condition = and_(condition, rooms.c.id != except_id)
        return bool((await self._db.execute(select(exists().where(condition)))).scalar())
