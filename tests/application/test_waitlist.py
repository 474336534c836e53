"""The waitlist through the use-cases and the dispatcher on the memory adapters, with a
fixed clock: FIFO offers of freed time, lapses moving on, accept, cancel, visibility."""

from __future__ import annotations

from datetime import timedelta

import pytest

from appointments.adapters.clock import FixedClock
from appointments.application.access import Actor
from appointments.application.appointments import Action, BookingRequest
from appointments.application.ports.queries import PageRequest
from appointments.application.waitlist import WaitlistRequest
from appointments.domain.errors import (
    DoctorUnavailable,
    HoldExpired,
    InvalidValue,
    NotFound,
)
from appointments.domain.waitlist import WaitlistEntry, WaitlistStatus
from tests.application.conftest import MONDAY, Clinic, did, pid

MINUTE = timedelta(minutes=1)


async def join(
    clinic: Clinic, actor: Actor, doctor: Actor | None = None, **fields: object
) -> WaitlistEntry:
    values: dict[str, object] = {
        "date_from": MONDAY,
        "date_to": MONDAY + timedelta(days=3),
        "doctor_id": did(doctor) if doctor else None,
    }
    values.update(fields)
    entry = await clinic.c.join_waitlist()(actor, WaitlistRequest(**values))  # type: ignore[arg-type]
    clinic.clock.advance(MINUTE)  # so the next one joins later
    return entry


async def offered(clinic: Clinic, actor: Actor, entry: WaitlistEntry) -> WaitlistEntry:
    return await clinic.c.get_waitlist_entry()(actor, entry.id)


async def settle(clinic: Clinic) -> None:
    """What the dispatcher does in a round: the sweep, then planning (and offering)."""
    dispatcher = clinic.c.dispatcher()
    await dispatcher.sweep()
    while await dispatcher.plan_new():
        pass


async def test_freed_time_goes_to_the_oldest_entry_then_to_the_next_when_it_lapses(
    clinic: Clinic, admin: Actor, clock: FixedClock
) -> None:
    doctor = await clinic.doctor(admin)
    first, second, booker, other = [await clinic.patient() for _ in range(4)]
    taken = await clinic.book(booker, doctor, clinic.at(1, 10), booker)
    early = await join(clinic, first, doctor)
    late = await join(clinic, second, doctor)
    await settle(clinic)
    assert (await offered(clinic, first, early)).status is WaitlistStatus.WAITING

    await clinic.c.change_status()(booker, taken.id, Action.CANCEL)
    await settle(clinic)
    entry = await offered(clinic, first, early)
    assert entry.status is WaitlistStatus.OFFERED
    assert entry.offer is not None
    assert (entry.offer.starts_at, entry.offer.ends_at) == (clinic.at(1, 10), clinic.at(1, 10, 30))
    assert entry.offer.expires_at == clock.now() + 30 * MINUTE  # WAITLIST_OFFER_MINUTES
    assert (await offered(clinic, second, late)).status is WaitlistStatus.WAITING
    with clinic.commits_nothing(), pytest.raises(DoctorUnavailable):  # held for the first
        await clinic.book(other, doctor, clinic.at(1, 10), other)

    clock.advance(30 * MINUTE)  # the offer lapses: seen at once, moved on by the sweep
    assert (await offered(clinic, first, early)).status is WaitlistStatus.WAITING
    await settle(clinic)
    again = await offered(clinic, first, early)
    assert (again.status, again.offer) == (WaitlistStatus.WAITING, None)
    moved = await offered(clinic, second, late)
    assert moved.status is WaitlistStatus.OFFERED
    with clinic.commits_nothing(), pytest.raises(HoldExpired):
        await clinic.c.accept_offer()(first, early.id)

    booked = await clinic.c.accept_offer()(second, late.id)
    assert (booked.patient_id, booked.starts_at) == (pid(second), clinic.at(1, 10))
    assert (await offered(clinic, second, late)).status is WaitlistStatus.BOOKED
    actions = [e.action for e in clinic.state.audit_events]
    for action in ("waitlist.joined", "waitlist.offered", "waitlist.offer_lapsed"):
        assert action in actions
    assert "waitlist.booked" in actions


async def test_an_entry_is_offered_only_time_that_fits_it(clinic: Clinic, admin: Actor) -> None:
    doctor, someone_else = await clinic.doctor(admin), await clinic.doctor(admin)
    waiting, booker = await clinic.patient(), await clinic.patient()
    taken = await clinic.book(booker, doctor, clinic.at(1, 10), booker)
    too_long = await join(clinic, waiting, doctor, duration_minutes=60)
    other_doctor = await join(clinic, waiting, someone_else)
    other_days = await join(clinic, waiting, doctor, date_from=MONDAY + timedelta(days=2))
    await clinic.c.change_status()(booker, taken.id, Action.CANCEL)
    await settle(clinic)
    for entry in (too_long, other_doctor, other_days):
        assert (await offered(clinic, waiting, entry)).status is WaitlistStatus.WAITING
    fits = await join(clinic, waiting, doctor, duration_minutes=15)
    # Freed time already planned is not offered again to a newcomer: the next freeing is.
    await settle(clinic)
    assert (await offered(clinic, waiting, fits)).status is WaitlistStatus.WAITING


