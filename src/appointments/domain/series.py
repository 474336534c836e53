"""Recurring appointments: a Recurrence (daily or weekly, every `interval` days or weeks,
`count` times or until a date) and the starts of its occurrences.

Occurrences keep the first one's local wall-clock time in the clinic's zone, so a weekly
09:00 stays 09:00 across daylight-saving changes (its UTC time moves by the offset).

A local time that does not exist on an occurrence's date (the spring-forward gap, e.g.
02:30 in Europe/Berlin on the last Sunday of March) is shifted forward by the gap's length
(02:30 becomes 03:30 local): the offset in force before the gap is applied, as PEP 495
reads a nonexistent time with `fold=0`. A local time that occurs twice (the autumn
fall-back hour) is the first of the two (the daylight-saving one, `fold=0`). Either way
every occurrence of a series resolves the same way, whatever its first date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from appointments.domain.errors import InvalidRecurrence

MIN_INTERVAL, MAX_INTERVAL = 1, 8
MIN_OCCURRENCES, MAX_OCCURRENCES = 2, 52


class Frequency(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"


STEP_DAYS = {Frequency.DAILY: 1, Frequency.WEEKLY: 7}


@dataclass(frozen=True, slots=True)
class Recurrence:
    """Every `interval` days (weeks), `count` times or until the local date `until`
    (inclusive); exactly one of the two. Invalid values raise InvalidRecurrence."""

    frequency: Frequency
    interval: int = 1
    count: int | None = None
    until: date | None = None

    def __post_init__(self) -> None:
        if not MIN_INTERVAL <= self.interval <= MAX_INTERVAL:
            raise InvalidRecurrence(
                f"interval is {MIN_INTERVAL} to {MAX_INTERVAL} (days or weeks)."
            )
        if (self.count is None) == (self.until is None):
            raise InvalidRecurrence("Give count or until, not both and not neither.")
        if self.count is not None and not MIN_OCCURRENCES <= self.count <= MAX_OCCURRENCES:
            raise InvalidRecurrence(f"count is {MIN_OCCURRENCES} to {MAX_OCCURRENCES}.")

    @property
    def step(self) -> timedelta:
        return timedelta(days=STEP_DAYS[self.frequency] * self.interval)

    def dates(self, first: date) -> list[date]:
        """The local dates of the occurrences, the first included (2 to 52 of them)."""
        if self.count is not None:
            return [first + self.step * k for k in range(self.count)]
        assert self.until is not None
        if self.until < first:
            raise InvalidRecurrence("until is before the first occurrence.")
        number = (self.until - first) // self.step + 1
        if not MIN_OCCURRENCES <= number <= MAX_OCCURRENCES:
            raise InvalidRecurrence(
                f"until gives {number} occurrence(s); a series has "
                f"{MIN_OCCURRENCES} to {MAX_OCCURRENCES}."
            )
        return [first + self.step * k for k in range(number)]


def local_start(day: date, wall: datetime, zone: ZoneInfo) -> datetime:
    """`wall`'s local time of day on `day` in `zone`, as UTC (see the module's note on
    nonexistent and repeated local times)."""
    local = datetime.combine(day, wall.time(), tzinfo=zone).replace(fold=0)
    return local.astimezone(UTC)


def occurrence_starts(
    first_start: datetime, recurrence: Recurrence, zone: ZoneInfo
) -> list[datetime]:
    """The start of every occurrence in UTC, the first one `first_start` itself."""
    wall = first_start.astimezone(zone)
    starts = [local_start(day, wall, zone) for day in recurrence.dates(wall.date())]
    starts[0] = first_start.astimezone(UTC)
    return starts
