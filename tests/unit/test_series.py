"""Recurrence: bounds, dates, and occurrences that keep local wall-clock time across
daylight-saving changes (Europe/Berlin and America/New_York), gaps and repeated hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from appointments.domain.errors import InvalidRecurrence
from appointments.domain.series import (
    MAX_OCCURRENCES,
    Frequency,
    Recurrence,
    occurrence_starts,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
DAILY, WEEKLY = Frequency.DAILY, Frequency.WEEKLY


def local(day: date, hour: int, minute: int, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=zone)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"interval": 0, "count": 2},
        {"interval": 9, "count": 2},
        {"count": 1},
        {"count": 53},
        {},
        {"count": 2, "until": date(2027, 3, 1)},
    ],
)
def test_out_of_bounds_is_invalid_recurrence(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidRecurrence) as raised:
        Recurrence(WEEKLY, **kwargs)  # type: ignore[arg-type]
    assert raised.value.code == "invalid_recurrence"


@pytest.mark.parametrize("interval", [1, 8])
@pytest.mark.parametrize("count", [2, MAX_OCCURRENCES])
def test_bounds_are_inclusive(interval: int, count: int) -> None:
    dates = Recurrence(DAILY, interval=interval, count=count).dates(date(2027, 3, 1))
    assert len(dates) == count
    assert dates[1] - dates[0] == timedelta(days=interval)


def test_weekly_with_an_interval_steps_whole_weeks() -> None:
    dates = Recurrence(WEEKLY, interval=2, count=3).dates(date(2027, 3, 1))
    assert dates == [date(2027, 3, 1), date(2027, 3, 15), date(2027, 3, 29)]


def test_until_is_inclusive_and_counts_the_first() -> None:
    first = date(2027, 3, 1)
    assert Recurrence(DAILY, until=date(2027, 3, 3)).dates(first) == [
        date(2027, 3, 1),
        date(2027, 3, 2),
        date(2027, 3, 3),
    ]
    # A date between two occurrences: the last one before it.
    assert len(Recurrence(WEEKLY, until=date(2027, 3, 20)).dates(first)) == 3


@pytest.mark.parametrize(
    ("frequency", "until", "valid"),
    [
        (WEEKLY, date(2027, 3, 1) + timedelta(weeks=51), True),  # 52 occurrences
        (WEEKLY, date(2027, 3, 1) + timedelta(weeks=52), False),  # 53
        (DAILY, date(2027, 3, 1) + timedelta(days=51), True),
        (DAILY, date(2027, 3, 1) + timedelta(days=52), False),
        (DAILY, date(2027, 3, 1), False),  # a single occurrence is no series
        (DAILY, date(2027, 2, 28), False),  # before the first
    ],
)
def test_until_gives_two_to_fifty_two_occurrences(
    frequency: Frequency, until: date, valid: bool
) -> None:
    recurrence = Recurrence(frequency, until=until)
    if valid:
        assert 2 <= len(recurrence.dates(date(2027, 3, 1))) <= MAX_OCCURRENCES
    else:
        with pytest.raises(InvalidRecurrence):
            recurrence.dates(date(2027, 3, 1))


@pytest.mark.parametrize(
    ("zone", "first_day", "expected_utc"),
    [
        # Berlin springs forward on 2027-03-28: 09:00 is 08:00Z, then 07:00Z.
        (BERLIN, date(2027, 3, 22), [utc(2027, 3, 22, 8), utc(2027, 3, 29, 7)]),
        # ... and falls back on 2027-10-31: 07:00Z, then 08:00Z.
        (BERLIN, date(2027, 10, 25), [utc(2027, 10, 25, 7), utc(2027, 11, 1, 8)]),
        # New York springs forward on 2027-03-14: 14:00Z, then 13:00Z.
        (NEW_YORK, date(2027, 3, 8), [utc(2027, 3, 8, 14), utc(2027, 3, 15, 13)]),
        # ... and falls back on 2027-11-07: 13:00Z, then 14:00Z.
        (NEW_YORK, date(2027, 11, 1), [utc(2027, 11, 1, 13), utc(2027, 11, 8, 14)]),
    ],
)
def test_weekly_keeps_local_time_across_dst(
    zone: ZoneInfo, first_day: date, expected_utc: list[datetime]
) -> None:
    first = local(first_day, 9, 0, zone)
    starts = occurrence_starts(first, Recurrence(WEEKLY, count=2), zone)
    assert starts == expected_utc
    assert all(s.tzinfo is UTC for s in starts)
    assert [s.astimezone(zone).time() for s in starts] == [time(9), time(9)]


@pytest.mark.parametrize("zone", [BERLIN, NEW_YORK])
def test_daily_across_a_change_keeps_the_wall_clock(zone: ZoneInfo) -> None:
    first = local(date(2027, 3, 10), 16, 45, zone)
    starts = occurrence_starts(first, Recurrence(DAILY, count=30), zone)
    assert {s.astimezone(zone).time() for s in starts} == {time(16, 45)}
    assert len({s.utcoffset() for s in starts}) == 1  # all given in UTC
    offsets = {s.astimezone(zone).utcoffset() for s in starts}
    assert len(offsets) == 2  # the series spans the change


@pytest.mark.parametrize(
    ("zone", "first_day", "gap_day", "expected"),
    [
        # 02:30 does not exist on 2027-03-28 in Berlin: shifted forward to 03:30 CEST.
        (BERLIN, date(2027, 3, 27), date(2027, 3, 28), utc(2027, 3, 28, 1, 30)),
        # Nor on 2027-03-14 in New York: 03:30 EDT.
        (NEW_YORK, date(2027, 3, 13), date(2027, 3, 14), utc(2027, 3, 14, 7, 30)),
    ],
)
def test_a_nonexistent_local_time_is_shifted_forward(
    zone: ZoneInfo, first_day: date, gap_day: date, expected: datetime
) -> None:
    first = local(first_day, 2, 30, zone)
    starts = occurrence_starts(first, Recurrence(DAILY, count=3), zone)
    assert starts[1] == expected
    assert starts[1].astimezone(zone).replace(tzinfo=None) == datetime.combine(gap_day, time(3, 30))
    # The day after, 02:30 exists again.
    assert starts[2].astimezone(zone).time() == time(2, 30)


@pytest.mark.parametrize(
    ("zone", "repeated_day", "expected"),
    [
        (BERLIN, date(2027, 10, 31), utc(2027, 10, 31, 0, 30)),  # 02:30 CEST, not CET
        (NEW_YORK, date(2027, 11, 7), utc(2027, 11, 7, 5, 30)),  # 01:30 EDT, not EST
    ],
)
def test_a_repeated_local_time_is_the_first_of_the_two(
    zone: ZoneInfo, repeated_day: date, expected: datetime
) -> None:
    hour = 2 if zone is BERLIN else 1
    first = local(repeated_day - timedelta(days=1), hour, 30, zone)
    starts = occurrence_starts(first, Recurrence(DAILY, count=2), zone)
    assert starts[1] == expected


def test_the_first_occurrence_is_the_start_given() -> None:
    first = datetime(2027, 3, 1, 9, 15, tzinfo=ZoneInfo("Asia/Kolkata"))
    starts = occurrence_starts(first, Recurrence(WEEKLY, count=2), BERLIN)
    assert starts[0] == first
    assert starts[1] - starts[0] == timedelta(weeks=1)
