"""The repository contract, on every backend (memory, SQLite, PostgreSQL): what goes in
comes out, searches order, filter, page and stay within the caller's scope."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, date, datetime, time, timedelta, timezone
from uuid import uuid4

import pytest

from appointments.application.access import AppointmentScope, PatientScope
from appointments.application.ports.queries import (
    AppointmentFilter,
    DoctorFilter,
    PageRequest,
    PatientFilter,
    UserFilter,
)
from appointments.application.ports.repositories import PlacementParties
from appointments.domain.appointments import Appointment, Status
from appointments.domain.departments import Department
from appointments.domain.doctors import Doctor
from appointments.domain.holds import Hold
from appointments.domain.patients import Patient
from appointments.domain.schedule import Span, TimeOff, WeeklyInterval, WeeklySchedule
from appointments.domain.users import Role, User
from tests.adapters.conftest import Backend, Seed, next_working_day

EVERYONE = PatientScope(everyone=True)
IST = timezone(timedelta(hours=5, minutes=30))
PST = timezone(timedelta(hours=-8))


def assert_utc(value: datetime | None) -> None:
    assert value is not None
    assert value.tzinfo is not None
    assert value.utcoffset() == timedelta(0)


# --- users ---------------------------------------------------------------------------


async def test_user_round_trip_normalises_offsets_to_utc(backend: Backend, seed: Seed) -> None:
    user = dataclasses.replace(
        seed.new_user(Role.ADMIN, "Round.Trip"),
        created_at=datetime(2031, 3, 4, 10, 15, 30, 123456, tzinfo=IST),
        tokens_valid_after=datetime(2031, 3, 4, 1, 0, tzinfo=PST),
        is_active=False,
    )
    async with backend.uow() as uow:
        await uow.users.add(user)
        await uow.commit()

    async with backend.uow() as uow:
        stored = await uow.users.get(user.id)
    assert stored == user
    assert_utc(stored.created_at)
    assert_utc(stored.tokens_valid_after)
    assert stored.created_at.replace(tzinfo=None) == datetime(2031, 3, 4, 4, 45, 30, 123456)
    assert stored.tokens_valid_after is not None
    assert stored.tokens_valid_after.replace(tzinfo=None) == datetime(2031, 3, 4, 9, 0)
    assert isinstance(stored.role, Role)


async def test_user_save_updates_every_field(backend: Backend, seed: Seed) -> None:
    user = await seed.user(Role.PATIENT)
    changed = dataclasses.replace(
        user,
        full_name="Renamed",
        role=Role.DOCTOR,
        password_hash="new-hash",
        is_active=False,
        tokens_valid_after=datetime(2030, 1, 1, 12, tzinfo=UTC),
    )
    async with backend.uow() as uow:
        await uow.users.save(changed)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.users.get(user.id) == changed
        assert await uow.users.get(uuid4()) is None


@pytest.mark.parametrize(
    "login", ["MiXeD.Case", "mixed.case", "MIXED.CASE@EXAMPLE.COM", " mixed.case "]
)
async def test_find_by_login_is_case_insensitive_on_username_and_email(
    backend: Backend, seed: Seed, login: str
) -> None:
    user = await seed.user(name="MiXeD.Case")
    await seed.user(name="someone.else")
    async with backend.uow() as uow:
        found = await uow.users.find_by_login(login)
        missing = await uow.users.find_by_login("mixed.cas")
    assert found is not None
    assert found.id == user.id
    assert missing is None


async def test_user_search_orders_by_creation_and_counts_every_match(
    backend: Backend, seed: Seed
) -> None:
    made: list[User] = []
    for i in range(7):
        role = Role.DOCTOR if i % 2 else Role.PATIENT
        made.append(await seed.user(role))
        seed.clock.advance(timedelta(seconds=1))
    async with backend.uow() as uow:
        first = await uow.users.search(UserFilter(), PageRequest(limit=3, offset=0))
        last = await uow.users.search(UserFilter(), PageRequest(limit=3, offset=6))
        doctors = await uow.users.search(UserFilter(role=Role.DOCTOR), PageRequest(limit=2))
        beyond = await uow.users.search(UserFilter(), PageRequest(limit=3, offset=10))
    assert [u.id for u in first.items] == [u.id for u in made[:3]]
    assert (first.total, first.limit, first.offset) == (7, 3, 0)
    assert [u.id for u in last.items] == [made[6].id]
    assert last.total == 7
    assert [u.id for u in doctors.items] == [made[1].id, made[3].id]
    assert doctors.total == 3
    assert beyond.items == []
    assert beyond.total == 7


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("ANN_SMITH", {"ann_smith"}),  # `_` is literal: annXsmith does not match
        ("n_s", {"ann_smith"}),
        ("100%", {"club100%"}),  # `%` is literal: club1000 does not match
        ("%", {"club100%"}),
        ("_", {"ann_smith"}),
        ("SMITH", {"ann_smith", "annXsmith"}),
        ("full CLUB", {"club100%", "club1000"}),  # full name
        ("@EXAMPLE.com", {"ann_smith", "annXsmith", "club100%", "club1000"}),  # email
        ("nobody", set()),
    ],
)
async def test_user_search_q_is_case_insensitive_and_literal(
    backend: Backend, seed: Seed, q: str, expected: set[str]
) -> None:
    names = ["ann_smith", "annXsmith", "club100%", "club1000"]
    for name in names:
        await seed.user(name=name)
    async with backend.uow() as uow:
        page = await uow.users.search(UserFilter(q=q), PageRequest(limit=100))
    assert {u.username for u in page.items} == expected
    assert page.total == len(expected)


async def test_user_search_filters_active_flag(backend: Backend, seed: Seed) -> None:
    active = await seed.user()
    inactive = await seed.user()
    async with backend.uow() as uow:
        await uow.users.save(dataclasses.replace(inactive, is_active=False))
        await uow.commit()
    async with backend.uow() as uow:
        on = await uow.users.search(UserFilter(is_active=True), PageRequest())
        off = await uow.users.search(UserFilter(is_active=False), PageRequest())
    assert [u.id for u in on.items] == [active.id]
    assert [u.id for u in off.items] == [inactive.id]


async def test_active_admin_ids(backend: Backend, seed: Seed) -> None:
    admin = await seed.user(Role.ADMIN)
    retired = await seed.user(Role.ADMIN)
    await seed.user(Role.DOCTOR)
    async with backend.uow() as uow:
        await uow.users.save(dataclasses.replace(retired, is_active=False))
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.users.active_admin_ids() == [admin.id]
        assert await uow.users.active_admin_ids(lock=True) == [admin.id]


async def test_load_principal_finds_records_and_revocation(backend: Backend, seed: Seed) -> None:
    patient = await seed.patient(with_login=True)
    doctor = await seed.doctor()
    admin = await seed.user(Role.ADMIN)
    assert patient.user_id is not None
    async with backend.uow() as uow:
        await uow.revoked_tokens.add("revoked-jti", seed.clock.now() + timedelta(hours=1))
        await uow.commit()

    async with backend.uow() as uow:
        as_patient = await uow.users.load_principal(patient.user_id, "fresh-jti")
        as_doctor = await uow.users.load_principal(doctor.user_id, "fresh-jti")
        as_admin = await uow.users.load_principal(admin.id, "fresh-jti")
        revoked = await uow.users.load_principal(admin.id, "revoked-jti")
        unknown = await uow.users.load_principal(uuid4(), "fresh-jti")

    assert as_patient is not None
    assert as_patient.user.id == patient.user_id
    assert (as_patient.patient_id, as_patient.doctor_id, as_patient.token_revoked) == (
        patient.id,
        None,
        False,
    )
    assert as_doctor is not None
    assert (as_doctor.patient_id, as_doctor.doctor_id) == (None, doctor.id)
    assert as_admin is not None
    assert as_admin.user == admin
    assert (as_admin.patient_id, as_admin.doctor_id, as_admin.token_revoked) == (None, None, False)
    assert revoked is not None
    assert revoked.token_revoked is True
    assert unknown is None


# --- patients ------------------------------------------------------------------------


async def test_patient_round_trip_and_save(backend: Backend, seed: Seed) -> None:
    user = await seed.user()
    patient = Patient(
        full_name="Zoë Ünicode",
        created_at=datetime(2030, 6, 1, 23, 30, tzinfo=PST),
        user_id=user.id,
        email="zoe@example.com",
        phone="+1 555 0100",
        date_of_birth=date(1990, 2, 28),
    )
    front_desk = Patient(full_name="No Login", created_at=seed.clock.now())
    async with backend.uow() as uow:
        await uow.patients.add(patient)
        await uow.patients.add(front_desk)
        await uow.commit()

    async with backend.uow() as uow:
        stored = await uow.patients.get(patient.id)
        by_user = await uow.patients.get_by_user(user.id)
        stored_front_desk = await uow.patients.get(front_desk.id)
    assert stored == patient
    assert by_user == patient
    assert stored is not None
    assert_utc(stored.created_at)
    assert stored_front_desk == front_desk

    changed = dataclasses.replace(patient, phone=None, is_active=False, full_name="Zoe")
    async with backend.uow() as uow:
        await uow.patients.save(changed)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.patients.get(patient.id) == changed
        assert await uow.patients.get(uuid4()) is None
        assert await uow.patients.get_by_user(uuid4()) is None


async def test_patient_search_order_q_and_visibility(backend: Backend, seed: Seed) -> None:
    names = ["charlie 50%", "Alice_B", "bob", "alice"]
    made: dict[str, Patient] = {}
    async with backend.uow() as uow:
        for i, name in enumerate(names):
            made[name] = Patient(
                full_name=name,
                created_at=seed.clock.now(),
                email=f"p{i}@example.com",
                phone=f"555-010{i}",
            )
            await uow.patients.add(made[name])
        await uow.commit()
    doctor = await seed.doctor()
    await seed.appointment(doctor, made["bob"], next_working_day(seed.clock.now()))

    def search(q: str | None = None, scope: PatientScope = EVERYONE) -> PatientFilter:
        return PatientFilter(scope=scope, q=q)

    async with backend.uow() as uow:
        everyone = await uow.patients.search(search(), PageRequest(limit=100))
        page = await uow.patients.search(search(), PageRequest(limit=2, offset=1))
        underscore = await uow.patients.search(search("E_b"), PageRequest())
        percent = await uow.patients.search(search("50%"), PageRequest())
        by_phone = await uow.patients.search(search("0102"), PageRequest())
        by_email = await uow.patients.search(search("P3@EXAMPLE"), PageRequest())
        of_doctor = await uow.patients.search(
            search(scope=PatientScope(treated_by=doctor.id)), PageRequest()
        )
        only = await uow.patients.search(
            search(scope=PatientScope(only_id=made["alice"].id)), PageRequest()
        )
        linked = await uow.patients.get_in_scope(made["bob"].id, PatientScope(treated_by=doctor.id))
        unlinked = await uow.patients.get_in_scope(
            made["alice"].id, PatientScope(treated_by=doctor.id)
        )

    # Ordered by full_name (then id); the database's collation decides case, so compare
    # against the order it reports for the full list.
    everyone_names = [p.full_name for p in everyone.items]
    assert sorted(everyone_names, key=str.lower) == sorted(names, key=str.lower)
    assert everyone.total == 4
    assert [p.full_name for p in page.items] == everyone_names[1:3]
    assert page.total == 4
    assert [p.full_name for p in underscore.items] == ["Alice_B"]
    assert [p.full_name for p in percent.items] == ["charlie 50%"]
    assert [p.full_name for p in by_phone.items] == ["bob"]
    assert [p.full_name for p in by_email.items] == ["alice"]
    assert [p.id for p in of_doctor.items] == [made["bob"].id]
    assert of_doctor.total == 1
    assert [p.id for p in only.items] == [made["alice"].id]
    assert (linked, unlinked) == (made["bob"], None)


async def test_patient_scope_admits_the_same_patients_in_search_and_single_reads(
    backend: Backend, seed: Seed
) -> None:
    """A doctor's scope holds exactly the patients with an appointment with them, of any
    status, listed once; the list and the single read agree for every scope."""
    doctor, other_doctor = await seed.doctors(2)
    treated, cancelled_only, elsewhere, never = await seed.patients(4)
    day = next_working_day(seed.clock.now())
    await seed.appointment(doctor, treated, day)
    await seed.appointment(doctor, treated, day + timedelta(hours=1))  # twice: listed once
    await seed.appointment(
        doctor, cancelled_only, day + timedelta(hours=2), status=Status.CANCELLED
    )
    await seed.appointment(other_doctor, elsewhere, day)
    everybody = [treated, cancelled_only, elsewhere, never]
    cases: list[tuple[str, PatientScope, list[Patient]]] = [
        ("everyone", EVERYONE, everybody),
        ("treated by the doctor", PatientScope(treated_by=doctor.id), [treated, cancelled_only]),
        ("treated by the other", PatientScope(treated_by=other_doctor.id), [elsewhere]),
        ("treated by a stranger", PatientScope(treated_by=uuid4()), []),
        ("one patient", PatientScope(only_id=never.id), [never]),
        ("an unknown patient", PatientScope(only_id=uuid4()), []),
        ("both, holding", PatientScope(only_id=treated.id, treated_by=doctor.id), [treated]),
        ("both, not holding", PatientScope(only_id=never.id, treated_by=doctor.id), []),
        ("nothing set", PatientScope(), []),
    ]

    async with backend.uow() as uow:
        for label, scope, expected in cases:
            found = await uow.patients.search(PatientFilter(scope=scope), PageRequest(limit=100))
            assert sorted(p.id for p in found.items) == sorted(p.id for p in expected), label
            assert found.total == len(expected), label
            for patient in everybody:
                single = await uow.patients.get_in_scope(patient.id, scope)
                assert single == (patient if patient in expected else None), (label, patient)
        assert await uow.patients.get_in_scope(uuid4(), EVERYONE) is None
        mine_by_name = await uow.patients.search(
            PatientFilter(scope=PatientScope(treated_by=doctor.id), q=treated.full_name),
            PageRequest(),
        )
        not_mine_by_name = await uow.patients.search(
            PatientFilter(scope=PatientScope(treated_by=doctor.id), q=elsewhere.full_name),
            PageRequest(),
        )
        paged = await uow.patients.search(
            PatientFilter(scope=PatientScope(treated_by=doctor.id)), PageRequest(limit=1)
        )
    assert [p.id for p in mine_by_name.items] == [treated.id]
    assert (not_mine_by_name.items, not_mine_by_name.total) == ([], 0)
    assert (len(paged.items), paged.total) == (1, 2)


# --- departments ---------------------------------------------------------------------


async def test_department_round_trip_order_and_lookup(backend: Backend, seed: Seed) -> None:
    made = [await seed.department(name) for name in ["surgery", "Cardiology", "bone", "Dental"]]
    async with backend.uow() as uow:
        stored = await uow.departments.get(made[1].id)
        page = await uow.departments.search(PageRequest(limit=3))
        rest = await uow.departments.search(PageRequest(limit=3, offset=3))
        taken = await uow.departments.name_taken("CARDIOLOGY")
        taken_by_itself = await uow.departments.name_taken("cardiology", except_id=made[1].id)
        free = await uow.departments.name_taken("Cardio")
    assert stored == made[1]
    assert [d.name for d in page.items] == ["bone", "Cardiology", "Dental"]  # case-insensitive
    assert [d.name for d in rest.items] == ["surgery"]
    assert (page.total, rest.total) == (4, 4)
    assert (taken, taken_by_itself, free) == (True, False, False)


async def test_department_save_delete_and_has_doctors(backend: Backend, seed: Seed) -> None:
    staffed = await seed.department()
    empty = await seed.department()
    await seed.doctor(staffed)
    async with backend.uow() as uow:
        await uow.departments.save(Department("Renamed", None, id=empty.id))
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.departments.get(empty.id) == Department("Renamed", None, id=empty.id)
        assert await uow.departments.has_doctors(staffed.id) is True
        assert await uow.departments.has_doctors(empty.id) is False
        await uow.departments.delete(empty.id)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.departments.get(empty.id) is None
        assert await uow.departments.get(staffed.id) == staffed


# --- doctors -------------------------------------------------------------------------


async def test_doctor_round_trip_with_schedule_and_time_off(backend: Backend, seed: Seed) -> None:
    department, patient = await seed.department(), await seed.patient()
    user = await seed.user(Role.DOCTOR)
    doctor = Doctor(
        user_id=user.id,
        full_name=user.full_name,
        email=user.email,
        department_id=department.id,
        specialization="Cardiology",
        phone="+44 20 7946 0000",
    )
    schedule = WeeklySchedule.of(
        [
            WeeklyInterval(0, time(8), time(12)),
            WeeklyInterval(0, time(13, 30), time(17, 45)),
            WeeklyInterval(6, time(22), time(23, 59)),
        ]
    )
    leave = TimeOff(
        doctor_id=doctor.id,
        starts_at=datetime(2031, 7, 1, 9, tzinfo=IST),
        ends_at=datetime(2031, 7, 3, 9, tzinfo=IST),
        reason="conference",
    )
    later = TimeOff(
        doctor_id=doctor.id,
        starts_at=datetime(2031, 8, 1, tzinfo=PST),
        ends_at=datetime(2031, 8, 2, tzinfo=PST),
    )
    async with backend.uow() as uow:
        await uow.doctors.add(doctor, schedule)
        await uow.doctors.add_time_off(later)
        await uow.doctors.add_time_off(leave)
        await uow.commit()

    async with backend.uow() as uow:
        assert await uow.doctors.get(doctor.id) == doctor
        principal = await uow.users.load_principal(user.id, "any-jti")
        assert await uow.doctors.get_schedule(doctor.id) == schedule
        july = Span(datetime(2031, 7, 2, tzinfo=UTC), datetime(2031, 8, 1, 1, tzinfo=PST))
        july_calendar = await uow.doctors.lock_for_placement(patient.id, doctor.id, july)
        # the schedule once, each time off once, by start
        assert july_calendar == PlacementParties(patient, doctor, schedule, [leave, later], None)
        stored_leave = await uow.doctors.get_time_off(leave.id)
        everything = await uow.doctors.list_time_off(doctor.id)
        july = await uow.doctors.list_time_off(
            doctor.id,
            within=Span(datetime(2031, 7, 3, 3, 29, tzinfo=UTC), datetime(2031, 7, 5, tzinfo=UTC)),
        )
        touching = await uow.doctors.list_time_off(
            doctor.id,
            within=Span(datetime(2031, 7, 3, 3, 30, tzinfo=UTC), datetime(2031, 7, 5, tzinfo=UTC)),
        )
    assert principal is not None
    assert (principal.doctor_id, principal.patient_id) == (doctor.id, None)  # found by user
    assert stored_leave == leave
    assert stored_leave is not None
    assert_utc(stored_leave.starts_at)
    assert [t.id for t in everything] == [leave.id, later.id]
    assert [t.id for t in july] == [leave.id]
    assert touching == []  # leave ends 03:30 UTC: [start, end) does not touch 03:30

    touching_span = Span(datetime(2031, 7, 3, 3, 30, tzinfo=UTC), datetime(2031, 7, 5, tzinfo=UTC))
    new_schedule = WeeklySchedule.of([WeeklyInterval(2, time(10), time(11))])
    changed = dataclasses.replace(doctor, specialization="Surgery", phone=None, is_active=False)
    async with backend.uow() as uow:
        await uow.doctors.set_schedule(doctor.id, new_schedule)
        await uow.doctors.save(changed)
        await uow.doctors.delete_time_off(leave.id)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.doctors.get_schedule(doctor.id) == new_schedule
        assert await uow.doctors.get(doctor.id) == changed
        assert await uow.doctors.get_time_off(leave.id) is None
        assert [t.id for t in await uow.doctors.list_time_off(doctor.id)] == [later.id]
        await uow.doctors.set_schedule(doctor.id, WeeklySchedule(()))
        assert await uow.doctors.get_schedule(doctor.id) == WeeklySchedule(())
        assert await uow.doctors.get(uuid4()) is None
    async with backend.uow() as uow:  # in a transaction: the rows locked
        locked = await uow.doctors.lock_for_placement(patient.id, doctor.id, touching_span)
        assert locked == PlacementParties(patient, changed, new_schedule, [], None)
        await uow.doctors.set_schedule(doctor.id, WeeklySchedule(()))
        await uow.commit()
    async with backend.uow() as uow:
        locked = await uow.doctors.lock_for_placement(patient.id, doctor.id, touching_span)
        assert locked is not None
        assert locked.schedule == WeeklySchedule(())  # no interval: still the doctor
        assert locked.doctor == changed
        assert await uow.doctors.lock_for_placement(patient.id, uuid4(), touching_span) is None
        assert await uow.doctors.lock_for_placement(uuid4(), doctor.id, touching_span) is None


async def test_a_doctors_holds_until_is_never_before_a_live_hold_expires(
    backend: Backend, seed: Seed
) -> None:
    """What lets a placement skip reading holds: holds_until is None while the doctor has
    had no hold, and from a hold on at least that hold's expiry, a later one's too."""
    doctor, patient = await seed.doctor(), await seed.patient()
    span = Span(datetime(2031, 7, 7, 9, tzinfo=UTC), datetime(2031, 7, 7, 10, tzinfo=UTC))

    async def holds_until() -> datetime | None:
        async with backend.uow() as uow:
            parties = await uow.doctors.lock_for_placement(patient.id, doctor.id, span)
        assert parties is not None
        return parties.holds_until

    assert await holds_until() is None
    now = seed.clock.now()
    expiries = [now + timedelta(minutes=30), now + timedelta(minutes=10)]
    for n, expires_at in enumerate(expiries):
        hold = Hold(
            doctor_id=doctor.id,
            patient_id=patient.id,
            starts_at=span.starts_at + timedelta(hours=n),
            ends_at=span.ends_at + timedelta(hours=n),
            expires_at=expires_at,
            created_at=now,
        )
        async with backend.uow() as uow:
            await uow.holds.add(hold)
            await uow.commit()
        found = await holds_until()
        assert found is not None
        assert found >= max(expiries[: n + 1])
        assert_utc(found)


async def test_doctor_search_filters_order_and_q(backend: Backend, seed: Seed) -> None:
    cardiology = await seed.department()
    surgery = await seed.department()
    specs = {"Zed": "Heart_surgery", "amy": "Heart surgery", "Bea": "100% care", "Cal": "Skin"}
    made: dict[str, Doctor] = {}
    async with backend.uow() as uow:
        for i, (name, spec) in enumerate(specs.items()):
            user = seed.new_user(Role.DOCTOR, f"doc{i}x{uuid4().hex[:4]}")
            user = dataclasses.replace(user, full_name=name)
            await uow.users.add(user)
            department = surgery if name == "Cal" else cardiology
            made[name] = Doctor(user.id, name, user.email, department.id, spec)
            await uow.doctors.add(made[name], WeeklySchedule.default())
        await uow.doctors.save(dataclasses.replace(made["Bea"], is_active=False))
        await uow.commit()

    async def names(filters: DoctorFilter, page: PageRequest = PageRequest()) -> list[str]:
        async with backend.uow() as uow:
            return [d.full_name for d in (await uow.doctors.search(filters, page)).items]

    active = await names(DoctorFilter())
    assert sorted(active, key=str.lower) == ["amy", "Cal", "Zed"]
    assert await names(DoctorFilter(is_active=False)) == ["Bea"]
    assert len(await names(DoctorFilter(is_active=None))) == 4
    assert await names(DoctorFilter(department_id=surgery.id)) == ["Cal"]
    assert await names(DoctorFilter(q="T_S", is_active=None)) == ["Zed"]
    assert await names(DoctorFilter(q="0%", is_active=None)) == ["Bea"]
    assert await names(DoctorFilter(q="AMY")) == ["amy"]
    assert await names(DoctorFilter(q=made["Cal"].email.upper())) == ["Cal"]
    async with backend.uow() as uow:
        page = await uow.doctors.search(
            DoctorFilter(is_active=None), PageRequest(limit=1, offset=1)
        )
    assert page.total == 4
    assert len(page.items) == 1


# --- appointments --------------------------------------------------------------------


async def test_appointment_round_trip_and_save(backend: Backend, seed: Seed) -> None:
    doctor = await seed.doctor()
    patient = await seed.patient()
    appointment = dataclasses.replace(
        seed.new_appointment(doctor, patient, datetime(2031, 1, 6, 15, tzinfo=IST)),
        ends_at=datetime(2031, 1, 6, 2, 15, tzinfo=PST),
        reason="check-up",
        notes="bring results",
        created_at=datetime(2030, 12, 1, 8, tzinfo=PST),
    )
    async with backend.uow() as uow:
        await uow.appointments.add(appointment)
        await uow.commit()
    async with backend.uow() as uow:
        stored = await uow.appointments.get(appointment.id)
    assert stored == appointment
    assert stored is not None
    for value in (stored.starts_at, stored.ends_at, stored.created_at, stored.updated_at):
        assert_utc(value)
    assert stored.starts_at.replace(tzinfo=None) == datetime(2031, 1, 6, 9, 30)
    assert stored.ends_at - stored.starts_at == timedelta(minutes=45)

    changed = dataclasses.replace(
        appointment,
        status=Status.CANCELLED,
        cancellation_reason="ill",
        notes=None,
        updated_at=seed.clock.now(),
    )
    async with backend.uow() as uow:
        await uow.appointments.save(changed)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.appointments.get(appointment.id) == changed
        assert await uow.appointments.get(uuid4()) is None


async def test_appointment_search_orders_by_instant_whatever_the_offset(
    backend: Backend, seed: Seed
) -> None:
    """Local wall-clock order differs from UTC order: the stored order must be UTC's."""
    doctor, other_doctor = await seed.doctors(2)
    patient, other_patient = await seed.patients(2)
    starts = [
        datetime(2031, 1, 6, 14, 0, tzinfo=IST),  # 08:30Z
        datetime(2031, 1, 6, 0, 15, tzinfo=PST),  # 08:15Z
        datetime(2031, 1, 6, 9, 0, tzinfo=UTC),  # 09:00Z
        datetime(2031, 1, 6, 13, 50, tzinfo=IST),  # 08:20Z
    ]
    made = [await seed.appointment(doctor, patient, s, minutes=5) for s in starts]
    confirmed = await seed.appointment(
        doctor, other_patient, datetime(2031, 1, 7, 9, tzinfo=UTC), status=Status.CONFIRMED
    )
    elsewhere = await seed.appointment(
        other_doctor, other_patient, datetime(2031, 1, 5, tzinfo=UTC)
    )
    by_instant = sorted(made, key=lambda a: a.starts_at)

    async def ids(filters: AppointmentFilter, page: PageRequest = PageRequest()) -> list[object]:
        async with backend.uow() as uow:
            return [a.id for a in (await uow.appointments.search(filters, page)).items]

    assert await ids(AppointmentFilter(patient_id=patient.id)) == [a.id for a in by_instant]
    assert await ids(AppointmentFilter()) == [elsewhere.id] + [a.id for a in by_instant] + [
        confirmed.id
    ]
    assert await ids(AppointmentFilter(doctor_id=other_doctor.id)) == [elsewhere.id]
    assert await ids(AppointmentFilter(status=Status.CONFIRMED)) == [confirmed.id]
    window = AppointmentFilter(
        starts_from=datetime(2031, 1, 6, 13, 50, tzinfo=IST),  # inclusive
        starts_before=datetime(2031, 1, 6, 9, 0, tzinfo=UTC),  # exclusive
    )
    assert await ids(window) == [made[3].id, made[0].id]
    async with backend.uow() as uow:
        page = await uow.appointments.search(AppointmentFilter(), PageRequest(limit=2, offset=4))
    assert [a.id for a in page.items] == [by_instant[3].id, confirmed.id]
    assert page.total == 6


