from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, Field

from appointments.domain.appointments import Status
from appointments.entrypoints.api.schemas.common import (
    JSON_NUMBER,
    Input,
    LongText,
    Output,
    ShortText,
    UtcDatetime,
)

DurationMinutes = Annotated[int, Field(ge=1, le=24 * 60), JSON_NUMBER]


class AppointmentOut(Output):
    id: UUID
    patient_id: UUID
    doctor_id: UUID
    department_id: UUID
    starts_at: datetime
    ends_at: datetime
    status: Status
    reason: str | None
    notes: str | None
    cancellation_reason: str | None
    created_at: datetime
    updated_at: datetime


class AppointmentIn(Input):
    doctor_id: UUID
    patient_id: UUID | None = None
    starts_at: UtcDatetime
    ends_at: UtcDatetime | None = None
    duration_minutes: DurationMinutes | None = None
    reason: ShortText | None = None


class AppointmentPatchIn(Input):
    not_null = frozenset({"starts_at", "ends_at", "duration_minutes"})

    starts_at: UtcDatetime | None = None
    ends_at: UtcDatetime | None = None
    duration_minutes: DurationMinutes | None = None
    reason: ShortText | None = None
    notes: LongText | None = None


class CancelIn(Input):
    reason: ShortText | None = None


class UsersStats(BaseModel):
    total: int
    active: int
    by_role: dict[str, int]


class AppointmentsStats(BaseModel):
    total: int
    by_status: dict[str, int]
    today: int
    upcoming_7_days: int


class DashboardOut(BaseModel):
    users: UsersStats
    departments: int
    doctors: int
    patients: int
    appointments: AppointmentsStats
