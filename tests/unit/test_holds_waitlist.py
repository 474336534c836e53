"""Holds and waitlist entries: the rules, without I/O and with a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest

from appointments.domain.booking import BookingContext, Buffers, DoctorCalendar
from appointments.domain.errors import (
    DoctorUnavailable,
    HoldExpired,
    InvalidTransition,
    InvalidValue,
)
from appointments.domain.holds import Hold
from appointments.domain.schedule import Span, WeeklyInterval, WeeklySchedule
from appointments.domain.waitlist import (
    Offer,
    WaitlistEntry,
    WaitlistStatus,
    first_in_line,
    offer_length,
)

NOW = datetime(2027, 3, 1, 8, tzinfo=UTC)  # a Monday
TODAY = NOW.date()
MINUTE = timedelta(minutes=1)
WEEKDAYS = WeeklySchedule.of(WeeklyInterval(d, time(8), time(17)) for d in range(5))


def context(busy: tuple[Span, ...] = (), buffers: Buffers | None = None) -> BookingContext:
    return BookingContext(
        now=NOW,
        doctor_active=True,
        patient_active=True,
        calendar=DoctorCalendar(schedule=WEEKDAYS, zone=ZoneInfo("UTC"), time_off=(), busy=busy),
        patient_busy=(),
        **({"buffers": buffers} if buffers else {}),
    )


def at(hour: int, minute: int = 0, day: int = 1) -> datetime:
    return datetime(2027, 3, day, hour, minute, tzinfo=UTC)


def hold(span: Span, ctx: BookingContext | None = None, lasts: int = 10) -> Hold:
    return Hold.place(
        doctor_id=uuid4(),
        patient_id=uuid4(),
        span=span,
        context=ctx or context(),
        lasts=timedelta(minutes=lasts),
    )


def test_a_hold_lasts_from_now_and_blocks_its_buffers_until_it_expires() -> None:
    placed = hold(Span(at(10), at(10, 30)), context(buffers=Buffers(5 * MINUTE, 10 * MINUTE)))
    assert placed.expires_at == NOW + 10 * MINUTE
    assert placed.blocked == Span(at(9, 55), at(10, 40))
    assert placed.is_live(NOW + 9 * MINUTE)
    assert not placed.is_live(placed.expires_at)  # expired at the instant, not after
    placed.check_live(NOW)
    with pytest.raises(HoldExpired):
        placed.check_live(placed.expires_at)


def test_a_hold_is_placed_only_where_a_booking_could_be() -> None:
    with pytest.raises(DoctorUnavailable):
        hold(Span(at(10), at(10, 30)), context(busy=(Span(at(10, 15), at(11)),)))


def entry(created: datetime = NOW, **fields: object) -> WaitlistEntry:
    values: dict[str, object] = {
        "patient_id": uuid4(),
        "department_id": uuid4(),
        "date_from": TODAY,
        "date_to": TODAY + timedelta(days=6),
        "created_at": created,
        "updated_at": created,
    }
    values.update(fields)
    return WaitlistEntry(**values)  # type: ignore[arg-type]


def offer(starts: datetime, minutes: int = 30, expires: datetime | None = None) -> Offer:
    return Offer(
        hold_id=uuid4(),
        doctor_id=uuid4(),
        starts_at=starts,
        ends_at=starts + minutes * MINUTE,
        expires_at=expires or NOW + 30 * MINUTE,
    )


def test_an_entry_spans_valid_days() -> None:
    with pytest.raises(InvalidValue):
        entry(date_from=TODAY, date_to=TODAY - timedelta(days=1))
    with pytest.raises(InvalidValue):
        entry(date_to=TODAY + timedelta(days=400))
    with pytest.raises(InvalidValue):
        entry(date_to=TODAY).check_open_on(TODAY + timedelta(days=1))


def test_an_entry_wants_its_doctor_or_any_doctor_of_its_department_on_its_days() -> None:
    doctor, other = uuid4(), uuid4()
    for_doctor = entry(doctor_id=doctor)
    department = entry()
    assert for_doctor.wants(doctor, uuid4(), TODAY)
    assert not for_doctor.wants(other, for_doctor.department_id, TODAY)
    assert department.wants(other, department.department_id, TODAY + timedelta(days=6))
    assert not department.wants(other, department.department_id, TODAY + timedelta(days=7))
    assert not department.wants(other, uuid4(), TODAY)


def test_a_lapsed_offer_waits_again_in_place_and_never_gets_that_time_again() -> None:
    waiting = entry()
    made = offer(at(10))
    waiting.offered(made, NOW)
    assert waiting.status is WaitlistStatus.OFFERED
    assert not waiting.wants(made.doctor_id, waiting.department_id, TODAY)  # one offer at once
    waiting.lapse(NOW + 31 * MINUTE)
    assert (waiting.status, waiting.offer, waiting.created_at) == (
        WaitlistStatus.WAITING,
        None,
        NOW,
    )
    assert waiting.passed_over(made.doctor_id, Span(at(10, 15), at(10, 45)))
    assert not waiting.passed_over(made.doctor_id, Span(at(10, 30), at(11)))
    assert not waiting.passed_over(uuid4(), made.span)


def test_entry_transitions() -> None:
    waiting = entry()
    with pytest.raises(InvalidTransition):
        waiting.booked(NOW)
    waiting.offered(offer(at(10)), NOW)
    with pytest.raises(InvalidTransition):
        waiting.offered(offer(at(11)), NOW)
    waiting.booked(NOW)
    with pytest.raises(InvalidTransition):
        waiting.cancel(NOW)
    offered = entry()
    made = offer(at(10))
    offered.offered(made, NOW)
    assert offered.cancel(NOW) == made  # its hold is to be released
    assert offered.status is WaitlistStatus.CANCELLED
    with pytest.raises(InvalidTransition):
        offered.expire(NOW)
    later = entry()
    later.expire(NOW)
    assert later.status is WaitlistStatus.EXPIRED


def test_an_entry_as_of_now_shows_a_lapsed_offer_and_an_ended_range_before_the_sweep() -> None:
    offered = entry()
    offered.offered(offer(at(10), expires=NOW + 30 * MINUTE), NOW)
    assert offered.as_of(NOW + 29 * MINUTE, TODAY).status is WaitlistStatus.OFFERED
    seen = offered.as_of(NOW + 30 * MINUTE, TODAY)
    assert (seen.status, seen.offer) == (WaitlistStatus.WAITING, None)
    assert offered.status is WaitlistStatus.OFFERED  # the stored entry is untouched
    ended = entry(date_to=TODAY)
    assert ended.as_of(NOW, TODAY).status is WaitlistStatus.WAITING
    assert ended.as_of(NOW, TODAY + timedelta(days=1)).status is WaitlistStatus.EXPIRED


def test_first_in_line_is_the_oldest_ties_broken_by_id() -> None:
    late, early = entry(NOW + MINUTE), entry(NOW)
    tie = entry(NOW)
    order = first_in_line([late, tie, early])
    assert order[0].created_at == order[1].created_at == NOW
    assert str(order[0].id) < str(order[1].id)
    assert order[2] is late


@pytest.mark.parametrize(
    ("duration", "service", "expected"),
    [(45, timedelta(minutes=20), 45), (None, timedelta(minutes=20), 20), (None, None, 30)],
)
def test_an_offer_is_as_long_as_the_entry_asks_else_its_service_else_30_minutes(
    duration: int | None, service: timedelta | None, expected: int
) -> None:
    assert offer_length(duration, service) == expected * MINUTE
