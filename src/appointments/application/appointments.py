"""Booking and running appointments.

Application code checks every rule for a friendly error; the database enforces the overlap
rules again under concurrency (exclusion constraints on PostgreSQL, serialised write
transactions on SQLite), and the adapter maps its violations to the same domain errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from uuid import UUID
from zoneinfo import ZoneInfo

from appointments.application.actor import Actor, visible_or_404
from appointments.application.errors import FieldNotAllowed, Forbidden
from appointments.application.ports import (
    AppointmentFilter,
    ClinicConfig,
    Clock,
    Page,
    PageRequest,
    UnitOfWork,
)
from appointments.domain.appointments import (
    Appointment,
    DoctorCalendar,
    Status,
    check_booking,
)
from appointments.domain.errors import InvalidValue, NotFound
from appointments.domain.schedule import Span, local_days
from appointments.domain.users import Role

DEFAULT_DURATION = timedelta(minutes=30)


async def _check_rules(
    uow: UnitOfWork,
    zone: ZoneInfo,
    now: datetime,
    doctor_id: UUID,
    patient_id: UUID,
    span: Span,
    exclude_id: UUID | None = None,
) -> UUID:
    """Run every booking rule for `span`; returns the doctor's department id."""
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
    check_booking(
        span,
        now=now,
        doctor_active=doctor.is_active,
        patient_active=patient.is_active,
        calendar=calendar,
        patient_busy=await uow.appointments.busy_spans(
            within=span, patient_id=patient_id, exclude_id=exclude_id
        ),
    )
    return doctor.department_id


def _end(starts_at: datetime, ends_at: datetime | None, duration_minutes: int | None) -> datetime:
    if ends_at is not None and duration_minutes is not None:
        raise InvalidValue("Give ends_at or duration_minutes, not both.")
    if ends_at is not None:
        return ends_at
    if duration_minutes is not None:
        return starts_at + timedelta(minutes=duration_minutes)
    return starts_at + DEFAULT_DURATION


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

    def _patient_for(self, actor: Actor, request: BookingRequest) -> UUID:
        if actor.role is Role.PATIENT:
            if actor.patient_id is None:
                raise Forbidden("Your login has no patient record.")
            if request.patient_id not in (None, actor.patient_id):
                raise NotFound("The patient does not exist.")
            return actor.patient_id
        if actor.role is Role.DOCTOR and not actor.is_doctor(request.doctor_id):
            raise Forbidden("A doctor books only into their own calendar.")
        if request.patient_id is None:
            raise InvalidValue("patient_id is required.")
        return request.patient_id

    async def __call__(self, actor: Actor, request: BookingRequest) -> Appointment:
        patient_id = self._patient_for(actor, request)
        now = self._clock.now()
        span = Span(
            request.starts_at,
            _end(request.starts_at, request.ends_at, request.duration_minutes),
        )
        async with self._uow as uow:
            department_id = await _check_rules(
                uow, self._zone, now, request.doctor_id, patient_id, span
            )
            appointment = Appointment(
                patient_id=patient_id,
                doctor_id=request.doctor_id,
                department_id=department_id,
                starts_at=span.start,
                ends_at=span.end,
                created_at=now,
                updated_at=now,
                reason=request.reason,
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
    return visible_or_404(
        appointment, appointment is not None and actor.may_see_appointment(appointment)
    )


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
        doctor_id, patient_id = query.doctor_id, query.patient_id
        if actor.role is Role.DOCTOR:
            if doctor_id not in (None, actor.doctor_id) or actor.doctor_id is None:
                return Page([], 0, page.limit, page.offset)
            doctor_id = actor.doctor_id
        elif actor.role is Role.PATIENT:
            if patient_id not in (None, actor.patient_id) or actor.patient_id is None:
                return Page([], 0, page.limit, page.offset)
            patient_id = actor.patient_id
        filters = AppointmentFilter(
            doctor_id=doctor_id,
            patient_id=patient_id,
            status=query.status,
            starts_from=(
                local_days(query.date_from, query.date_from, self._zone).start
                if query.date_from
                else None
            ),
            starts_before=(
                local_days(query.date_to, query.date_to, self._zone).end if query.date_to else None
            ),
        )
        async with self._uow as uow:
            return await uow.appointments.search(filters, page)


@dataclass(frozen=True, slots=True)
class AppointmentChanges:
    """Only the fields the client sent (PATCH semantics)."""

    starts_at: datetime | None = None
    ends_at: datetime | None = None
    duration_minutes: int | None = None
    reason: str | None = None
    notes: str | None = None
    sent: frozenset[str] = frozenset()


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
            if "notes" in changes.sent and not actor.may_run_appointment(appointment):
                raise FieldNotAllowed("Only the doctor or an admin may write notes.")
            moving = changes.sent & {"starts_at", "ends_at", "duration_minutes"}
            if moving:
                if changes.starts_at is None:
                    raise InvalidValue("Rescheduling needs starts_at.")
                kept = appointment.ends_at - appointment.starts_at
                ends_at = _end(changes.starts_at, changes.ends_at, changes.duration_minutes)
                if not changes.sent & {"ends_at", "duration_minutes"}:
                    ends_at = changes.starts_at + kept
                appointment.reschedule(changes.starts_at, ends_at, now)
                await _check_rules(
                    uow,
                    self._zone,
                    now,
                    appointment.doctor_id,
                    appointment.patient_id,
                    appointment.span,
                    exclude_id=appointment.id,
                )
            if "reason" in changes.sent:
                appointment.reason = changes.reason
            if "notes" in changes.sent:
                appointment.notes = changes.notes
            appointment.updated_at = now
            await uow.appointments.save(appointment)
            await uow.commit()
        return appointment


class Action(StrEnum):
    CONFIRM = "confirm"
    CHECK_IN = "check-in"
    COMPLETE = "complete"
    NO_SHOW = "no-show"
    CANCEL = "cancel"


class ChangeStatus:
    """Lifecycle moves. Cancel is open to every party; the rest to the treating doctor and
    admins. A patient may not use those at all (403 whatever the id, so it reveals
    nothing); a doctor who cannot see the appointment gets 404."""

    def __init__(self, uow: UnitOfWork, clock: Clock) -> None:
        self._uow, self._clock = uow, clock

    async def __call__(
        self, actor: Actor, appointment_id: UUID, action: Action, reason: str | None = None
    ) -> Appointment:
        if action is not Action.CANCEL:
            actor.require(Role.ADMIN, Role.DOCTOR)
        now = self._clock.now()
        async with self._uow as uow:
            appointment = await _visible_appointment(uow, actor, appointment_id, lock=True)
            if action is not Action.CANCEL and not actor.may_run_appointment(appointment):
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
