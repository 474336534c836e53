"""Booking, visibility, listing, rescheduling and the status machine of appointments."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import uuid4

import pytest

from appointments.application.access import Actor
from appointments.application.appointments import (
    Action,
    AppointmentChanges,
    AppointmentQuery,
    BookingRequest,
)
from appointments.application.errors import FieldNotAllowed, Forbidden
from appointments.application.ports.queries import PageRequest
from appointments.domain.appointments import Appointment, Status
from appointments.domain.changes import UNSET
from appointments.domain.errors import (
    DoctorUnavailable,
    DomainError,
    InactiveParty,
    InThePast,
    InvalidDuration,
    InvalidTransition,
    InvalidValue,
    NotFound,
    OutsideSchedule,
    PatientUnavailable,
)
from appointments.domain.users import Role
from tests.application.conftest import MONDAY, NOW, Clinic, did, pid


@dataclass
class Cast:
    admin: Actor
    d: Actor  # doctor
    o: Actor  # other doctor
    p: Actor  # patient
    q: Actor  # other patient

    def __getitem__(self, name: str) -> Actor:
        actor: Actor = getattr(self, name)
        return actor


@pytest.fixture
async def cast(clinic: Clinic, admin: Actor) -> Cast:
    return Cast(
        admin,
        await clinic.doctor(admin),
        await clinic.doctor(admin),
        await clinic.patient(),
        await clinic.patient(),
    )


def _request(
    doctor: Actor,
    starts_at: datetime,
    patient: Actor | None = None,
    *,
    ends_at: datetime | None = None,
    minutes: int | None = None,
    reason: str | None = None,
) -> BookingRequest:
    return BookingRequest(
        doctor_id=did(doctor),
        starts_at=starts_at,
        patient_id=None if patient is None else pid(patient),
        ends_at=ends_at,
        duration_minutes=minutes,
        reason=reason,
    )


# --- who books for whom ---------------------------------------------------------------


@pytest.mark.parametrize("give_own_id", [False, True])
async def test_patient_books_for_themself(clinic: Clinic, cast: Cast, give_own_id: bool) -> None:
    start = clinic.at(1, 10)
    request = _request(cast.d, start, cast.p if give_own_id else None, reason="Checkup")

    with clinic.commits_once():
        booked = await clinic.c.book_appointment()(cast.p, request)

    assert clinic.state.appointments == {booked.id: booked}
    department_id = clinic.state.doctors[did(cast.d)].department_id
    assert (booked.patient_id, booked.doctor_id, booked.department_id) == (
        pid(cast.p),
        did(cast.d),
        department_id,
    )
    assert (booked.starts_at, booked.ends_at) == (start, start + timedelta(minutes=30))
    assert (booked.status, booked.reason, booked.notes) == (Status.SCHEDULED, "Checkup", None)
    assert booked.created_at == booked.updated_at == NOW


@pytest.mark.parametrize("other", ["q", "unknown"])
async def test_patient_may_not_book_for_someone_else(
    clinic: Clinic, cast: Cast, other: str
) -> None:
    patient_id = pid(cast.q) if other == "q" else uuid4()
    request = BookingRequest(did(cast.d), clinic.at(1, 10), patient_id=patient_id)
    with clinic.commits_nothing(), pytest.raises(NotFound):
        await clinic.c.book_appointment()(cast.p, request)


async def test_patient_login_without_record_may_not_book(clinic: Clinic, cast: Cast) -> None:
    orphan = Actor(uuid4(), Role.PATIENT)
    with clinic.commits_nothing(), pytest.raises(Forbidden):
        await clinic.c.book_appointment()(orphan, _request(cast.d, clinic.at(1, 10)))


async def test_doctor_books_only_into_own_calendar(clinic: Clinic, cast: Cast) -> None:
    book = clinic.c.book_appointment()
    with clinic.commits_once():
        booked = await book(cast.d, _request(cast.d, clinic.at(1, 10), cast.p))
    assert (booked.doctor_id, booked.patient_id) == (did(cast.d), pid(cast.p))

    with clinic.commits_nothing(), pytest.raises(Forbidden):
        await book(cast.d, _request(cast.o, clinic.at(1, 11), cast.p))
    with clinic.commits_nothing(), pytest.raises(InvalidValue):
        await book(cast.d, _request(cast.d, clinic.at(1, 11)))


async def test_admin_books_for_anyone_but_must_name_the_patient(clinic: Clinic, cast: Cast) -> None:
    book = clinic.c.book_appointment()
    for doctor, patient in [(cast.d, cast.p), (cast.o, cast.q)]:
        booked = await book(cast.admin, _request(doctor, clinic.at(1, 10), patient))
        assert (booked.doctor_id, booked.patient_id) == (did(doctor), pid(patient))

    with clinic.commits_nothing(), pytest.raises(InvalidValue):
        await book(cast.admin, _request(cast.d, clinic.at(1, 11)))
    for unknown in (
        BookingRequest(did(cast.d), clinic.at(1, 11), patient_id=uuid4()),
        BookingRequest(uuid4(), clinic.at(1, 11), patient_id=pid(cast.p)),
    ):
        with clinic.commits_nothing(), pytest.raises(NotFound):
            await book(cast.admin, unknown)


# --- booking rules --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "hour", "minute", "minutes", "end_offset", "error"),
    [
        (1, 9, 0, 30, None, None),
        (1, 16, 30, None, None, None),  # default 30 minutes, ends at 17:00
        (1, 9, 0, 5, None, None),
        (1, 9, 0, 8 * 60, None, None),
        (1, 10, 0, None, timedelta(minutes=45), None),
        (1, 10, 0, 4, None, InvalidDuration),
        (1, 9, 0, 8 * 60 + 1, None, InvalidDuration),
        (1, 10, 0, 0, None, InvalidDuration),
        (1, 10, 0, -30, None, InvalidDuration),
        (1, 10, 0, None, timedelta(0), InvalidDuration),
        (1, 10, 0, None, timedelta(minutes=-30), InvalidDuration),
        (1, 8, 30, 30, None, OutsideSchedule),
        (1, 8, 45, 30, None, OutsideSchedule),  # starts before opening
        (1, 16, 45, 30, None, OutsideSchedule),  # runs past closing
        (1, 17, 0, 30, None, OutsideSchedule),
        (5, 10, 0, 30, None, OutsideSchedule),  # Saturday
        (6, 10, 0, 30, None, OutsideSchedule),  # Sunday
        (-1, 10, 0, 30, None, InThePast),  # last Sunday: the past is reported first
        (1, 10, 0, 30, timedelta(minutes=30), InvalidValue),  # ends_at and duration
    ],
)
async def test_booking_span_rules(
    clinic: Clinic,
    cast: Cast,
    day: int,
    hour: int,
    minute: int,
    minutes: int | None,
    end_offset: timedelta | None,
    error: type[DomainError] | None,
) -> None:
    start = clinic.at(day, hour, minute)
    ends_at = None if end_offset is None else start + end_offset
    request = _request(cast.d, start, ends_at=ends_at, minutes=minutes)

    if error is not None:
        with clinic.commits_nothing(), pytest.raises(error):
            await clinic.c.book_appointment()(cast.p, request)
        return
    booked = await clinic.c.book_appointment()(cast.p, request)
    expected_end = start + (end_offset or timedelta(minutes=minutes or 30))
    assert (booked.starts_at, booked.ends_at) == (start, expected_end)


@pytest.mark.parametrize("offset", [timedelta(0), timedelta(minutes=-1)])
async def test_booking_must_start_in_the_future(
    clinic: Clinic, cast: Cast, offset: timedelta
) -> None:
    clinic.clock.at = clinic.at(0, 10)
    with clinic.commits_nothing(), pytest.raises(InThePast):
        await clinic.book(cast.p, cast.d, clinic.at(0, 10) + offset)
    booked = await clinic.book(cast.p, cast.d, clinic.at(0, 10) + timedelta(minutes=1))
    assert booked.id in clinic.state.appointments


async def test_booking_refuses_time_off(clinic: Clinic, cast: Cast) -> None:
    await clinic.c.add_time_off()(cast.d, did(cast.d), clinic.at(1, 12), clinic.at(1, 13), None)
    for start in (clinic.at(1, 11, 45), clinic.at(1, 12), clinic.at(1, 12, 45)):
        with clinic.commits_nothing(), pytest.raises(OutsideSchedule):
            await clinic.book(cast.p, cast.d, start)
    # Touching the time off is fine on both sides.
    await clinic.book(cast.p, cast.d, clinic.at(1, 11, 30))
    await clinic.book(cast.p, cast.d, clinic.at(1, 13))


@pytest.mark.parametrize("who", ["doctor", "patient"])
async def test_booking_needs_active_parties(clinic: Clinic, cast: Cast, who: str) -> None:
    if who == "doctor":
        await clinic.c.deactivate_doctor()(cast.admin, did(cast.d))
    else:
        await clinic.c.deactivate_patient()(cast.admin, pid(cast.p))

    with clinic.commits_nothing(), pytest.raises(InactiveParty):
        await clinic.book(cast.admin, cast.d, clinic.at(1, 10), cast.p)


async def test_doctor_and_patient_time_is_exclusive(clinic: Clinic, cast: Cast) -> None:
    await clinic.book(cast.p, cast.d, clinic.at(1, 10))  # 10:00-10:30

    for start in (clinic.at(1, 9, 45), clinic.at(1, 10), clinic.at(1, 10, 15)):
        with clinic.commits_nothing(), pytest.raises(DoctorUnavailable):
            await clinic.book(cast.q, cast.d, start)
        with clinic.commits_nothing(), pytest.raises(PatientUnavailable):
            await clinic.book(cast.p, cast.o, start)
    with clinic.commits_nothing(), pytest.raises(DoctorUnavailable):
        await clinic.book(cast.q, cast.d, clinic.at(1, 9), minutes=120)  # encloses it

    # Back to back is not an overlap ([start, end) spans).
    await clinic.book(cast.q, cast.d, clinic.at(1, 10, 30))
    await clinic.book(cast.q, cast.d, clinic.at(1, 9, 30))
    await clinic.book(cast.p, cast.o, clinic.at(1, 10, 30))


async def test_cancelled_appointments_free_the_slot(clinic: Clinic, cast: Cast) -> None:
    first = await clinic.book(cast.p, cast.d, clinic.at(1, 10))
    await clinic.c.change_status()(cast.p, first.id, Action.CANCEL)

    again = await clinic.book(cast.q, cast.d, clinic.at(1, 10))
    mine = await clinic.book(cast.p, cast.o, clinic.at(1, 10))
    assert {again.status, mine.status} == {Status.SCHEDULED}


# --- visibility and listing -----------------------------------------------------------


async def _four(clinic: Clinic, cast: Cast) -> dict[str, Appointment]:
    return {
        "dp": await clinic.book(cast.admin, cast.d, clinic.at(1, 10), cast.p),
        "oq": await clinic.book(cast.admin, cast.o, clinic.at(1, 10), cast.q),
        "dq": await clinic.book(cast.admin, cast.d, clinic.at(2, 10), cast.q),
        "op": await clinic.book(cast.admin, cast.o, clinic.at(2, 11), cast.p),
    }


SEES = {
    "admin": {"dp", "oq", "dq", "op"},
    "d": {"dp", "dq"},
    "o": {"oq", "op"},
    "p": {"dp", "op"},
    "q": {"oq", "dq"},
}


@pytest.mark.parametrize("viewer", SEES)
async def test_get_and_list_visibility(clinic: Clinic, cast: Cast, viewer: str) -> None:
    booked = await _four(clinic, cast)
    actor = cast[viewer]

    for name, appointment in booked.items():
        if name in SEES[viewer]:
            assert await clinic.c.get_appointment()(actor, appointment.id) == appointment
        else:
            with pytest.raises(NotFound):
                await clinic.c.get_appointment()(actor, appointment.id)
    with pytest.raises(NotFound):
        await clinic.c.get_appointment()(actor, uuid4())

    page = await clinic.c.list_appointments()(actor, AppointmentQuery(), PageRequest())
    expected = sorted((booked[n] for n in SEES[viewer]), key=lambda a: (a.starts_at, str(a.id)))
    assert [a.id for a in page.items] == [a.id for a in expected]
    assert page.total == len(expected)


@pytest.mark.parametrize(
    ("viewer", "doctor", "patient", "expected"),
    [
        ("p", None, "q", set()),  # another patient's list: empty, not an error
        ("p", "d", None, {"dp"}),
        ("p", "o", "p", {"op"}),
        ("d", "o", None, set()),  # another doctor's calendar: empty
        ("d", None, "q", {"dq"}),
        ("admin", "d", None, {"dp", "dq"}),
        ("admin", None, "p", {"dp", "op"}),
        ("admin", "o", "p", {"op"}),
    ],
)
async def test_list_is_scoped_to_the_caller(
    clinic: Clinic,
    cast: Cast,
    viewer: str,
    doctor: str | None,
    patient: str | None,
    expected: set[str],
) -> None:
    booked = await _four(clinic, cast)
    query = AppointmentQuery(
        doctor_id=None if doctor is None else did(cast[doctor]),
        patient_id=None if patient is None else pid(cast[patient]),
    )

    page = await clinic.c.list_appointments()(cast[viewer], query, PageRequest())

    assert {a.id for a in page.items} == {booked[n].id for n in expected}
    assert page.total == len(expected)


@pytest.mark.parametrize("clinic_timezone", ["UTC", "Pacific/Auckland"])
async def test_list_filters_by_status_and_local_dates(clinic: Clinic, cast: Cast) -> None:
    """Dates are the clinic's local dates (Auckland is UTC+13: Tuesday 09:00 there is
    still Monday in UTC)."""
    booked = {
        "tue-early": await clinic.book(cast.p, cast.d, clinic.at(1, 9)),
        "tue-late": await clinic.book(cast.p, cast.d, clinic.at(1, 16, 30)),
        "wed": await clinic.book(cast.p, cast.d, clinic.at(2, 12)),
        "thu": await clinic.book(cast.p, cast.d, clinic.at(3, 9)),
    }
    await clinic.c.change_status()(cast.d, booked["wed"].id, Action.CONFIRM)
    await clinic.c.change_status()(cast.p, booked["thu"].id, Action.CANCEL)
    tue, wed = MONDAY + timedelta(days=1), MONDAY + timedelta(days=2)
    search = clinic.c.list_appointments()

    async def found(query: AppointmentQuery, page: PageRequest = PageRequest()) -> list[str]:
        result = await search(cast.p, query, page)
        names = {a.id: n for n, a in booked.items()}
        return [names[a.id] for a in result.items]

    assert await found(AppointmentQuery()) == ["tue-early", "tue-late", "wed", "thu"]
    assert await found(AppointmentQuery(date_from=wed)) == ["wed", "thu"]
    assert await found(AppointmentQuery(date_to=tue)) == ["tue-early", "tue-late"]
    assert await found(AppointmentQuery(date_from=wed, date_to=wed)) == ["wed"]
    assert await found(AppointmentQuery(date_to=MONDAY)) == []
    assert await found(AppointmentQuery(status=Status.CONFIRMED)) == ["wed"]
    assert await found(AppointmentQuery(status=Status.CANCELLED)) == ["thu"]
    assert await found(AppointmentQuery(status=Status.SCHEDULED, date_from=wed)) == []
    assert await found(AppointmentQuery(), PageRequest(limit=2, offset=1)) == ["tue-late", "wed"]


# --- updates --------------------------------------------------------------------------


def _move(
    starts_at: datetime | None,
    *,
    ends_at: datetime | None = None,
    minutes: int | None = None,
) -> AppointmentChanges:
    """A move; None leaves that field out of the request."""
    return AppointmentChanges(
        starts_at=UNSET if starts_at is None else starts_at,
        ends_at=UNSET if ends_at is None else ends_at,
        duration_minutes=UNSET if minutes is None else minutes,
    )


@pytest.mark.parametrize("mover", ["admin", "d", "p"])
async def test_reschedule_keeps_duration_and_needs_confirming_again(
    clinic: Clinic, cast: Cast, mover: str
) -> None:
    booked = await clinic.book(cast.p, cast.d, clinic.at(1, 10), minutes=45)
    await clinic.c.change_status()(cast.d, booked.id, Action.CONFIRM)
    clinic.clock.advance(timedelta(minutes=5))

    with clinic.commits_once():
        moved = await clinic.c.update_appointment()(cast[mover], booked.id, _move(clinic.at(1, 13)))

    assert clinic.state.appointments[booked.id] == moved
    assert (moved.starts_at, moved.ends_at) == (clinic.at(1, 13), clinic.at(1, 13, 45))
    assert moved.status is Status.SCHEDULED
    assert moved.updated_at == clinic.clock.now()


async def test_reschedule_by_ten_minutes_overlaps_only_itself(clinic: Clinic, cast: Cast) -> None:
    booked = await clinic.book(cast.p, cast.d, clinic.at(1, 10))

    moved = await clinic.c.update_appointment()(cast.p, booked.id, _move(clinic.at(1, 10, 10)))

    assert (moved.starts_at, moved.ends_at) == (clinic.at(1, 10, 10), clinic.at(1, 10, 40))


async def test_reschedule_with_explicit_end_or_duration(clinic: Clinic, cast: Cast) -> None:
    booked = await clinic.book(cast.p, cast.d, clinic.at(1, 10))
    update = clinic.c.update_appointment()

    moved = await update(cast.p, booked.id, _move(clinic.at(1, 11), ends_at=clinic.at(1, 12)))
    assert (moved.starts_at, moved.ends_at) == (clinic.at(1, 11), clinic.at(1, 12))
    moved = await update(cast.p, booked.id, _move(clinic.at(1, 14), minutes=15))
    assert (moved.starts_at, moved.ends_at) == (clinic.at(1, 14), clinic.at(1, 14, 15))


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        (lambda c: _move(c.at(1, 11)), DoctorUnavailable),  # q's appointment with d
        (lambda c: _move(c.at(1, 12)), PatientUnavailable),  # p's appointment with o
        (lambda c: _move(c.at(1, 8)), OutsideSchedule),
        (lambda c: _move(c.at(5, 10)), OutsideSchedule),
        (lambda c: _move(c.at(1, 15)), OutsideSchedule),  # time off
        (lambda c: _move(c.at(-1, 10)), InThePast),
        (lambda c: _move(c.at(1, 14), minutes=4), InvalidDuration),
        (lambda c: _move(c.at(1, 14), ends_at=c.at(1, 14)), InvalidDuration),
        (lambda c: _move(c.at(1, 14), ends_at=c.at(1, 15), minutes=30), InvalidValue),
        (lambda c: _move(None, ends_at=c.at(1, 15)), InvalidValue),
    ],
    ids=[
        "doctor-busy",
        "patient-busy",
        "before-opening",
        "saturday",
        "time-off",
        "past",
        "too-short",
        "empty",
        "end-and-duration",
        "no-start",
    ],
)
async def test_reschedule_checks_every_rule_again(
    clinic: Clinic,
    cast: Cast,
    changes: Callable[[Clinic], AppointmentChanges],
    error: type[DomainError],
) -> None:
    booked = await clinic.book(cast.p, cast.d, clinic.at(1, 10))
    await clinic.book(cast.q, cast.d, clinic.at(1, 11))
    await clinic.book(cast.p, cast.o, clinic.at(1, 12))
    await clinic.c.add_time_off()(cast.d, did(cast.d), clinic.at(1, 15), clinic.at(1, 16), None)

    with clinic.commits_nothing(), pytest.raises(error):
        await clinic.c.update_appointment()(cast.p, booked.id, changes(clinic))


async def _into(clinic: Clinic, cast: Cast, appointment: Appointment, status: Status) -> None:
    """Move a freshly booked appointment into `status` (the clock may move past its start)."""
    change = clinic.c.change_status()
    if status is Status.CONFIRMED:
        await change(cast.admin, appointment.id, Action.CONFIRM)
    elif status is Status.CHECKED_IN:
        await change(cast.admin, appointment.id, Action.CHECK_IN)
    elif status is Status.COMPLETED:
        await change(cast.admin, appointment.id, Action.CHECK_IN)
        await change(cast.admin, appointment.id, Action.COMPLETE)
    elif status is Status.CANCELLED:
        await change(cast.admin, appointment.id, Action.CANCEL)
    elif status is Status.NO_SHOW:
        clinic.clock.at = appointment.starts_at + timedelta(minutes=1)
        await change(cast.admin, appointment.id, Action.NO_SHOW)
    assert clinic.state.appointments[appointment.id].status is status


@pytest.mark.parametrize(
    "status", [Status.CHECKED_IN, Status.COMPLETED, Status.CANCELLED, Status.NO_SHOW]
)
async def test_only_scheduled_or_confirmed_can_be_moved(
    clinic: Clinic, cast: Cast, status: Status
) -> None:
    booked = await clinic.book(cast.p, cast.d, clinic.at(1, 10))
    await _into(clinic, cast, booked, status)

    with clinic.commits_nothing(), pytest.raises(InvalidTransition):
        await clinic.c.update_appointment()(cast.admin, booked.id, _move(clinic.at(2, 10)))


async def test_notes_are_for_the_doctor_and_admins(clinic: Clinic, cast: Cast) -> None:
    booked = await clinic.book(cast.p, cast.d, clinic.at(1, 10))
    update = clinic.c.update_appointment()

    with clinic.commits_nothing(), pytest.raises(FieldNotAllowed):
        await update(
            cast.p,
            booked.id,
            AppointmentChanges(reason="x", notes="self-diagnosis"),
        )

    changed = await update(cast.p, booked.id, AppointmentChanges(reason="Headache"))
    assert (changed.reason, changed.notes) == ("Headache", None)
    await _into(clinic, cast, booked, Status.COMPLETED)
    for writer, notes in [(cast.d, "Rest"), (cast.admin, "Rest, water")]:
        changed = await update(writer, booked.id, AppointmentChanges(notes=notes))
        assert clinic.state.appointments[booked.id].notes == changed.notes == notes
    assert changed.status is Status.COMPLETED
    assert changed.reason == "Headache"


@pytest.mark.parametrize("outsider", ["o", "q"])
async def test_outsiders_may_not_update(clinic: Clinic, cast: Cast, outsider: str) -> None:
    booked = await clinic.book(cast.p, cast.d, clinic.at(1, 10))
    for changes in (
        _move(clinic.at(1, 14)),
        AppointmentChanges(reason="mine"),
    ):
        with clinic.commits_nothing(), pytest.raises(NotFound):
            await clinic.c.update_appointment()(cast[outsider], booked.id, changes)


# --- status changes -------------------------------------------------------------------

RUN_ACTIONS = {
    Action.CONFIRM: (Status.SCHEDULED, Status.CONFIRMED),
    Action.CHECK_IN: (Status.SCHEDULED, Status.CHECKED_IN),  # walk-in
    Action.COMPLETE: (Status.CHECKED_IN, Status.COMPLETED),
    Action.NO_SHOW: (Status.CONFIRMED, Status.NO_SHOW),
}


@pytest.mark.parametrize("action", RUN_ACTIONS)
@pytest.mark.parametrize(
    ("who", "error"),
    # Patients may never run appointments: 403 whatever the id (reveals nothing); another
    # doctor may run appointments, but not this one, which they may not see: 404.
    [("admin", None), ("d", None), ("p", Forbidden), ("o", NotFound), ("q", Forbidden)],
)
async def test_running_an_appointment(
    clinic: Clinic, cast: Cast, action: Action, who: str, error: type[DomainError] | None
) -> None:
    booked = await clinic.book(cast.p, cast.d, clinic.at(1, 10))
    start, target = RUN_ACTIONS[action]
    await _into(clinic, cast, booked, start)
    if action is Action.NO_SHOW:
        clinic.clock.at = booked.starts_at + timedelta(minutes=15)

    if error is not None:
        with clinic.commits_nothing(), pytest.raises(error):
            await clinic.c.change_status()(cast[who], booked.id, action)
        return
    with clinic.commits_once():
        changed = await clinic.c.change_status()(cast[who], booked.id, action)
    assert changed.status is clinic.state.appointments[booked.id].status is target
    assert changed.updated_at == clinic.clock.now()


@pytest.mark.parametrize(
    ("who", "error"),
    [("admin", None), ("d", None), ("p", None), ("o", NotFound), ("q", NotFound)],
)
async def test_cancel_by_any_party(
    clinic: Clinic, cast: Cast, who: str, error: type[DomainError] | None
) -> None:
    booked = await clinic.book(cast.p, cast.d, clinic.at(1, 10))
    await _into(clinic, cast, booked, Status.CONFIRMED)

    if error is not None:
        with clinic.commits_nothing(), pytest.raises(error):
            await clinic.c.change_status()(cast[who], booked.id, Action.CANCEL, "nope")
        return
    with clinic.commits_once():
        await clinic.c.change_status()(cast[who], booked.id, Action.CANCEL, "Feeling better")
    stored = clinic.state.appointments[booked.id]
    assert (stored.status, stored.cancellation_reason) == (Status.CANCELLED, "Feeling better")


@pytest.mark.parametrize("offset", [timedelta(minutes=-30), timedelta(0)])
async def test_no_show_only_after_the_start(clinic: Clinic, cast: Cast, offset: timedelta) -> None:
    booked = await clinic.book(cast.p, cast.d, clinic.at(1, 10))
    clinic.clock.at = booked.starts_at + offset

    with clinic.commits_nothing(), pytest.raises(InvalidTransition):
        await clinic.c.change_status()(cast.d, booked.id, Action.NO_SHOW)


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (Status.CONFIRMED, Action.CONFIRM),
        (Status.SCHEDULED, Action.COMPLETE),
        (Status.CONFIRMED, Action.COMPLETE),
        (Status.CHECKED_IN, Action.CONFIRM),
        (Status.CHECKED_IN, Action.CANCEL),
        (Status.CHECKED_IN, Action.NO_SHOW),
        (Status.COMPLETED, Action.CANCEL),
        (Status.COMPLETED, Action.CHECK_IN),
        (Status.CANCELLED, Action.CONFIRM),
        (Status.CANCELLED, Action.CANCEL),
        (Status.NO_SHOW, Action.CHECK_IN),
        (Status.NO_SHOW, Action.CANCEL),
    ],
)
async def test_invalid_transitions_change_nothing(
    clinic: Clinic, cast: Cast, status: Status, action: Action
) -> None:
    booked = await clinic.book(cast.p, cast.d, clinic.at(1, 10))
    await _into(clinic, cast, booked, status)
    clinic.clock.at = max(clinic.clock.now(), booked.starts_at + timedelta(minutes=1))

    with clinic.commits_nothing(), pytest.raises(InvalidTransition):
        await clinic.c.change_status()(cast.admin, booked.id, action)


async def test_unknown_appointment_is_not_found(clinic: Clinic, cast: Cast) -> None:
    for action in Action:
        with clinic.commits_nothing(), pytest.raises(NotFound):
            await clinic.c.change_status()(cast.admin, uuid4(), action)
    with clinic.commits_nothing(), pytest.raises(NotFound):
        await clinic.c.update_appointment()(cast.admin, uuid4(), _move(clinic.at(1, 10)))
