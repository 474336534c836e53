from __future__ import annotations

from datetime import datetime
from typing import Annotated, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from appointments.domain.appointments import (
    CANCELLATION_REASON,
    NOTES,
    REASON,
    CancelledBy,
    Status,
)
from appointments.domain.booking import MAX_DURATION_MINUTES, MIN_DURATION_MINUTES
from appointments.entrypoints.api.schemas.common import (
    JSON_NUMBER,
    Input,
    Output,
    UtcDatetime,
    free,
)

# The bounds are documented here and enforced by the domain, so any duration out of them
# is refused the same way: 422 `invalid_duration`.
DURATION_BOUNDS = {"minimum": MIN_DURATION_MINUTES, "maximum": MAX_DURATION_MINUTES}
DurationMinutes = Annotated[int, Field(json_schema_extra=DURATION_BOUNDS), JSON_NUMBER]
Reason = Annotated[str, free(REASON)]
Notes = Annotated[str, free(NOTES)]


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
    service_id: UUID | None
    room_id: UUID | None
    series_id: UUID | None
    cancelled_by: CancelledBy | None
    cancelled_at: datetime | None


class AppointmentIn(Input):
    # The schema says what the validator below enforces: without a hold, a doctor and a start.
    model_config = ConfigDict(
        **Input.model_config,
        json_schema_extra={
            "if": {"not": {"required": ["hold_id"]}},
            "then": {"required": ["doctor_id", "starts_at"]},
        },
    )
    not_null = frozenset({"doctor_id", "starts_at", "hold_id"})

    doctor_id: UUID | None = Field(None, description="Required unless hold_id is given.")
    patient_id: UUID | None = None
    starts_at: UtcDatetime | None = Field(None, description="Required unless hold_id is given.")
    ends_at: UtcDatetime | None = None
    duration_minutes: DurationMinutes | None = None
    reason: Reason | None = None
    service_id: UUID | None = Field(
        None, description="The duration defaults to the service's; its buffers block the doctor."
    )
    room_id: UUID | None = None
    hold_id: UUID | None = Field(
        None, description="Book what this hold keeps (fields also sent must agree with it)."
    )

    @model_validator(mode="after")
    def _placed_or_held(self) -> Self:
        """A missing field is a validation error (FastAPI's list), as any other."""
        if self.hold_id is None and (self.doctor_id is None or self.starts_at is None):
            raise ValueError("doctor_id and starts_at are required unless hold_id is given")
        return self


class AppointmentPatchIn(Input):
    not_null = frozenset({"starts_at", "ends_at", "duration_minutes"})

    starts_at: UtcDatetime | None = None
    ends_at: UtcDatetime | None = None
    duration_minutes: DurationMinutes | None = None
    service_id: UUID | None = None
    room_id: UUID | None = None
    reason: Reason | None = None
    notes: Notes | None = None


class CancelIn(Input):
    reason: Annotated[str, free(CANCELLATION_REASON)] | None = None


class UsersStats(BaseModel):
    total: int
    active: int
    by_role: dict[str, int]


class AppointmentsStats(BaseModel):
    total: int
    by_status: dict[str, int]
    today: int
    upcoming_7_days: int
    late_cancellations_30d: int
    no_shows_30d: int


class DashboardOut(BaseModel):
    users: UsersStats
    departments: int
    doctors: int
    patients: int
    appointments: AppointmentsStats