async def test_a_department_entry_is_offered_any_of_its_doctors_time(
    clinic: Clinic, admin: Actor
) -> None:
    department = await clinic.department(admin)
    doctor = await clinic.doctor(admin, department.id)
    waiting, booker = await clinic.patient(), await clinic.patient()
    taken = await clinic.book(booker, doctor, clinic.at(1, 10), booker)
    entry = await join(clinic, waiting, department_id=department.id)
    assert entry.doctor_id is None
    await clinic.c.change_status()(booker, taken.id, Action.CANCEL)
    await settle(clinic)
    seen = await offered(clinic, waiting, entry)
    assert seen.offer is not None
    assert seen.offer.doctor_id == did(doctor)


async def test_cancelling_an_offered_entry_passes_its_time_to_the_next(
    clinic: Clinic, admin: Actor
) -> None:
    doctor = await clinic.doctor(admin)
    first, second, booker = [await clinic.patient() for _ in range(3)]
    taken = await clinic.book(booker, doctor, clinic.at(1, 10), booker)
    early, late = await join(clinic, first, doctor), await join(clinic, second, doctor)
    await clinic.c.change_status()(booker, taken.id, Action.CANCEL)
    await settle(clinic)
    await clinic.c.cancel_waitlist_entry()(first, early.id)
    assert (await offered(clinic, first, early)).status is WaitlistStatus.CANCELLED
    await settle(clinic)
    assert (await offered(clinic, second, late)).status is WaitlistStatus.OFFERED


async def test_who_joins_and_who_sees(clinic: Clinic, admin: Actor) -> None:
    department = await clinic.department(admin)
    doctor = await clinic.doctor(admin, department.id)
    colleague = await clinic.doctor(admin, department.id)
    stranger = await clinic.doctor(admin)
    patient, other = await clinic.patient(), await clinic.patient()
    own = await join(clinic, patient, doctor)
    dept = await join(clinic, patient, department_id=department.id)
    by_doctor = await join(clinic, doctor, doctor, patient_id=pid(other))
    with clinic.commits_nothing(), pytest.raises(NotFound):
        await join(clinic, patient, doctor, patient_id=pid(other))
    with clinic.commits_nothing(), pytest.raises(InvalidValue):
        await join(clinic, admin, doctor)  # for whom?
    with clinic.commits_nothing(), pytest.raises(InvalidValue):
        await join(clinic, patient, doctor, date_to=MONDAY - timedelta(days=1))

    def ids(page: list[WaitlistEntry]) -> set[object]:
        return {e.id for e in page}

    async def listed(actor: Actor) -> set[object]:
        return ids((await clinic.c.list_waitlist()(actor, None, PageRequest())).items)

    assert await listed(patient) == {own.id, dept.id}
    assert await listed(other) == {by_doctor.id}
    assert await listed(doctor) == {own.id, dept.id, by_doctor.id}
    assert await listed(colleague) == {dept.id}  # the department's, not the doctor's own
    assert await listed(stranger) == set()
    assert await listed(admin) == {own.id, dept.id, by_doctor.id}
    for outsider in (other, stranger):
        with pytest.raises(NotFound):
            await clinic.c.get_waitlist_entry()(outsider, own.id)
        with clinic.commits_nothing(), pytest.raises(NotFound):
            await clinic.c.cancel_waitlist_entry()(outsider, own.id)
        with clinic.commits_nothing(), pytest.raises(NotFound):
            await clinic.c.accept_offer()(outsider, own.id)
    waiting = await clinic.c.list_waitlist()(admin, WaitlistStatus.OFFERED, PageRequest())
    assert waiting.items == []


async def test_entries_past_their_last_day_expire(
    clinic: Clinic, admin: Actor, clock: FixedClock
) -> None:
    doctor, patient = await clinic.doctor(admin), await clinic.patient()
    entry = await join(clinic, patient, doctor, date_to=MONDAY)
    clock.advance(timedelta(days=1))
    assert (await offered(clinic, patient, entry)).status is WaitlistStatus.EXPIRED
    await settle(clinic)
    assert clinic.state.waitlist[entry.id].status is WaitlistStatus.EXPIRED


async def test_an_offer_declined_through_its_hold_or_booked_through_it(
    clinic: Clinic, admin: Actor
) -> None:
    doctor = await clinic.doctor(admin)
    first, second, booker = [await clinic.patient() for _ in range(3)]
    taken = await clinic.book(booker, doctor, clinic.at(1, 10), booker)
    early, late = await join(clinic, first, doctor), await join(clinic, second, doctor)
    await clinic.c.change_status()(booker, taken.id, Action.CANCEL)
    await settle(clinic)
    offer = (await offered(clinic, first, early)).offer
    assert offer is not None
    await clinic.c.release_hold()(first, offer.hold_id)  # declined: waiting in place again
    assert (await offered(clinic, first, early)).status is WaitlistStatus.WAITING
    await settle(clinic)
    moved = (await offered(clinic, second, late)).offer
    assert moved is not None
    booked = await clinic.c.book_appointment()(second, BookingRequest(hold_id=moved.hold_id))
    assert booked.starts_at == clinic.at(1, 10)
    assert (await offered(clinic, second, late)).status is WaitlistStatus.BOOKED
