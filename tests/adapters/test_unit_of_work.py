"""The unit of work on every backend: rollback by default, and the constraints the
database enforces, refused as domain errors (the memory fake re-implements them).

The repositories' add()/save()/delete() are called directly, so the application's friendly
pre-checks are bypassed and only the storage can refuse.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from uuid import uuid4

import pytest
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncEngine

from appointments.application.ports.queries import AppointmentFilter, PageRequest
from appointments.domain.appointments import Status
from appointments.domain.departments import Department
from appointments.domain.doctors import Doctor
from appointments.domain.errors import (
    DepartmentExists,
    DepartmentNotEmpty,
    DoctorUnavailable,
    DomainError,
    EmailTaken,
    PatientUnavailable,
    UsernameTaken,
)
from appointments.domain.patients import Patient
from appointments.domain.users import Role
from tests.adapters.conftest import Backend, Seed, commit_with, count_rows, next_working_day, on

# SQLite has no exclusion constraints (it serialises writers instead, see the engine).
with_overlap_constraints = on("memory", "postgres")


class Boom(Exception):
    pass


async def test_nothing_persists_without_commit(backend: Backend, seed: Seed) -> None:
    user = seed.new_user()
    async with backend.uow() as uow:
        await uow.users.add(user)
        assert await uow.users.get(user.id) == user  # visible inside its own transaction
    async with backend.uow() as uow:
        assert await uow.users.get(user.id) is None
    assert await backend.stored("users") == 0


async def test_an_exception_inside_rolls_back_and_propagates(backend: Backend, seed: Seed) -> None:
    kept = await seed.user()
    lost = seed.new_user()

    async def work() -> None:
        async with backend.uow() as uow:
            await uow.users.add(lost)
            await uow.users.save(dataclasses.replace(kept, full_name="Changed"))
            raise Boom

    with pytest.raises(Boom):
        await work()
    async with backend.uow() as uow:
        assert await uow.users.get(lost.id) is None
        assert await uow.users.get(kept.id) == kept


async def test_work_committed_before_a_later_failure_stays(backend: Backend, seed: Seed) -> None:
    first, second = seed.new_user(), seed.new_user()

    async def work() -> None:
        async with backend.uow() as uow:
            await uow.users.add(first)
            await uow.commit()
            await uow.users.add(second)
            raise Boom

    with pytest.raises(Boom):
        await work()
    async with backend.uow() as uow:
        assert await uow.users.get(first.id) == first
        assert await uow.users.get(second.id) is None


async def test_a_unit_of_work_can_be_entered_again(backend: Backend, seed: Seed) -> None:
    """Use-cases keep one UoW object and enter it twice (Login does)."""
    uow = backend.uow()
    first, second = seed.new_user(), seed.new_user()
    async with uow:
        await uow.users.add(first)
        await uow.commit()
    async with uow:
        await uow.users.add(second)
    async with uow:
        assert await uow.users.get(first.id) == first
        assert await uow.users.get(second.id) is None


async def test_a_read_only_unit_of_work_reads_but_cannot_commit(
    backend: Backend, seed: Seed
) -> None:
    user = await seed.user()
    async with backend.uow(read_only=True) as uow:
        assert await uow.users.get(user.id) == user
        with pytest.raises(RuntimeError, match="read-only"):
            await uow.commit()


async def test_saving_what_was_never_added_stores_nothing(backend: Backend, seed: Seed) -> None:
    """save() updates: an entity that is not stored stays not stored."""
    doctor = await seed.doctor()
    patient = await seed.patient()
    user = seed.new_user()
    stranger = Patient(full_name="Never added", created_at=seed.clock.now())
    department = Department("Never added")
    other_doctor = Doctor(doctor.user_id, "x", "x@example.com", doctor.department_id, "Skin")
    appointment = seed.new_appointment(doctor, patient, next_working_day(seed.clock.now()))
    counts = {t: await backend.stored(t) for t in ("users", "patients", "doctors")}

    async with backend.uow() as uow:
        await uow.users.save(user)
        await uow.patients.save(stranger)
        await uow.departments.save(department)
        await uow.doctors.save(other_doctor)
        await uow.appointments.save(appointment)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.users.get(user.id) is None
        assert await uow.patients.get(stranger.id) is None
        assert await uow.departments.get(department.id) is None
        assert await uow.doctors.get(other_doctor.id) is None
        assert await uow.appointments.get(appointment.id) is None
    assert {t: await backend.stored(t) for t in counts} == counts
    assert await backend.stored("departments") == 1
    assert await backend.stored("appointments") == 0


DUPLICATES = pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"email": "TAKEN@Example.COM"}, EmailTaken),
        ({"username": "TaKeN"}, UsernameTaken),
        ({"email": "taken@example.com"}, EmailTaken),
        ({"username": "taken"}, UsernameTaken),
    ],
)


@DUPLICATES
async def test_duplicate_users_are_refused_case_insensitively(
    backend: Backend, seed: Seed, change: dict[str, str], error: type[DomainError]
) -> None:
    existing = await seed.user(name="taken")
    assert existing.email == "taken@example.com"
    duplicate = dataclasses.replace(seed.new_user(Role.ADMIN), **change)
    with pytest.raises(error) as raised:
        await commit_with(backend, lambda uow: uow.users.add(duplicate))
    assert raised.value.code == error.code
    assert await backend.stored("users") == 1


@DUPLICATES
async def test_renaming_a_user_to_a_taken_name_is_refused(
    backend: Backend, seed: Seed, change: dict[str, str], error: type[DomainError]
) -> None:
    existing = await seed.user(name="taken")
    other = await seed.user(name="other")
    with pytest.raises(error):
        await commit_with(backend, lambda uow: uow.users.save(dataclasses.replace(other, **change)))
    async with backend.uow() as uow:
        assert await uow.users.get(other.id) == other
        assert await uow.users.get(existing.id) == existing


async def test_a_department_name_in_another_case_is_refused(backend: Backend, seed: Seed) -> None:
    await seed.department("Cardiology")
    with pytest.raises(DepartmentExists):
        await commit_with(backend, lambda uow: uow.departments.add(Department("CARDIOLOGY")))
    renamed = dataclasses.replace(await seed.department("Neurology"), name="cardiology")
    with pytest.raises(DepartmentExists):
        await commit_with(backend, lambda uow: uow.departments.save(renamed))
    async with backend.uow() as uow:
        page = await uow.departments.search(PageRequest())
    assert [d.name for d in page.items] == ["Cardiology", "Neurology"]
    assert await backend.stored("departments") == 2


async def test_deleting_a_department_with_doctors_is_refused(backend: Backend, seed: Seed) -> None:
    department = await seed.department()
    await seed.doctor(department)
    with pytest.raises(DepartmentNotEmpty):
        await commit_with(backend, lambda uow: uow.departments.delete(department.id))
    async with backend.uow() as uow:
        assert await uow.departments.get(department.id) == department


async def test_deleting_a_department_its_appointments_name_is_refused(
    backend: Backend, seed: Seed
) -> None:
    """The doctor moved on, but the department's appointment history still points at it."""
    old, new = await seed.department(), await seed.department()
    doctor = await seed.doctor(old)
    await seed.appointment(doctor, await seed.patient(), next_working_day(seed.clock.now()))
    async with backend.uow() as uow:
        await uow.doctors.save(dataclasses.replace(doctor, department_id=new.id))
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.departments.has_doctors(old.id) is False  # the pre-check passes
    with pytest.raises(DepartmentNotEmpty):
        await commit_with(backend, lambda uow: uow.departments.delete(old.id))
    async with backend.uow() as uow:
        assert await uow.departments.get(old.id) == old


