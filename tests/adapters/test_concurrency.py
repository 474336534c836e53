"""Concurrent bookings: however many race, a doctor's or a patient's time is taken once.

Each attempt is a real BookAppointment use-case call with its own unit of work and its own
pooled connection. PostgreSQL lets the attempts overlap (the pool holds 20 connections) and
relies on its exclusion constraints; SQLite serialises them with BEGIN IMMEDIATE.
Run with `pytest -s` to see the figures.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from uuid import uuid4

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from appointments.adapters.sqlalchemy.unit_of_work import SqlUnitOfWork
from appointments.application.access import Actor
from appointments.application.appointments import BookingRequest
from appointments.application.offers import OfferFreedTime
from appointments.application.users import UserChanges
from appointments.container import Container
from appointments.domain.appointments import Appointment, Status
from appointments.domain.errors import DoctorUnavailable, LastAdmin, PatientUnavailable
from appointments.domain.rooms import Room
from appointments.domain.schedule import Span
from appointments.domain.users import Role
from tests.adapters.conftest import (
    Seed,
    active_appointments,
    count_rows,
    next_working_day,
    postgres_only,
    sqlite_only,
)
from tests.adapters.test_hold_repositories import add_entries, an_entry

ATTEMPTS = 50
ADMIN = Actor(user_id=uuid4(), role=Role.ADMIN)


async def race(
    label: str, engine: AsyncEngine, calls: list[Awaitable[Appointment]]
) -> tuple[list[Appointment], list[BaseException]]:
    results = await asyncio.gather(*calls, return_exceptions=True)
    won = [r for r in results if isinstance(r, Appointment)]
    lost = [r for r in results if isinstance(r, BaseException)]
    # A refusal "from the database" is a constraint violation (the pre-check passed).
    by_database = sum(isinstance(e.__cause__, DBAPIError) for e in lost)
    print(
        f"\n[{engine.dialect.name}] {label}: attempts={len(calls)} successes={len(won)} "
        f"refused={len(lost)} (by the database: {by_database}) "
        f"errors={dict(Counter(type(e).__name__ for e in lost))}"
    )
    if engine.dialect.name == "postgresql" and lost:
        # The attempts really overlapped: some passed the application's check and only
        # the exclusion constraint stopped them.
        assert by_database >= 1
    return won, lost


def book(container: Container, request: BookingRequest) -> Awaitable[Appointment]:
    return container.book_appointment()(ADMIN, request)


async def test_many_patients_racing_for_one_slot_get_it_once(
    container: Container, engine: AsyncEngine, seed: Seed
) -> None:
    doctor = await seed.doctor()
    patients = await seed.patients(ATTEMPTS)
    start = next_working_day(seed.clock.now())
    calls = [
        book(container, BookingRequest(doctor.id, start, patient_id=p.id, duration_minutes=30))
        for p in patients
    ]

    won, lost = await race("same slot", engine, calls)

    rows = await count_rows(engine, active_appointments(doctor_id=doctor.id))
    print(f"[{engine.dialect.name}] same slot: active rows for the doctor={rows}")
    assert len(won) == 1
    assert all(isinstance(e, DoctorUnavailable) for e in lost), lost
    assert len(lost) == ATTEMPTS - 1
    assert rows == 1
    async with SqlUnitOfWork(engine) as uow:
        assert await uow.appointments.get(won[0].id) == won[0]


async def test_overlapping_but_different_slots_are_taken_once(
    container: Container, engine: AsyncEngine, seed: Seed
) -> None:
    """Starts 10:00..10:25 and lengths 30..45 minutes: every pair overlaps."""
    doctor = await seed.doctor()
    patients = await seed.patients(ATTEMPTS)
    ten = next_working_day(seed.clock.now())
    requests = [
        BookingRequest(
            doctor.id,
            ten + timedelta(minutes=5 * (i % 6)),
            patient_id=p.id,
            duration_minutes=30 + 5 * (i % 4),
        )
        for i, p in enumerate(patients)
    ]
    assert len({(r.starts_at, r.duration_minutes) for r in requests}) == 12

    won, lost = await race("overlapping slots", engine, [book(container, r) for r in requests])

    rows = await count_rows(engine, active_appointments(doctor_id=doctor.id))
    print(f"[{engine.dialect.name}] overlapping slots: active rows for the doctor={rows}")
    assert len(won) == 1
    assert all(isinstance(e, DoctorUnavailable) for e in lost), lost
    assert rows == 1


async def test_one_patient_racing_for_many_doctors_at_once_gets_one(
    container: Container, engine: AsyncEngine, seed: Seed
) -> None:
    department = await seed.department()
    doctors = await seed.doctors(ATTEMPTS, department)
    patient = await seed.patient()
    start = next_working_day(seed.clock.now())
    calls = [
        book(
            container,
            BookingRequest(
                d.id,
                start + timedelta(minutes=i % 3),
                patient_id=patient.id,
                duration_minutes=30,
            ),
        )
        for i, d in enumerate(doctors)
    ]

    won, lost = await race("one patient, many doctors", engine, calls)

    rows = await count_rows(engine, active_appointments(patient_id=patient.id))
    print(f"[{engine.dialect.name}] one patient, many doctors: active rows={rows}")
    assert len(won) == 1
    assert all(isinstance(e, PatientUnavailable) for e in lost), lost
    assert rows == 1


async def test_disjoint_slots_booked_concurrently_all_succeed(
    container: Container, engine: AsyncEngine, seed: Seed
) -> None:
    """The guard refuses overlaps only: back-to-back slots racing all get booked."""
    doctor = await seed.doctor()
    patients = await seed.patients(12)
    nine = next_working_day(seed.clock.now(), at=9)
    calls = [
        book(
            container,
            BookingRequest(
                doctor.id, nine + timedelta(minutes=30 * i), patient_id=p.id, duration_minutes=30
            ),
        )
        for i, p in enumerate(patients)
    ]

    won, lost = await race("back-to-back slots", engine, calls)

    assert lost == []
    assert len(won) == 12
    assert await count_rows(engine, active_appointments(doctor_id=doctor.id)) == 12


# --- the two guards, step by step ----------------------------------------------------


@postgres_only
@pytest.mark.parametrize("first_commits", [True, False], ids=["commit", "rollback"])
async def test_postgres_second_insert_waits_for_the_first_then_is_refused(
    engine: AsyncEngine, seed: Seed, first_commits: bool
) -> None:
    """Both transactions pass the application check; the constraint decides, waiting for
    the first transaction's outcome."""
    doctor = await seed.doctor()
    first_patient, second_patient = await seed.patients(2)
    start = next_working_day(seed.clock.now())
    first = seed.new_appointment(doctor, first_patient, start)
    second = seed.new_appointment(doctor, second_patient, start + timedelta(minutes=10))
    window = first.span

    async with SqlUnitOfWork(engine) as two:
        async with SqlUnitOfWork(engine) as one:
            assert await one.appointments.busy_spans(within=window, doctor_id=doctor.id) == []
            assert await two.appointments.busy_spans(within=window, doctor_id=doctor.id) == []
            await one.appointments.add(first)

            async def second_books() -> None:
                await two.appointments.add(second)
                await two.commit()

            waiting = asyncio.create_task(second_books())
            await asyncio.sleep(0.3)
            assert not waiting.done()  # blocked on the first transaction's row
            if first_commits:
                await one.commit()
        # `one` is closed: committed, or rolled back
        if first_commits:
            with pytest.raises(DoctorUnavailable):
                await asyncio.wait_for(waiting, timeout=30)
        else:
            await asyncio.wait_for(waiting, timeout=30)

    expected = first if first_commits else second
    rows = await count_rows(engine, active_appointments(doctor_id=doctor.id))
    assert rows == 1
    async with SqlUnitOfWork(engine) as uow:
        assert await uow.appointments.get(expected.id) == expected


