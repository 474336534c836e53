"""The appointment status machine and the booking policy."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, time, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest

from appointments.domain.appointments import ACTIVE_STATUSES, Appointment, CancelledBy, Status
from appointments.domain.booking import BookingContext, DoctorCalendar, check_booking
from appointments.domain.errors import (
    DoctorUnavailable,
    DomainError,
    InactiveParty,
    InThePast,
    InvalidDuration,
    InvalidTransition,
    OutsideSchedule,
    PatientUnavailable,
)
from appointments.domain.schedule import Span, TimeOff, WeeklyInterval, WeeklySchedule

UTC_ZONE = ZoneInfo("UTC")
CREATED = datetime(2027, 2, 1, 8, tzinfo=UTC)
STARTS = datetime(2027, 3, 1, 10, tzinfo=UTC)  # a Monday
AFTER_START = STARTS + timedelta(minutes=20)
NEW_START = datetime(2027, 3, 2, 11, tzinfo=UTC)
NEW_END = NEW_START + timedelta(minutes=45)


def open_calendar(now: datetime) -> BookingContext:
    """A context in which every booking rule allows the move to NEW_START..NEW_END."""
    every_day = WeeklySchedule.of(WeeklyInterval(day, time(0), time(23, 59)) for day in range(7))
    return BookingContext(
        now=now,
        doctor_active=True,
        patient_active=True,
        calendar=DoctorCalendar(schedule=every_day, zone=UTC_ZONE, time_off=(), busy=()),
        patient_busy=(),
    )


def make_appointment(status: Status) -> Appointment:
    return Appointment(
        patient_id=uuid4(),
        doctor_id=uuid4(),
        department_id=uuid4(),
        starts_at=STARTS,
        ends_at=STARTS + timedelta(minutes=30),
        created_at=CREATED,
        updated_at=CREATED,
        status=status,
    )


Action = Callable[[Appointment, datetime], None]

ACTIONS: dict[str, Action] = {
    "confirm": lambda a, now: a.confirm(now),
    "check_in": lambda a, now: a.check_in(now),
    "complete": lambda a, now: a.complete(now),
    "cancel": lambda a, now: a.cancel("patient is ill", now, by=CancelledBy.PATIENT),
    "mark_no_show": lambda a, now: a.mark_no_show(now),
    "reschedule": lambda a, now: a.reschedule(Span(NEW_START, NEW_END), open_calendar(now)),
}

# The moves of API.md: (status, action) -> new status. Everything else is invalid.
ALLOWED: dict[tuple[Status, str], Status] = {
    (Status.SCHEDULED, "confirm"): Status.CONFIRMED,
    (Status.SCHEDULED, "check_in"): Status.CHECKED_IN,
    (Status.CONFIRMED, "check_in"): Status.CHECKED_IN,
    (Status.CHECKED_IN, "complete"): Status.COMPLETED,
    (Status.SCHEDULED, "cancel"): Status.CANCELLED,
    (Status.CONFIRMED, "cancel"): Status.CANCELLED,
    (Status.SCHEDULED, "mark_no_show"): Status.NO_SHOW,
    (Status.CONFIRMED, "mark_no_show"): Status.NO_SHOW,
    (Status.SCHEDULED, "reschedule"): Status.SCHEDULED,
    (Status.CONFIRMED, "reschedule"): Status.SCHEDULED,
}

ALL_PAIRS = list(itertools.product(Status, ACTIONS))


def test_table_covers_every_status_and_action() -> None:
    assert len(ALL_PAIRS) == 36
    assert set(ALLOWED) <= set(ALL_PAIRS)


@pytest.mark.parametrize(
    ("status", "action"),
    [p for p in ALL_PAIRS if p in ALLOWED],
    ids=lambda v: str(v),
)
def test_allowed_moves(status: Status, action: str) -> None:
    appointment = make_appointment(status)
    ACTIONS[action](appointment, AFTER_START)
    assert appointment.status is ALLOWED[status, action]
    assert appointment.updated_at == AFTER_START
    assert appointment.created_at == CREATED


@pytest.mark.parametrize(
    ("status", "action"),
    [p for p in ALL_PAIRS if p not in ALLOWED],
    ids=lambda v: str(v),
)
def test_every_other_move_is_an_invalid_transition(status: Status, action: str) -> None:
    appointment = make_appointment(status)
    before = dataclasses.replace(appointment)
    with pytest.raises(InvalidTransition) as raised:
        ACTIONS[action](appointment, AFTER_START)
    assert raised.value.code == "invalid_transition"
    assert appointment == before  # nothing changed, not even updated_at


def test_final_statuses_are_not_active() -> None:
    assert frozenset(ACTIVE_STATUSES) == {Status.SCHEDULED, Status.CONFIRMED, Status.CHECKED_IN}
    for status in Status:
        assert make_appointment(status).is_active is (status in ACTIVE_STATUSES)


@pytest.mark.parametrize("status", [Status.SCHEDULED, Status.CONFIRMED])
@pytest.mark.parametrize(
    "now",
    [STARTS - timedelta(hours=1), STARTS - timedelta(microseconds=1), STARTS],
    ids=["hour-before", "just-before", "at-start"],
)
def test_no_show_not_before_or_at_start(status: Status, now: datetime) -> None:
    appointment = make_appointment(status)
    with pytest.raises(InvalidTransition):
        appointment.mark_no_show(now)
    assert appointment.status is status
    assert appointment.updated_at == CREATED


def test_no_show_just_after_start() -> None:
    appointment = make_appointment(Status.CONFIRMED)
    now = STARTS + timedelta(microseconds=1)
    appointment.mark_no_show(now)
    assert appointment.status is Status.NO_SHOW
    assert appointment.updated_at == now


@pytest.mark.parametrize("status", [Status.SCHEDULED, Status.CONFIRMED])
def test_reschedule_moves_and_resets_to_scheduled(status: Status) -> None:
    appointment = make_appointment(status)
    now = STARTS - timedelta(days=3)
    appointment.reschedule(Span(NEW_START, NEW_END), open_calendar(now))
    assert (appointment.starts_at, appointment.ends_at) == (NEW_START, NEW_END)
    assert appointment.span == Span(NEW_START, NEW_END)
    assert appointment.status is Status.SCHEDULED
    assert appointment.updated_at == now


@pytest.mark.parametrize("reason", ["doctor_deactivated", None])
def test_cancel_stores_reason(reason: str | None) -> None:
    appointment = make_appointment(Status.CONFIRMED)
    appointment.cancel(reason, STARTS - timedelta(days=1), by=CancelledBy.ADMIN)
    assert appointment.status is Status.CANCELLED
    assert appointment.cancellation_reason == reason
    assert appointment.updated_at == STARTS - timedelta(days=1)


def test_refused_cancel_keeps_no_reason() -> None:
    appointment = make_appointment(Status.COMPLETED)
    with pytest.raises(InvalidTransition):
        appointment.cancel("too late", AFTER_START, by=CancelledBy.PATIENT)
    assert appointment.cancellation_reason is None


# --- check_booking -------------------------------------------------------------------------

NOW = datetime(2027, 2, 28, 20, tzinfo=UTC)  # the Sunday evening before
MONDAY = datetime(2027, 3, 1, tzinfo=UTC)
MONDAY_8_TO_18 = WeeklySchedule.of([WeeklyInterval(0, time(8), time(18))])
TUESDAY_ONLY = WeeklySchedule.of([WeeklyInterval(1, time(8), time(18))])


def at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A time on Monday 2027-03-01, UTC."""
    return MONDAY.replace(hour=hour, minute=minute, second=second)