async def test_naive_datetimes_are_refused(
    engine: AsyncEngine, backend: Backend, seed: Seed
) -> None:
    naive = seed.clock.now().replace(tzinfo=None)
    user = dataclasses.replace(seed.new_user(), created_at=naive)
    with pytest.raises(StatementError, match="naive datetime") as raised:
        await commit_with(backend, lambda uow: uow.users.add(user))
    assert isinstance(raised.value.orig, ValueError)
    assert await count_rows(engine, "SELECT count(*) FROM users") == 0

    with pytest.raises(StatementError, match="naive datetime"):
        await commit_with(backend, lambda uow: uow.revoked_tokens.purge_expired(naive))


@on("memory")
async def test_the_memory_fake_refuses_naive_datetimes_too(backend: Backend, seed: Seed) -> None:
    naive = seed.clock.now().replace(tzinfo=None)
    user = dataclasses.replace(seed.new_user(), created_at=naive)
    with pytest.raises(ValueError, match="naive datetime"):
        await commit_with(backend, lambda uow: uow.users.add(user))
    with pytest.raises(ValueError, match="naive datetime"):
        await commit_with(backend, lambda uow: uow.revoked_tokens.add("jti", naive))
    assert await backend.stored("users") == 0


# --- overlapping active appointments (PostgreSQL's exclusion constraints) ------------


@with_overlap_constraints
@pytest.mark.parametrize(
    ("offset_minutes", "minutes"),
    [(0, 30), (15, 30), (-15, 30), (5, 10), (-60, 120)],
    ids=["same", "later-start", "earlier-start", "inside", "around"],
)
async def test_an_overlapping_appointment_of_the_doctor_is_refused(
    backend: Backend, seed: Seed, offset_minutes: int, minutes: int
) -> None:
    doctor = await seed.doctor()
    first, second = await seed.patients(2)
    start = next_working_day(seed.clock.now())
    await seed.appointment(doctor, first, start, 30)
    clash = seed.new_appointment(doctor, second, start + timedelta(minutes=offset_minutes), minutes)
    with pytest.raises(DoctorUnavailable):
        await commit_with(backend, lambda uow: uow.appointments.add(clash))
    assert await backend.stored("appointments") == 1


