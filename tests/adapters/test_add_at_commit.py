"""`appointments.add_at_commit`, a booking's write: the row is there for whatever follows
it in the transaction, refused as `add` refuses (test_statements_sent.py: on PostgreSQL
it goes out with the commit's records in one statement)."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from appointments.application.access import Actor
from appointments.application.events import created
from appointments.domain.appointments import Appointment
from appointments.domain.errors import DoctorUnavailable, PatientUnavailable
from appointments.domain.users import Role
from tests.adapters.conftest import Backend, Seed, next_working_day, on

ADMIN = Actor(user_id=uuid4(), role=Role.ADMIN)


async def _book(backend: Backend, appointment: Appointment) -> None:
    async with backend.uow() as uow:
        await uow.appointments.add_at_commit(appointment)
        uow.record(created("appointment.booked", ADMIN, appointment))
        await uow.commit()


async def test_a_booking_is_stored_with_its_records(backend: Backend, seed: Seed) -> None:
    doctor, patient = await seed.doctor(), await seed.patient()
    booked = seed.new_appointment(doctor, patient, next_working_day(seed.clock.now()))
    await _book(backend, booked)
    async with backend.uow() as uow:
        assert await uow.appointments.get(booked.id) == booked
    assert await backend.stored("audit_events") == 1
    assert await backend.stored("outbox_messages") == 1


async def test_the_next_statement_sees_the_row(backend: Backend, seed: Seed) -> None:
    doctor, patient = await seed.doctor(), await seed.patient()
    booked = seed.new_appointment(doctor, patient, next_working_day(seed.clock.now()))
    async with backend.uow() as uow:
        await uow.appointments.add_at_commit(booked)
        assert await uow.appointments.get(booked.id) == booked
    assert await backend.stored("appointments") == 0  # never committed


@on("memory", "postgres")  # SQLite has no exclusion constraints
@pytest.mark.parametrize("party", ["doctor", "patient"])
async def test_an_overlap_is_refused_and_nothing_is_written(
    backend: Backend, seed: Seed, party: str
) -> None:
    (doctor, other_doctor), (patient, other_patient) = await seed.doctors(2), await seed.patients(2)
    start = next_working_day(seed.clock.now())
    await seed.appointment(doctor, patient, start, 30)
    if party == "doctor":
        clash = seed.new_appointment(doctor, other_patient, start + timedelta(minutes=15))
    else:
        clash = seed.new_appointment(other_doctor, patient, start + timedelta(minutes=15))
    error = DoctorUnavailable if party == "doctor" else PatientUnavailable
    with pytest.raises(error):
        await _book(backend, clash)
    assert await backend.stored("appointments") == 1
    assert await backend.stored("audit_events") == 0
