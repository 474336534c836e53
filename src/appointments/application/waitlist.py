"""The waitlist: join it, read it, leave it, and accept the offer it makes. Offers are
made by the dispatcher when time frees up (application/offers.py)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from uuid import UUID
from zoneinfo import ZoneInfo

from appointments.application.access import (
    Actor,
    WaitlistScope,
    patient_for_booking,
    visible,
    waitlist_scope,
)
from appointments.application.booking import BookingRequest, book, offered_service
from appointments.application.config import ClinicConfig
from appointments.application.events import Tracked, created, deleted
from appointments.application.ports.holds import WaitlistFilter
from appointments.application.ports.queries import Page, PageRequest
from appointments.application.ports.services import Clock
from appointments.application.ports.unit_of_work import UnitOfWork
from appointments.domain.appointments import Appointment
from appointments.domain.booking import duration_of
from appointments.domain.errors import HoldExpired, InactiveParty, InvalidValue, NotFound
from appointments.domain.waitlist import WaitlistEntry, WaitlistStatus


@dataclass(frozen=True, slots=True)
class WaitlistRequest:
    date_from: date
    date_to: date
    doctor_id: UUID | None = None
    department_id: UUID | None = None
    service_id: UUID | None = None
    patient_id: UUID | None = None
    duration_minutes: int | None = None


async def _scope(uow: UnitOfWork, actor: Actor) -> WaitlistScope:
    department_id = None
    if actor.doctor_id is not None:
        doctor = await uow.doctors.get(actor.doctor_id)
        department_id = doctor.department_id if doctor else None
    return waitlist_scope(actor, department_id)


async def _visible_entry(
    uow: UnitOfWork, actor: Actor, entry_id: UUID, *, lock: bool = False
) -> WaitlistEntry:
    entry = await uow.waitlist.get(entry_id, lock=lock)
    return visible(entry, entry is not None and (await _scope(uow, actor)).admits(entry))


class JoinWaitlist:
    """Who: a patient for themself, an admin for anyone, a doctor for their own calendar
    (so a department-wide entry is a patient's or an admin's)."""

    def __init__(self, uow: UnitOfWork, clock: Clock, config: ClinicConfig) -> None:
        self._uow, self._clock, self._zone = uow, clock, ZoneInfo(config.timezone)

    async def __call__(self, actor: Actor, request: WaitlistRequest) -> WaitlistEntry:
        now = self._clock.now()
        if request.doctor_id is None and request.department_id is None:
            raise InvalidValue("Give doctor_id or department_id.")
        if request.duration_minutes is not None:
            duration_of(request.duration_minutes)
        async with self._uow as uow:
            department_id = request.department_id
            if request.doctor_id is not None:
                doctor = visible(await uow.doctors.get(request.doctor_id))
                if department_id not in (None, doctor.department_id):
                    raise InvalidValue("The doctor is not in that department.")
                department_id = doctor.department_id
                patient_id = patient_for_booking(actor, doctor.id, request.patient_id)
                active = doctor.is_active
            else:
                assert department_id is not None
                visible(await uow.departments.get(department_id))
                patient_id = patient_for_booking(actor, None, request.patient_id)
                active = True
            patient = await uow.patients.get(patient_id)
            if patient is None:
                raise NotFound("The patient does not exist.")
            if not (active and patient.is_active):
                raise InactiveParty()
            await offered_service(uow, request.service_id, department_id)
            entry = WaitlistEntry(
                patient_id=patient_id,
                department_id=department_id,
                date_from=request.date_from,
                date_to=request.date_to,
                created_at=now,
                updated_at=now,
                doctor_id=request.doctor_id,
                service_id=request.service_id,
                duration_minutes=request.duration_minutes,
            )
            entry.check_open_on(now.astimezone(self._zone).date())
            await uow.waitlist.add(entry)
            uow.record(created("waitlist.joined", actor, entry))
            await uow.commit()
        return entry


class ListWaitlist:
    """Patients their own entries, doctors those they could serve, admins all."""

    def __init__(self, uow: UnitOfWork, clock: Clock, config: ClinicConfig) -> None:
        self._uow, self._clock, self._zone = uow, clock, ZoneInfo(config.timezone)

    async def __call__(
        self, actor: Actor, status: WaitlistStatus | None, page: PageRequest
    ) -> Page[WaitlistEntry]:
        now = self._clock.now()
        async with self._uow as uow:
            scope = await _scope(uow, actor)
            found = await uow.waitlist.search(WaitlistFilter(scope, status), page)
        today = now.astimezone(self._zone).date()
        return replace(found, items=[e.as_of(now, today) for e in found.items])


class GetWaitlistEntry:
    def __init__(self, uow: UnitOfWork, clock: Clock, config: ClinicConfig) -> None:
        self._uow, self._clock, self._zone = uow, clock, ZoneInfo(config.timezone)

    async def __call__(self, actor: Actor, entry_id: UUID) -> WaitlistEntry:
        now = self._clock.now()
        async with self._uow as uow:
            entry = await _visible_entry(uow, actor, entry_id)
        return entry.as_of(now, now.astimezone(self._zone).date())


class CancelWaitlistEntry:
    """Whoever may see the entry; an offer it holds is released, so its time goes to the
    next in line."""

    def __init__(self, uow: UnitOfWork, clock: Clock) -> None:
        self._uow, self._clock = uow, clock

    async def __call__(self, actor: Actor, entry_id: UUID) -> None:
        now = self._clock.now()
        async with self._uow as uow:
            seen = await _visible_entry(uow, actor, entry_id)
            # The offer's hold is locked before the entry, as booking it does.
            hold = seen.offer and await uow.holds.get(seen.offer.hold_id, lock=True)
            entry = await _visible_entry(uow, actor, entry_id, lock=True)
            tracked = Tracked(entry)
            offer = entry.cancel(now)
            if hold and offer is not None and offer.hold_id == hold.id:
                await uow.holds.delete(hold.id)
                if hold.is_live(now):
                    uow.record(deleted("hold.released", actor, hold))
            await uow.waitlist.save(entry)
            uow.record(tracked.event("waitlist.cancelled", actor))
            await uow.commit()


class AcceptOffer:
    """The offer's hold booked for the entry's patient, as POST /api/appointments with its
    hold_id would (the entry becomes booked there); 409 hold_expired once it lapsed."""

    def __init__(self, uow: UnitOfWork, clock: Clock, config: ClinicConfig) -> None:
        self._uow, self._clock, self._zone = uow, clock, ZoneInfo(config.timezone)

    async def __call__(self, actor: Actor, entry_id: UUID) -> Appointment:
        now = self._clock.now()
        async with self._uow as uow:
            # Not locked here: booking locks the hold, then the entry (as every path does).
            entry = await _visible_entry(uow, actor, entry_id)
            offer = entry.offer
            if entry.status is not WaitlistStatus.OFFERED or offer is None:
                raise HoldExpired("There is no offer to accept (any offer has lapsed).")
            request = BookingRequest(hold_id=offer.hold_id, patient_id=entry.patient_id)
            try:
                appointment = await book(uow, self._zone, now, actor, request)
            except NotFound as gone:  # swept meanwhile: the offer lapsed
                raise HoldExpired() from gone
            await uow.commit()
        return appointment