@postgres_only
@pytest.mark.parametrize("party", ["patient", "doctor", "room"])
async def test_postgres_placements_of_one_party_queue(
    engine: AsyncEngine, seed: Seed, party: str
) -> None:
    """A placement's lock on its party is exclusive: the second waits for the first to
    commit, and so sees what it wrote. (Under a share lock both would run on to their
    inserts and wait on each other's rows, which the exclusion constraints end in a
    deadlock rather than a 409.) A foreign key check never waits for it."""
    (doctor, other_doctor), (patient, other_patient) = await seed.doctors(2), await seed.patients(2)
    room = Room(f"Queue {uuid4().hex}")
    async with seed.uow() as uow:
        await uow.rooms.add(room)
        await uow.commit()
    span = Span(next_working_day(seed.clock.now()), next_working_day(seed.clock.now()))

    async def lock(uow: SqlUnitOfWork, *, second: bool) -> object:
        """The first placement: the patient and the doctor (and the room); the second
        shares only `party` with it."""
        if party == "room":
            return await uow.rooms.get(room.id, lock=True)
        patient_id = other_patient.id if second and party == "doctor" else patient.id
        doctor_id = other_doctor.id if second and party == "patient" else doctor.id
        return await uow.doctors.lock_for_placement(patient_id, doctor_id, span)

    async def second_locks() -> object:
        async with SqlUnitOfWork(engine) as two:
            return await lock(two, second=True)

    async with SqlUnitOfWork(engine) as one:
        assert await lock(one, second=False) is not None
        async with SqlUnitOfWork(engine) as other:  # an insert referencing every party
            added = replace(seed.new_appointment(doctor, patient, span.starts_at), room_id=room.id)
            await asyncio.wait_for(other.appointments.add(added), timeout=5)
        waiting = asyncio.create_task(second_locks())
        await asyncio.sleep(0.3)
        assert not waiting.done()  # queued behind the first placement
        await one.commit()
    assert await asyncio.wait_for(waiting, timeout=30) is not None


