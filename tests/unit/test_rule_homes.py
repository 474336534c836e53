"""The rules that moved into the domain: aggregates guard their own invariants (booking
and moving run the booking rules, time off validates itself, deactivation cascades) and
every limit is declared once."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest

from appointments.domain.appointments import Appointment, CancelledBy, Status
from appointments.domain.booking import (
    DEFAULT_DURATION,
    MAX_DURATION_MINUTES,
    MIN_DURATION_MINUTES,
    BookingContext,
    DoctorCalendar,
    duration_of,
    requested_span,
)
from appointments.domain.changes import UNSET
from appointments.domain.deactivation import (
    DOCTOR_DEACTIVATED,
    PATIENT_DEACTIVATED,
    deactivate_party,
)
from appointments.domain.departments import DEPARTMENT_NAME, Department
from appointments.domain.doctors import Doctor
from appointments.domain.errors import (
    DoctorUnavailable,
    InThePast,
    InvalidDuration,
    InvalidSchedule,
    InvalidTransition,
    InvalidValue,
    LastAdmin,
)
from appointments.domain.patients import Patient
from appointments.domain.schedule import (
    MAX_WEEKLY_INTERVALS,
    Span,
    TimeOff,
    WeeklyInterval,
    WeeklySchedule,
)
from appointments.domain.text import Length
from appointments.domain.users import Role, User, check_admin_remains

NOW = datetime(2027, 2, 28, 20, tzinfo=UTC)
MONDAY_10 = datetime(2027, 3, 1, 10, tzinfo=UTC)
HALF_HOUR = timedelta(minutes=30)


def context(busy: tuple[Span, ...] = (), now: datetime = NOW) -> BookingContext:
    weekdays = WeeklySchedule.of(WeeklyInterval(day, time(8), time(18)) for day in range(5))
    return BookingContext(
        now=now,
        doctor_active=True,
        patient_active=True,
        calendar=DoctorCalendar(schedule=weekdays, zone=ZoneInfo("UTC"), time_off=(), busy=busy),
        patient_busy=(),
    )


def booked(span: Span = Span(MONDAY_10, MONDAY_10 + HALF_HOUR)) -> Appointment:
    return Appointment.book(
        patient_id=uuid4(),
        doctor_id=uuid4(),
        department_id=uuid4(),
        span=span,
        reason="checkup",
        context=context(),
    )


def test_booking_creates_a_scheduled_appointment_stamped_now() -> None:
    appointment = booked()
    assert appointment.status is Status.SCHEDULED
    assert appointment.span == Span(MONDAY_10, MONDAY_10 + HALF_HOUR)
    assert appointment.created_at == appointment.updated_at == NOW
    assert appointment.reason == "checkup"


def test_booking_runs_the_booking_rules_itself() -> None:
    with pytest.raises(InThePast):
        Appointment.book(
            patient_id=uuid4(),
            doctor_id=uuid4(),
            department_id=uuid4(),
            span=Span(NOW - HALF_HOUR, NOW),
            reason=None,
            context=context(),
        )


def test_a_refused_move_changes_nothing() -> None:
    appointment = booked()
    target = Span(MONDAY_10 + timedelta(hours=2), MONDAY_10 + timedelta(hours=3))
    with pytest.raises(DoctorUnavailable):
        appointment.reschedule(target, context(busy=(target,)))
    assert appointment.span == Span(MONDAY_10, MONDAY_10 + HALF_HOUR)
    assert appointment.updated_at == NOW


def test_a_final_appointment_refuses_to_move_before_any_rule_runs() -> None:
    appointment = booked()
    appointment.cancel(None, NOW, by=CancelledBy.DOCTOR)
    # The context would refuse the span too (in the past): the status speaks first.
    with pytest.raises(InvalidTransition):
        appointment.reschedule(Span(NOW - HALF_HOUR, NOW), context())


def test_edit_changes_only_what_was_given() -> None:
    appointment = booked()
    later = NOW + timedelta(minutes=1)
    appointment.edit(later, notes="rest")
    assert (appointment.reason, appointment.notes, appointment.updated_at) == (
        "checkup",
        "rest",
        later,
    )
    appointment.edit(later, reason=None, notes=UNSET)
    assert (appointment.reason, appointment.notes) == (None, "rest")


@pytest.mark.parametrize(
    ("ends_at", "duration", "default", "expected"),
    [
        (MONDAY_10 + timedelta(hours=1), None, DEFAULT_DURATION, timedelta(hours=1)),
        (None, timedelta(minutes=45), DEFAULT_DURATION, timedelta(minutes=45)),
        (None, None, DEFAULT_DURATION, timedelta(minutes=30)),
        (None, None, timedelta(minutes=50), timedelta(minutes=50)),  # a move keeps its length
        (None, timedelta(0), DEFAULT_DURATION, timedelta(0)),  # zero is given, not "unset"
    ],
)
def test_requested_span(
    ends_at: datetime | None,
    duration: timedelta | None,
    default: timedelta,
    expected: timedelta,
) -> None:
    span = requested_span(MONDAY_10, ends_at, duration, default)
    assert (span.starts_at, span.ends_at - span.starts_at) == (MONDAY_10, expected)


def test_requested_span_refuses_an_end_and_a_duration() -> None:
    with pytest.raises(InvalidValue):
        requested_span(MONDAY_10, MONDAY_10 + HALF_HOUR, HALF_HOUR)


@pytest.mark.parametrize(
    ("minutes", "allowed"),
    [
        (0, False),
        (MIN_DURATION_MINUTES - 1, False),
        (MIN_DURATION_MINUTES, True),
        (MAX_DURATION_MINUTES, True),
        (MAX_DURATION_MINUTES + 1, False),
        (10**20, False),  # refused, not an overflow
    ],
)
def test_duration_in_minutes_is_bounded(minutes: int, allowed: bool) -> None:
    if allowed:
        assert duration_of(minutes) == timedelta(minutes=minutes)
    else:
        with pytest.raises(InvalidDuration):
            duration_of(minutes)


@pytest.mark.parametrize("length", [timedelta(0), -HALF_HOUR])
def test_time_off_must_end_after_it_starts(length: timedelta) -> None:
    with pytest.raises(InvalidValue):
        TimeOff(uuid4(), MONDAY_10, MONDAY_10 + length)


def test_time_off_without_reason_keeps_the_rest() -> None:
    time_off = TimeOff(uuid4(), MONDAY_10, MONDAY_10 + HALF_HOUR, "surgery")
    hidden = time_off.without_reason()
    assert hidden.reason is None
    assert (hidden.id, hidden.doctor_id, hidden.span) == (
        time_off.id,
        time_off.doctor_id,
        time_off.span,
    )


def test_a_week_has_a_bounded_number_of_intervals() -> None:
    hours = [WeeklyInterval(d, time(h), time(h, 30)) for d in range(7) for h in range(24)]
    assert len(WeeklySchedule.of(hours).intervals) == MAX_WEEKLY_INTERVALS
    with pytest.raises(InvalidSchedule):
        WeeklySchedule.of([*hours, WeeklyInterval(0, time(0, 40), time(0, 50))])


def _user(role: Role = Role.ADMIN) -> User:
    return User("a@example.com", "a", "A", role, "hash", NOW)


def _doctor(user: User) -> Doctor:
    return Doctor(user.id, user.full_name, user.email, uuid4(), "General practice")


def test_deactivating_a_doctor_brings_the_login_and_future_appointments_along() -> None:
    login = _user(Role.DOCTOR)
    doctor = _doctor(login)
    future = [booked(), booked(Span(MONDAY_10 + HALF_HOUR, MONDAY_10 + 2 * HALF_HOUR))]
    cancelled = deactivate_party(doctor, login, future, NOW)
    assert not doctor.is_active
    assert not login.is_active
    assert login.tokens_valid_after == NOW
    assert cancelled == future
    assert {(a.status, a.cancellation_reason) for a in future} == {
        (Status.CANCELLED, DOCTOR_DEACTIVATED)
    }


def test_deactivating_a_patient_without_a_login() -> None:
    patient = Patient(full_name="Walk In", created_at=NOW)
    appointment = booked()
    deactivate_party(patient, None, [appointment], NOW)
    assert not patient.is_active
    assert appointment.cancellation_reason == PATIENT_DEACTIVATED


def test_deactivating_a_login_twice_keeps_the_first_revocation() -> None:
    login = _user()
    login.deactivate(NOW)
    login.deactivate(NOW + HALF_HOUR)
    assert login.tokens_valid_after == NOW


def test_the_last_active_admin_cannot_be_taken_away() -> None:
    admin, other = _user(), _user()
    with pytest.raises(LastAdmin):
        check_admin_remains(admin, [admin.id])
    check_admin_remains(admin, [admin.id, other.id])
    check_admin_remains(_user(Role.DOCTOR), [admin.id])  # not an admin: nothing to keep


@pytest.mark.parametrize(
    ("name", "stored"),
    [(" Cardiology ", "Cardiology"), ("x" * DEPARTMENT_NAME.max, "x" * DEPARTMENT_NAME.max)],
)
def test_department_names_are_trimmed_and_bounded(name: str, stored: str) -> None:
    department = Department(name=name)
    assert department.name == stored
    with pytest.raises(InvalidValue):
        department.rename("x" * (DEPARTMENT_NAME.max + 1))
    with pytest.raises(InvalidValue):
        Department(name="   ")


def test_length_admits_both_ends() -> None:
    limit = Length(2, 3)
    assert [limit.admits("x" * n) for n in range(1, 5)] == [False, True, True, False]
