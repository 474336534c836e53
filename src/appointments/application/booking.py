"""Gathering what the booking rules look at, for a booking or a move, in its own
transaction: the parties (row-locked), the service and room asked for, the calendars.
The rules themselves are the domain's (domain/booking.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from appointments.application.ports.unit_of_work import UnitOfWork
from appointments.domain.booking import (
    DEFAULT_DURATION,
    NO_BUFFERS,
    BookingContext,
    Buffers,
    DoctorCalendar,
    requested_span,
)
from appointments.domain.errors import NotFound, ServiceNotOffered
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
    count_patient_bookings: bool = False,
) -> Prepared:
    """The span asked for and everything the booking rules need to judge it."""
    if count_patient_bookings:
        # First, before any other lock on the patient: concurrent bookings of one patient
        # queue here, so each counts the ones committed before it.
        await uow.patients.lock_bookings(placement.patient_id)
    # Share-locked until commit: a concurrent deactivation of a party (or the room) waits
    # for this booking (and then cancels it) or is seen by it (inactive_party).
    doctor = await uow.doctors.get(placement.doctor_id, lock=True)
    patient = await uow.patients.get(placement.patient_id, lock=True)
    if doctor is None or patient is None:
        raise NotFound("The doctor or the patient does not exist.")
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
        room_busy = await uow.appointments.busy_spans(
            within=span, room_id=room.id, exclude_id=exclude_id
        )
    buffers = buffers_of(service)
    calendar = DoctorCalendar(
        schedule=await uow.doctors.get_schedule(doctor.id),
        zone=zone,
        time_off=await uow.doctors.list_time_off(doctor.id, within=span),
        busy=await uow.appointments.blocked_spans(
            within=buffers.around(span), doctor_id=doctor.id, exclude_id=exclude_id
        ),
    )
    context = BookingContext(
        now=now,
        doctor_active=doctor.is_active,
        patient_active=patient.is_active,
        calendar=calendar,
        patient_busy=await uow.appointments.busy_spans(
            within=span, patient_id=patient.id, exclude_id=exclude_id
        ),
        buffers=buffers,
        room_active=room_active,
        room_busy=room_busy,
    )
    return Prepared(span, context, doctor.department_id)
