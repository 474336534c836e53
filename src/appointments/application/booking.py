"""Gathering what the booking rules look at, for a booking or a move, in its own
transaction: the parties (row-locked), the service and room asked for, the calendars
(appointments and live holds); and booking itself, shared by POST /api/appointments and
the waitlist's accept. The rules themselves are the domain's (domain/booking.py)."""

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
from appointments.application.events import Tracked, created, deleted
from appointments.application.ports.unit_of_work import UnitOfWork
from appointments.domain.appointments import Appointment
from appointments.domain.booking import (
    DEFAULT_DURATION,
    MAX_DURATION,
    NO_BUFFERS,
    BookingContext,
    BookingPolicy,
    Buffers,
    DoctorCalendar,
    check_placement,
    duration_of,
    requested_span,
)
from appointments.domain.errors import InvalidValue, NotFound, ServiceNotOffered
from appointments.domain.holds import Hold
from appointments.domain.schedule import Span
from appointments.domain.services import Service


@dataclass(frozen=True, slots=True)
class Placement:
    """What a booking or a move asks for."""

    doctor_id: UUID
    patient_id: UUID
    starts_at: datetime
    ends_at: datetime | None = None
    duration: timedelta | None = None
    service_id: UUID | None = None
    room_id: UUID | None = None
    # Without an end or a duration: a move keeps its length (unless it changes service);
    # otherwise the service's duration, else 30 minutes.
    default_duration: timedelta | None = None


@dataclass(frozen=True, slots=True)
class Prepared:
    span: Span
    context: BookingContext
    department_id: UUID


def buffers_of(service: Service | None) -> Buffers:
    return Buffers(service.buffer_before, service.buffer_after) if service else NO_BUFFERS


async def offered_service(
    uow: UnitOfWork, service_id: UUID | None, department_id: UUID
) -> Service | None:
    """The service asked for, if the doctor's department offers it (422 otherwise)."""
    if service_id is None:
        return None
    service = await uow.services.get(service_id)
    if service is None:
        raise ServiceNotOffered()
    service.check_offered_in(department_id)
    return service


