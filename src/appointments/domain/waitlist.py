"""The waitlist: patients waiting for time with a doctor (or any doctor of a department)
over a range of days. When time frees up, the oldest waiting entry it fits is offered a
hold on it; accepting books it, and a lapsed offer goes back to waiting, in its place,
and never gets the same time offered again."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from uuid import UUID, uuid4

from appointments.domain.booking import DEFAULT_DURATION
from appointments.domain.errors import InvalidTransition, InvalidValue
from appointments.domain.schedule import Span

# Lapsed offers remembered per entry (so the same time is not offered again): the latest.
MAX_PASSED = 20
MAX_RANGE_DAYS = 366


class WaitlistStatus(StrEnum):
    WAITING = "waiting"
    OFFERED = "offered"
    BOOKED = "booked"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


OPEN_STATUSES = frozenset({WaitlistStatus.WAITING, WaitlistStatus.OFFERED})


@dataclass(frozen=True, slots=True)
class Offer:
    hold_id: UUID
    doctor_id: UUID
    starts_at: datetime
    ends_at: datetime
    expires_at: datetime

    @property
    def span(self) -> Span:
        return Span(self.starts_at, self.ends_at)


@dataclass(frozen=True, slots=True)
class PassedTime:
    """Time once offered to an entry that let the offer lapse."""

    doctor_id: UUID
    starts_at: datetime
    ends_at: datetime


@dataclass(slots=True)
class WaitlistEntry:
    patient_id: UUID
    department_id: UUID
    date_from: date
    date_to: date
    created_at: datetime
    updated_at: datetime
    doctor_id: UUID | None = None
    service_id: UUID | None = None
    duration_minutes: int | None = None
    status: WaitlistStatus = WaitlistStatus.WAITING
    offer: Offer | None = None
    passed: tuple[PassedTime, ...] = ()
    id: UUID = field(default_factory=uuid4)

    def __post_init__(self) -> None:
        if self.date_to < self.date_from:
            raise InvalidValue("date_to must not be before date_from.")
        if (self.date_to - self.date_from).days >= MAX_RANGE_DAYS:
            raise InvalidValue(f"A waitlist entry spans at most {MAX_RANGE_DAYS} days.")

    def check_open_on(self, today: date) -> None:
        if self.date_to < today:
            raise InvalidValue("date_to is in the past.")

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def wants(self, doctor_id: UUID, department_id: UUID, day: date) -> bool:
        """Whether time with this doctor on `day` is what the entry waits for."""
        if self.status is not WaitlistStatus.WAITING or not self.date_from <= day <= self.date_to:
            return False
        if self.doctor_id is not None:
            return self.doctor_id == doctor_id
        return self.department_id == department_id

    def passed_over(self, doctor_id: UUID, span: Span) -> bool:
        """It let an offer of (some of) this time lapse already."""
        return any(
            p.doctor_id == doctor_id and Span(p.starts_at, p.ends_at).overlaps(span)
            for p in self.passed
        )

    def offered(self, offer: Offer, now: datetime) -> None:
        self._move(frozenset({WaitlistStatus.WAITING}), WaitlistStatus.OFFERED, now)
        self.offer = offer

    def lapse(self, now: datetime) -> None:
        """The offer ran out: waiting again, in the same place in the queue."""
        offer = self.offer
        self._move(frozenset({WaitlistStatus.OFFERED}), WaitlistStatus.WAITING, now)
        assert offer is not None
        passed = PassedTime(offer.doctor_id, offer.starts_at, offer.ends_at)
        self.passed, self.offer = (*self.passed, passed)[-MAX_PASSED:], None

    def booked(self, now: datetime) -> None:
        self._move(frozenset({WaitlistStatus.OFFERED}), WaitlistStatus.BOOKED, now)

    def cancel(self, now: datetime) -> Offer | None:
        """Cancelled; the offer it held, whose hold is to be released."""
        offer = self.offer
        self._move(OPEN_STATUSES, WaitlistStatus.CANCELLED, now)
        self.offer = None
        return offer

    def expire(self, now: datetime) -> None:
        self._move(frozenset({WaitlistStatus.WAITING}), WaitlistStatus.EXPIRED, now)

    def as_of(self, now: datetime, today: date) -> WaitlistEntry:
        """The entry as it stands at `now`, before the sweep catches up: an offer past
        its expiry has lapsed, a waiting entry past its last day has expired."""
        seen = replace(self)
        if seen.status is WaitlistStatus.OFFERED and seen.offer and seen.offer.expires_at <= now:
            seen.lapse(now)
            seen.updated_at = self.updated_at
        if seen.status is WaitlistStatus.WAITING and seen.date_to < today:
            seen.status = WaitlistStatus.EXPIRED
        return seen

    def _move(
        self, allowed: frozenset[WaitlistStatus], target: WaitlistStatus, now: datetime
    ) -> None:
        if self.status not in allowed:
            raise InvalidTransition(
                f"A waitlist entry that is {self.status} cannot become {target}."
            )
        self.status, self.updated_at = target, now


def first_in_line(entries: Sequence[WaitlistEntry]) -> list[WaitlistEntry]:
    """FIFO: the oldest first (ties broken by id, so every reader agrees)."""
    return sorted(entries, key=lambda e: (e.created_at, str(e.id)))


def offer_length(duration_minutes: int | None, service_duration: timedelta | None) -> timedelta:
    """How long the time offered is: the entry's duration, else its service's, else 30
    minutes (as a booking's)."""
    if duration_minutes is not None:
        return timedelta(minutes=duration_minutes)
    return service_duration or DEFAULT_DURATION
