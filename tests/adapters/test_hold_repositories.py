"""The hold and waitlist repository contract on every backend (memory, SQLite,
PostgreSQL): a hold blocks only while live, the doctor's time with buffers and the
room's without; expired ones are taken oldest first; waitlist entries round-trip with
their offer and passed-over times, come out oldest first for the doctor or department
they wait for, within the caller's scope, and are found once their last day is behind.
On PostgreSQL, a second sweeper skips the holds the first has locked."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from uuid import UUID, uuid4

from appointments.adapters.clock import FixedClock
from appointments.application.access import WaitlistScope
from appointments.application.ports.holds import WaitlistFilter
from appointments.application.ports.queries import PageRequest
from appointments.domain.doctors import Doctor
from appointments.domain.holds import Hold
from appointments.domain.patients import Patient
from appointments.domain.rooms import Room
from appointments.domain.schedule import Span
from appointments.domain.waitlist import Offer, WaitlistEntry, WaitlistStatus
from tests.adapters.conftest import Backend, Seed, next_working_day, postgres_only

MINUTE = timedelta(minutes=1)


def a_hold(seed: Seed, doctor: Doctor, patient: Patient, lasts: int = 10) -> Hold:
    starts = next_working_day(seed.clock.now())
    return Hold(
        doctor_id=doctor.id,
        patient_id=patient.id,
        starts_at=starts,
        ends_at=starts + 30 * MINUTE,
        expires_at=seed.clock.now() + lasts * MINUTE,
        created_at=seed.clock.now(),
        buffer_before=5 * MINUTE,
        buffer_after=10 * MINUTE,
    )


def around(hold: Hold) -> Span:
    return Span(hold.starts_at - timedelta(hours=2), hold.ends_at + timedelta(hours=2))


async def add_holds(seed: Seed, *holds: Hold) -> None:
    async with seed.uow() as uow:
        for hold in holds:
            await uow.holds.add(hold)
        await uow.commit()


async def test_a_hold_round_trips_and_blocks_only_while_live(seed: Seed) -> None:
    doctor, patient = await seed.doctor(), await seed.patient()
    hold = a_hold(seed, doctor, patient)
    await add_holds(seed, hold)
    now, day = seed.clock.now(), around(hold)
    async with seed.uow() as uow:
        assert await uow.holds.get(hold.id) == hold
        blocked = await uow.holds.blocking(within=day, now=now, doctor_id=doctor.id)
        assert blocked == [Span(hold.starts_at - 5 * MINUTE, hold.ends_at + 10 * MINUTE)]
        assert not await uow.holds.blocking(
            within=day, now=now, doctor_id=doctor.id, exclude_id=hold.id
        )
        expired = hold.expires_at
        assert not await uow.holds.blocking(within=day, now=expired, doctor_id=doctor.id)
        after = Span(hold.ends_at + 10 * MINUTE, hold.ends_at + timedelta(hours=1))
        assert not await uow.holds.blocking(within=after, now=now, doctor_id=doctor.id)
        assert not await uow.holds.blocking(within=day, now=now, doctor_id=uuid4())
        assert await uow.holds.take_expired(now, 10) == []
        assert [h.id for h in await uow.holds.take_expired(expired, 10)] == [hold.id]
        await uow.holds.delete(hold.id)
        await uow.commit()
    async with seed.uow() as uow:
        assert await uow.holds.get(hold.id) is None


async def test_a_room_hold_blocks_the_room_without_buffers(seed: Seed) -> None:
    doctor, patient = await seed.doctor(), await seed.patient()
    room = Room(name="Room 1", department_id=doctor.department_id)
    async with seed.uow() as uow:
        await uow.rooms.add(room)
        await uow.commit()
    hold = replace(a_hold(seed, doctor, patient), room_id=room.id)
    await add_holds(seed, hold)
    async with seed.uow() as uow:
        spans = await uow.holds.blocking(within=around(hold), now=seed.clock.now(), room_id=room.id)
    assert spans == [hold.span]


async def test_expired_holds_are_taken_oldest_first_up_to_the_limit(seed: Seed) -> None:
    doctor, patient = await seed.doctor(), await seed.patient()
    holds = [a_hold(seed, doctor, patient, lasts=minutes) for minutes in (3, 1, 2, 60)]
    await add_holds(seed, *holds)
    async with seed.uow() as uow:
        taken = await uow.holds.take_expired(seed.clock.now() + 5 * MINUTE, 2)
    assert [h.id for h in taken] == [holds[1].id, holds[2].id]


def an_entry(
    seed: Seed, patient: Patient, doctor: Doctor, minutes: int = 0, **fields: object
) -> WaitlistEntry:
    today = seed.clock.now().date()
    values: dict[str, object] = {
        "patient_id": patient.id,
        "department_id": doctor.department_id,
        "date_from": today,
        "date_to": today + timedelta(days=7),
        "created_at": seed.clock.now() + minutes * MINUTE,
        "updated_at": seed.clock.now() + minutes * MINUTE,
        "doctor_id": doctor.id,
    }
    values.update(fields)
    return WaitlistEntry(**values)  # type: ignore[arg-type]


async def add_entries(seed: Seed, *entries: WaitlistEntry) -> None:
    async with seed.uow() as uow:
        for entry in entries:
            await uow.waitlist.add(entry)
        await uow.commit()


def an_offer(doctor: Doctor, start: Span, expires: timedelta, clock: FixedClock) -> Offer:
    return Offer(uuid4(), doctor.id, start.starts_at, start.ends_at, clock.now() + expires)


async def test_an_entry_round_trips_with_its_offer_and_passed_times(
    seed: Seed, clock: FixedClock
) -> None:
    doctor, patient = await seed.doctor(), await seed.patient()
    entry = an_entry(seed, patient, doctor, duration_minutes=45, service_id=None)
    await add_entries(seed, entry)
    start = next_working_day(clock.now())
    first = Span(start, start + 45 * MINUTE)
    entry.offered(an_offer(doctor, first, 30 * MINUTE, clock), clock.now())
    entry.lapse(clock.now() + 30 * MINUTE)
    later = Span(first.starts_at + timedelta(hours=1), first.ends_at + timedelta(hours=1))
    entry.offered(an_offer(doctor, later, 60 * MINUTE, clock), clock.now() + 31 * MINUTE)
    async with seed.uow() as uow:
        await uow.waitlist.save(entry)
        await uow.commit()
    async with seed.uow() as uow:
        assert await uow.waitlist.get(entry.id) == entry
        assert await uow.waitlist.get(uuid4()) is None


async def test_waiting_entries_come_oldest_first_for_the_doctor_or_their_department(
    seed: Seed,
) -> None:
    doctor = await seed.doctor()
    colleague, stranger = await seed.doctor(), await seed.doctor()
    colleague = replace(colleague, department_id=doctor.department_id)
    patient = await seed.patient()
    today = seed.clock.now().date()
    newest = an_entry(seed, patient, doctor, minutes=3)
    oldest = an_entry(seed, patient, doctor, minutes=1, doctor_id=None)  # the department's
    middle = an_entry(seed, patient, doctor, minutes=2)
    offered = an_entry(seed, patient, doctor, minutes=0, status=WaitlistStatus.OFFERED)
    elsewhere = an_entry(seed, patient, stranger, minutes=0)
    other_days = an_entry(
        seed,
        patient,
        doctor,
        date_from=today + timedelta(days=10),
        date_to=today + timedelta(days=12),
    )
    await add_entries(seed, newest, oldest, middle, offered, elsewhere, other_days)
    async with seed.uow() as uow:
        found = await uow.waitlist.waiting_for(
            doctor_id=doctor.id,
            department_id=doctor.department_id,
            day_from=today + timedelta(days=1),
            day_to=today + timedelta(days=1),
        )
        for_colleague = await uow.waitlist.waiting_for(
            doctor_id=colleague.id,
            department_id=doctor.department_id,
            day_from=today,
            day_to=today,
        )
    assert [e.id for e in found] == [oldest.id, middle.id, newest.id]
    assert [e.id for e in for_colleague] == [oldest.id]


async def test_search_keeps_to_the_scope_and_the_status(seed: Seed) -> None:
    doctor, stranger = await seed.doctor(), await seed.doctor()
    mine, theirs = await seed.patient(), await seed.patient()
    own = an_entry(seed, mine, doctor, minutes=1)
    department = an_entry(seed, theirs, doctor, minutes=2, doctor_id=None)
    other = an_entry(seed, theirs, stranger, minutes=3, status=WaitlistStatus.CANCELLED)
    await add_entries(seed, own, department, other)

    async def found(scope: WaitlistScope, status: WaitlistStatus | None = None) -> list[UUID]:
        async with seed.uow() as uow:
            page = await uow.waitlist.search(WaitlistFilter(scope, status), PageRequest())
        assert page.total == len(page.items)
        return [e.id for e in page.items]

    assert await found(WaitlistScope(everyone=True)) == [own.id, department.id, other.id]
    assert await found(WaitlistScope(patient_id=mine.id)) == [own.id]
    assert await found(WaitlistScope(doctor=(doctor.id, doctor.department_id))) == [
        own.id,
        department.id,
    ]
    assert await found(WaitlistScope(doctor=(stranger.id, stranger.department_id))) == [other.id]
    assert await found(WaitlistScope()) == []
    everyone = WaitlistScope(everyone=True)
    assert await found(everyone, WaitlistStatus.CANCELLED) == [other.id]


async def test_entries_past_their_last_day_are_found_to_expire(seed: Seed) -> None:
    doctor, patient = await seed.doctor(), await seed.patient()
    today = seed.clock.now().date()
    ended = an_entry(seed, patient, doctor, date_from=today, date_to=today)
    open_ = an_entry(seed, patient, doctor)
    await add_entries(seed, ended, open_)
    async with seed.uow() as uow:
        assert await uow.waitlist.ended_before(today, 10) == []
        found = await uow.waitlist.ended_before(today + timedelta(days=1), 10)
    assert [e.id for e in found] == [ended.id]


@postgres_only
async def test_a_second_sweeper_skips_the_holds_the_first_has_locked(
    seed: Seed, backend: Backend
) -> None:
    doctor, patient = await seed.doctor(), await seed.patient()
    holds = [a_hold(seed, doctor, patient, lasts=1) for _ in range(3)]
    await add_holds(seed, *holds)
    later = seed.clock.now() + 2 * MINUTE
    async with backend.uow() as first:
        taken = await first.holds.take_expired(later, 2)
        async with backend.uow() as second:
            rest = await asyncio.wait_for(second.holds.take_expired(later, 10), 5)
    assert len(taken) == 2
    assert [h.id for h in rest] == [h.id for h in holds if h not in taken]