@postgres_only
async def test_postgres_a_placement_locks_its_patient_before_its_doctor(
    engine: AsyncEngine, seed: Seed
) -> None:
    """One statement locks both, and in the placement order: while it waits for the
    doctor, it already holds the patient (the other order would let a planner, which
    takes patients first, and a placement wait on each other)."""
    doctor, patient = await seed.doctor(), await seed.patient()
    span = Span(next_working_day(seed.clock.now()), next_working_day(seed.clock.now()))

    async def placement() -> object:
        async with SqlUnitOfWork(engine) as uow:
            return await uow.doctors.lock_for_placement(patient.id, doctor.id, span)

    async def patient_locker() -> object:
        async with SqlUnitOfWork(engine) as uow:
            return await uow.patients.get(patient.id, lock=True)

    async with SqlUnitOfWork(engine) as holder:
        await holder.doctors.get(doctor.id, lock=True)
        placing = asyncio.create_task(placement())
        await asyncio.sleep(0.3)
        assert not placing.done()  # waiting for the doctor...
        locking = asyncio.create_task(patient_locker())
        await asyncio.sleep(0.3)
        assert not locking.done()  # ...while holding the patient
        await holder.commit()
    assert await asyncio.wait_for(placing, timeout=30) is not None
    assert await asyncio.wait_for(locking, timeout=30) is not None


@postgres_only
@pytest.mark.parametrize("party", ["doctor", "patient"])
async def test_postgres_a_deactivation_cancels_what_a_placement_under_way_books(
    engine: AsyncEngine, seed: Seed, container: Container, party: str
) -> None:
    """The deactivation waits for the placement holding the party, then reads the future
    appointments: the one just booked is among them and is cancelled, never left active
    with an inactive doctor or patient."""
    doctor, patient = await seed.doctor(), await seed.patient()
    booked = seed.new_appointment(doctor, patient, next_working_day(seed.clock.now()))

    async def deactivate() -> None:
        if party == "doctor":
            await container.deactivate_doctor()(ADMIN, doctor.id)
        else:
            await container.deactivate_patient()(ADMIN, patient.id)

    async with SqlUnitOfWork(engine) as placement:
        await placement.doctors.lock_for_placement(patient.id, doctor.id, booked.span)
        await placement.appointments.add(booked)
        waiting = asyncio.create_task(deactivate())
        await asyncio.sleep(0.3)
        assert not waiting.done()  # queued behind the placement
        await placement.commit()
    await asyncio.wait_for(waiting, timeout=30)

    async with SqlUnitOfWork(engine) as uow:
        stored = await uow.appointments.get(booked.id)
    assert stored is not None
    assert stored.status is Status.CANCELLED


@postgres_only
async def test_postgres_planning_offers_lets_a_booking_of_a_waiting_patient_through(
    engine: AsyncEngine, seed: Seed, container: Container
) -> None:
    """Planning locks every waiting patient before any doctor. A booking that holds one
    of them and then takes the doctor gets it, while planning waits for the patient,
    holding no doctor. (Locking each patient as its entry came up, after the doctor, was
    a deadlock: PostgreSQL failed one of the two.)"""
    doctor = await seed.doctor()
    first, second = await seed.patients(2)
    await add_entries(seed, an_entry(seed, first, doctor), an_entry(seed, second, doctor, 1))
    start = next_working_day(seed.clock.now())
    freed = Span(start, start + timedelta(hours=1))  # two 30-minute offers
    offer = OfferFreedTime(seed.clock, container.clinic())

    async def plan() -> int:
        async with SqlUnitOfWork(engine) as uow:
            offered = await offer(uow, [(doctor.id, freed)])
            await uow.commit()
        return offered

    async with SqlUnitOfWork(engine) as booking:
        # A placement's locks, patient then doctor (`prepare` takes both in one statement;
        # two here, so that planning can start in between).
        await booking.patients.get(second.id, lock=True)
        planning = asyncio.create_task(plan())
        await asyncio.sleep(0.3)
        assert not planning.done()  # waiting for the second patient
        await asyncio.wait_for(booking.doctors.get(doctor.id, lock=True), 5)
        await booking.commit()
    assert await asyncio.wait_for(planning, timeout=30) == 2


