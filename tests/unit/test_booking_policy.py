"""The booking policy's rules and the buffered-overlap arithmetic, with a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from appointments.domain.booking import (
    BookingContext,
    BookingPolicy,
    Buffers,
    DoctorCalendar,
    check_booking,
)
from appointments.domain.errors import (
    BeyondHorizon,
    BookingLimitReached,
    ChangeWindowClosed,
    DoctorUnavailable,
    DomainError,
    InactiveParty,
    OutsideSchedule,
    RoomUnavailable,
    TooShortNotice,
)
from appointments.domain.schedule import Span, WeeklyInterval, WeeklySchedule

NOW = datetime(2027, 3, 1, 8, tzinfo=UTC)  # a Monday, 08:00
MINUTE, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
STRICT = BookingPolicy(
    min_notice_minutes=120,
    booking_horizon_days=14,
    cancellation_cutoff_hours=24,
    max_active_per_patient=2,
)


@pytest.mark.parametrize(
    ("starts_in", "error"),
    [
        (119 * MINUTE, TooShortNotice),
        (120 * MINUTE, None),  # exactly the notice: allowed
        (14 * DAY, None),  # exactly the horizon: allowed
        (14 * DAY + MINUTE, BeyondHorizon),
    ],
)
def test_notice_and_horizon(starts_in: timedelta, error: type[DomainError] | None) -> None:
    starts_at = NOW + starts_in
    assert STRICT.admits_start(starts_at, NOW) is (error is None)
    if error is None:
        STRICT.check_start(starts_at, NOW)
    else:
        with pytest.raises(error):
            STRICT.check_start(starts_at, NOW)


@pytest.mark.parametrize(
    ("starts_in", "closed"), [(23 * HOUR, True), (24 * HOUR - MINUTE, True), (24 * HOUR, False)]
)
def test_cancellation_cutoff(starts_in: timedelta, closed: bool) -> None:
    if closed:
        with pytest.raises(ChangeWindowClosed):
            STRICT.check_change(NOW + starts_in, NOW)
    else:
        STRICT.check_change(NOW + starts_in, NOW)
    assert STRICT.is_late_cancellation(NOW + starts_in, NOW) is closed


def test_the_defaults_limit_nothing_but_the_horizon() -> None:
    policy = BookingPolicy()
    policy.check_start(NOW + MINUTE, NOW)
    policy.check_change(NOW + MINUTE, NOW)
    policy.check_active_count(1000)
    assert not policy.is_late_cancellation(NOW + MINUTE, NOW)
    with pytest.raises(BeyondHorizon):
        policy.check_start(NOW + 366 * DAY, NOW)


@pytest.mark.parametrize(("held", "reached"), [(0, False), (1, False), (2, True), (3, True)])
def test_booking_limit(held: int, reached: bool) -> None:
    assert STRICT.limit_reached(held) is reached
    if reached:
        with pytest.raises(BookingLimitReached):
            STRICT.check_active_count(held)


# --- buffers --------------------------------------------------------------------------

WEEKDAYS_9_TO_17 = WeeklySchedule.of(WeeklyInterval(d, time(9), time(17)) for d in range(5))


def at(hour: int, minute: int = 0) -> datetime:
    return NOW.replace(hour=hour, minute=minute)


def context(
    busy: tuple[Span, ...] = (),
    buffers: Buffers = Buffers(),
    room_busy: tuple[Span, ...] = (),
    room_active: bool = True,
) -> BookingContext:
    return BookingContext(
        now=NOW,
        doctor_active=True,
        patient_active=True,
        calendar=DoctorCalendar(WEEKDAYS_9_TO_17, ZoneInfo("UTC"), (), busy),
        patient_busy=(),
        buffers=buffers,
        room_active=room_active,
        room_busy=room_busy,
    )


def test_buffers_widen_the_span_the_doctor_holds() -> None:
    buffers = Buffers(before=10 * MINUTE, after=15 * MINUTE)
    assert buffers.around(Span(at(10), at(10, 30))) == Span(at(9, 50), at(10, 45))


# An existing appointment blocks 10:00-11:00 (10:15-10:45 plus 15 minutes either side).
EXISTING = (Span(at(10), at(11)),)


@pytest.mark.parametrize(
    ("span", "buffers", "refused"),
    [
        (Span(at(11), at(11, 30)), Buffers(), False),  # touches the buffered span
        (Span(at(10, 50), at(11, 20)), Buffers(), True),  # inside the buffer after
        (Span(at(11, 10), at(11, 30)), Buffers(before=10 * MINUTE), False),  # buffers touch
        (Span(at(11, 10), at(11, 30)), Buffers(before=11 * MINUTE), True),  # buffers overlap
        (Span(at(9), at(9, 30)), Buffers(after=30 * MINUTE), False),  # ends at 10:00 sharp
        (Span(at(9), at(9, 30)), Buffers(after=31 * MINUTE), True),
    ],
)
def test_buffered_spans_may_touch_but_never_overlap(
    span: Span, buffers: Buffers, refused: bool
) -> None:
    if refused:
        with pytest.raises(DoctorUnavailable):
            check_booking(span, context(EXISTING, buffers))
    else:
        check_booking(span, context(EXISTING, buffers))


def test_the_appointment_must_be_in_working_time_its_buffers_need_not() -> None:
    wide = Buffers(before=HOUR, after=HOUR)
    check_booking(Span(at(9), at(9, 30)), context(buffers=wide))
    check_booking(Span(at(16, 30), at(17)), context(buffers=wide))
    with pytest.raises(OutsideSchedule):
        check_booking(Span(at(8, 30), at(9)), context())


def test_room_rules() -> None:
    span = Span(at(10), at(10, 30))
    with pytest.raises(RoomUnavailable):
        check_booking(span, context(room_busy=(Span(at(10, 29), at(11)),)))
    check_booking(span, context(room_busy=(Span(at(10, 30), at(11)),)))  # touching
    with pytest.raises(InactiveParty):
        check_booking(span, context(room_active=False))
