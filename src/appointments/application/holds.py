"""Holds: a slot kept while a patient finishes booking. Placed under every booking rule
(so it can be booked), blocking the doctor's and room's time for HOLD_MINUTES, booked by
POST /api/appointments with its id, released by DELETE or by running out (the sweep is
in offers.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from appointments.application.access import (
    Actor,
    may_use_hold,
    patient_for_booking,
    policy_applies,
    visible,
)
from appointments.application.booking import Placement, judge_policy, prepare
from appointments.application.config import ClinicConfig
from appointments.application.events import Tracked, created, deleted
from appointments.application.ports.services import Clock
from appointments.application.ports.unit_of_work import UnitOfWork
from appointments.domain.booking import BookingPolicy, duration_of
from appointments.domain.holds import Hold


@dataclass(frozen=True, slots=True)
class HoldRequest:
    doctor_id: UUID
    starts_at: datetime
    patient_id: UUID | None = None
    ends_at: datetime | None = None
    duration_minutes: int | None = None
    service_id: UUID | None = None
    room_id: UUID | None = None


async def place_hold(
    uow: UnitOfWork,
    zone: ZoneInfo,
    now: datetime,
    placement: Placement,
    lasts: timedelta,
    *,
    policy: BookingPolicy | None = None,
    waitlist_entry_id: UUID | None = None,
) -> Hold:
    """A hold on what `placement` asks for, if every booking rule and the `policy` (a
    patient's; None for staff) admit it now, judged in a booking's order; it queues with
    the doctor's (room's) bookings, so whichever commits second sees it."""
    prepared = await prepare(uow, zone, now, placement)
    if policy is not None:
        await judge_policy(uow, policy, prepared, now, patient_id=placement.patient_id)
    hold = Hold.place(
        doctor_id=placement.doctor_id,
        patient_id=placement.patient_id,
        span=prepared.span,
        context=prepared.context,
        lasts=lasts,
        service_id=placement.service_id,
        room_id=placement.room_id,
        waitlist_entry_id=waitlist_entry_id,
    )
    await uow.holds.add(hold)
    return hold


class PlaceHold:
    """Who: as booking. A patient's hold obeys the booking policy, as their booking
    would, so a hold is always bookable by whoever placed it until it runs out."""

    def __init__(self, uow: UnitOfWork, clock: Clock, config: ClinicConfig) -> None:
        self._uow, self._clock, self._config = uow, clock, config

    async def __call__(self, actor: Actor, request: HoldRequest) -> Hold:
        patient_id = patient_for_booking(actor, request.doctor_id, request.patient_id)
        now = self._clock.now()
        placement = Placement(
            doctor_id=request.doctor_id,
            patient_id=patient_id,
            starts_at=request.starts_at,
            ends_at=request.ends_at,
            duration=None
            if request.duration_minutes is None
            else duration_of(request.duration_minutes),
            service_id=request.service_id,
            room_id=request.room_id,
        )
        zone = ZoneInfo(self._config.timezone)
        async with self._uow as uow:
            policy = await uow.policy.get() if policy_applies(actor) else None
            hold = await place_hold(
                uow, zone, now, placement, self._config.hold_lasts, policy=policy
            )
            uow.record(created("hold.placed", actor, hold))
            await uow.commit()
        return hold


class GetHold:
    def __init__(self, uow: UnitOfWork, clock: Clock) -> None:
        self._uow, self._clock = uow, clock

    async def __call__(self, actor: Actor, hold_id: UUID) -> Hold:
        async with self._uow as uow:
            hold = await uow.holds.get(hold_id)
        # An expired hold is gone, whether or not the sweep has deleted it yet.
        live = hold is not None and hold.is_live(self._clock.now())
        return visible(hold, live and hold is not None and may_use_hold(actor, hold))


class ReleaseHold:
    """Its parties and admins; an expired or unknown hold is NotFound (nothing to
    release). A waitlist offer's hold is released by cancelling the entry instead."""

    def __init__(self, uow: UnitOfWork, clock: Clock) -> None:
        self._uow, self._clock = uow, clock

    async def __call__(self, actor: Actor, hold_id: UUID) -> None:
        now = self._clock.now()
        async with self._uow as uow:
            found = await uow.holds.get(hold_id, lock=True)
            allowed = found is not None and found.is_live(now) and may_use_hold(actor, found)
            hold = visible(found, allowed)
            await uow.holds.delete(hold.id)
            if hold.waitlist_entry_id is not None:
                await lapse_offer(uow, hold, now)
            uow.record(deleted("hold.released", actor, hold))
            await uow.commit()


async def lapse_offer(uow: UnitOfWork, hold: Hold, now: datetime) -> None:
    """The entry whose offer this hold was is waiting again (and has passed it over)."""
    assert hold.waitlist_entry_id is not None
    entry = await uow.waitlist.get(hold.waitlist_entry_id, lock=True)
    if entry is not None and entry.offer is not None and entry.offer.hold_id == hold.id:
        tracked = Tracked(entry)
        entry.lapse(now)
        await uow.waitlist.save(entry)
        uow.record(tracked.event("waitlist.offer_lapsed", None))