def calendar(
    schedule: WeeklySchedule = MONDAY_8_TO_18,
    time_off: Sequence[TimeOff] = (),
    busy: Sequence[Span] = (),
) -> DoctorCalendar:
    return DoctorCalendar(schedule=schedule, zone=UTC_ZONE, time_off=time_off, busy=busy)


def book(
    span: Span,
    *,
    now: datetime = NOW,
    doctor_active: bool = True,
    patient_active: bool = True,
    doctor_calendar: DoctorCalendar | None = None,
    patient_busy: Sequence[Span] = (),
) -> None:
    check_booking(
        span,
        BookingContext(
            now=now,
            doctor_active=doctor_active,
            patient_active=patient_active,
            calendar=doctor_calendar or calendar(),
            patient_busy=patient_busy,
        ),
    )


@pytest.mark.parametrize(
    "length",
    [
        timedelta(minutes=5),
        timedelta(minutes=30),
        timedelta(hours=8),
    ],
    ids=["5m", "30m", "8h"],
)
def test_duration_limits_are_inclusive(length: timedelta) -> None:
    book(Span(at(9), at(9) + length))


@pytest.mark.parametrize(
    "length",
    [
        timedelta(minutes=4, seconds=59),
        timedelta(hours=8, seconds=1),
        timedelta(0),
        timedelta(minutes=-30),
    ],
    ids=["4m59s", "8h1s", "zero", "negative"],
)
def test_duration_outside_limits(length: timedelta) -> None:
    with pytest.raises(InvalidDuration) as raised:
        book(Span(at(9), at(9) + length))
    assert raised.value.code == "invalid_duration"


@pytest.mark.parametrize(
    "start",
    [at(9), at(9) - timedelta(minutes=1)],
    ids=["at-now", "before-now"],
)
def test_start_must_be_after_now(start: datetime) -> None:
    with pytest.raises(InThePast) as raised:
        book(Span(start, start + timedelta(minutes=30)), now=at(9))
    assert raised.value.code == "in_the_past"


