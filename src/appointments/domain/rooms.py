"""Rooms: a name unique in the clinic; no two active appointments overlap in one room."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID, uuid4

from appointments.domain.text import Length

ROOM_NAME = Length(1, 100)


def check_room_name(name: str) -> str:
    return ROOM_NAME.trimmed(name, "A room name")


@dataclass(slots=True)
class Room:
    name: str
    department_id: UUID | None = None
    is_active: bool = True
    id: UUID = field(default_factory=uuid4)

    def __post_init__(self) -> None:
        self.name = check_room_name(self.name)

    def rename(self, name: str) -> None:
        self.name = check_room_name(name)

    def deactivate(self) -> None:
        self.is_active = False
