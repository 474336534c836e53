"""SqlUnitOfWork: rollback by default, and database constraint violations as domain errors.

The repositories' add()/delete() are called directly, so the application's friendly
pre-checks are bypassed and only the database can refuse.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncEngine

from appointments.adapters.sqlalchemy.unit_of_work import SqlUnitOfWork
from appointments.domain.appointments import Status
from appointments.domain.clinic import Department
from appointments.domain.errors import (
    DepartmentExists,
    DepartmentNotEmpty,
    DoctorUnavailable,
    DomainError,
    EmailTaken,
    PatientUnavailable,
    UsernameTaken,
)
from appointments.domain.users import Role
from tests.adapters.conftest import Seed, commit_with, count_rows, next_working_day, postgres_only


class Boom(Exception):
    pass


async def test_nothing_persists_without_commit(engine: AsyncEngine, seed: Seed) -> None:
    user = seed.new_user()
    async with SqlUnitOfWork(engine) as uow:
        await uow.users.add(user)
        assert await uow.users.get(user.id) == user  # visible inside its own transaction
    async with SqlUnitOfWork(engine) as uow:
        assert await uow.users.get(user.id) is None
    assert await count_rows(engine, "SELECT count(*) FROM users") == 0


async def test_an_exception_inside_rolls_back_and_propagates(
    engine: AsyncEngine, seed: Seed
) -> None:
    kept = await seed.user()
    lost = seed.new_user()

    async def work() -> None:
        async with SqlUnitOfWork(engine) as uow:
            await uow.users.add(lost)
            await uow.users.save(dataclasses.replace(kept, full_name="Changed"))
            raise Boom

    with pytest.raises(Boom):
        await work()
    async with SqlUnitOfWork(engine) as uow:
        assert await uow.users.get(lost.id) is None
        assert await uow.users.get(kept.id) == kept


async def test_work_committed_before_a_later_failure_stays(engine: AsyncEngine, seed: Seed) -> None:
    first, second = seed.new_user(), seed.new_user()

    async def work() -> None:
        async with SqlUnitOfWork(engine) as uow:
            await uow.users.add(first)
            await uow.commit()
            await uow.users.add(second)
            raise Boom

    with pytest.raises(Boom):
        await work()
    async with SqlUnitOfWork(engine) as uow:
        assert await uow.users.get(first.id) == first
        assert await uow.users.get(second.id) is None


async def test_a_unit_of_work_can_be_entered_again(engine: AsyncEngine, seed: Seed) -> None:
    """Use-cases keep one UoW object and enter it twice (Login does)."""
    uow = SqlUnitOfWork(engine)
    first, second = seed.new_user(), seed.new_user()
    async with uow:
        await uow.users.add(first)
        await uow.commit()
    async with uow:
        await uow.users.add(second)
    async with uow:
        assert await uow.users.get(first.id) == first
        assert await uow.users.get(second.id) is None


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"email": "TAKEN@Example.COM"}, EmailTaken),
        ({"username": "TaKeN"}, UsernameTaken),
        ({"email": "taken@example.com"}, EmailTaken),
        ({"username": "taken"}, UsernameTaken),
    ],
)
async def test_database_refuses_duplicate_users_case_insensitively(
    engine: AsyncEngine, seed: Seed, change: dict[str, str], error: type[DomainError]
) -> None:
    existing = await seed.user(name="taken")
    assert existing.email == "taken@example.com"
    duplicate = dataclasses.replace(seed.new_user(Role.ADMIN), **change)
    with pytest.raises(error) as raised:
        await commit_with(engine, lambda uow: uow.users.add(duplicate))
    assert raised.value.code == error.code
    assert await count_rows(engine, "SELECT count(*) FROM users") == 1


async def test_database_refuses_a_department_name_in_another_case(
    engine: AsyncEngine, seed: Seed
) -> None:
    await seed.department("Cardiology")
    with pytest.raises(DepartmentExists):
        await commit_with(engine, lambda uow: uow.departments.add(Department("CARDIOLOGY")))
    renamed = dataclasses.replace(await seed.department("Neurology"), name="cardiology")
    with pytest.raises(DepartmentExists):
        await commit_with(engine, lambda uow: uow.departments.save(renamed))
    names = "SELECT count(*) FROM departments WHERE name IN ('Cardiology', 'Neurology')"
    assert await count_rows(engine, names) == 2
    assert await count_rows(engine, "SELECT count(*) FROM departments") == 2


async def test_database_refuses_deleting_a_department_with_doctors(
    engine: AsyncEngine, seed: Seed
) -> None:
    department = await seed.department()
    await seed.doctor(department)
    with pytest.raises(DepartmentNotEmpty):
        await commit_with(engine, lambda uow: uow.departments.delete(department.id))
    async with SqlUnitOfWork(engine) as uow:
        assert await uow.departments.get(department.id) == department


async def test_database_refuses_deleting_a_department_its_appointments_name(
    engine: AsyncEngine, seed: Seed
) -> None:
    """The doctor moved on, but the department's appointment history still points at it."""
    old, new = await seed.department(), await seed.department()
    doctor = await seed.doctor(old)
    await seed.appointment(doctor, await seed.patient(), next_working_day(seed.clock.now()))
    async with SqlUnitOfWork(engine) as uow:
        await uow.doctors.save(dataclasses.replace(doctor, department_id=new.id))
        await uow.commit()
    async with SqlUnitOfWork(engine) as uow:
        assert await uow.departments.has_doctors(old.id) is False  # the pre-check passes
    with pytest.raises(DepartmentNotEmpty):
        await commit_with(engine, lambda uow: uow.departments.delete(old.id))
    async with SqlUnitOfWork(engine) as uow:
        assert await uow.departments.get(old.id) == old


