"""Departments: a name unique in the clinic (case-insensitively) and a description."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID, uuid4

from appointments.domain.text import Length

DEPARTMENT_NAME = Length(1, 100)
DESCRIPTION = Length(0, 5000)


def check_department_name(name: str) -> str:
    return DEPARTMENT_NAME.trimmed(name, "A department name")


@dataclass(slots=True)
class Department:
    name: str
    description: str | None = None
    id: UUID = field(default_factory=uuid4)

    def __post_init__(self) -> None:
        self.name = check_department_name(self.name)

    def rename(self, name: str) -> None:
        self.name = check_department_name(name)
