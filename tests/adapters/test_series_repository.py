"""The repository contract for series, on every backend (memory, SQLite, PostgreSQL):
`appointments.in_series` finds every appointment of one series, whatever its status, by
start, and nothing of another series."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from uuid import uuid4

from appointments.domain.appointments import CancelledBy, Status
from tests.adapters.conftest import Backend, Seed, next_working_day


async def test_in_series_lists_the_series_by_start(backend: Backend, seed: Seed) -> None:
    doctor = await seed.doctor()
    patient, other_patient = await seed.patients(2)
    first = next_working_day(seed.clock.now())
    series_id, other_series = uuid4(), uuid4()
    week = timedelta(weeks=1)
    statuses = (Status.SCHEDULED, Status.CANCELLED, Status.CONFIRMED)
    made = [
        dataclasses.replace(
            seed.new_appointment(doctor, patient, first + week * k, status=status),
            series_id=series_id,
        )
        for k, status in reversed(list(enumerate(statuses)))  # written out of order
    ]
    elsewhere = dataclasses.replace(
        seed.new_appointment(doctor, other_patient, first + timedelta(hours=1)),
        series_id=other_series,
    )
    single = seed.new_appointment(doctor, patient, first + timedelta(hours=2))
    async with backend.uow() as uow:
        for appointment in (*made, elsewhere, single):
            await uow.appointments.add(appointment)
        await uow.commit()

    async with backend.uow() as uow:
        found = await uow.appointments.in_series(series_id)
        locked = await uow.appointments.in_series(series_id, lock=True)
        other = await uow.appointments.in_series(other_series)
        unknown = await uow.appointments.in_series(uuid4())
    assert found == sorted(made, key=lambda a: a.starts_at)
    assert [a.status for a in found] == list(statuses)
    assert locked == found
    assert other == [elsewhere]
    assert unknown == []


async def test_a_saved_occurrence_keeps_its_series(backend: Backend, seed: Seed) -> None:
    doctor = await seed.doctor()
    patient = await seed.patient()
    series_id = uuid4()
    appointment = dataclasses.replace(
        seed.new_appointment(doctor, patient, next_working_day(seed.clock.now())),
        series_id=series_id,
    )
    async with backend.uow() as uow:
        await uow.appointments.add(appointment)
        await uow.commit()
    async with backend.uow() as uow:
        [stored] = await uow.appointments.in_series(series_id, lock=True)
        stored.cancel("Ill", seed.clock.now(), by=CancelledBy.ADMIN)
        await uow.appointments.save(stored)
        await uow.commit()
    async with backend.uow() as uow:
        [again] = await uow.appointments.in_series(series_id)
    assert again.series_id == series_id
    assert again.status is Status.CANCELLED