async def test_naive_datetimes_are_refused(engine: AsyncEngine, seed: Seed) -> None:
    naive = seed.clock.now().replace(tzinfo=None)
    user = dataclasses.replace(seed.new_user(), created_at=naive)
    with pytest.raises(StatementError, match="naive datetime") as raised:
        await commit_with(engine, lambda uow: uow.users.add(user))
    assert isinstance(raised.value.orig, ValueError)
    assert await count_rows(engine, "SELECT count(*) FROM users") == 0

    with pytest.raises(StatementError, match="naive datetime"):
        await commit_with(engine, lambda uow: uow.revoked_tokens.purge_expired(naive))


# --- PostgreSQL exclusion constraints ------------------------------------------------


@postgres_only
@pytest.mark.parametrize(
    ("offset_minutes", "minutes"),
    [(0, 30), (15, 30), (-15, 30), (5, 10), (-60, 120)],
    ids=["same", "later-start", "earlier-start", "inside", "around"],
)
async def test_postgres_refuses_an_overlapping_appointment_of_the_doctor(
    engine: AsyncEngine, seed: Seed, offset_minutes: int, minutes: int
) -> None:
    doctor = await seed.doctor()
    first, second = await seed.patients(2)
    start = next_working_day(seed.clock.now())
    await seed.appointment(doctor, first, start, 30)
    clash = seed.new_appointment(doctor, second, start + timedelta(minutes=offset_minutes), minutes)
    with pytest.raises(DoctorUnavailable):
        await commit_with(engine, lambda uow: uow.appointments.add(clash))
    assert await count_rows(engine, "SELECT count(*) FROM appointments") == 1


@postgres_only
async def test_postgres_refuses_a_patient_overlap_with_another_doctor(
    engine: AsyncEngine, seed: Seed
) -> None:
    doctor, other_doctor = await seed.doctors(2)
    patient = await seed.patient()
    start = next_working_day(seed.clock.now())
    await seed.appointment(doctor, patient, start, 30)
    clash = seed.new_appointment(other_doctor, patient, start + timedelta(minutes=20), 30)
    with pytest.raises(PatientUnavailable):
        await commit_with(engine, lambda uow: uow.appointments.add(clash))
    assert await count_rows(engine, "SELECT count(*) FROM appointments") == 1


@postgres_only
async def test_postgres_refuses_rescheduling_into_an_overlap(
    engine: AsyncEngine, seed: Seed
) -> None:
    doctor = await seed.doctor()
    first, second = await seed.patients(2)
    start = next_working_day(seed.clock.now())
    await seed.appointment(doctor, first, start, 30)
    movable = await seed.appointment(doctor, second, start + timedelta(hours=2), 30)
    moved = dataclasses.replace(movable, starts_at=start, ends_at=start + timedelta(minutes=30))
    with pytest.raises(DoctorUnavailable):
        await commit_with(engine, lambda uow: uow.appointments.save(moved))
    async with SqlUnitOfWork(engine) as uow:
        assert await uow.appointments.get(movable.id) == movable


@postgres_only
@pytest.mark.parametrize("status", [Status.CANCELLED, Status.COMPLETED, Status.NO_SHOW])
async def test_postgres_lets_inactive_and_touching_appointments_overlap(
    engine: AsyncEngine, seed: Seed, status: Status
) -> None:
    doctor = await seed.doctor()
    patient = await seed.patient()
    start = next_working_day(seed.clock.now())
    await seed.appointment(doctor, patient, start, 30, status=status)
    await seed.appointment(doctor, patient, start, 30)  # same time, the other one is final
    await seed.appointment(doctor, patient, start + timedelta(minutes=30), 30)  # back to back
    await seed.appointment(doctor, patient, start - timedelta(minutes=30), 30)
    await seed.appointment(doctor, patient, start + timedelta(minutes=15), 30, status=status)
    active = "SELECT count(*) FROM appointments WHERE status = 'scheduled'"
    assert await count_rows(engine, active) == 3
    assert await count_rows(engine, "SELECT count(*) FROM appointments") == 5
