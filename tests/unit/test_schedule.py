"""Working time: schedule validation, local-to-UTC conversion across DST, slots."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest

from appointments.domain.errors import InvalidSchedule
from appointments.domain.schedule import (
    Span,
    TimeOff,
    WeeklyInterval,
    WeeklySchedule,
    free_slots,
    is_working_time,
    local_to_utc,
    working_spans,
)

UTC_ZONE = ZoneInfo("UTC")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")

MONDAY = date(2027, 3, 1)
SATURDAY = date(2027, 3, 6)
SUNDAY = 6

# Daylight-saving changes in 2027 (all Sundays).
BERLIN_SPRING = date(2027, 3, 28)
BERLIN_FALL = date(2027, 10, 31)
NEW_YORK_SPRING = date(2027, 3, 14)
NEW_YORK_FALL = date(2027, 11, 7)
DST_CHANGES = pytest.mark.parametrize(
    ("zone", "change"),
    [
        (BERLIN, BERLIN_SPRING),
        (BERLIN, BERLIN_FALL),
        (NEW_YORK, NEW_YORK_SPRING),
        (NEW_YORK, NEW_YORK_FALL),
    ],
    ids=["berlin-spring", "berlin-fall", "new-york-spring", "new-york-fall"],
)

LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


def utc(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def interval(weekday: int, start: str, end: str) -> WeeklyInterval:
    return WeeklyInterval(weekday, time.fromisoformat(start), time.fromisoformat(end))


def schedule(*intervals: tuple[int, str, str]) -> WeeklySchedule:
    return WeeklySchedule.of(interval(*i) for i in intervals)


def time_off(start: datetime, end: datetime) -> TimeOff:
    return TimeOff(doctor_id=uuid4(), starts_at=start, ends_at=end)


def local_hhmm(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%H:%M")


# --- Span ----------------------------------------------------------------------------------

BASE = Span(utc(MONDAY, 10), utc(MONDAY, 12))


@pytest.mark.parametrize(
    ("other", "overlaps", "base_contains_other"),
    [
        pytest.param((8, 10), False, False, id="touching-before"),
        pytest.param((12, 14), False, False, id="touching-after"),
        pytest.param((6, 8), False, False, id="well-before"),
        pytest.param((13, 14), False, False, id="well-after"),
        pytest.param((9, 11), True, False, id="overlaps-start"),
        pytest.param((11, 13), True, False, id="overlaps-end"),
        pytest.param((10, 12), True, True, id="identical"),
        pytest.param((10, 11), True, True, id="inside-sharing-start"),
        pytest.param((11, 12), True, True, id="inside-sharing-end"),
        pytest.param((9, 13), True, False, id="surrounds"),
    ],
)
def test_span_overlaps_and_contains(
    other: tuple[int, int], overlaps: bool, base_contains_other: bool
) -> None:
    span = Span(utc(MONDAY, other[0]), utc(MONDAY, other[1]))
    assert BASE.overlaps(span) is overlaps
    assert span.overlaps(BASE) is overlaps
    assert BASE.contains(span) is base_contains_other


def test_span_contains_minute_inside() -> None:
    inner = Span(utc(MONDAY, 10, 30), utc(MONDAY, 10, 31))
    assert BASE.contains(inner)
    assert not inner.contains(BASE)


# --- WeeklySchedule.of ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "intervals",
    [
        pytest.param([(0, "09:00", "09:00")], id="end-equals-start"),
        pytest.param([(0, "17:00", "09:00")], id="end-before-start"),
        pytest.param([(0, "09:00", "12:00"), (0, "11:00", "13:00")], id="overlap"),
        pytest.param([(2, "09:00", "17:00"), (2, "10:00", "11:00")], id="nested"),
        pytest.param([(4, "09:00", "10:00"), (4, "09:00", "17:00")], id="same-start"),
        pytest.param([(3, "13:00", "17:00"), (3, "08:00", "13:30")], id="overlap-unsorted"),
        pytest.param([(7, "09:00", "17:00")], id="weekday-7"),
        pytest.param([(-1, "09:00", "17:00")], id="weekday-minus-1"),
    ],
)
def test_invalid_schedules_are_refused(intervals: list[tuple[int, str, str]]) -> None:
    with pytest.raises(InvalidSchedule) as raised:
        schedule(*intervals)
    assert raised.value.code == "invalid_schedule"


@pytest.mark.parametrize(
    "intervals",
    [
        pytest.param([(0, "09:00", "12:00"), (0, "12:00", "17:00")], id="touching"),
        pytest.param([(0, "09:00", "17:00"), (1, "09:00", "17:00")], id="same-hours-two-days"),
        pytest.param([(6, "00:00", "23:59")], id="sunday-all-day"),
        pytest.param([(5, "13:00", "14:00"), (5, "08:00", "12:00")], id="unsorted-disjoint"),
        pytest.param([], id="empty"),
    ],
)
def test_valid_schedules_are_accepted_and_sorted(intervals: list[tuple[int, str, str]]) -> None:
    built = schedule(*intervals)
    assert built.intervals == tuple(sorted(interval(*i) for i in intervals))


def test_default_schedule_is_monday_to_friday_nine_to_five() -> None:
    assert WeeklySchedule.default().intervals == tuple(
        WeeklyInterval(day, time(9), time(17)) for day in range(5)
    )


def test_on_returns_only_that_weekday() -> None:
    built = schedule((0, "09:00", "12:00"), (0, "13:00", "17:00"), (1, "08:00", "09:00"))
    assert built.on(0) == (interval(0, "09:00", "12:00"), interval(0, "13:00", "17:00"))
    assert built.on(6) == ()


# --- local_to_utc and DST ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "day", "utc_hour"),
    [
        # Berlin: CET (+1) before the spring change, CEST (+2) until the autumn change.
        (BERLIN, BERLIN_SPRING - timedelta(days=1), 8),
        (BERLIN, BERLIN_SPRING, 7),
        (BERLIN, BERLIN_SPRING + timedelta(days=1), 7),
        (BERLIN, BERLIN_FALL - timedelta(days=1), 7),
        (BERLIN, BERLIN_FALL, 8),
        (BERLIN, BERLIN_FALL + timedelta(days=1), 8),
        # New York: EST (-5) in winter, EDT (-4) in summer.
        (NEW_YORK, NEW_YORK_SPRING - timedelta(days=1), 14),
        (NEW_YORK, NEW_YORK_SPRING, 13),
        (NEW_YORK, NEW_YORK_SPRING + timedelta(days=1), 13),
        (NEW_YORK, NEW_YORK_FALL - timedelta(days=1), 13),
        (NEW_YORK, NEW_YORK_FALL, 14),
        (NEW_YORK, NEW_YORK_FALL + timedelta(days=1), 14),
    ],
    ids=lambda v: str(v),
)
def test_nine_local_stays_nine_local_across_dst(zone: ZoneInfo, day: date, utc_hour: int) -> None:
    converted = local_to_utc(day, time(9), zone)
    assert converted == utc(day, utc_hour)
    assert converted.tzinfo is UTC
    assert converted.astimezone(zone).time() == time(9)
    assert converted.astimezone(zone).date() == day


def test_time_in_the_spring_gap_maps_to_the_jump() -> None:
    """02:00 does not exist in Berlin on the spring night; it is the instant of the jump."""
    assert local_to_utc(BERLIN_SPRING, time(2), BERLIN) == utc(BERLIN_SPRING, 1)
    assert local_to_utc(BERLIN_SPRING, time(3), BERLIN) == utc(BERLIN_SPRING, 1)


def test_repeated_autumn_time_takes_first_occurrence() -> None:
    # 02:30 happens twice in Berlin on the autumn night: 00:30 UTC (CEST) and 01:30 UTC (CET).
    assert local_to_utc(BERLIN_FALL, time(2, 30), BERLIN) == utc(BERLIN_FALL, 0, 30)
    # 01:30 happens twice in New York: 05:30 UTC (EDT) and 06:30 UTC (EST).
    assert local_to_utc(NEW_YORK_FALL, time(1, 30), NEW_YORK) == utc(NEW_YORK_FALL, 5, 30)


# --- working_spans -------------------------------------------------------------------------


def test_working_spans_merge_touching_intervals() -> None:
    built = schedule((0, "09:00", "12:00"), (0, "12:00", "17:00"))
    assert working_spans(built, UTC_ZONE, MONDAY, MONDAY) == [Span(utc(MONDAY, 9), utc(MONDAY, 17))]


def test_working_spans_keep_a_gap_between_intervals() -> None:
    built = schedule((0, "09:00", "12:00"), (0, "13:00", "17:00"))
    assert working_spans(built, UTC_ZONE, MONDAY, MONDAY) == [
        Span(utc(MONDAY, 9), utc(MONDAY, 12)),
        Span(utc(MONDAY, 13), utc(MONDAY, 17)),
    ]


def test_working_spans_cover_each_date_in_range_in_order() -> None:
    spans = working_spans(WeeklySchedule.default(), UTC_ZONE, MONDAY, MONDAY + timedelta(days=6))
    assert spans == [
        Span(utc(MONDAY + timedelta(days=d), 9), utc(MONDAY + timedelta(days=d), 17))
        for d in range(5)
    ]
    assert working_spans(WeeklySchedule.default(), UTC_ZONE, SATURDAY, SATURDAY) == []


@DST_CHANGES
def test_working_spans_in_dst_week_are_local_nine_to_five(zone: ZoneInfo, change: date) -> None:
    first, last = change - timedelta(days=6), change + timedelta(days=7)
    spans = working_spans(WeeklySchedule.default(), zone, first, last)
    assert len(spans) == 10
    for span in spans:
        assert local_hhmm(span.starts_at, zone) == "09:00"
        assert local_hhmm(span.ends_at, zone) == "17:00"
        assert span.ends_at - span.starts_at == timedelta(hours=8)
    # The UTC hour shifts by one between the week before and the week after.
    before, after = spans[0].starts_at, spans[-1].starts_at
    assert abs(before.hour - after.hour) == 1


@pytest.mark.parametrize(
    ("zone", "change", "real_hours", "utc_start"),
    [
        (BERLIN, BERLIN_SPRING, 5, datetime(2027, 3, 27, 23, tzinfo=UTC)),
        (BERLIN, BERLIN_FALL, 7, datetime(2027, 10, 30, 22, tzinfo=UTC)),
        (NEW_YORK, NEW_YORK_SPRING, 5, datetime(2027, 3, 14, 5, tzinfo=UTC)),
        (NEW_YORK, NEW_YORK_FALL, 7, datetime(2027, 11, 7, 4, tzinfo=UTC)),
    ],
    ids=["berlin-spring", "berlin-fall", "new-york-spring", "new-york-fall"],
)
def test_night_shift_on_change_night_has_real_hours(
    zone: ZoneInfo, change: date, real_hours: int, utc_start: datetime
) -> None:
    night = schedule((SUNDAY, "00:00", "06:00"))
    (span,) = working_spans(night, zone, change, change)
    assert span.starts_at == utc_start
    assert span.ends_at - span.starts_at == timedelta(hours=real_hours)
    assert local_hhmm(span.starts_at, zone) == "00:00"
    assert local_hhmm(span.ends_at, zone) == "06:00"


def test_interval_inside_the_spring_gap_gives_no_working_time() -> None:
    gap = schedule((SUNDAY, "02:00", "03:00"))
    assert working_spans(gap, BERLIN, BERLIN_SPRING, BERLIN_SPRING) == []
    # The week before, the same interval is an ordinary hour.
    week_before = BERLIN_SPRING - timedelta(days=7)
    assert working_spans(gap, BERLIN, week_before, week_before) == [
        Span(utc(week_before, 1), utc(week_before, 2))
    ]


def test_interval_inside_the_autumn_overlap_gives_two_real_hours() -> None:
    overlap = schedule((SUNDAY, "02:00", "03:00"))
    assert working_spans(overlap, BERLIN, BERLIN_FALL, BERLIN_FALL) == [
        Span(utc(BERLIN_FALL, 0), utc(BERLIN_FALL, 2))
    ]


# --- is_working_time -----------------------------------------------------------------------

SPLIT_TOUCHING = schedule((0, "09:00", "12:00"), (0, "12:00", "17:00"))
SPLIT_GAP = schedule((0, "09:00", "12:00"), (0, "13:00", "17:00"))
DEFAULT = WeeklySchedule.default()


@pytest.mark.parametrize(
    ("built", "start", "end", "expected"),
    [
        pytest.param(DEFAULT, (10, 0), (10, 30), True, id="inside"),
        pytest.param(DEFAULT, (9, 0), (17, 0), True, id="whole-day"),
        pytest.param(DEFAULT, (16, 30), (17, 0), True, id="ends-at-close"),
        pytest.param(DEFAULT, (16, 45), (17, 15), False, id="crosses-close"),
        pytest.param(DEFAULT, (8, 45), (9, 15), False, id="crosses-open"),
        pytest.param(DEFAULT, (17, 0), (17, 30), False, id="after-close"),
        pytest.param(SPLIT_TOUCHING, (11, 30), (12, 30), True, id="spans-touching-intervals"),
        pytest.param(SPLIT_GAP, (11, 30), (12, 30), False, id="spans-gap"),
        pytest.param(SPLIT_GAP, (12, 0), (13, 0), False, id="inside-gap"),
    ],
)
def test_is_working_time(
    built: WeeklySchedule,
    start: tuple[int, int],
    end: tuple[int, int],
    expected: bool,
) -> None:
    span = Span(utc(MONDAY, *start), utc(MONDAY, *end))
    assert is_working_time(span, built, UTC_ZONE, []) is expected


def test_weekend_is_not_working_time() -> None:
    span = Span(utc(SATURDAY, 10), utc(SATURDAY, 11))
    assert not is_working_time(span, DEFAULT, UTC_ZONE, [])


def test_span_over_two_days_is_not_working_time() -> None:
    span = Span(utc(MONDAY, 16), utc(MONDAY + timedelta(days=1), 10))
    assert not is_working_time(span, DEFAULT, UTC_ZONE, [])


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        pytest.param((10, 30), (11, 30), False, id="overlaps-time-off-start"),
        pytest.param((9, 30), (10, 30), False, id="overlaps-time-off-end"),
        pytest.param((10, 15), (10, 45), False, id="inside-time-off"),
        pytest.param((9, 0), (12, 0), False, id="surrounds-time-off"),
        pytest.param((11, 0), (11, 30), True, id="starts-when-time-off-ends"),
        pytest.param((9, 30), (10, 0), True, id="ends-when-time-off-starts"),
    ],
)
def test_is_working_time_with_time_off(
    start: tuple[int, int], end: tuple[int, int], expected: bool
) -> None:
    # Time off 10:00-11:00 on a Monday.
    off = [time_off(utc(MONDAY, 10), utc(MONDAY, 11))]
    span = Span(utc(MONDAY, *start), utc(MONDAY, *end))
    assert is_working_time(span, DEFAULT, UTC_ZONE, off) is expected


@pytest.mark.parametrize(
    ("zone", "day", "open_utc_hour"),
    [
        (BERLIN, BERLIN_SPRING - timedelta(days=2), 8),
        (BERLIN, BERLIN_SPRING + timedelta(days=1), 7),
        (NEW_YORK, NEW_YORK_FALL - timedelta(days=2), 13),
        (NEW_YORK, NEW_YORK_FALL + timedelta(days=1), 14),
    ],
    ids=lambda v: str(v),
)
def test_is_working_time_follows_local_opening_across_dst(
    zone: ZoneInfo, day: date, open_utc_hour: int
) -> None:
    opening = utc(day, open_utc_hour)
    first_half_hour = Span(opening, opening + timedelta(minutes=30))
    hour_before = Span(opening - timedelta(hours=1), opening - timedelta(minutes=30))
    assert is_working_time(first_half_hour, DEFAULT, zone, [])
    assert not is_working_time(hour_before, DEFAULT, zone, [])


@pytest.mark.parametrize(
    ("zone", "local_day", "utc_start"),
    [
        # 20:00 on Monday in New York is already Tuesday in UTC.
        (NEW_YORK, MONDAY, datetime(2027, 3, 2, 1, tzinfo=UTC)),
        # 00:30 on Monday in Berlin is still Sunday in UTC.
        (BERLIN, MONDAY, datetime(2027, 2, 28, 23, 30, tzinfo=UTC)),
    ],
    ids=["new-york-evening", "berlin-small-hours"],
)
def test_is_working_time_uses_the_local_date(
    zone: ZoneInfo, local_day: date, utc_start: datetime
) -> None:
    built = schedule((0, "00:00", "02:00"), (0, "18:00", "22:00"))
    span = Span(utc_start, utc_start + timedelta(minutes=30))
    assert span.starts_at.astimezone(zone).date() == local_day
    assert is_working_time(span, built, zone, [])
    # The same UTC span on a schedule without Monday is refused.
    tuesday_only = schedule((1, "00:00", "02:00"), (1, "18:00", "22:00"))
    assert not is_working_time(span, tuesday_only, zone, [])


def test_is_working_time_on_change_night() -> None:
    night = schedule((SUNDAY, "00:00", "06:00"))
    # Six real hours do not fit the five-hour spring night, but do fit the seven-hour autumn one.
    spring_start = datetime(2027, 3, 27, 23, tzinfo=UTC)
    fall_start = datetime(2027, 10, 30, 22, tzinfo=UTC)
    six = timedelta(hours=6)
    assert not is_working_time(Span(spring_start, spring_start + six), night, BERLIN, [])
    assert is_working_time(Span(spring_start, spring_start + timedelta(hours=5)), night, BERLIN, [])
    assert is_working_time(Span(fall_start, fall_start + six), night, BERLIN, [])
    assert is_working_time(Span(fall_start, fall_start + timedelta(hours=7)), night, BERLIN, [])


# --- free_slots ----------------------------------------------------------------------------


def starts(slots: list[Span], zone: ZoneInfo = UTC_ZONE) -> list[str]:
    return [local_hhmm(s.starts_at, zone) for s in slots]


@pytest.mark.parametrize(
    ("intervals", "minutes", "expected"),
    [
        pytest.param([(0, "09:00", "10:00")], 20, ["09:00", "09:20", "09:40"], id="exact-fit"),
        pytest.param([(0, "09:00", "10:00")], 25, ["09:00", "09:25"], id="last-does-not-fit"),
        pytest.param([(0, "09:00", "10:00")], 60, ["09:00"], id="one-slot"),
        pytest.param([(0, "09:00", "10:00")], 61, [], id="too-long"),
        pytest.param(
            [(0, "09:00", "10:00"), (0, "10:10", "11:00")],
            30,
            ["09:00", "09:30", "10:10"],
            id="restarts-at-each-span",
        ),
        pytest.param(
            [(0, "09:00", "09:45"), (0, "09:45", "11:00")],
            30,
            ["09:00", "09:30", "10:00", "10:30"],
            id="touching-intervals-merge",
        ),
    ],
)
def test_free_slots_step_by_duration(
    intervals: list[tuple[int, str, str]], minutes: int, expected: list[str]
) -> None:
    duration = timedelta(minutes=minutes)
    slots = free_slots(schedule(*intervals), UTC_ZONE, MONDAY, MONDAY, duration, LONG_AGO, [])
    assert starts(slots) == expected
    assert all(s.ends_at - s.starts_at == duration for s in slots)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        pytest.param((8, 0), ["09:00", "09:30", "10:00", "10:30"], id="before-opening"),
        pytest.param((8, 59), ["09:00", "09:30", "10:00", "10:30"], id="just-before"),
        pytest.param((9, 0), ["09:30", "10:00", "10:30"], id="at-first-start"),
        pytest.param((9, 1), ["09:30", "10:00", "10:30"], id="just-after-first-start"),
        pytest.param((10, 30), [], id="at-last-start"),
    ],
)
def test_free_slots_only_after_now(now: tuple[int, int], expected: list[str]) -> None:
    built = schedule((0, "09:00", "11:00"))
    slots = free_slots(
        built, UTC_ZONE, MONDAY, MONDAY, timedelta(minutes=30), utc(MONDAY, *now), []
    )
    assert starts(slots) == expected


@pytest.mark.parametrize(
    ("busy", "expected"),
    [
        pytest.param([], ["09:00", "09:30", "10:00", "10:30"], id="none"),
        pytest.param([((9, 30), (10, 0))], ["09:00", "10:00", "10:30"], id="exact-slot"),
        pytest.param([((9, 45), (9, 50))], ["09:00", "10:00", "10:30"], id="inside-slot"),
        pytest.param([((9, 15), (10, 15))], ["10:30"], id="straddles-three"),
        pytest.param([((8, 0), (9, 0))], ["09:00", "09:30", "10:00", "10:30"], id="ends-at-start"),
        pytest.param([((11, 0), (12, 0))], ["09:00", "09:30", "10:00", "10:30"], id="after-close"),
        pytest.param(
            [((10, 30), (11, 0)), ((9, 0), (9, 30))], ["09:30", "10:00"], id="unsorted-busy"
        ),
    ],
)
def test_free_slots_skip_busy_spans(
    busy: list[tuple[tuple[int, int], tuple[int, int]]], expected: list[str]
) -> None:
    built = schedule((0, "09:00", "11:00"))
    busy_spans = [Span(utc(MONDAY, *b[0]), utc(MONDAY, *b[1])) for b in busy]
    slots = free_slots(built, UTC_ZONE, MONDAY, MONDAY, timedelta(minutes=30), LONG_AGO, busy_spans)
    assert starts(slots) == expected


@DST_CHANGES
def test_free_slots_keep_local_starts_across_dst(zone: ZoneInfo, change: date) -> None:
    first, last = change - timedelta(days=6), change + timedelta(days=7)
    slots = free_slots(
        WeeklySchedule.default(), zone, first, last, timedelta(minutes=30), LONG_AGO, []
    )
    per_day_expected = [f"{h:02d}:{m:02d}" for h in range(9, 17) for m in (0, 30)]
    by_day: dict[date, list[str]] = {}
    for slot in slots:
        by_day.setdefault(slot.starts_at.astimezone(zone).date(), []).append(
            local_hhmm(slot.starts_at, zone)
        )
    assert len(by_day) == 10
    assert all(day.weekday() < 5 for day in by_day)
    for day_starts in by_day.values():
        assert day_starts == per_day_expected


def test_free_slots_on_spring_night_skip_the_missing_hour() -> None:
    night = schedule((SUNDAY, "01:00", "04:00"))  # two real hours on the spring night
    slots = free_slots(
        night, BERLIN, BERLIN_SPRING, BERLIN_SPRING, timedelta(minutes=30), LONG_AGO, []
    )
    assert starts(slots, BERLIN) == ["01:00", "01:30", "03:00", "03:30"]
    assert slots[0].starts_at == utc(BERLIN_SPRING, 0)