@sqlite_only
async def test_sqlite_write_transactions_are_serialised(engine: AsyncEngine, seed: Seed) -> None:
    """The second unit of work cannot even begin while the first holds the write lock, so
    its check sees the first one's booking."""
    doctor = await seed.doctor()
    patient = await seed.patient()
    start = next_working_day(seed.clock.now())
    booked = seed.new_appointment(doctor, patient, start)

    async def second_checks() -> list[datetime]:
        async with SqlUnitOfWork(engine) as uow:
            spans = await uow.appointments.busy_spans(within=booked.span, doctor_id=doctor.id)
        return [s.starts_at for s in spans]

    async with SqlUnitOfWork(engine) as first:
        waiting = asyncio.create_task(second_checks())
        await asyncio.sleep(0.3)
        assert not waiting.done()  # BEGIN IMMEDIATE waits for the lock
        await first.appointments.add(booked)
        await first.commit()
    assert await asyncio.wait_for(waiting, timeout=30) == [start]


# --- last admin ----------------------------------------------------------------------


def _deactivate(container: Container, actor: Actor, target: Actor) -> Awaitable[object]:
    return container.deactivate_user()(actor, target.user_id)


def _demote(container: Container, actor: Actor, target: Actor) -> Awaitable[object]:
    return container.update_user()(actor, target.user_id, UserChanges(role=Role.DOCTOR))


def _patch_inactive(container: Container, actor: Actor, target: Actor) -> Awaitable[object]:
    return container.update_user()(actor, target.user_id, UserChanges(is_active=False))


@pytest.mark.parametrize(
    "remove",
    [_deactivate, _demote, _patch_inactive],
    ids=["deactivate", "demote", "patch-inactive"],
)
async def test_two_admins_removing_each_other_leave_one_admin(
    container: Container,
    engine: AsyncEngine,
    seed: Seed,
    remove: Callable[[Container, Actor, Actor], Awaitable[object]],
) -> None:
    rounds = 5
    outcomes: Counter[str] = Counter()
    for _ in range(rounds):
        async with engine.begin() as connection:  # earlier rounds' admins retire
            await connection.execute(text("UPDATE users SET is_active = false"))
        a, b = [Actor(user_id=(await seed.user(Role.ADMIN)).id, role=Role.ADMIN) for _ in "ab"]
        results = await asyncio.gather(
            remove(container, a, b), remove(container, b, a), return_exceptions=True
        )
        outcomes.update(type(r).__name__ for r in results)
        assert sum(isinstance(r, LastAdmin) for r in results) == 1, results
        assert sum(not isinstance(r, BaseException) for r in results) == 1, results
        admins = await count_rows(
            engine, "SELECT count(*) FROM users WHERE role = 'ADMIN' AND is_active = true"
        )
        assert admins == 1
    print(f"\n[{engine.dialect.name}] last admin ({rounds} rounds): {dict(outcomes)}")


@postgres_only
async def test_postgres_an_attempt_does_not_wait_for_a_row_another_attempt_holds(
    engine: AsyncEngine, seed: Seed
) -> None:
    """Counting an attempt also drops other keys' ended windows, but skips a row another
    attempt holds: two attempts, each holding its own key and sweeping the other's, would
    otherwise deadlock. The skipped row is dropped by a later attempt."""
    now = seed.clock.now()
    window = timedelta(minutes=15)
    async with SqlUnitOfWork(engine) as uow:
        await uow.login_failures.record("held", now - 2 * window, now - 3 * window)
        await uow.commit()

    async def count(key: str) -> int:
        async with SqlUnitOfWork(engine, autocommit=True) as uow:
            return (await uow.login_failures.record(key, now, now - window)).count

    async with SqlUnitOfWork(engine) as holder:  # an attempt on "held" under way
        await holder.login_failures.record("held", now - 2 * window, now - 3 * window)
        assert await asyncio.wait_for(count("other"), timeout=5) == 1
    stale = "SELECT count(*) FROM login_failures WHERE key = 'held'"
    assert await count_rows(engine, stale) == 1  # skipped while held
    assert await count("another") == 1
    assert await count_rows(engine, stale) == 0  # dropped once free