async def test_appointment_search_stays_within_the_scope(backend: Backend, seed: Seed) -> None:
    """The scope is AND-ed with the filters, and a list holds exactly what the scope
    admits for a single read (AppointmentScope.admits)."""
    doctor, other_doctor = await seed.doctors(2)
    patient, other_patient = await seed.patients(2)
    day = next_working_day(seed.clock.now())
    mine = await seed.appointment(doctor, patient, day)
    theirs = await seed.appointment(other_doctor, other_patient, day)
    crossed = await seed.appointment(other_doctor, patient, day + timedelta(hours=1))
    cancelled = await seed.appointment(
        doctor, other_patient, day + timedelta(hours=2), status=Status.CANCELLED
    )
    everything = [mine, theirs, crossed, cancelled]
    of_doctor = AppointmentScope(doctor_id=doctor.id)
    of_patient = AppointmentScope(patient_id=patient.id)
    scopes = {
        "everything": AppointmentScope.everything(),
        "the doctor's": of_doctor,
        "the patient's": of_patient,
        "doctor before patient": AppointmentScope(doctor_id=doctor.id, patient_id=patient.id),
        "a stranger's": AppointmentScope(doctor_id=uuid4()),
        "nothing set": AppointmentScope(),
    }

    async def ids(filters: AppointmentFilter) -> list[object]:
        async with backend.uow() as uow:
            found = await uow.appointments.search(filters, PageRequest())
        assert found.total == len(found.items)  # one page holds them all
        return [a.id for a in found.items]

    def by_start(*items: Appointment) -> list[object]:
        return [a.id for a in sorted(items, key=lambda a: (a.starts_at, a.id))]

    for label, scope in scopes.items():
        admitted = [a for a in everything if scope.admits(a)]
        assert await ids(AppointmentFilter(scope=scope)) == by_start(*admitted), label
    assert await ids(AppointmentFilter(scope=of_doctor)) == by_start(mine, cancelled)
    assert await ids(AppointmentFilter(scope=of_patient)) == by_start(mine, crossed)
    assert await ids(AppointmentFilter(scope=AppointmentScope())) == []

    # AND-ed with what the caller asked for: never wider than the scope.
    assert await ids(AppointmentFilter(scope=of_doctor, doctor_id=other_doctor.id)) == []
    assert await ids(AppointmentFilter(scope=of_doctor, patient_id=other_patient.id)) == [
        cancelled.id
    ]
    assert await ids(AppointmentFilter(scope=of_patient, doctor_id=other_doctor.id)) == [crossed.id]
    assert await ids(AppointmentFilter(scope=of_doctor, status=Status.SCHEDULED)) == [mine.id]
    later = AppointmentFilter(scope=of_patient, starts_from=day + timedelta(minutes=30))
    assert await ids(later) == [crossed.id]
    async with backend.uow() as uow:
        page = await uow.appointments.search(
            AppointmentFilter(scope=of_doctor), PageRequest(limit=1, offset=1)
        )
    assert ([a.id for a in page.items], page.total) == ([cancelled.id], 2)


