"""Services, rooms and the booking policy.

Numeric bounds are documented here (minimum/maximum, maxItems) and enforced by the domain
(Service, BookingPolicy), so a value out of them is refused one way: 422 `invalid_value`
naming the field."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import Field
from pydantic.fields import FieldInfo

from appointments.domain.booking import (
    BOOKING_HORIZON_DAYS,
    CANCELLATION_CUTOFF_HOURS,
    MAX_ACTIVE_PER_PATIENT,
    MAX_DURATION_MINUTES,
    MAX_REMINDER_OFFSETS,
    MIN_DURATION_MINUTES,
    MIN_NOTICE_MINUTES,
    REMINDER_OFFSET_MINUTES,
    Range,
)
from appointments.domain.rooms import ROOM_NAME
from appointments.domain.services import (
    MAX_BUFFER_MINUTES,
    MIN_BUFFER_MINUTES,
    SERVICE_DESCRIPTION,
    SERVICE_NAME,
)
from appointments.entrypoints.api.schemas.common import (
    JSON_NUMBER,
    TRIM,
    Input,
    JsonBool,
    Output,
    free,
    required,
)


def documented(low: int, high: int) -> FieldInfo:
    """`low..high` in the OpenAPI document; the domain refuses anything else."""
    bounds: FieldInfo = Field(json_schema_extra={"minimum": low, "maximum": high})
    return bounds


def within(allowed: Range) -> FieldInfo:
    return documented(allowed.min, allowed.max)


ServiceName = Annotated[str, required(SERVICE_NAME), TRIM]
ServiceDescription = Annotated[str, free(SERVICE_DESCRIPTION)]
ServiceMinutes = Annotated[int, documented(MIN_DURATION_MINUTES, MAX_DURATION_MINUTES), JSON_NUMBER]
BufferMinutes = Annotated[int, documented(MIN_BUFFER_MINUTES, MAX_BUFFER_MINUTES), JSON_NUMBER]
RoomName = Annotated[str, required(ROOM_NAME), TRIM]
ReminderOffset = Annotated[int, within(REMINDER_OFFSET_MINUTES), JSON_NUMBER]
ReminderOffsets = Annotated[
    list[ReminderOffset], Field(json_schema_extra={"maxItems": MAX_REMINDER_OFFSETS})
]


class ServiceOut(Output):
    id: UUID
    name: str
    department_id: UUID
    duration_minutes: int
    buffer_before_minutes: int
    buffer_after_minutes: int
    description: str | None
    is_active: bool


class ServiceIn(Input):
    name: ServiceName
    department_id: UUID
    duration_minutes: ServiceMinutes
    buffer_before_minutes: BufferMinutes = 0
    buffer_after_minutes: BufferMinutes = 0
    description: ServiceDescription | None = None


class ServicePatchIn(Input):
    not_null = frozenset(
        {
            "name",
            "department_id",
            "duration_minutes",
            "buffer_before_minutes",
            "buffer_after_minutes",
            "is_active",
        }
    )

    name: ServiceName | None = None
    department_id: UUID | None = None
    duration_minutes: ServiceMinutes | None = None
    buffer_before_minutes: BufferMinutes | None = None
    buffer_after_minutes: BufferMinutes | None = None
    description: ServiceDescription | None = None
    is_active: JsonBool | None = None


class RoomOut(Output):
    id: UUID
    name: str
    department_id: UUID | None
    is_active: bool


class RoomIn(Input):
    name: RoomName
    department_id: UUID | None = None


class RoomPatchIn(Input):
    not_null = frozenset({"name", "is_active"})

    name: RoomName | None = None
    department_id: UUID | None = None
    is_active: JsonBool | None = None


class PolicyOut(Output):
    min_notice_minutes: int
    booking_horizon_days: int
    cancellation_cutoff_hours: int
    max_active_per_patient: int
    reminder_offsets_minutes: list[int]


class PolicyIn(Input):
    """The full policy: every field is required (PUT replaces it as a whole)."""

    min_notice_minutes: Annotated[int, within(MIN_NOTICE_MINUTES), JSON_NUMBER]
    booking_horizon_days: Annotated[int, within(BOOKING_HORIZON_DAYS), JSON_NUMBER]
    cancellation_cutoff_hours: Annotated[int, within(CANCELLATION_CUTOFF_HOURS), JSON_NUMBER]
    max_active_per_patient: Annotated[int, within(MAX_ACTIVE_PER_PATIENT), JSON_NUMBER]
    reminder_offsets_minutes: ReminderOffsets
