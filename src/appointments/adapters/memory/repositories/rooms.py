"""Rooms: names unique in the clinic, case-insensitively, as the SQL unique index keeps
them."""

from __future__ import annotations

import copy
from uuid import UUID

from appointments.adapters.memory.repositories.base import MemoryRepository, page_of, stored
from appointments.application.ports.queries import CatalogFilter, Page, PageRequest
from appointments.domain.errors import RoomExists
from appointments.domain.rooms import Room


class MemoryRoomRepository(MemoryRepository):
    async def add(self, room: Room) -> None:
        if await self.name_taken(room.name):
            raise RoomExists()
        self._s.rooms[room.id] = stored(room)

    async def get(self, room_id: UUID, *, lock: bool = False) -> Room | None:
        return copy.copy(self._s.rooms.get(room_id))

    async def save(self, room: Room) -> None:
        if room.id not in self._s.rooms:
            return
        if await self.name_taken(room.name, except_id=room.id):
            raise RoomExists()
        self._s.rooms[room.id] = stored(room)

    async def search(self, filters: CatalogFilter, page: PageRequest) -> Page[Room]:
        found = [
            r
            for r in self._s.rooms.values()
            if (filters.department_id is None or r.department_id == filters.department_id)
            and (filters.is_active is None or r.is_active == filters.is_active)
        ]
        return page_of(found, lambda r: (r.name.lower(), r.id), page)

    async def name_taken(self, name: str, *, except_id: UUID | None = None) -> bool:
        return any(
            r.name.lower() == name.lower() and r.id != except_id for r in self._s.rooms.values()
        )