async def prepare(
    uow: UnitOfWork,
    zone: ZoneInfo,
    now: datetime,
    placement: Placement,
    *,
    exclude_id: UUID | None = None,
    written_as_appointment: bool = False,
) -> Prepared:
    """The span asked for and everything the booking rules need to judge it: live holds
    block like appointments.

    The parties (patient, doctor, room) are locked until commit, always in that order,
    and exclusively: placements of one party (bookings, moves, holds) queue behind each
    other, so whichever comes second sees the first, whether its check is a read here or
    the store's refusal on write, and two never wait on each other's uncommitted rows
    (which on PostgreSQL's exclusion constraints ends in a deadlock, not a 409). A
    concurrent deactivation of a party waits for the placement (and then cancels it) or
    is seen by it (inactive_party). A booking limit counts, behind the patient's lock,
    exactly the bookings committed before. Holds need the lock most: no constraint can
    guard them (their expiry depends on the clock).

    `written_as_appointment`: the placement is written as one appointment (a booking, a
    move), so where the store refuses overlapping appointments on write, their busy time
    is not read first: the write answers the same 409s, and two round trips are saved.
    Holds are still read (they are not appointments) where the doctor's can be live (see
    PlacementParties.holds_until), and a hold or a series (which lists every conflict)
    reads everything."""
    appointments_read = not (written_as_appointment and uow.appointments.refuses_overlaps)
    # The time off is read for the longest span the request could ask for (the span is
    # known only once the service is): the booking rules look at what overlaps the span.
    longest = Span(placement.starts_at, placement.starts_at + MAX_DURATION)
    parties = await uow.doctors.lock_for_placement(
        placement.patient_id, placement.doctor_id, longest
    )
    if parties is None:
        raise NotFound("The doctor or the patient does not exist.")
    patient, doctor = parties.patient, parties.doctor
    service = await offered_service(uow, placement.service_id, doctor.department_id)
    default = placement.default_duration
    if default is None:
        default = service.duration if service else DEFAULT_DURATION
    span = requested_span(placement.starts_at, placement.ends_at, placement.duration, default)
    room_active, room_busy = True, list[Span]()
    if placement.room_id is not None:
        room = await uow.rooms.get(placement.room_id, lock=True)
        if room is None:
            raise NotFound("The room does not exist.")
        room_active = room.is_active
        room_busy = await uow.holds.blocking(within=span, now=now, room_id=room.id)
        if appointments_read:
            room_busy += await uow.appointments.busy_spans(
                within=span, room_id=room.id, exclude_id=exclude_id
            )
    buffers = buffers_of(service)
    blocked = buffers.around(span)
    # Holds first: a hold converted meanwhile is then seen as its appointment. Read behind
    # the lock, by a statement of its own, and only if one of the doctor's can be live.
    busy = list[Span]()
    if parties.holds_until is not None and parties.holds_until > now:
        busy = await uow.holds.blocking(within=blocked, now=now, doctor_id=doctor.id)
    patient_busy = list[Span]()
    if appointments_read:
        busy += await uow.appointments.blocked_spans(
            within=blocked, doctor_id=doctor.id, exclude_id=exclude_id
        )
        patient_busy = await uow.appointments.busy_spans(
            within=span, patient_id=patient.id, exclude_id=exclude_id
        )
    calendar = DoctorCalendar(
        schedule=parties.schedule,
        zone=zone,
        time_off=parties.time_off,
        busy=busy,
    )
    context = BookingContext(
        now=now,
        doctor_active=doctor.is_active,
        patient_active=patient.is_active,
        calendar=calendar,
        patient_busy=patient_busy,
        buffers=buffers,
        room_active=room_active,
        room_busy=room_busy,
    )
    return Prepared(span, context, doctor.department_id)


def _minutes(minutes: int | None) -> timedelta | None:
    return None if minutes is None else duration_of(minutes)


@dataclass(frozen=True, slots=True)
class BookingRequest:
    """A placement, or `hold_id`: book what the hold keeps (its doctor, patient, time,
    service and room; what else is sent must agree with it)."""

    doctor_id: UUID | None = None
    starts_at: datetime | None = None
    patient_id: UUID | None = None
    ends_at: datetime | None = None
    duration_minutes: int | None = None
    reason: str | None = None
    service_id: UUID | None = None
    room_id: UUID | None = None
    hold_id: UUID | None = None


async def _from_hold(
    uow: UnitOfWork, actor: Actor, request: BookingRequest, now: datetime
) -> Placement:
    """The hold's placement; the hold is taken (deleted, recorded) in this transaction."""
    assert request.hold_id is not None
    found = await uow.holds.get(request.hold_id, lock=True)
    hold = visible(found, found is not None and may_use_hold(actor, found))
    hold.check_live(now)
    sent = {
        "doctor_id": (request.doctor_id, hold.doctor_id),
        "patient_id": (request.patient_id, hold.patient_id),
        "starts_at": (request.starts_at, hold.starts_at),
        "ends_at": (request.ends_at, hold.ends_at),
        "service_id": (request.service_id, hold.service_id),
        "room_id": (request.room_id, hold.room_id),
    }
    if differ := [name for name, (given, held) in sent.items() if given not in (None, held)]:
        raise InvalidValue(f"The hold keeps other values of: {', '.join(differ)}.")
    if request.duration_minutes is not None and _minutes(request.duration_minutes) != (
        hold.ends_at - hold.starts_at
    ):
        raise InvalidValue("The hold keeps another duration.")
    await uow.holds.delete(hold.id)
    uow.record(deleted("hold.booked", actor, hold))
    if hold.waitlist_entry_id is not None:
        await _offer_taken(uow, actor, hold, now)
    return Placement(
        doctor_id=hold.doctor_id,
        patient_id=hold.patient_id,
        starts_at=hold.starts_at,
        ends_at=hold.ends_at,
        service_id=hold.service_id,
        room_id=hold.room_id,
    )


