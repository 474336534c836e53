"""Recurring appointments (series)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, Field

from appointments.domain.errors import CodedError
from appointments.domain.series import (
    MAX_INTERVAL,
    MAX_OCCURRENCES,
    MIN_INTERVAL,
    MIN_OCCURRENCES,
    Frequency,
)
from appointments.entrypoints.api.schemas.appointments import (
    AppointmentOut,
    DurationMinutes,
    Reason,
)
from appointments.entrypoints.api.schemas.common import (
    JSON_NUMBER,
    ErrorOut,
    Input,
    IsoDate,
    Output,
    UtcDatetime,
    errors,
)

# Documented here, enforced by the domain: out of bounds is 422 `invalid_recurrence`.
Interval = Annotated[
    int, Field(json_schema_extra={"minimum": MIN_INTERVAL, "maximum": MAX_INTERVAL}), JSON_NUMBER
]
Count = Annotated[
    int,
    Field(json_schema_extra={"minimum": MIN_OCCURRENCES, "maximum": MAX_OCCURRENCES}),
    JSON_NUMBER,
]


class RecurrenceIn(Input):
    frequency: Frequency
    interval: Interval = Field(1, description="Every 1 to 8 days (daily) or weeks (weekly).")
    count: Count | None = Field(None, description="2 to 52 occurrences; or give until.")
    until: IsoDate | None = Field(
        None, description="The last local date an occurrence may fall on (2 to 52 in all)."
    )


class SeriesIn(Input):
    doctor_id: UUID
    patient_id: UUID | None = Field(None, description="Required for doctors and admins.")
    starts_at: UtcDatetime = Field(
        description="The first occurrence; the others keep its local wall-clock time in the "
        "clinic's zone."
    )
    duration_minutes: DurationMinutes | None = None
    service_id: UUID | None = Field(
        None, description="The duration defaults to the service's; its buffers block the doctor."
    )
    room_id: UUID | None = None
    reason: Reason | None = None
    recurrence: RecurrenceIn


class SeriesOut(Output):
    id: UUID
    appointments: list[AppointmentOut]


class ConflictOut(BaseModel):
    starts_at: datetime
    code: str


class SeriesRefusal(ErrorOut):
    """A refused series also lists every failing occurrence (`conflicts`); the series'
    other errors (an unknown doctor...) are plain errors without it, so unlike the `...Out`
    answers it is not always sent."""

    conflicts: list[ConflictOut] | None = None


def series_errors(*kinds: type[CodedError]) -> dict[int | str, dict[str, Any]]:
    """As `errors`, each answer documented with the series' `conflicts`."""
    return {
        status: {**response, "model": SeriesRefusal} for status, response in errors(*kinds).items()
    }
