"""Doctors: creation, updates, deactivation, schedules, time off and availability."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID, uuid4

import pytest

from appointments.application.access import Actor
from appointments.application.appointments import Action
from appointments.application.doctors import DoctorChanges
from appointments.application.errors import (
    FieldNotAllowed,
    Forbidden,
    NotAuthenticated,
    RangeTooLong,
)
from appointments.application.ports.queries import DoctorFilter, PageRequest
from appointments.application.users import NewUser
from appointments.domain.appointments import Status
from appointments.domain.errors import (
    DomainError,
    EmailTaken,
    InvalidDuration,
    InvalidSchedule,
    InvalidValue,
    NotFound,
    OutsideSchedule,
    UsernameTaken,
)
from appointments.domain.schedule import Span, WeeklyInterval
from appointments.domain.users import Role
from tests.application.conftest import MONDAY, PASSWORD, Clinic


def _id(actor: Actor) -> UUID:
    assert actor.doctor_id is not None
    return actor.doctor_id


def _interval(weekday: int, start: str, end: str) -> WeeklyInterval:
    return WeeklyInterval(weekday, time.fromisoformat(start), time.fromisoformat(end))


# --- creation -------------------------------------------------------------------------


async def test_create_doctor_with_user_and_default_schedule(clinic: Clinic, admin: Actor) -> None:
    department = await clinic.department(admin)

    with clinic.commits_once():
        doctor = await clinic.c.create_doctor()(
            admin,
            NewUser("House@Example.com", "house", " Gregory House ", PASSWORD),
            department.id,
            "Diagnostics",
            "+1 555 0199",
        )

    user = clinic.state.users[doctor.user_id]
    assert (user.role, user.username, user.full_name) == (Role.DOCTOR, "house", "Gregory House")
    assert clinic.state.doctors[doctor.id] == doctor
    assert (doctor.full_name, doctor.email) == ("Gregory House", "House@example.com")
    assert (doctor.department_id, doctor.specialization, doctor.phone) == (
        department.id,
        "Diagnostics",
        "+1 555 0199",
    )
    assert doctor.is_active
    assert not clinic.state.patients
    weekly = clinic.state.schedules[doctor.id].intervals
    assert weekly == tuple(_interval(day, "09:00", "17:00") for day in range(5))

    actor = await clinic.actor("house")
    assert (actor.role, actor.doctor_id, actor.patient_id) == (Role.DOCTOR, doctor.id, None)


@pytest.mark.parametrize(
    ("email", "username", "unknown_department", "error"),
    [
        ("TAKEN@example.com", "fresh", False, EmailTaken),
        ("fresh@example.com", "Taken", False, UsernameTaken),
        ("fresh@example.com", "fresh", True, InvalidValue),
        ("fresh@example.com", "x", False, InvalidValue),
    ],
    ids=["email", "username", "department", "bad-username"],
)
async def test_failed_create_doctor_leaves_neither_user_nor_doctor(
    clinic: Clinic,
    admin: Actor,
    email: str,
    username: str,
    unknown_department: bool,
    error: type[DomainError],
) -> None:
    await clinic.c.create_user()(
        admin, NewUser("taken@example.com", "taken", "Taken", PASSWORD), Role.PATIENT
    )
    department_id = uuid4() if unknown_department else (await clinic.department(admin)).id

    with clinic.commits_nothing(), pytest.raises(error):
        await clinic.c.create_doctor()(
            admin, NewUser(email, username, "Dr New", PASSWORD), department_id, "GP", None
        )


@pytest.mark.parametrize("kind", ["doctor", "patient"])
async def test_only_admins_create_doctors(clinic: Clinic, admin: Actor, kind: str) -> None:
    department = await clinic.department(admin)
    actor = await clinic.doctor(admin) if kind == "doctor" else await clinic.patient()

    with clinic.commits_nothing(), pytest.raises(Forbidden):
        await clinic.c.create_doctor()(
            actor,
            NewUser("new@example.com", "newdoc", "Dr New", PASSWORD),
            department.id,
            "GP",
            None,
        )


async def test_list_and_get_doctors(clinic: Clinic, admin: Actor) -> None:
    cardio, neuro = await clinic.department(admin), await clinic.department(admin)
    a, b, c = (
        await clinic.doctor(admin, cardio.id),
        await clinic.doctor(admin, cardio.id),
        await clinic.doctor(admin, neuro.id),
    )
    await clinic.c.deactivate_doctor()(admin, _id(b))
    patient = await clinic.patient()
    search = clinic.c.list_doctors()

    async def ids(filters: DoctorFilter) -> set[UUID]:
        page = await search(patient, filters, PageRequest(limit=100))
        assert page.total == len(page.items)
        return {d.id for d in page.items}

    assert await ids(DoctorFilter()) == {_id(a), _id(c)}  # active only by default
    assert await ids(DoctorFilter(is_active=None)) == {_id(a), _id(b), _id(c)}
    assert await ids(DoctorFilter(is_active=False)) == {_id(b)}
    assert await ids(DoctorFilter(department_id=cardio.id)) == {_id(a)}
    name = clinic.state.users[a.user_id].username.upper()
    assert await ids(DoctorFilter(q=name)) == {_id(a)}

    found = await clinic.c.get_doctor()(patient, _id(b))
    assert (found.id, found.is_active) == (_id(b), False)
    with pytest.raises(NotFound):
        await clinic.c.get_doctor()(patient, uuid4())


# --- updates --------------------------------------------------------------------------


async def test_admin_updates_every_field(clinic: Clinic, admin: Actor) -> None:
    doctor = await clinic.doctor(admin)
    department = await clinic.department(admin)

    with clinic.commits_once():
        updated = await clinic.c.update_doctor()(
            admin,
            _id(doctor),
            DoctorChanges(
                **{
                    "department_id": department.id,
                    "full_name": " Dr Renamed ",
                    "specialization": "Surgery",
                    "phone": "+44 20 7946 0000",
                }
            ),
        )

    assert await clinic.c.get_doctor()(admin, _id(doctor)) == updated
    assert (updated.department_id, updated.full_name) == (department.id, "Dr Renamed")
    assert (updated.specialization, updated.phone) == ("Surgery", "+44 20 7946 0000")
    assert clinic.state.users[doctor.user_id].full_name == "Dr Renamed"

    cleared = await clinic.c.update_doctor()(admin, _id(doctor), DoctorChanges(**{"phone": None}))
    assert cleared.phone is clinic.state.doctors[_id(doctor)].phone is None


async def test_doctor_updates_own_phone_and_specialization(clinic: Clinic, admin: Actor) -> None:
    doctor = await clinic.doctor(admin)
    before = clinic.state.doctors[_id(doctor)]

    with clinic.commits_once():
        await clinic.c.update_doctor()(
            doctor, _id(doctor), DoctorChanges(**{"phone": "123", "specialization": "Sleep"})
        )

    after = clinic.state.doctors[_id(doctor)]
    assert (after.phone, after.specialization) == ("123", "Sleep")
    assert (after.department_id, after.is_active) == (before.department_id, before.is_active)


@pytest.mark.parametrize(
    "values",
    [
        {"full_name": "Dr Self Promoted"},
        {"department_id": "other"},
        {"phone": "123", "full_name": "Dr Sneaky"},
        # `is_active` (the old case here) cannot even be expressed: DoctorChanges has no
        # such field, and the HTTP schema refuses unknown fields (422).
        {"specialization": "Sleep", "department_id": "other"},
    ],
    ids=["full_name", "department", "mixed-name", "mixed-other"],
)
async def test_doctor_may_not_change_other_fields(
    clinic: Clinic, admin: Actor, values: dict[str, object]
) -> None:
    doctor = await clinic.doctor(admin)
    other = await clinic.department(admin)
    values = {k: other.id if v == "other" else v for k, v in values.items()}

    with clinic.commits_nothing(), pytest.raises(FieldNotAllowed):
        await clinic.c.update_doctor()(doctor, _id(doctor), DoctorChanges(**values))


@pytest.mark.parametrize("kind", ["other-doctor", "patient"])
async def test_others_may_not_update_a_doctor(clinic: Clinic, admin: Actor, kind: str) -> None:
    doctor = await clinic.doctor(admin)
    actor = await clinic.doctor(admin) if kind == "other-doctor" else await clinic.patient()

    with clinic.commits_nothing(), pytest.raises(Forbidden):
        await clinic.c.update_doctor()(actor, _id(doctor), DoctorChanges(**{"phone": "1"}))


async def test_update_refuses_unknown_department_or_doctor(clinic: Clinic, admin: Actor) -> None:
    doctor = await clinic.doctor(admin)
    with clinic.commits_nothing(), pytest.raises(InvalidValue):
        await clinic.c.update_doctor()(
            admin, _id(doctor), DoctorChanges(**{"phone": "1", "department_id": uuid4()})
        )
    with clinic.commits_nothing(), pytest.raises(NotFound):
        await clinic.c.update_doctor()(admin, uuid4(), DoctorChanges(**{"phone": "1"}))


# --- deactivation ---------------------------------------------------------------------


async def test_deactivate_doctor_cancels_future_appointments(clinic: Clinic, admin: Actor) -> None:
    doctor, other = await clinic.doctor(admin), await clinic.doctor(admin)
    p, q = await clinic.patient(), await clinic.patient()
    past = await clinic.book(admin, doctor, clinic.at(0, 9), p)
    running = await clinic.book(admin, doctor, clinic.at(0, 9, 30), q, minutes=60)
    scheduled = await clinic.book(admin, doctor, clinic.at(1, 10), p)
    confirmed = await clinic.book(admin, doctor, clinic.at(1, 11), q)
    await clinic.c.change_status()(admin, confirmed.id, Action.CONFIRM)
    cancelled = await clinic.book(admin, doctor, clinic.at(2, 10), p)
    await clinic.c.change_status()(p, cancelled.id, Action.CANCEL, "patient ill")
    elsewhere = await clinic.book(admin, other, clinic.at(1, 10), q)
    token = await clinic.login(clinic.state.users[doctor.user_id].username)
    clinic.clock.at = clinic.at(0, 10)
    before = {a.id: a for a in clinic.state.appointments.values()}

    with clinic.commits_once():
        await clinic.c.deactivate_doctor()(admin, _id(doctor))

    after = clinic.state.appointments
    for appointment in (scheduled, confirmed):
        moved = after[appointment.id]
        assert (moved.status, moved.cancellation_reason) == (
            Status.CANCELLED,
            "doctor_deactivated",
        )
        assert moved.updated_at == clinic.clock.now()
    for untouched in (past, running, cancelled, elsewhere):
        assert after[untouched.id] == before[untouched.id]
    assert after[cancelled.id].cancellation_reason == "patient ill"
    assert not clinic.state.doctors[_id(doctor)].is_active
    assert not clinic.state.users[doctor.user_id].is_active
    with pytest.raises(NotAuthenticated):
        await clinic.authenticate(token)


async def test_deactivate_doctor_is_admin_only(clinic: Clinic, admin: Actor) -> None:
    doctor = await clinic.doctor(admin)
    for actor in (doctor, await clinic.patient()):
        with clinic.commits_nothing(), pytest.raises(Forbidden):
            await clinic.c.deactivate_doctor()(actor, _id(doctor))
    with clinic.commits_nothing(), pytest.raises(NotFound):
        await clinic.c.deactivate_doctor()(admin, uuid4())


# --- schedules and time off -----------------------------------------------------------

WEEKLY = [
    _interval(0, "08:00", "12:00"),
    _interval(0, "12:00", "16:00"),  # touching is not overlapping
    _interval(2, "13:30", "20:00"),
    _interval(6, "00:00", "23:59"),
]


@pytest.mark.parametrize("who", ["admin", "self"])
async def test_set_and_get_schedule(clinic: Clinic, admin: Actor, who: str) -> None:
    doctor = await clinic.doctor(admin)
    actor = admin if who == "admin" else doctor

    with clinic.commits_once():
        result = await clinic.c.set_schedule()(actor, _id(doctor), list(reversed(WEEKLY)))

    assert result.weekly.intervals == tuple(WEEKLY)
    assert clinic.state.schedules[_id(doctor)] == result.weekly
    patient = await clinic.patient()
    schedule = await clinic.c.get_schedule()(patient, _id(doctor))
    assert (schedule.timezone, schedule.weekly.intervals) == ("UTC", tuple(WEEKLY))


@pytest.mark.parametrize("kind", ["other-doctor", "patient"])
async def test_others_may_not_set_a_schedule(clinic: Clinic, admin: Actor, kind: str) -> None:
    doctor = await clinic.doctor(admin)
    actor = await clinic.doctor(admin) if kind == "other-doctor" else await clinic.patient()
    with clinic.commits_nothing(), pytest.raises(Forbidden):
        await clinic.c.set_schedule()(actor, _id(doctor), WEEKLY)


@pytest.mark.parametrize(
    "intervals",
    [
        [_interval(0, "10:00", "09:00")],
        [_interval(0, "10:00", "10:00")],
        [_interval(1, "09:00", "12:00"), _interval(1, "11:59", "13:00")],
        [_interval(1, "09:00", "17:00"), _interval(1, "10:00", "11:00")],
        [_interval(7, "09:00", "10:00")],
        [_interval(-1, "09:00", "10:00")],
    ],
    ids=["ends-before", "empty", "overlap", "nested", "weekday-7", "weekday-minus-1"],
)
async def test_invalid_schedule_changes_nothing(
    clinic: Clinic, admin: Actor, intervals: list[WeeklyInterval]
) -> None:
    doctor = await clinic.doctor(admin)
    with clinic.commits_nothing(), pytest.raises(InvalidSchedule):
        await clinic.c.set_schedule()(doctor, _id(doctor), intervals)


async def test_schedule_of_unknown_doctor_is_not_found(clinic: Clinic, admin: Actor) -> None:
    with clinic.commits_nothing(), pytest.raises(NotFound):
        await clinic.c.set_schedule()(admin, uuid4(), WEEKLY)
    with pytest.raises(NotFound):
        await clinic.c.get_schedule()(admin, uuid4())


@pytest.mark.parametrize("who", ["admin", "self"])
async def test_add_and_delete_time_off(clinic: Clinic, admin: Actor, who: str) -> None:
    doctor = await clinic.doctor(admin)
    actor = admin if who == "admin" else doctor
    patient = await clinic.patient()
    start, end = clinic.at(1, 9), clinic.at(1, 12)

    with clinic.commits_once():
        time_off = await clinic.c.add_time_off()(actor, _id(doctor), start, end, "Congress")

    assert clinic.state.time_off[time_off.id] == time_off
    assert (time_off.doctor_id, time_off.starts_at, time_off.ends_at) == (_id(doctor), start, end)
    with clinic.commits_nothing(), pytest.raises(OutsideSchedule):
        await clinic.book(admin, doctor, clinic.at(1, 11, 30), patient)

    with clinic.commits_once():
        await clinic.c.delete_time_off()(actor, _id(doctor), time_off.id)

    assert not clinic.state.time_off
    booked = await clinic.book(admin, doctor, clinic.at(1, 11, 30), patient)
    assert booked.id in clinic.state.appointments


@pytest.mark.parametrize("end_offset", [timedelta(0), timedelta(minutes=-1)])
async def test_time_off_must_end_after_it_starts(
    clinic: Clinic, admin: Actor, end_offset: timedelta
) -> None:
    doctor = await clinic.doctor(admin)
    start = clinic.at(1, 9)
    with clinic.commits_nothing(), pytest.raises(InvalidValue):
        await clinic.c.add_time_off()(doctor, _id(doctor), start, start + end_offset, None)


@pytest.mark.parametrize("kind", ["other-doctor", "patient"])
async def test_others_may_not_manage_time_off(clinic: Clinic, admin: Actor, kind: str) -> None:
    doctor = await clinic.doctor(admin)
    actor = await clinic.doctor(admin) if kind == "other-doctor" else await clinic.patient()
    time_off = await clinic.c.add_time_off()(
        doctor, _id(doctor), clinic.at(1, 9), clinic.at(1, 10), None
    )

    with clinic.commits_nothing(), pytest.raises(Forbidden):
        await clinic.c.add_time_off()(actor, _id(doctor), clinic.at(2, 9), clinic.at(2, 10), None)
    with clinic.commits_nothing(), pytest.raises(Forbidden):
        await clinic.c.delete_time_off()(actor, _id(doctor), time_off.id)


async def test_time_off_of_another_doctor_is_not_found(clinic: Clinic, admin: Actor) -> None:
    doctor, other = await clinic.doctor(admin), await clinic.doctor(admin)
    theirs = await clinic.c.add_time_off()(
        other, _id(other), clinic.at(1, 9), clinic.at(1, 10), None
    )

    for actor in (doctor, admin):
        with clinic.commits_nothing(), pytest.raises(NotFound):
            await clinic.c.delete_time_off()(actor, _id(doctor), theirs.id)
    with clinic.commits_nothing(), pytest.raises(NotFound):
        await clinic.c.delete_time_off()(doctor, _id(doctor), uuid4())
    with clinic.commits_nothing(), pytest.raises(NotFound):
        await clinic.c.add_time_off()(admin, uuid4(), clinic.at(1, 9), clinic.at(1, 10), None)


@pytest.mark.parametrize(
    ("kind", "sees_reason"),
    [("admin", True), ("self", True), ("other-doctor", False), ("patient", False)],
)
async def test_schedule_hides_time_off_reasons_from_others(
    clinic: Clinic, admin: Actor, kind: str, sees_reason: bool
) -> None:
    doctor = await clinic.doctor(admin)
    actor = {
        "admin": admin,
        "self": doctor,
        "other-doctor": await clinic.doctor(admin),
        "patient": await clinic.patient(),
    }[kind]
    add = clinic.c.add_time_off()
    await add(doctor, _id(doctor), clinic.at(0, 1), clinic.at(0, 2), "already over")
    upcoming = await add(doctor, _id(doctor), clinic.at(1, 9), clinic.at(1, 12), "Surgery")

    schedule = await clinic.c.get_schedule()(actor, _id(doctor))

    [shown] = schedule.time_off
    assert (shown.id, shown.starts_at, shown.ends_at) == (
        upcoming.id,
        upcoming.starts_at,
        upcoming.ends_at,
    )
    assert shown.reason == ("Surgery" if sees_reason else None)
    assert clinic.state.time_off[upcoming.id].reason == "Surgery"


# --- availability ---------------------------------------------------------------------


async def test_availability_range_limits(clinic: Clinic, admin: Actor) -> None:
    doctor = await clinic.doctor(admin)
    available = clinic.c.get_availability()
    last = MONDAY + timedelta(days=30)

    result = await available(admin, _id(doctor), MONDAY, last, 30)  # 31 days: fine
    assert len(result.slots) == 16 * 23  # 23 weekdays from 2030-01-07 to 2030-02-06
    with pytest.raises(RangeTooLong):
        await available(admin, _id(doctor), MONDAY, last + timedelta(days=1), 30)
    with pytest.raises(InvalidValue):
        await available(admin, _id(doctor), MONDAY, MONDAY - timedelta(days=1), 30)
    for minutes in (4, 8 * 60 + 1):
        with pytest.raises(InvalidDuration):
            await available(admin, _id(doctor), MONDAY, MONDAY, minutes)
    with pytest.raises(NotFound):
        await available(admin, uuid4(), MONDAY, MONDAY, 30)


def _starts(slots: list[Span]) -> list[str]:
    return [f"{s.starts_at:%H:%M}" for s in slots]


async def test_availability_excludes_booked_time_off_and_past(clinic: Clinic, admin: Actor) -> None:
    doctor, patient = await clinic.doctor(admin), await clinic.patient()
    await clinic.book(admin, doctor, clinic.at(0, 11), patient)
    await clinic.book(admin, doctor, clinic.at(0, 12, 15), patient)
    freed = await clinic.book(admin, doctor, clinic.at(0, 16), patient)
    await clinic.c.change_status()(admin, freed.id, Action.CANCEL)
    await clinic.c.add_time_off()(doctor, _id(doctor), clinic.at(0, 14), clinic.at(0, 15), None)
    clinic.clock.at = clinic.at(0, 10, 10)

    result = await clinic.c.get_availability()(patient, _id(doctor), MONDAY, MONDAY, 30)

    assert (result.doctor_id, result.timezone) == (_id(doctor), "UTC")
    assert _starts(result.slots) == [
        "10:30",
        "11:30",
        "13:00",
        "13:30",
        "15:00",
        "15:30",
        "16:00",
        "16:30",
    ]
    assert all(s.ends_at - s.starts_at == timedelta(minutes=30) for s in result.slots)


async def test_weekends_and_inactive_doctors_have_no_slots(clinic: Clinic, admin: Actor) -> None:
    doctor = await clinic.doctor(admin)
    saturday, sunday = MONDAY + timedelta(days=5), MONDAY + timedelta(days=6)
    available = clinic.c.get_availability()
    assert (await available(admin, _id(doctor), saturday, sunday, 30)).slots == []
    assert len((await available(admin, _id(doctor), MONDAY, MONDAY, 60)).slots) == 8

    await clinic.c.deactivate_doctor()(admin, _id(doctor))

    assert (await available(admin, _id(doctor), MONDAY, MONDAY, 60)).slots == []


@pytest.mark.parametrize(
    ("clinic_timezone", "dst_night_minutes"),
    [("UTC", 6 * 60), ("Europe/Berlin", 5 * 60)],
)
async def test_every_offered_slot_is_bookable(
    clinic: Clinic, admin: Actor, clinic_timezone: str, dst_night_minutes: int
) -> None:
    """Across Berlin's spring-forward night (2030-03-31 02:00 -> 03:00) and odd durations."""
    doctor, patient = await clinic.doctor(admin), await clinic.patient()
    weekly = [_interval(d, "00:00", "06:00") for d in range(7)]
    weekly += [_interval(d, "13:00", "14:40") for d in range(7)]
    await clinic.c.set_schedule()(doctor, _id(doctor), weekly)
    clinic.clock.at = datetime(2030, 3, 29, 12, tzinfo=UTC)
    first, last = date(2030, 3, 29), date(2030, 4, 1)
    available = clinic.c.get_availability()

    slots = (await available(patient, _id(doctor), first, last, 25)).slots

    dst_night = [
        s for s in slots if s.starts_at.astimezone(clinic.zone).date() == date(2030, 3, 31)
    ]
    assert len([s for s in dst_night if s.starts_at.astimezone(clinic.zone).hour < 12]) == (
        dst_night_minutes // 25
    )
    assert len(slots) > 50
    for slot in slots:
        await clinic.book(patient, doctor, slot.starts_at, minutes=25)
    assert len(clinic.state.appointments) == len(slots)
    assert (await available(patient, _id(doctor), first, last, 25)).slots == []


async def test_set_schedule_answers_the_same_time_off_as_get(clinic: Clinic) -> None:
    """Both list upcoming time off only: a past absence is history, not schedule."""
    admin = await clinic.admin()
    doctor = await clinic.doctor(admin)
    now = clinic.clock.now()
    add = clinic.c.add_time_off()
    await add(admin, _id(doctor), now - timedelta(days=3), now - timedelta(days=2), "past")
    upcoming = await add(admin, _id(doctor), now + timedelta(days=2), now + timedelta(days=3), "x")

    put = await clinic.c.set_schedule()(admin, _id(doctor), [WeeklyInterval(0, time(8), time(12))])
    got = await clinic.c.get_schedule()(admin, _id(doctor))

    assert put.time_off == got.time_off == [upcoming]
