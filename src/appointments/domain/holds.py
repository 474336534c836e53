"""A hold: a slot kept for a patient while they finish booking (or while a waitlist
offer waits for an answer). It blocks the doctor's time (buffers included) and the room's
until `expires_at`, and blocks nothing after: every reader compares with the clock, so an
expired hold never stands in anyone's way, whether or not it was swept yet."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from appointments.domain.booking import BookingContext, check_booking
from appointments.domain.errors import HoldExpired
from appointments.domain.schedule import Span

DEFAULT_HOLD_MINUTES = 10
DEFAULT_OFFER_MINUTES = 30


@dataclass(frozen=True, slots=True)
class Hold:
    doctor_id: UUID
    patient_id: UUID
    starts_at: datetime
    ends_at: datetime
    expires_at: datetime
    created_at: datetime
    service_id: UUID | None = None
    room_id: UUID | None = None
    buffer_before: timedelta = timedelta(0)
    buffer_after: timedelta = timedelta(0)
    # Set when the hold is a waitlist offer: the entry it was offered to.
    waitlist_entry_id: UUID | None = None
    id: UUID = field(default_factory=uuid4)

    @classmethod
    def place(
        cls,
        *,
        doctor_id: UUID,
        patient_id: UUID,
        span: Span,
        context: BookingContext,
        lasts: timedelta,
        service_id: UUID | None = None,
        room_id: UUID | None = None,
        waitlist_entry_id: UUID | None = None,
    ) -> Hold:
        """A hold on a span that every booking rule admits now, so it can be booked."""
        check_booking(span, context)
        return cls(
            doctor_id=doctor_id,
            patient_id=patient_id,
            starts_at=span.starts_at,
            ends_at=span.ends_at,
            expires_at=context.now + lasts,
            created_at=context.now,
            service_id=service_id,
            room_id=room_id,
            buffer_before=context.buffers.before,
            buffer_after=context.buffers.after,
            waitlist_entry_id=waitlist_entry_id,
        )

    @property
    def span(self) -> Span:
        return Span(self.starts_at, self.ends_at)

    @property
    def blocked(self) -> Span:
        """The doctor's time it keeps: its span and the service's buffers."""
        return Span(self.starts_at - self.buffer_before, self.ends_at + self.buffer_after)

    def is_live(self, now: datetime) -> bool:
        return now < self.expires_at

    def check_live(self, now: datetime) -> None:
        if not self.is_live(now):
            raise HoldExpired()
