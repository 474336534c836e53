"""Holds and the waitlist."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from pydantic import Field

from appointments.domain.waitlist import WaitlistStatus
from appointments.entrypoints.api.schemas.appointments import DurationMinutes
from appointments.entrypoints.api.schemas.common import Input, IsoDate, Output, UtcDatetime


class HoldIn(Input):
    doctor_id: UUID
    starts_at: UtcDatetime
    ends_at: UtcDatetime | None = None
    duration_minutes: DurationMinutes | None = None
    service_id: UUID | None = None
    room_id: UUID | None = None
    patient_id: UUID | None = Field(None, description="Required for doctors and admins.")


class HoldOut(Output):
    id: UUID
    doctor_id: UUID
    patient_id: UUID
    room_id: UUID | None
    service_id: UUID | None
    starts_at: datetime
    ends_at: datetime
    expires_at: datetime


class WaitlistIn(Input):
    doctor_id: UUID | None = Field(None, description="A doctor, or a department: one of them.")
    department_id: UUID | None = None
    service_id: UUID | None = None
    patient_id: UUID | None = Field(None, description="Required for doctors and admins.")
    date_from: IsoDate
    date_to: IsoDate
    duration_minutes: DurationMinutes | None = Field(
        None, description="The time wanted; default the service's, else 30 minutes."
    )


class OfferOut(Output):
    hold_id: UUID
    doctor_id: UUID
    starts_at: datetime
    ends_at: datetime
    expires_at: datetime


class WaitlistEntryOut(Output):
    id: UUID
    patient_id: UUID
    doctor_id: UUID | None
    department_id: UUID
    service_id: UUID | None
    date_from: date
    date_to: date
    duration_minutes: int | None
    status: WaitlistStatus
    offer: OfferOut | None
    created_at: datetime
