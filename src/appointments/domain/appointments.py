"""The Appointment aggregate (status machine) and the booking policy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from appointments.domain.errors import (
    DoctorUnavailable,
    InactiveParty,
    InThePast,
    InvalidDuration,
    InvalidTransition,
    OutsideSchedule,
    PatientUnavailable,
)
from appointments.domain.schedule import Span, TimeOff, WeeklySchedule, is_working_time

MIN_DURATION = timedelta(minutes=5)
MAX_DURATION = timedelta(hours=8)


class Status(StrEnum):
    SCHEDULED = "scheduled"
    CONFIRMED = "confirmed"
    CHECKED_IN = "checked_in"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


ACTIVE_STATUSES = frozenset({Status.SCHEDULED, Status.CONFIRMED, Status.CHECKED_IN})
CHANGEABLE_STATUSES = frozenset({Status.SCHEDULED, Status.CONFIRMED})


@dataclass(slots=True)
class Appointment:
    patient_id: UUID
    doctor_id: UUID
    department_id: UUID
    starts_at: datetime
    ends_at: datetime
    created_at: datetime
    updated_at: datetime
    status: Status = Status.SCHEDULED
    reason: str | None = None
    notes: str | None = None
    cancellation_reason: str | None = None
    id: UUID = field(default_factory=uuid4)

    @property
    def span(self) -> Span:
        return Span(self.starts_at, self.ends_at)

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    def _move(self, allowed: frozenset[Status], target: Status, now: datetime) -> None:
        if self.status not in allowed:
            raise InvalidTransition(f"An appointment that is {self.status} cannot become {target}.")
        self.status = target
        self.updated_at = now

    def confirm(self, now: datetime) -> None:
        self._move(frozenset({Status.SCHEDULED}), Status.CONFIRMED, now)

    def check_in(self, now: datetime) -> None:
        # A walk-in check-in from `scheduled` implies the confirmation.
        self._move(CHANGEABLE_STATUSES, Status.CHECKED_IN, now)

    def complete(self, now: datetime) -> None:
        self._move(frozenset({Status.CHECKED_IN}), Status.COMPLETED, now)

    def cancel(self, reason: str | None, now: datetime) -> None:
        self._move(CHANGEABLE_STATUSES, Status.CANCELLED, now)
        self.cancellation_reason = reason

    def mark_no_show(self, now: datetime) -> None:
        if now <= self.starts_at and self.status in CHANGEABLE_STATUSES:
            raise InvalidTransition("A no-show can only be recorded after the start time.")
        self._move(CHANGEABLE_STATUSES, Status.NO_SHOW, now)

    def reschedule(self, starts_at: datetime, ends_at: datetime, now: datetime) -> None:
        """Move the appointment; it needs confirming again. Booking rules are checked by
        the caller with `check_booking` against the new span."""
        if self.status not in CHANGEABLE_STATUSES:
            raise InvalidTransition(f"An appointment that is {self.status} cannot be moved.")
        self.starts_at, self.ends_at = starts_at, ends_at
        self.status = Status.SCHEDULED
        self.updated_at = now


def check_duration(starts_at: datetime, ends_at: datetime) -> None:
    if not MIN_DURATION <= ends_at - starts_at <= MAX_DURATION:
        raise InvalidDuration()


@dataclass(frozen=True, slots=True)
class DoctorCalendar:
    """What booking needs to know about the doctor's time."""

    schedule: WeeklySchedule
    zone: ZoneInfo
    time_off: Sequence[TimeOff]
    busy: Sequence[Span]


def check_booking(
    span: Span,
    *,
    now: datetime,
    doctor_active: bool,
    patient_active: bool,
    calendar: DoctorCalendar,
    patient_busy: Sequence[Span],
) -> None:
    """Every rule a new or moved appointment must satisfy, in the order clients see them.

    `calendar.busy` and `patient_busy` hold the other active appointments (not the one
    being moved)."""
    check_duration(span.start, span.end)
    if span.start <= now:
        raise InThePast()
    if not (doctor_active and patient_active):
        raise InactiveParty()
    if not is_working_time(span, calendar.schedule, calendar.zone, calendar.time_off):
        raise OutsideSchedule()
    if any(b.overlaps(span) for b in calendar.busy):
        raise DoctorUnavailable()
    if any(b.overlaps(span) for b in patient_busy):
        raise PatientUnavailable()