async def test_busy_spans_counts_only_active_and_is_half_open(backend: Backend, seed: Seed) -> None:
    doctor, other_doctor = await seed.doctors(2)
    patient = await seed.patient()
    ten = datetime(2031, 1, 6, 10, tzinfo=UTC)
    minute = timedelta(minutes=1)
    kept = {}
    for hour, status in enumerate(Status):
        kept[status] = await seed.appointment(doctor, patient, ten + timedelta(hours=hour), 30)
        if status is not Status.SCHEDULED:
            async with backend.uow() as uow:
                await uow.appointments.save(dataclasses.replace(kept[status], status=status))
                await uow.commit()
    await seed.appointment(other_doctor, (await seed.patient()), ten, 30)
    whole_day = Span(ten - timedelta(hours=10), ten + timedelta(hours=12))

    async with backend.uow() as uow:
        doctor_busy = await uow.appointments.busy_spans(within=whole_day, doctor_id=doctor.id)
        patient_busy = await uow.appointments.busy_spans(within=whole_day, patient_id=patient.id)
        before = await uow.appointments.busy_spans(
            within=Span(ten - timedelta(minutes=30), ten), doctor_id=doctor.id
        )
        after = await uow.appointments.busy_spans(
            within=Span(ten + timedelta(minutes=30), ten + timedelta(minutes=60)),
            doctor_id=doctor.id,
        )
        edge = await uow.appointments.busy_spans(
            within=Span(ten + 29 * minute, ten + 31 * minute), doctor_id=doctor.id
        )
        excluded = await uow.appointments.busy_spans(
            within=Span(ten, ten + 30 * minute),
            doctor_id=doctor.id,
            exclude_id=kept[Status.SCHEDULED].id,
        )
    active = [kept[s].span for s in (Status.SCHEDULED, Status.CONFIRMED, Status.CHECKED_IN)]
    assert doctor_busy == active
    assert patient_busy == active
    assert before == []
    assert after == []
    assert edge == [kept[Status.SCHEDULED].span]
    assert excluded == []