def test_start_just_after_now_is_fine() -> None:
    start = at(9) + timedelta(seconds=1)
    book(Span(start, start + timedelta(minutes=30)), now=at(9))


@pytest.mark.parametrize(
    ("doctor_active", "patient_active"),
    [(False, True), (True, False), (False, False)],
    ids=["doctor", "patient", "both"],
)
def test_inactive_party(doctor_active: bool, patient_active: bool) -> None:
    with pytest.raises(InactiveParty) as raised:
        book(
            Span(at(9), at(9, 30)),
            doctor_active=doctor_active,
            patient_active=patient_active,
        )
    assert raised.value.code == "inactive_party"


@pytest.mark.parametrize(
    ("span", "time_off"),
    [
        pytest.param(Span(at(17, 45), at(18, 15)), [], id="past-closing"),
        pytest.param(Span(at(7, 45), at(8, 15)), [], id="before-opening"),
        pytest.param(
            Span(at(10), at(10, 30)),
            [TimeOff(uuid4(), at(10, 15), at(11))],
            id="time-off",
        ),
    ],
)
def test_outside_schedule(span: Span, time_off: list[TimeOff]) -> None:
    with pytest.raises(OutsideSchedule) as raised:
        book(span, doctor_calendar=calendar(time_off=time_off))
    assert raised.value.code == "outside_schedule"


def test_outside_schedule_on_a_day_off() -> None:
    with pytest.raises(OutsideSchedule):
        book(Span(at(9), at(9, 30)), doctor_calendar=calendar(schedule=TUESDAY_ONLY))


def test_time_off_ending_at_start_does_not_block() -> None:
    book(
        Span(at(11), at(11, 30)),
        doctor_calendar=calendar(time_off=[TimeOff(uuid4(), at(10), at(11))]),
    )


@pytest.mark.parametrize(
    "busy",
    [
        Span(at(9), at(9, 30)),
        Span(at(9, 15), at(9, 45)),
        Span(at(8, 45), at(9, 15)),
        Span(at(8), at(12)),
    ],
    ids=["same", "overlaps-end", "overlaps-start", "surrounds"],
)
def test_doctor_and_patient_unavailable(busy: Span) -> None:
    span = Span(at(9), at(9, 30))
    with pytest.raises(DoctorUnavailable) as doctor:
        book(span, doctor_calendar=calendar(busy=[busy]))
    assert doctor.value.code == "doctor_unavailable"
    with pytest.raises(PatientUnavailable) as patient:
        book(span, patient_busy=[busy])
    assert patient.value.code == "patient_unavailable"


def test_back_to_back_appointments_are_allowed() -> None:
    book(
        Span(at(9, 30), at(10)),
        doctor_calendar=calendar(busy=[Span(at(9), at(9, 30)), Span(at(10), at(10, 30))]),
        patient_busy=[Span(at(9), at(9, 30)), Span(at(10), at(10, 30))],
    )


# The order clients see the rules in. Each scenario breaks rule k and every later one;
# the error reported must be rule k's.
RULE_ORDER: list[tuple[str, type[DomainError]]] = [
    ("duration", InvalidDuration),
    ("past", InThePast),
    ("inactive", InactiveParty),
    ("schedule", OutsideSchedule),
    ("doctor_busy", DoctorUnavailable),
    ("patient_busy", PatientUnavailable),
]


def book_breaking(broken: set[str]) -> None:
    start = at(9)
    now = start if "past" in broken else NOW
    length = timedelta(minutes=4) if "duration" in broken else timedelta(minutes=30)
    span = Span(start, start + length)
    book(
        span,
        now=now,
        doctor_active="inactive" not in broken,
        doctor_calendar=calendar(
            schedule=TUESDAY_ONLY if "schedule" in broken else MONDAY_8_TO_18,
            busy=[span] if "doctor_busy" in broken else [],
        ),
        patient_busy=[span] if "patient_busy" in broken else [],
    )


@pytest.mark.parametrize("first", range(len(RULE_ORDER)), ids=[n for n, _ in RULE_ORDER])
def test_rules_are_checked_in_order(first: int) -> None:
    broken = {name for name, _ in RULE_ORDER[first:]}
    with pytest.raises(RULE_ORDER[first][1]):
        book_breaking(broken)


@pytest.mark.parametrize(("name", "error"), RULE_ORDER, ids=[n for n, _ in RULE_ORDER])
def test_each_rule_alone_raises_its_own_error(name: str, error: type[DomainError]) -> None:
    with pytest.raises(error):
        book_breaking({name})


def test_no_rule_broken_books() -> None:
    book_breaking(set())
