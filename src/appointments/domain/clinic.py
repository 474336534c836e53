"""The clinic's catalog: departments, doctors and patients."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from uuid import UUID, uuid4


@dataclass(slots=True)
class Department:
    name: str
    description: str | None = None
    id: UUID = field(default_factory=uuid4)


@dataclass(slots=True)
class Doctor:
    """A doctor is always backed by a DOCTOR user; name and email live on that user."""

    user_id: UUID
    full_name: str
    email: str
    department_id: UUID
    specialization: str
    phone: str | None = None
    is_active: bool = True
    id: UUID = field(default_factory=uuid4)


@dataclass(slots=True)
class Patient:
    """A patient record; `user_id` is None for patients registered at the front desk."""

    full_name: str
    created_at: datetime
    user_id: UUID | None = None
    email: str | None = None
    phone: str | None = None
    date_of_birth: date | None = None
    is_active: bool = True
    id: UUID = field(default_factory=uuid4)