async def test_future_active_lists_changeable_future_appointments(
    backend: Backend, seed: Seed
) -> None:
    doctor, other_doctor = await seed.doctors(2)
    patient, other_patient = await seed.patients(2)
    now = seed.clock.now()
    day = timedelta(days=1)
    later = await seed.appointment(doctor, patient, now + 3 * day)
    sooner = await seed.appointment(doctor, other_patient, now + 2 * day, status=Status.CONFIRMED)
    await seed.appointment(doctor, patient, now - day)  # past
    await seed.appointment(doctor, patient, now)  # starts now: not in the future
    await seed.appointment(doctor, patient, now + 4 * day, status=Status.CANCELLED)
    await seed.appointment(doctor, patient, now + 5 * day, status=Status.CHECKED_IN)
    await seed.appointment(doctor, patient, now + 6 * day, status=Status.COMPLETED)
    mine_elsewhere = await seed.appointment(other_doctor, patient, now + day)

    async with backend.uow() as uow:
        of_doctor = await uow.appointments.future_active(now=now, doctor_id=doctor.id)
        of_patient = await uow.appointments.future_active(now=now, patient_id=patient.id)
        both = await uow.appointments.future_active(
            now=now, doctor_id=doctor.id, patient_id=other_patient.id
        )
    assert [a.id for a in of_doctor] == [sooner.id, later.id]
    assert of_doctor[0] == sooner
    assert [a.id for a in of_patient] == [mine_elsewhere.id, later.id]
    assert [a.id for a in both] == [sooner.id]


