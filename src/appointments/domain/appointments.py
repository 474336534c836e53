"""The Appointment aggregate: its status machine, and booking and moving under the booking
rules of booking.py, which it runs itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID, uuid4

from appointments.domain.booking import BookingContext, check_booking
from appointments.domain.changes import UNSET, Maybe
from appointments.domain.errors import InvalidTransition
from appointments.domain.schedule import Span
from appointments.domain.text import Length

REASON = Length(0, 200)
NOTES = Length(0, 5000)
CANCELLATION_REASON = Length(0, 200)


class Status(StrEnum):
    SCHEDULED = "scheduled"
    CONFIRMED = "confirmed"
    CHECKED_IN = "checked_in"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


class CancelledBy(StrEnum):
    """Who cancelled: the caller's role, or SYSTEM for a cascade (a deactivation)."""

    PATIENT = "PATIENT"
    DOCTOR = "DOCTOR"
    ADMIN = "ADMIN"
    SYSTEM = "SYSTEM"


NO_BUFFER = timedelta(0)  # no service, or one without buffers

# Active appointments hold the doctor's and the patient's time; the others are final.
ACTIVE_STATUSES = frozenset({Status.SCHEDULED, Status.CONFIRMED, Status.CHECKED_IN})
# What may still be moved, cancelled or marked a no-show.
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
    service_id: UUID | None = None
    room_id: UUID | None = None
    series_id: UUID | None = None
    cancelled_by: CancelledBy | None = None
    cancelled_at: datetime | None = None
    # The service's buffers: the doctor is also busy this long before and after.
    buffer_before: timedelta = NO_BUFFER
    buffer_after: timedelta = NO_BUFFER
    # Rises by one with every change (a calendar's SEQUENCE): 0 as booked.
    revision: int = 0
    id: UUID = field(default_factory=uuid4)

    @classmethod
    def book(
        cls,
        *,
        patient_id: UUID,
        doctor_id: UUID,
        department_id: UUID,
        span: Span,
        reason: str | None,
        context: BookingContext,
        service_id: UUID | None = None,
        room_id: UUID | None = None,
        series_id: UUID | None = None,
    ) -> Appointment:
        """A new `scheduled` appointment, if every booking rule allows it."""
        check_booking(span, context)
        return cls(
            patient_id=patient_id,
            doctor_id=doctor_id,
            department_id=department_id,
            starts_at=span.starts_at,
            ends_at=span.ends_at,
            created_at=context.now,
            updated_at=context.now,
            reason=reason,
            service_id=service_id,
            room_id=room_id,
            series_id=series_id,
            buffer_before=context.buffers.before,
            buffer_after=context.buffers.after,
        )

    @property
    def span(self) -> Span:
        return Span(self.starts_at, self.ends_at)

    @property
    def blocked(self) -> Span:
        """The doctor's time this appointment holds: its span and its buffers."""
        return Span(self.starts_at - self.buffer_before, self.ends_at + self.buffer_after)

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def is_changeable(self) -> bool:
        """Still to happen: may be moved, cancelled or marked a no-show."""
        return self.status in CHANGEABLE_STATUSES

    def _move(self, allowed: frozenset[Status], target: Status, now: datetime) -> None:
        if self.status not in allowed:
            raise InvalidTransition(f"An appointment that is {self.status} cannot become {target}.")
        self.status = target
        self._touch(now)

    def _touch(self, now: datetime) -> None:
        """Every change: a new time stamp and the next revision."""
        self.updated_at = now
        self.revision += 1

    def confirm(self, now: datetime) -> None:
        self._move(frozenset({Status.SCHEDULED}), Status.CONFIRMED, now)

    def check_in(self, now: datetime) -> None:
        # A walk-in check-in from `scheduled` implies the confirmation.
        self._move(CHANGEABLE_STATUSES, Status.CHECKED_IN, now)

    def complete(self, now: datetime) -> None:
        self._move(frozenset({Status.CHECKED_IN}), Status.COMPLETED, now)

    def cancel(self, reason: str | None, now: datetime, *, by: CancelledBy) -> None:
        self._move(CHANGEABLE_STATUSES, Status.CANCELLED, now)
        self.cancellation_reason = reason
        self.cancelled_by, self.cancelled_at = by, now

    def mark_no_show(self, now: datetime) -> None:
        if now <= self.starts_at and self.status in CHANGEABLE_STATUSES:
            raise InvalidTransition("A no-show can only be recorded after the start time.")
        self._move(CHANGEABLE_STATUSES, Status.NO_SHOW, now)

    def ensure_movable(self) -> None:
        if self.status not in CHANGEABLE_STATUSES:
            raise InvalidTransition(f"An appointment that is {self.status} cannot be moved.")

    def reschedule(
        self,
        span: Span,
        context: BookingContext,
        *,
        service_id: UUID | None = None,
        room_id: UUID | None = None,
    ) -> None:
        """Move to `span` (with `service_id` and `room_id`, which the caller resolves:
        unchanged unless the client sent them) under every booking rule; it needs confirming
        again. `context` leaves this appointment out of the busy time."""
        self.ensure_movable()
        check_booking(span, context)
        self.starts_at, self.ends_at = span.starts_at, span.ends_at
        self.service_id, self.room_id = service_id, room_id
        self.buffer_before, self.buffer_after = context.buffers.before, context.buffers.after
        self.status = Status.SCHEDULED
        self._touch(context.now)

    def edit(
        self, now: datetime, *, reason: Maybe[str | None] = UNSET, notes: Maybe[str | None] = UNSET
    ) -> None:
        """Change the free-text fields that were given; who may write notes is decided by
        the access rules."""
        if reason is not UNSET:
            self.reason = reason
        if notes is not UNSET:
            self.notes = notes
        self._touch(now)
