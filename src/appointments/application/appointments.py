"""Booking and running appointments.

The Appointment aggregate runs every booking rule itself (domain/booking.py); this module
gathers what the rules look at, in the booking's own transaction. The database enforces
the overlap rules again under concurrency (exclusion constraints on PostgreSQL,
serialised write transactions on SQLite), and the adapter maps its violations to the
same domain errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from uuid import UUID
from zoneinfo import ZoneInfo

from appointments.application.access import (
    STAFF,
    Actor,
    appointment_scope,
    check_may_write_notes,
    may_run_appointment,
    may_see_appointment,
    patient_for_booking,
    visible,
)
from appointments.application.config import ClinicConfig
from appointments.application.errors import Forbidden
from appointments.application.ports.queries import AppointmentFilter, Page, PageRequest
from appointments.application.ports.services import Clock
from appointments.application.ports.unit_of_work import UnitOfWork
from appointments.domain.appointments import Appointment, Status
from appointments.domain.booking import (
    BookingContext,
    DoctorCalendar,
    duration_of,
    requested_span,
)
from appointments.domain.changes import UNSET, Maybe
from appointments.domain.errors import InvalidValue, NotFound
from appointments.domain.schedule import Span, local_days


async def _booking_context(
    uow: UnitOfWork,
    zone: ZoneInfo,
    now: datetime,
    doctor_id: UUID,
    patient_id: UUID,
    span: Span,
    exclude_id: UUID | None = None,
) -> tuple[BookingContext, UUID]:
    """What the booking rules need for `span`, and the doctor's department id."""
    # Share-locked until commit: a concurrent deactivation of either party waits for this
    # booking (and then cancels it) or is seen by it (inactive_party).
    doctor = await uow.doctors.get(doctor_id, lock=True)
    patient = await uow.patients.get(patient_id, lock=True)
    if doctor is None or patient is None:
        raise NotFound("The doctor or the patient does not exist.")
    calendar = DoctorCalendar(
        schedule=await uow.doctors.get_schedule(doctor_id),
        zone=zone,
        time_off=await uow.doctors.list_time_off(doctor_id, within=span),
        busy=await uow.appointments.busy_spans(
            within=span, doctor_id=doctor_id, exclude_id=exclude_id
        ),
    )
    context = BookingContext(
        now=now,
        doctor_active=doctor.is_active,
        patient_active=patient.is_active,
        calendar=calendar,
        patient_busy=await uow.appointments.busy_spans(
            within=span, patient_id=patient_id, exclude_id=exclude_id
        ),
    )
    return context, doctor.department_id


def _duration(minutes: int | None) -> timedelta | None:
    return None if minutes is None else duration_of(minutes)


@dataclass(frozen=True, slots=True)
class BookingRequest:
    doctor_id: UUID
    starts_at: datetime
    patient_id: UUID | None = None
    ends_at: datetime | None = None
    duration_minutes: int | None = None
    reason: str | None = None


class BookAppointment:
    def __init__(self, uow: UnitOfWork, clock: Clock, config: ClinicConfig) -> None:
        self._uow, self._clock, self._zone = uow, clock, ZoneInfo(config.timezone)

    async def __call__(self, actor: Actor, request: BookingRequest) -> Appointment:
        patient_id = patient_for_booking(actor, request.doctor_id, request.patient_id)
        now = self._clock.now()
        span = requested_span(
            request.starts_at, request.ends_at, _duration(request.duration_minutes)
        )
        async with self._uow as uow:
            context, department_id = await _booking_context(
                uow, self._zone, now, request.doctor_id, patient_id, span
            )
            appointment = Appointment.book(
                patient_id=patient_id,
                doctor_id=request.doctor_id,
                department_id=department_id,
                span=span,
                reason=request.reason,
                context=context,
            )
            await uow.appointments.add(appointment)
            await uow.commit()
        return appointment


async def _visible_appointment(
    uow: UnitOfWork, actor: Actor, appointment_id: UUID, *, lock: bool = False
) -> Appointment:
    """The appointment if the actor may see it (NotFound otherwise); `lock` for changes,
    so two concurrent moves (cancel vs confirm) cannot both win."""
    appointment = await uow.appointments.get(appointment_id, lock=lock)
    return visible(appointment, appointment is not None and may_see_appointment(actor, appointment))


class GetAppointment:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def __call__(self, actor: Actor, appointment_id: UUID) -> Appointment:
        async with self._uow as uow:
            return await _visible_appointment(uow, actor, appointment_id)


@dataclass(frozen=True, slots=True)
class AppointmentQuery:
    doctor_id: UUID | None = None
    patient_id: UUID | None = None
    status: Status | None = None
    date_from: date | None = None
    date_to: date | None = None


