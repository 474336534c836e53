"""Holds through the use-cases on the memory adapters, with a fixed clock."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from appointments.adapters.clock import FixedClock
from appointments.application.access import Actor
from appointments.application.appointments import BookingRequest
from appointments.application.holds import HoldRequest
from appointments.domain.errors import (
    DoctorUnavailable,
    HoldExpired,
    InvalidValue,
    NotFound,
    TooShortNotice,
)
from appointments.domain.holds import Hold
from tests.application.conftest import Clinic, did, pid

MINUTES = timedelta(minutes=1)


async def hold(
    clinic: Clinic,
    actor: Actor,
    doctor: Actor,
    days: int = 1,
    hour: int = 10,
    patient: UUID | None = None,
) -> Hold:
    return await clinic.c.place_hold()(
        actor,
        HoldRequest(
            doctor_id=did(doctor),
            starts_at=clinic.at(days, hour),
            duration_minutes=30,
            patient_id=patient or actor.patient_id,
        ),
    )


async def people(clinic: Clinic, admin: Actor) -> tuple[Actor, Actor, Actor]:
    """A doctor and two patients."""
    return await clinic.doctor(admin), await clinic.patient(), await clinic.patient()


async def test_a_hold_keeps_the_slot_from_everyone_else_until_it_expires(
    clinic: Clinic, admin: Actor, clock: FixedClock
) -> None:
    doctor, patient, other = (
        await clinic.doctor(admin),
        await clinic.patient(),
        await clinic.patient(),
    )
    held = await hold(clinic, patient, doctor)
    assert held.expires_at == clock.now() + 10 * MINUTES  # HOLD_MINUTES' default
    with clinic.commits_nothing(), pytest.raises(DoctorUnavailable):
        await clinic.book(other, doctor, clinic.at(1, 10, 15), other)
    with clinic.commits_nothing(), pytest.raises(DoctorUnavailable):
        await hold(clinic, other, doctor)
    slots = await clinic.c.get_availability()(
        other, did(doctor), clinic.at(1, 0).date(), clinic.at(1, 0).date()
    )
    assert clinic.at(1, 10) not in [s.starts_at for s in slots.slots]
    clock.advance(10 * MINUTES)  # expired, and no sweep has run: it blocks nothing
    assert await clinic.book(other, doctor, clinic.at(1, 10), other)


async def test_the_owner_books_the_hold_with_its_id_and_nobody_else_can(
    clinic: Clinic, admin: Actor, clock: FixedClock
) -> None:
    doctor, patient, other = (
        await clinic.doctor(admin),
        await clinic.patient(),
        await clinic.patient(),
    )
    held = await hold(clinic, patient, doctor)
    with clinic.commits_nothing(), pytest.raises(NotFound):
        await clinic.c.book_appointment()(other, BookingRequest(hold_id=held.id))
    with clinic.commits_nothing(), pytest.raises(InvalidValue):
        await clinic.c.book_appointment()(
            patient, BookingRequest(hold_id=held.id, starts_at=clinic.at(1, 11))
        )
    booked = await clinic.c.book_appointment()(patient, BookingRequest(hold_id=held.id))
    assert (booked.starts_at, booked.ends_at, booked.patient_id) == (
        held.starts_at,
        held.ends_at,
        pid(patient),
    )
    assert not clinic.state.holds  # taken by the booking
    with pytest.raises(NotFound):
        await clinic.c.get_hold()(patient, held.id)


async def test_an_expired_hold_cannot_be_booked(
    clinic: Clinic, admin: Actor, clock: FixedClock
) -> None:
    doctor, patient = await clinic.doctor(admin), await clinic.patient()
    held = await hold(clinic, patient, doctor)
    clock.advance(10 * MINUTES)
    with clinic.commits_nothing(), pytest.raises(HoldExpired):
        await clinic.c.book_appointment()(patient, BookingRequest(hold_id=held.id))
    with pytest.raises(NotFound):
        await clinic.c.get_hold()(patient, held.id)


async def test_release_gives_the_time_back_and_only_parties_see_or_release(
    clinic: Clinic, admin: Actor
) -> None:
    doctor, patient, other = (
        await clinic.doctor(admin),
        await clinic.patient(),
        await clinic.patient(),
    )
    held = await hold(clinic, patient, doctor)
    assert (await clinic.c.get_hold()(doctor, held.id)).id == held.id
    assert (await clinic.c.get_hold()(admin, held.id)).id == held.id
    for outsider in (other, await clinic.doctor(admin)):
        with pytest.raises(NotFound):
            await clinic.c.get_hold()(outsider, held.id)
        with clinic.commits_nothing(), pytest.raises(NotFound):
            await clinic.c.release_hold()(outsider, held.id)
    await clinic.c.release_hold()(patient, held.id)
    assert await clinic.book(other, doctor, clinic.at(1, 10), other)
    actions = [e.action for e in clinic.state.audit_events]
    assert actions.count("hold.placed") == 1
    assert actions.count("hold.released") == 1


async def test_a_patients_hold_obeys_the_booking_policy(
    clinic: Clinic, admin: Actor, clock: FixedClock
) -> None:
    doctor, patient = await clinic.doctor(admin), await clinic.patient()
    await clinic.c.put_policy()(
        admin,
        min_notice_minutes=48 * 60,
        booking_horizon_days=30,
        cancellation_cutoff_hours=0,
        max_active_per_patient=0,
        reminder_offsets_minutes=[],
    )
    with clinic.commits_nothing(), pytest.raises(TooShortNotice):
        await hold(clinic, patient, doctor, days=1)
    # The policy binds patients only: the front desk may hold it for them.
    assert await hold(clinic, admin, doctor, days=1, patient=pid(patient))


async def test_the_sweep_deletes_expired_holds_and_records_each(
    clinic: Clinic, admin: Actor, clock: FixedClock
) -> None:
    doctor, patient = await clinic.doctor(admin), await clinic.patient()
    await hold(clinic, patient, doctor, hour=10)
    await hold(clinic, patient, doctor, hour=11)
    clock.advance(9 * MINUTES)
    assert await clinic.c.dispatcher().sweep() == 0
    clock.advance(MINUTES)
    assert await clinic.c.dispatcher().sweep() == 2
    assert not clinic.state.holds
    assert [e.action for e in clinic.state.audit_events].count("hold.expired") == 2
