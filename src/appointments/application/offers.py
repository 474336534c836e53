"""Offering freed time to the waitlist. When a cancellation, a move, a deleted time off or
a released hold gives a doctor's time back, the outbox carries a `time.freed` message;
the dispatcher plans it in one transaction with this: the oldest waiting entry the time
fits gets a hold on it in its patient's name (the offer), then the next entry the rest
fits, one offer each. The messages are taken locked, so each is offered once however
many dispatchers run, and nothing is lost across a restart (the message waits).

The sweep that ends holds and entries lives here too: a lapsed offer's hold running out
frees its time again, and its entry, back to waiting, has passed it over."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from appointments.application.booking import Placement, offered_service
from appointments.application.config import ClinicConfig
from appointments.application.errors import ConcurrentUpdate
from appointments.application.events import Tracked, created, deleted
from appointments.application.holds import lapse_offer, place_hold
from appointments.application.ports.services import Clock
from appointments.application.ports.unit_of_work import UnitOfWork
from appointments.domain.booking import BookingPolicy
from appointments.domain.doctors import Doctor
from appointments.domain.errors import DomainError
from appointments.domain.holds import Hold
from appointments.domain.schedule import Span, local_date_range
from appointments.domain.waitlist import Offer, WaitlistEntry, first_in_line, offer_length

# Bounds on the work one freed span makes: entries considered, start times tried each.
MAX_ENTRIES = 100
MAX_STARTS = 16
# Holds and entries one sweep ends.
SWEEP_BATCH = 100


async def waiting_for_offer(
    uow: UnitOfWork, zone: ZoneInfo, now: datetime, freed: Span, doctor: Doctor
) -> list[WaitlistEntry]:
    """The waiting entries (locked) that `freed` could be offered to, first in line first
    (all of them: the caller takes MAX_ENTRIES of those not offered yet)."""
    if not doctor.is_active or freed.ends_at <= now:
        return []
    first_day, last_day = local_date_range(freed, zone)
    waiting = await uow.waitlist.waiting_for(
        doctor_id=doctor.id,
        department_id=doctor.department_id,
        day_from=first_day,
        day_to=last_day,
    )
    return first_in_line(waiting)


async def offer_freed_time(
    uow: UnitOfWork,
    zone: ZoneInfo,
    now: datetime,
    lasts: timedelta,
    freed: Span,
    doctor: Doctor,
    waiting: list[WaitlistEntry],
) -> list[WaitlistEntry]:
    """The entries of `waiting` (first in line first) offered (part of) `freed`, in
    order, in the caller's transaction, which has locked their patients and then the
    doctor (OfferFreedTime): a placement locking a patient after the doctor could
    deadlock with a booking."""
    policy = await uow.policy.get()
    offered = []
    for entry in waiting:
        if entry.passed_over(doctor.id, freed):
            continue
        hold = await _hold_for(uow, zone, now, lasts, freed, doctor, entry, policy)
        if hold is None:
            continue
        tracked = Tracked(entry)
        entry.offered(Offer(hold.id, doctor.id, hold.starts_at, hold.ends_at, hold.expires_at), now)
        await uow.waitlist.save(entry)
        uow.record(created("hold.placed", None, hold))
        uow.record(tracked.event("waitlist.offered", None))
        offered.append(entry)
    return offered


async def _hold_for(
    uow: UnitOfWork,
    zone: ZoneInfo,
    now: datetime,
    lasts: timedelta,
    freed: Span,
    doctor: Doctor,
    entry: WaitlistEntry,
    policy: BookingPolicy,
) -> Hold | None:
    """A hold for the entry's patient on the first piece of `freed` that every booking
    rule and the patient's policy admit, or None."""
    try:
        service = await offered_service(uow, entry.service_id, doctor.department_id)
    except DomainError:  # no longer offered there
        return None
    if policy.max_active_per_patient and policy.limit_reached(
        await uow.appointments.count_future_active(patient_id=entry.patient_id, now=now)
    ):
        return None
    length = offer_length(entry.duration_minutes, service.duration if service else None)
    for start in _starts(freed, length, now):
        day = start.astimezone(zone).date()
        if not entry.date_from <= day <= entry.date_to or not policy.admits_start(start, now):
            continue
        placement = Placement(
            doctor_id=doctor.id,
            patient_id=entry.patient_id,
            starts_at=start,
            ends_at=start + length,
            service_id=entry.service_id,
        )
        try:
            return await place_hold(uow, zone, now, placement, lasts, waitlist_entry_id=entry.id)
        except ConcurrentUpdate:  # the database gave up on this transaction: all of it
            raise
        except DomainError:  # busy, off schedule, an inactive party...: the next piece
            continue
    return None