class ListAppointments:
    def __init__(self, uow: UnitOfWork, config: ClinicConfig) -> None:
        self._uow, self._zone = uow, ZoneInfo(config.timezone)

    async def __call__(
        self, actor: Actor, query: AppointmentQuery, page: PageRequest
    ) -> Page[Appointment]:
        filters = AppointmentFilter(
            scope=appointment_scope(actor),
            doctor_id=query.doctor_id,
            patient_id=query.patient_id,
            status=query.status,
            starts_from=(
                local_days(query.date_from, query.date_from, self._zone).starts_at
                if query.date_from
                else None
            ),
            starts_before=(
                local_days(query.date_to, query.date_to, self._zone).ends_at
                if query.date_to
                else None
            ),
        )
        async with self._uow as uow:
            return await uow.appointments.search(filters, page)


@dataclass(frozen=True, slots=True)
class AppointmentChanges:
    """A move (`starts_at`, with `ends_at` or `duration_minutes`, else the appointment
    keeps its length), `reason`, `notes`."""

    starts_at: Maybe[datetime] = UNSET
    ends_at: Maybe[datetime] = UNSET
    duration_minutes: Maybe[int] = UNSET
    reason: Maybe[str | None] = UNSET
    notes: Maybe[str | None] = UNSET

    @property
    def moves(self) -> bool:
        return any(v is not UNSET for v in (self.starts_at, self.ends_at, self.duration_minutes))


class UpdateAppointment:
    """Reschedule (all booking rules again, back to `scheduled`), reason, notes."""

    def __init__(self, uow: UnitOfWork, clock: Clock, config: ClinicConfig) -> None:
        self._uow, self._clock, self._zone = uow, clock, ZoneInfo(config.timezone)

    async def __call__(
        self, actor: Actor, appointment_id: UUID, changes: AppointmentChanges
    ) -> Appointment:
        now = self._clock.now()
        async with self._uow as uow:
            appointment = await _visible_appointment(uow, actor, appointment_id, lock=True)
            if changes.notes is not UNSET:
                check_may_write_notes(actor, appointment)
            if changes.moves:
                await self._move(uow, appointment, changes, now)
            appointment.edit(now, reason=changes.reason, notes=changes.notes)
            await uow.appointments.save(appointment)
            await uow.commit()
        return appointment

    async def _move(
        self, uow: UnitOfWork, appointment: Appointment, changes: AppointmentChanges, now: datetime
    ) -> None:
        if changes.starts_at is UNSET:
            raise InvalidValue("Rescheduling needs starts_at.")
        span = requested_span(
            changes.starts_at,
            None if changes.ends_at is UNSET else changes.ends_at,
            None if changes.duration_minutes is UNSET else _duration(changes.duration_minutes),
            default=appointment.ends_at - appointment.starts_at,
        )
        appointment.ensure_movable()  # before reading the calendar: a final one never moves
        context, _ = await _booking_context(
            uow,
            self._zone,
            now,
            appointment.doctor_id,
            appointment.patient_id,
            span,
            exclude_id=appointment.id,
        )
        appointment.reschedule(span, context)


class Action(StrEnum):
    CONFIRM = "confirm"
    CHECK_IN = "check-in"
    COMPLETE = "complete"
    NO_SHOW = "no-show"
    CANCEL = "cancel"


class ChangeStatus:
    """Lifecycle moves. Cancel is open to every party; the rest to the treating doctor and
    admins. A patient may not use those at all (403 whatever the id, so it reveals
    nothing); a doctor who cannot see the appointment gets NotFound."""

    def __init__(self, uow: UnitOfWork, clock: Clock) -> None:
        self._uow, self._clock = uow, clock

    async def __call__(
        self, actor: Actor, appointment_id: UUID, action: Action, reason: str | None = None
    ) -> Appointment:
        if action is not Action.CANCEL:
            actor.require(STAFF)
        now = self._clock.now()
        async with self._uow as uow:
            appointment = await _visible_appointment(uow, actor, appointment_id, lock=True)
            if action is not Action.CANCEL and not may_run_appointment(actor, appointment):
                raise Forbidden("Only the doctor or an admin may do this.")
            match action:
                case Action.CONFIRM:
                    appointment.confirm(now)
                case Action.CHECK_IN:
                    appointment.check_in(now)
                case Action.COMPLETE:
                    appointment.complete(now)
                case Action.NO_SHOW:
                    appointment.mark_no_show(now)
                case Action.CANCEL:
                    appointment.cancel(reason, now)
            await uow.appointments.save(appointment)
            await uow.commit()
        return appointment
