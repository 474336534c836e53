"""Doctors: who they are in the clinic. Their working time is in schedule.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID, uuid4

from appointments.domain.text import Length

SPECIALIZATION = Length(1, 200)


@dataclass(slots=True)
class Doctor:
    """A doctor is always backed by a DOCTOR user; name and email live on that user (the
    repositories read them from it, so they cannot drift apart)."""

    user_id: UUID
    full_name: str
    email: str
    department_id: UUID
    specialization: str
    phone: str | None = None
    is_active: bool = True
    id: UUID = field(default_factory=uuid4)

    def deactivate(self) -> None:
        self.is_active = False
