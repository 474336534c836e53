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
    cancelled_by,
    check_may_write_notes,
    may_run_appointment,
    may_see_appointment,
    policy_applies,
    visible,
)
from appointments.application.booking import (
    BookingRequest,
    Placement,
    book,
    judge_policy,
    prepare,
)
from appointments.application.config import ClinicConfig
from appointments.application.errors import Forbidden
from appointments.application.events import AuditEvent, Tracked
from appointments.application.ports.queries import (
    AppointmentFilter,
    AuditFilter,
    Page,
    PageRequest,
)
from appointments.application.ports.services import Clock
from appointments.application.ports.unit_of_work import UnitOfWork
from appointments.domain.appointments import Appointment, Status
from appointments.domain.booking import duration_of
from appointments.domain.changes import UNSET, Maybe, kept
from appointments.domain.errors import InvalidValue
from appointments.domain.schedule import local_days


def _duration(minutes: int | None) -> timedelta | None:
    return None if minutes is None else duration_of(minutes)


def _new_service(changes: AppointmentChanges) -> bool:
    """A move to another service takes that service's length unless one is given."""
    return changes.service_id is not UNSET and changes.service_id is not None


class BookAppointment:
    def __init__(self, uow: UnitOfWork, clock: Clock, config: ClinicConfig) -> None:
        self._uow, self._clock, self._zone = uow, clock, ZoneInfo(config.timezone)

    async def __call__(self, actor: Actor, request: BookingRequest) -> Appointment:
        async with self._uow as uow:
            appointment = await book(uow, self._zone, self._clock.now(), actor, request)
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


class GetAppointmentHistory:
    """The appointment's audit events, oldest first, for whoever may read it."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def __call__(
        self, actor: Actor, appointment_id: UUID, page: PageRequest
    ) -> Page[AuditEvent]:
        async with self._uow as uow:
            await _visible_appointment(uow, actor, appointment_id)
            filters = AuditFilter(
                entity_type="appointment", entity_id=appointment_id, oldest_first=True
            )
            return await uow.audit.search(filters, page)


@dataclass(frozen=True, slots=True)
class AppointmentQuery:
    doctor_id: UUID | None = None
    patient_id: UUID | None = None
    status: Status | None = None
    date_from: date | None = None
    date_to: date | None = None
    # Instants (FHIR's `date=ge...`), with the dates above when both are given.
    starts_from: datetime | None = None
    starts_before: datetime | None = None
    statuses: frozenset[Status] | None = None


def _latest(*bounds: datetime | None) -> datetime | None:
    return max((b for b in bounds if b is not None), default=None)


def _earliest(*bounds: datetime | None) -> datetime | None:
    return min((b for b in bounds if b is not None), default=None)


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
            statuses=query.statuses,
            starts_from=_latest(
                local_days(query.date_from, query.date_from, self._zone).starts_at
                if query.date_from
                else None,
                query.starts_from,
            ),
            starts_before=_earliest(
                local_days(query.date_to, query.date_to, self._zone).ends_at
                if query.date_to
                else None,
                query.starts_before,
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
    service_id: Maybe[UUID | None] = UNSET
    room_id: Maybe[UUID | None] = UNSET
    reason: Maybe[str | None] = UNSET
    notes: Maybe[str | None] = UNSET

    @property
    def moves(self) -> bool:
        placing = (self.starts_at, self.ends_at, self.duration_minutes, self.service_id)
        return any(v is not UNSET for v in (*placing, self.room_id))


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
            tracked = Tracked(appointment)
            if changes.notes is not UNSET:
                check_may_write_notes(actor, appointment)
            if changes.moves:
                await self._move(uow, actor, appointment, changes, now)
            appointment.edit(now, reason=changes.reason, notes=changes.notes)
            await uow.appointments.save(appointment)
            action = "appointment.rescheduled" if changes.moves else "appointment.updated"
            uow.record(tracked.event(action, actor))
            await uow.commit()
        return appointment

    async def _move(
        self,
        uow: UnitOfWork,
        actor: Actor,
        appointment: Appointment,
        changes: AppointmentChanges,
        now: datetime,
    ) -> None:
        """A move: the new time, and the service and room (kept unless sent)."""
        if changes.starts_at is UNSET:
            raise InvalidValue("Rescheduling needs starts_at.")
        placement = Placement(
            doctor_id=appointment.doctor_id,
            patient_id=appointment.patient_id,
            starts_at=changes.starts_at,
            ends_at=None if changes.ends_at is UNSET else changes.ends_at,
            duration=(
                None if changes.duration_minutes is UNSET else _duration(changes.duration_minutes)
            ),
            service_id=kept(changes.service_id, appointment.service_id),
            room_id=kept(changes.room_id, appointment.room_id),
            default_duration=(
                None if _new_service(changes) else appointment.ends_at - appointment.starts_at
            ),
        )
        if placement.ends_at is not None and placement.duration is not None:
            raise InvalidValue("Give ends_at or duration_minutes, not both.")
        appointment.ensure_movable()  # before reading the calendar: a final one never moves
        policy = await uow.policy.get() if policy_applies(actor) else None
        if policy is not None:
            policy.check_change(appointment.starts_at, now)
        prepared = await prepare(
            uow, self._zone, now, placement, exclude_id=appointment.id, written_as_appointment=True
        )
        if policy is not None:
            await judge_policy(uow, policy, prepared, now)
        appointment.reschedule(
            prepared.span,
            prepared.context,
            service_id=placement.service_id,
            room_id=placement.room_id,
        )


class Action(StrEnum):
    CONFIRM = "confirm"
    CHECK_IN = "check-in"
    COMPLETE = "complete"
    NO_SHOW = "no-show"
    CANCEL = "cancel"


RECORDED_AS = {
    Action.CONFIRM: "appointment.confirmed",
    Action.CHECK_IN: "appointment.checked_in",
    Action.COMPLETE: "appointment.completed",
    Action.NO_SHOW: "appointment.no_show",
    Action.CANCEL: "appointment.cancelled",
}


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
            tracked = Tracked(appointment)
            if action is not Action.CANCEL and not may_run_appointment(actor, appointment):
                raise Forbidden("Only the doctor or an admin may do this.")
            if action is Action.CANCEL:
                await cancel_appointment(uow, actor, appointment, reason, now)
                await uow.commit()
                return appointment
            match action:
                case Action.CONFIRM:
                    appointment.confirm(now)
                case Action.CHECK_IN:
                    appointment.check_in(now)
                case Action.COMPLETE:
                    appointment.complete(now)
                case Action.NO_SHOW:
                    appointment.mark_no_show(now)
            await uow.appointments.save(appointment)
            uow.record(tracked.event(RECORDED_AS[action], actor))
            await uow.commit()
        return appointment


async def cancel_appointment(
    uow: UnitOfWork, actor: Actor, appointment: Appointment, reason: str | None, now: datetime
) -> None:
    """Cancel (the rules of POST /api/appointments/{id}/cancel, for an appointment the
    actor may see, row-locked): a patient within the cancellation cut-off is refused,
    a final appointment is an invalid transition. Saved and recorded, not committed."""
    tracked = Tracked(appointment)
    if policy_applies(actor) and appointment.is_changeable:
        (await uow.policy.get()).check_change(appointment.starts_at, now)
    appointment.cancel(reason, now, by=cancelled_by(actor))
    await uow.appointments.save(appointment)
    uow.record(tracked.event(RECORDED_AS[Action.CANCEL], actor))