async def _offer_taken(uow: UnitOfWork, actor: Actor, hold: Hold, now: datetime) -> None:
    """The hold was a waitlist offer: its entry is booked."""
    assert hold.waitlist_entry_id is not None
    entry = await uow.waitlist.get(hold.waitlist_entry_id, lock=True)
    if entry is not None and entry.offer is not None and entry.offer.hold_id == hold.id:
        tracked = Tracked(entry)
        entry.booked(now)
        await uow.waitlist.save(entry)
        uow.record(tracked.event("waitlist.booked", actor))


async def book(
    uow: UnitOfWork, zone: ZoneInfo, now: datetime, actor: Actor, request: BookingRequest
) -> Appointment:
    """Every booking rule and the policy, in the caller's transaction (not committed)."""
    if request.hold_id is not None:
        placement = await _from_hold(uow, actor, request, now)
        patient_for_booking(actor, placement.doctor_id, placement.patient_id)
    else:
        if request.doctor_id is None or request.starts_at is None:
            raise InvalidValue("Give doctor_id and starts_at, or hold_id.")
        placement = Placement(
            doctor_id=request.doctor_id,
            patient_id=patient_for_booking(actor, request.doctor_id, request.patient_id),
            starts_at=request.starts_at,
            ends_at=request.ends_at,
            duration=_minutes(request.duration_minutes),
            service_id=request.service_id,
            room_id=request.room_id,
        )
    policy = await uow.policy.get() if policy_applies(actor) else None
    appointment = await admit(
        uow,
        zone,
        now,
        placement,
        reason=request.reason,
        policy=policy,
        written_as_appointment=True,
    )
    await uow.appointments.add_at_commit(appointment)
    uow.record(created("appointment.booked", actor, appointment))
    return appointment


async def admit(
    uow: UnitOfWork,
    zone: ZoneInfo,
    now: datetime,
    placement: Placement,
    *,
    reason: str | None,
    policy: BookingPolicy | None,
    earlier: int = 0,
    series_id: UUID | None = None,
    written_as_appointment: bool = False,
) -> Appointment:
    """The appointment `placement` asks for, if every booking rule and the `policy` (a
    patient's; None for staff) admit it; not yet added. `earlier`: the patient's bookings
    not yet written that count towards their limit (a series' earlier occurrences);
    `written_as_appointment` as in `prepare`."""
    prepared = await prepare(
        uow, zone, now, placement, written_as_appointment=written_as_appointment
    )
    if policy is not None:
        await judge_policy(
            uow, policy, prepared, now, patient_id=placement.patient_id, earlier=earlier
        )
    appointment = Appointment.book(
        patient_id=placement.patient_id,
        doctor_id=placement.doctor_id,
        department_id=prepared.department_id,
        span=prepared.span,
        reason=reason,
        context=prepared.context,
        service_id=placement.service_id,
        room_id=placement.room_id,
        series_id=series_id,
    )
    return appointment


async def judge_policy(
    uow: UnitOfWork,
    policy: BookingPolicy,
    prepared: Prepared,
    now: datetime,
    *,
    patient_id: UUID | None = None,
    earlier: int = 0,
) -> None:
    """A patient's policy for a placement: after its own rules, before whether its time
    is free. That is the order in which PostgreSQL answers (its overlap check is the
    INSERT's, after everything else), so every store answers a request the same.
    `patient_id`: count their bookings towards the limit (a booking, not a move), if
    there is one."""
    check_placement(prepared.span, prepared.context)
    policy.check_start(prepared.span.starts_at, now)
    if patient_id is not None and policy.max_active_per_patient:
        held = await uow.appointments.count_future_active(patient_id=patient_id, now=now)
        policy.check_active_count(held + earlier)
