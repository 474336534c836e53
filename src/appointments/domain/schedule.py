"""Working time: weekly local schedules, time off, and turning them into UTC spans.

Schedules are wall-clock intervals in an IANA zone, converted per local date with zoneinfo,
so 09:00 stays 09:00 on both sides of a daylight-saving change. Booking validation and
availability both go through `working_spans`, so every offered slot is bookable.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from appointments.domain.errors import InvalidSchedule, InvalidValue
from appointments.domain.text import Length

WEEKDAYS = range(7)  # 0 = Monday, as datetime.weekday()
# A week has room for at most one interval per hour and day.
MAX_WEEKLY_INTERVALS = 7 * 24
TIME_OFF_REASON = Length(0, 200)


@dataclass(frozen=True, slots=True, order=True)
class Span:
    """A half-open UTC interval [starts_at, ends_at): back-to-back spans do not overlap."""

    starts_at: datetime
    ends_at: datetime

    def overlaps(self, other: Span) -> bool:
        return self.starts_at < other.ends_at and other.starts_at < self.ends_at

    def contains(self, other: Span) -> bool:
        return self.starts_at <= other.starts_at and other.ends_at <= self.ends_at


@dataclass(frozen=True, slots=True, order=True)
class WeeklyInterval:
    weekday: int
    start: time
    end: time


@dataclass(frozen=True, slots=True)
class WeeklySchedule:
    intervals: tuple[WeeklyInterval, ...]

    @classmethod
    def of(cls, intervals: Iterable[WeeklyInterval]) -> WeeklySchedule:
        ordered = tuple(sorted(intervals))
        if len(ordered) > MAX_WEEKLY_INTERVALS:
            raise InvalidSchedule(f"A week has at most {MAX_WEEKLY_INTERVALS} intervals.")
        for interval in ordered:
            if interval.weekday not in WEEKDAYS:
                raise InvalidSchedule(f"weekday {interval.weekday} is not 0 (Monday) to 6.")
            if interval.end <= interval.start:
                raise InvalidSchedule(
                    f"On weekday {interval.weekday} the interval "
                    f"{interval.start:%H:%M}-{interval.end:%H:%M} does not end after it starts."
                )
        for previous, current in itertools.pairwise(ordered):
            if previous.weekday == current.weekday and current.start < previous.end:
                raise InvalidSchedule(
                    f"On weekday {current.weekday} the intervals "
                    f"{previous.start:%H:%M}-{previous.end:%H:%M} and "
                    f"{current.start:%H:%M}-{current.end:%H:%M} overlap."
                )
        return cls(ordered)

    @classmethod
    def default(cls) -> WeeklySchedule:
        """New doctors work Monday to Friday, 09:00-17:00."""
        return cls.of(WeeklyInterval(day, time(9), time(17)) for day in range(5))

    def on(self, weekday: int) -> tuple[WeeklyInterval, ...]:
        return tuple(i for i in self.intervals if i.weekday == weekday)


@dataclass(frozen=True, slots=True)
class TimeOff:
    doctor_id: UUID
    starts_at: datetime
    ends_at: datetime
    reason: str | None = None
    id: UUID = field(default_factory=uuid4)

    def __post_init__(self) -> None:
        if self.ends_at <= self.starts_at:
            raise InvalidValue("Time off must end after it starts.")

    @property
    def span(self) -> Span:
        return Span(self.starts_at, self.ends_at)

    def without_reason(self) -> TimeOff:
        return TimeOff(self.doctor_id, self.starts_at, self.ends_at, None, self.id)


def local_to_utc(day: date, at: time, zone: ZoneInfo) -> datetime:
    """Wall-clock time on a date in `zone`, as UTC.

    A wall time skipped by a spring-forward gap is read with the offset in force before the
    jump (fold=0), so Berlin's 02:30 on the change night is 03:30 summer time; a repeated
    autumn time takes its first occurrence.
    """
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def local_days(first: date, last: date, zone: ZoneInfo) -> Span:
    """Local dates first..last, from the first midnight to the midnight after the last."""
    return Span(
        local_to_utc(first, time(), zone), local_to_utc(last + timedelta(days=1), time(), zone)
    )


def dates(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def working_spans(schedule: WeeklySchedule, zone: ZoneInfo, first: date, last: date) -> list[Span]:
    """The doctor's working time on local dates first..last, as merged UTC spans."""
    spans = sorted(
        Span(local_to_utc(day, i.start, zone), local_to_utc(day, i.end, zone))
        for day in dates(first, last)
        for i in schedule.on(day.weekday())
    )
    merged: list[Span] = []
    for span in spans:
        if span.ends_at <= span.starts_at:
            continue
        if merged and span.starts_at <= merged[-1].ends_at:
            merged[-1] = Span(merged[-1].starts_at, max(merged[-1].ends_at, span.ends_at))
        else:
            merged.append(span)
    return merged


def local_date_range(span: Span, zone: ZoneInfo) -> tuple[date, date]:
    """Local dates whose working time could contain `span` (a day either side for safety)."""
    first = span.starts_at.astimezone(zone).date() - timedelta(days=1)
    last = span.ends_at.astimezone(zone).date()
    return first, last


def is_working_time(
    span: Span, schedule: WeeklySchedule, zone: ZoneInfo, time_off: Sequence[TimeOff]
) -> bool:
    """True when `span` lies inside one working span and touches no time off."""
    first, last = local_date_range(span, zone)
    inside = any(w.contains(span) for w in working_spans(schedule, zone, first, last))
    return inside and not any(t.span.overlaps(span) for t in time_off)


def free_slots(
    schedule: WeeklySchedule,
    zone: ZoneInfo,
    first: date,
    last: date,
    duration: timedelta,
    now: datetime,
    busy: Sequence[Span],
    accept: Callable[[Span], bool] | None = None,
) -> list[Span]:
    """Every start stepping by `duration` from each working span's start that is in the
    future, overlaps nothing in `busy` (active appointments, time off) and that `accept`
    (the booking rules beyond working time) admits."""
    busy_sorted = sorted(busy, key=lambda s: s.starts_at)
    slots: list[Span] = []
    for window in working_spans(schedule, zone, first, last):
        start = window.starts_at
        while start + duration <= window.ends_at:
            slot = Span(start, start + duration)
            if (
                slot.starts_at > now
                and not any(b.overlaps(slot) for b in busy_sorted)
                and (accept is None or accept(slot))
            ):
                slots.append(slot)
            start += duration
    return slots