@with_overlap_constraints
async def test_a_patient_overlap_with_another_doctor_is_refused(
    backend: Backend, seed: Seed
) -> None:
    doctor, other_doctor = await seed.doctors(2)
    patient = await seed.patient()
    start = next_working_day(seed.clock.now())
    await seed.appointment(doctor, patient, start, 30)
    clash = seed.new_appointment(other_doctor, patient, start + timedelta(minutes=20), 30)
    with pytest.raises(PatientUnavailable):
        await commit_with(backend, lambda uow: uow.appointments.add(clash))
    assert await backend.stored("appointments") == 1


@with_overlap_constraints
async def test_the_doctors_overlap_is_reported_before_the_patients(
    backend: Backend, seed: Seed
) -> None:
    """A booking clashing with both parties' time: the doctor's constraint is checked first."""
    doctor, other_doctor = await seed.doctors(2)
    patient, other_patient = await seed.patients(2)
    start = next_working_day(seed.clock.now())
    await seed.appointment(other_doctor, patient, start, 30)  # the patient's time
    await seed.appointment(doctor, other_patient, start, 30)  # the doctor's time
    clash = seed.new_appointment(doctor, patient, start, 30)
    with pytest.raises(DoctorUnavailable):
        await commit_with(backend, lambda uow: uow.appointments.add(clash))
    assert await backend.stored("appointments") == 2


@with_overlap_constraints
async def test_rescheduling_into_an_overlap_is_refused(backend: Backend, seed: Seed) -> None:
    doctor = await seed.doctor()
    first, second = await seed.patients(2)
    start = next_working_day(seed.clock.now())
    await seed.appointment(doctor, first, start, 30)
    movable = await seed.appointment(doctor, second, start + timedelta(hours=2), 30)
    moved = dataclasses.replace(movable, starts_at=start, ends_at=start + timedelta(minutes=30))
    with pytest.raises(DoctorUnavailable):
        await commit_with(backend, lambda uow: uow.appointments.save(moved))
    async with backend.uow() as uow:
        assert await uow.appointments.get(movable.id) == movable


@with_overlap_constraints
async def test_reactivating_into_an_overlap_is_refused(backend: Backend, seed: Seed) -> None:
    """A final appointment may overlap; making it active again may not."""
    doctor = await seed.doctor()
    first, second = await seed.patients(2)
    start = next_working_day(seed.clock.now())
    cancelled = await seed.appointment(doctor, first, start, 30, status=Status.CANCELLED)
    await seed.appointment(doctor, second, start, 30)
    revived = dataclasses.replace(cancelled, status=Status.SCHEDULED)
    with pytest.raises(DoctorUnavailable):
        await commit_with(backend, lambda uow: uow.appointments.save(revived))
    async with backend.uow() as uow:
        assert await uow.appointments.get(cancelled.id) == cancelled


@with_overlap_constraints
@pytest.mark.parametrize("status", [Status.CANCELLED, Status.COMPLETED, Status.NO_SHOW])
async def test_inactive_and_touching_appointments_may_overlap(
    backend: Backend, seed: Seed, status: Status
) -> None:
    doctor = await seed.doctor()
    patient = await seed.patient()
    start = next_working_day(seed.clock.now())
    await seed.appointment(doctor, patient, start, 30, status=status)
    await seed.appointment(doctor, patient, start, 30)  # same time, the other one is final
    await seed.appointment(doctor, patient, start + timedelta(minutes=30), 30)  # back to back
    await seed.appointment(doctor, patient, start - timedelta(minutes=30), 30)
    await seed.appointment(doctor, patient, start + timedelta(minutes=15), 30, status=status)
    async with backend.uow() as uow:
        scheduled = await uow.appointments.search(
            AppointmentFilter(status=Status.SCHEDULED), PageRequest()
        )
    assert scheduled.total == 3
    assert await backend.stored("appointments") == 5


async def test_an_unknown_id_reads_as_nothing(backend: Backend) -> None:
    async with backend.uow() as uow:
        assert await uow.users.get(uuid4()) is None
        assert await uow.patients.get(uuid4(), lock=True) is None
        assert await uow.doctors.get(uuid4(), lock=True) is None
        assert await uow.appointments.get(uuid4(), lock=True) is None
        assert await uow.departments.get(uuid4()) is None
        assert await uow.doctors.get_time_off(uuid4()) is None
