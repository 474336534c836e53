"""Patient records, with or without a login."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from uuid import UUID, uuid4


@dataclass(slots=True)
class Patient:
    """A patient record; `user_id` is None for patients registered at the front desk.

    A patient with a login keeps its own name and email (the front desk may correct them
    without touching the login); renaming the login through the admin API renames the
    record too, see application/users.py."""

    full_name: str
    created_at: datetime
    user_id: UUID | None = None
    email: str | None = None
    phone: str | None = None
    date_of_birth: date | None = None
    is_active: bool = True
    id: UUID = field(default_factory=uuid4)

    def deactivate(self) -> None:
        self.is_active = False
