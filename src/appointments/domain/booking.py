"""The booking rules: what a new or moved appointment must satisfy, in the order clients
see them. The Appointment aggregate runs them itself when it is booked or moved, and
availability is computed from the same working-time code, so every offered slot is
bookable. The clinic's booking policy (notice, horizon, cut-offs, buffers) goes here too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from appointments.domain.errors import (
    DoctorUnavailable,
    InactiveParty,
    InThePast,
    InvalidDuration,
    InvalidValue,
    OutsideSchedule,
    PatientUnavailable,
)
from appointments.domain.schedule import Span, TimeOff, WeeklySchedule, is_working_time

MIN_DURATION = timedelta(minutes=5)
MAX_DURATION = timedelta(hours=8)
DEFAULT_DURATION = timedelta(minutes=30)
MIN_DURATION_MINUTES = MIN_DURATION // timedelta(minutes=1)
MAX_DURATION_MINUTES = MAX_DURATION // timedelta(minutes=1)


def duration_of(minutes: int) -> timedelta:
    """A duration asked for in whole minutes (`duration_minutes`), within the bounds."""
    if not MIN_DURATION_MINUTES <= minutes <= MAX_DURATION_MINUTES:
        raise InvalidDuration()
    return timedelta(minutes=minutes)


def check_duration(span: Span) -> None:
    if not MIN_DURATION <= span.ends_at - span.starts_at <= MAX_DURATION:
        raise InvalidDuration()


def requested_span(
    starts_at: datetime,
    ends_at: datetime | None,
    duration: timedelta | None,
    default: timedelta = DEFAULT_DURATION,
) -> Span:
    """The span a client asks for: an end, or a duration, or else `default` (30 minutes
    for a new booking; a move keeps the appointment's own length)."""
    if ends_at is not None and duration is not None:
        raise InvalidValue("Give ends_at or duration_minutes, not both.")
    if ends_at is not None:
        return Span(starts_at, ends_at)
    return Span(starts_at, starts_at + (default if duration is None else duration))


@dataclass(frozen=True, slots=True)
class DoctorCalendar:
    """What booking needs to know about the doctor's time."""

    schedule: WeeklySchedule
    zone: ZoneInfo
    time_off: Sequence[TimeOff]
    busy: Sequence[Span]


@dataclass(frozen=True, slots=True)
class BookingContext:
    """Everything the booking rules look at, read by the use-case in the booking's own
    transaction. `calendar.busy` and `patient_busy` hold the other active appointments
    (not the one being moved)."""

    now: datetime
    doctor_active: bool
    patient_active: bool
    calendar: DoctorCalendar
    patient_busy: Sequence[Span]


def check_booking(span: Span, context: BookingContext) -> None:
    """Every rule a new or moved appointment must satisfy, in the order clients see them."""
    check_duration(span)
    if span.starts_at <= context.now:
        raise InThePast()
    if not (context.doctor_active and context.patient_active):
        raise InactiveParty()
    calendar = context.calendar
    if not is_working_time(span, calendar.schedule, calendar.zone, calendar.time_off):
        raise OutsideSchedule()
    if any(b.overlaps(span) for b in calendar.busy):
        raise DoctorUnavailable()
    if any(b.overlaps(span) for b in context.patient_busy):
        raise PatientUnavailable()