# --- shared security state -----------------------------------------------------------


@pytest.mark.parametrize("zone", [UTC, IST], ids=["utc", "offset"])
async def test_login_failures_count_upsert_and_window_restart(
    backend: Backend, seed: Seed, zone: timezone
) -> None:
    window = timedelta(minutes=15)
    start = seed.clock.now().astimezone(zone)
    minutes = [timedelta(minutes=n) for n in range(20)]

    async def record(key: str, at: datetime) -> tuple[int, datetime]:
        """The count and window start after one more failure (as stored: in UTC)."""
        async with backend.uow() as uow:
            failures = await uow.login_failures.record(key, at, at - window)
            await uow.commit()
        assert_utc(failures.first_failed_at)
        return failures.count, failures.first_failed_at

    assert await record("alice", start) == (1, start)  # nothing counted before
    assert await record("alice", start + minutes[5]) == (2, start)
    assert await record("alice", start + minutes[14]) == (3, start)
    assert await record("bob", start + minutes[5]) == (1, start + minutes[5])

    restart = start + window  # the first failure is now exactly one window old
    assert await record("alice", restart) == (1, restart)
    assert await record("alice", restart + minutes[1]) == (2, restart)

    async with backend.uow() as uow:
        await uow.login_failures.clear("alice")
        await uow.commit()
    later = restart + minutes[2]
    assert await record("alice", later) == (1, later)  # cleared: counting starts again
    # Bob's single failure survived Alice's restart and clear (his window is still open).
    assert await record("bob", later) == (2, start + minutes[5])

    # An attempt drops every key's ended window: failures for names tried once and never
    # again (random usernames) do not pile up.
    assert await backend.stored("login_failures") == 2  # Alice's and Bob's
    assert await record("carol", start + 3 * window) == (1, start + 3 * window)
    assert await backend.stored("login_failures") == 1  # Carol's alone


