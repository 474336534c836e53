from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from pydantic import EmailStr, Field, StringConstraints

from appointments.domain.departments import DEPARTMENT_NAME, DESCRIPTION
from appointments.domain.doctors import SPECIALIZATION
from appointments.domain.schedule import MAX_WEEKLY_INTERVALS, TIME_OFF_REASON
from appointments.entrypoints.api.schemas.common import (
    TRIM,
    FullName,
    Input,
    IsoDate,
    JsonInt,
    Output,
    Password,
    Phone,
    Username,
    UtcDatetime,
    free,
    required,
)

DepartmentName = Annotated[str, required(DEPARTMENT_NAME), TRIM]
Description = Annotated[str, free(DESCRIPTION)]
Specialization = Annotated[str, required(SPECIALIZATION), TRIM]
ClockTime = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]


class DepartmentOut(Output):
    id: UUID
    name: str
    description: str | None


class DepartmentIn(Input):
    name: DepartmentName
    description: Description | None = None


class DepartmentPatchIn(Input):
    not_null = frozenset({"name"})
    name: DepartmentName | None = None
    description: Description | None = None


class DoctorOut(Output):
    id: UUID
    user_id: UUID
    full_name: str
    email: str
    department_id: UUID
    specialization: str
    phone: str | None
    is_active: bool


class DoctorIn(Input):
    email: EmailStr
    username: Username
    full_name: FullName
    password: Password
    department_id: UUID
    specialization: Specialization
    phone: Phone | None = None


class DoctorPatchIn(Input):
    """Admins may send every field; a doctor only `phone` and `specialization`."""

    not_null = frozenset({"full_name", "department_id", "specialization"})

    full_name: FullName | None = None
    department_id: UUID | None = None
    specialization: Specialization | None = None
    phone: Phone | None = None


class WeeklyIntervalIO(Input):
    weekday: JsonInt = Field(ge=0, le=6, description="0 = Monday")
    start: ClockTime = Field(description="HH:MM, local to the schedule's time zone")
    end: ClockTime = Field(description="HH:MM, local to the schedule's time zone")


class TimeOffOut(Output):
    id: UUID
    starts_at: datetime
    ends_at: datetime
    reason: str | None


class ScheduleOut(Output):
    timezone: str
    weekly: list[WeeklyIntervalIO]
    time_off: list[TimeOffOut]


class ScheduleIn(Input):
    weekly: list[WeeklyIntervalIO] = Field(max_length=MAX_WEEKLY_INTERVALS)


class TimeOffIn(Input):
    starts_at: UtcDatetime
    ends_at: UtcDatetime
    reason: Annotated[str, free(TIME_OFF_REASON)] | None = None


class SlotOut(Output):
    starts_at: datetime
    ends_at: datetime


class AvailabilityOut(Output):
    doctor_id: UUID
    timezone: str
    slots: list[SlotOut]


class PatientOut(Output):
    id: UUID
    user_id: UUID | None
    full_name: str
    email: str | None
    phone: str | None
    date_of_birth: date | None
    is_active: bool


class PatientIn(Input):
    full_name: FullName
    email: EmailStr | None = None
    phone: Phone | None = None
    date_of_birth: IsoDate | None = None


class PatientPatchIn(Input):
    not_null = frozenset({"full_name"})
    full_name: FullName | None = None
    email: EmailStr | None = None
    phone: Phone | None = None
    date_of_birth: IsoDate | None = None
