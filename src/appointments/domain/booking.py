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
    BeyondHorizon,
    BookingLimitReached,
    ChangeWindowClosed,
    DoctorUnavailable,
    InactiveParty,
    InThePast,
    InvalidDuration,
    InvalidValue,
    OutsideSchedule,
    PatientUnavailable,
    RoomUnavailable,
    TooShortNotice,
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
class Buffers:
    """Time the doctor needs before and after an appointment (from its service)."""

    before: timedelta = timedelta(0)
    after: timedelta = timedelta(0)

    def around(self, span: Span) -> Span:
        """The doctor's time `span` holds with these buffers."""
        return Span(span.starts_at - self.before, span.ends_at + self.after)


NO_BUFFERS = Buffers()


@dataclass(frozen=True, slots=True)
class BookingContext:
    """Everything the booking rules look at, read by the use-case in the booking's own
    transaction. `calendar.busy` holds the doctor's other active appointments as the time
    they block (buffers included), `patient_busy` and `room_busy` the other active
    appointments' own spans; none includes the appointment being moved."""

    now: datetime
    doctor_active: bool
    patient_active: bool
    calendar: DoctorCalendar
    patient_busy: Sequence[Span]
    buffers: Buffers = NO_BUFFERS
    room_active: bool = True
    room_busy: Sequence[Span] = ()


def check_booking(span: Span, context: BookingContext) -> None:
    """Every rule a new or moved appointment must satisfy, in the order clients see them:
    the placement's own rules, then whether its time is free. A patient's policy is
    judged between the two (application/booking.py: `judge_policy`)."""
    check_placement(span, context)
    check_free(span, context)


def check_placement(span: Span, context: BookingContext) -> None:
    """The rules of the placement itself: its length, not in the past, every party
    active, within working time (the appointment must be; its buffers need not)."""
    check_duration(span)
    if span.starts_at <= context.now:
        raise InThePast()
    if not (context.doctor_active and context.patient_active and context.room_active):
        raise InactiveParty()
    calendar = context.calendar
    if not is_working_time(span, calendar.schedule, calendar.zone, calendar.time_off):
        raise OutsideSchedule()


def check_free(span: Span, context: BookingContext) -> None:
    """Nothing else holds the time: buffered spans of one doctor may touch but never
    overlap; the patient and the room are held by the span alone."""
    blocked = context.buffers.around(span)
    calendar = context.calendar
    if any(b.overlaps(blocked) for b in calendar.busy):
        raise DoctorUnavailable()
    if any(b.overlaps(span) for b in context.patient_busy):
        raise PatientUnavailable()
    if any(b.overlaps(span) for b in context.room_busy):
        raise RoomUnavailable()


# --- the clinic's booking policy -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Range:
    """Allowed values of a policy number, both ends included."""

    min: int
    max: int

    def admits(self, value: int) -> bool:
        return self.min <= value <= self.max


MIN_NOTICE_MINUTES = Range(0, 10080)
BOOKING_HORIZON_DAYS = Range(1, 730)
CANCELLATION_CUTOFF_HOURS = Range(0, 336)
MAX_ACTIVE_PER_PATIENT = Range(0, 100)
REMINDER_OFFSET_MINUTES = Range(5, 20160)
MAX_REMINDER_OFFSETS = 5


@dataclass(frozen=True, slots=True)
class BookingPolicy:
    """What a PATIENT may book, move and cancel online; staff are exempt. 0 means no limit
    (the horizon always has one). Stored in the database, so every worker applies the
    same one."""

    min_notice_minutes: int = 0
    booking_horizon_days: int = 365
    cancellation_cutoff_hours: int = 0
    max_active_per_patient: int = 0
    reminder_offsets_minutes: tuple[int, ...] = (1440,)

    def __post_init__(self) -> None:
        bounds = {
            "min_notice_minutes": (self.min_notice_minutes, MIN_NOTICE_MINUTES),
            "booking_horizon_days": (self.booking_horizon_days, BOOKING_HORIZON_DAYS),
            "cancellation_cutoff_hours": (
                self.cancellation_cutoff_hours,
                CANCELLATION_CUTOFF_HOURS,
            ),
            "max_active_per_patient": (self.max_active_per_patient, MAX_ACTIVE_PER_PATIENT),
        }
        for name, (value, allowed) in bounds.items():
            if not allowed.admits(value):
                raise InvalidValue(f"{name} is {allowed.min} to {allowed.max}.")
        offsets = self.reminder_offsets_minutes
        if len(offsets) > MAX_REMINDER_OFFSETS or not all(
            REMINDER_OFFSET_MINUTES.admits(o) for o in offsets
        ):
            raise InvalidValue(
                f"reminder_offsets_minutes holds up to {MAX_REMINDER_OFFSETS} offsets of "
                f"{REMINDER_OFFSET_MINUTES.min} to {REMINDER_OFFSET_MINUTES.max} minutes."
            )

    @property
    def min_notice(self) -> timedelta:
        return timedelta(minutes=self.min_notice_minutes)

    @property
    def horizon(self) -> timedelta:
        return timedelta(days=self.booking_horizon_days)

    @property
    def cancellation_cutoff(self) -> timedelta:
        return timedelta(hours=self.cancellation_cutoff_hours)

    def admits_start(self, starts_at: datetime, now: datetime) -> bool:
        """Whether a patient may book or move an appointment to start at `starts_at`."""
        return now + self.min_notice <= starts_at <= now + self.horizon

    def check_start(self, starts_at: datetime, now: datetime) -> None:
        """A patient's booking or move: enough notice, and not beyond the horizon."""
        if starts_at < now + self.min_notice:
            raise TooShortNotice()
        if starts_at > now + self.horizon:
            raise BeyondHorizon()

    def check_change(self, starts_at: datetime, now: datetime) -> None:
        """A patient cancelling or moving an appointment that starts at `starts_at`."""
        if self.cancellation_cutoff and starts_at < now + self.cancellation_cutoff:
            raise ChangeWindowClosed()

    def is_late_cancellation(self, starts_at: datetime, cancelled_at: datetime) -> bool:
        return starts_at - cancelled_at < self.cancellation_cutoff

    def limit_reached(self, active_future: int) -> bool:
        """Whether a patient holding `active_future` upcoming appointments may book no more."""
        return bool(self.max_active_per_patient) and active_future >= self.max_active_per_patient

    def check_active_count(self, active_future: int) -> None:
        if self.limit_reached(active_future):
            raise BookingLimitReached()