async def test_revoked_tokens_are_idempotent_and_purged_after_expiry(
    backend: Backend, seed: Seed
) -> None:
    user = await seed.user()
    now = seed.clock.now()
    async with backend.uow() as uow:
        await uow.revoked_tokens.add("expired", now - timedelta(seconds=1))
        await uow.revoked_tokens.add("at-now", now)
        await uow.revoked_tokens.add("live", now + timedelta(minutes=5))
        await uow.revoked_tokens.add("live", now + timedelta(minutes=5))  # twice is harmless
        # ... and the first revocation stands: a later add changes nothing.
        await uow.revoked_tokens.add("at-now", now - timedelta(hours=1))
        await uow.commit()
    assert await backend.stored("revoked_tokens") == 3

    async with backend.uow() as uow:
        await uow.revoked_tokens.purge_expired(now)
        await uow.commit()

    async with backend.uow() as uow:
        revoked = {
            jti: principal.token_revoked
            for jti in ("expired", "at-now", "live")
            if (principal := await uow.users.load_principal(user.id, jti)) is not None
        }
    assert revoked == {"expired": False, "at-now": True, "live": True}
    assert await backend.stored("revoked_tokens") == 2


async def test_blocked_spans_include_buffers_and_round_trip(backend: Backend, seed: Seed) -> None:
    """A buffered appointment is stored as the span it blocks and read back with its
    buffers; blocked_spans returns that span where it overlaps, half-open."""
    doctor = await seed.doctor()
    patient = await seed.patient()
    ten = datetime(2031, 1, 6, 10, tzinfo=UTC)
    plain = await seed.appointment(doctor, patient, ten, 30)
    buffered = dataclasses.replace(
        plain,
        id=uuid.uuid4(),
        starts_at=ten + timedelta(hours=2),
        ends_at=ten + timedelta(hours=2, minutes=30),
        buffer_before=timedelta(minutes=15),
        buffer_after=timedelta(minutes=20),
    )
    async with backend.uow() as uow:
        await uow.appointments.add(buffered)
        await uow.commit()
    async with backend.uow() as uow:
        read = await uow.appointments.get(buffered.id)
        day = Span(ten - timedelta(hours=1), ten + timedelta(hours=8))
        blocked = await uow.appointments.blocked_spans(within=day, doctor_id=doctor.id)
        edge = await uow.appointments.blocked_spans(
            within=Span(ten + timedelta(hours=2, minutes=50), ten + timedelta(hours=3)),
            doctor_id=doctor.id,
        )
        excluded = await uow.appointments.blocked_spans(
            within=day, doctor_id=doctor.id, exclude_id=plain.id
        )
    assert read == buffered
    assert blocked == [plain.span, buffered.blocked]
    assert buffered.blocked == Span(
        ten + timedelta(hours=1, minutes=45), ten + timedelta(hours=2, minutes=50)
    )
    assert edge == []  # touching the end of the blocked span is not overlapping
    assert excluded == [buffered.blocked]


async def test_count_future_active_counts_only_upcoming_active(
    backend: Backend, seed: Seed
) -> None:
    doctor = await seed.doctor()
    patient = await seed.patient()
    ten = datetime(2031, 1, 6, 10, tzinfo=UTC)
    upcoming = await seed.appointment(doctor, patient, ten, 30)
    await seed.appointment(doctor, patient, ten + timedelta(hours=1), 30)
    cancelled = await seed.appointment(doctor, patient, ten + timedelta(hours=2), 30)
    async with backend.uow() as uow:
        await uow.appointments.save(dataclasses.replace(cancelled, status=Status.CANCELLED))
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.appointments.count_future_active(patient_id=patient.id, now=ten) == 1
        before = ten - timedelta(minutes=1)
        assert await uow.appointments.count_future_active(patient_id=patient.id, now=before) == 2
    assert upcoming.is_active