def _starts(freed: Span, length: timedelta, now: datetime) -> Iterator[datetime]:
    """The freed time cut into pieces of `length` from its start, those not begun."""
    start = freed.starts_at
    for _ in range(MAX_STARTS):
        if start + length > freed.ends_at:
            return
        if start > now:
            yield start
        start += length


class OfferFreedTime:
    """The `time.freed` messages of one planning transaction, offered in it (the
    dispatcher's planning).

    Its locks follow the order every placement takes, patients before doctors: the
    waiting entries (span by span), then all their patients, then the doctors with
    someone waiting (patients and doctors by id), and only then the offers, in the order
    the time was freed. So planning never holds a doctor while it waits for a patient
    whose booking waits for that doctor (a deadlock PostgreSQL would end by failing one
    of them). Two planners can still meet over a department-wide entry, each holding
    the other's next: one fails, and its batch is planned again at the next poll."""

    def __init__(self, clock: Clock, config: ClinicConfig) -> None:
        self._clock, self._config = clock, config
        self._zone = ZoneInfo(config.timezone)

    async def __call__(self, uow: UnitOfWork, freed: Sequence[tuple[UUID, Span]]) -> int:
        now = self._clock.now()
        plans = []
        for doctor_id, span in freed:
            doctor = await uow.doctors.get(doctor_id)
            if doctor is not None:
                waiting = await waiting_for_offer(uow, self._zone, now, span, doctor)
                if waiting:
                    plans.append((doctor_id, span, waiting))
        await uow.patients.lock(sorted({e.patient_id for *_, waiting in plans for e in waiting}))
        doctors = {
            doctor_id: await uow.doctors.get(doctor_id, lock=True)
            for doctor_id in sorted({doctor_id for doctor_id, *_ in plans})
        }
        offered: set[UUID] = set()
        for doctor_id, span, waiting in plans:
            doctor = doctors[doctor_id]
            if doctor is None or not doctor.is_active:  # deactivated meanwhile
                continue
            still = [e for e in waiting if e.id not in offered][:MAX_ENTRIES]  # one offer each
            done = await offer_freed_time(
                uow, self._zone, now, self._config.offer_lasts, span, doctor, still
            )
            offered.update(e.id for e in done)
        return len(offered)


class Sweep:
    """Ends what ran out: holds past their expiry are deleted (they blocked nothing
    already) and recorded, so their time is offered again; a lapsed offer's entry is
    waiting again; waiting entries past their last day expire. Any number of sweepers
    may run: each takes the rows no other has locked."""

    def __init__(self, uow: UnitOfWork, clock: Clock, config: ClinicConfig) -> None:
        self._uow, self._clock = uow, clock
        self._zone = ZoneInfo(config.timezone)

    async def __call__(self) -> int:
        now = self._clock.now()
        async with self._uow as uow:
            expired = await uow.holds.take_expired(now, SWEEP_BATCH)
            for hold in expired:
                await uow.holds.delete(hold.id)
                if hold.waitlist_entry_id is not None:
                    await lapse_offer(uow, hold, now)
                uow.record(deleted("hold.expired", None, hold))
            ended = await uow.waitlist.ended_before(now.astimezone(self._zone).date(), SWEEP_BATCH)
            for entry in ended:
                tracked = Tracked(entry)
                entry.expire(now)
                await uow.waitlist.save(entry)
                uow.record(tracked.event("waitlist.expired", None))
            await uow.commit()
        return len(expired) + len(ended)
