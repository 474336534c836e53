"""Recurring appointments (a series): every occurrence booked under every booking rule and
the patient's policy in ONE transaction, all or nothing; read and cancelled as a whole.

Booking checks every occurrence (with booking.admit, the rules of POST /api/appointments)
before writing any, so a refusal lists every failing occurrence in `conflicts`. The
occurrences of one series never clash with each other: they are a day or more apart and
an appointment blocks at most 12 hours (8 hours plus two 2-hour buffers). They count
towards the patient's limit of active bookings one after the other. The database's
overlap constraints still guard the writes: a series that loses a race with a concurrent
booking is refused with that occurrence's conflict and nothing of it is left.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from appointments.application.access import (
    Actor,
    may_see_series,
    patient_for_booking,
    policy_applies,
    visible,
)
from appointments.application.appointments import cancel_appointment
from appointments.application.booking import Placement, admit
from appointments.application.config import ClinicConfig
from appointments.application.events import Event, by, created
from appointments.application.ports.services import Clock
from appointments.application.ports.unit_of_work import UnitOfWork
from appointments.domain.appointments import Appointment
from appointments.domain.audit import Changes
from appointments.domain.booking import duration_of
from appointments.domain.errors import Conflict, DomainError, RuleViolation, SeriesRefused
from appointments.domain.series import Recurrence, occurrence_starts


@dataclass(frozen=True, slots=True)
class SeriesRequest:
    doctor_id: UUID
    starts_at: datetime
    recurrence: Recurrence
    patient_id: UUID | None = None
    duration_minutes: int | None = None
    reason: str | None = None
    service_id: UUID | None = None
    room_id: UUID | None = None


@dataclass(frozen=True, slots=True)
class Series:
    """A series as read: its id and its appointments by start."""

    id: UUID
    appointments: list[Appointment] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SeriesRecord:
    """What the audit trail keeps of a booked series (`series.booked`)."""

    id: UUID
    doctor_id: UUID
    patient_id: UUID
    frequency: str
    interval: int
    occurrences: int
    starts_at: datetime


# What an occurrence may fail on and still be listed among the conflicts: the booking
# rules and the policy. Anything else (an unknown doctor, a forbidden caller) is the
# whole request's answer.
OCCURRENCE_ERRORS = (Conflict, RuleViolation)


class BookSeries:
    """Who: as POST /api/appointments (a patient for themself, a doctor into their own
    calendar, an admin anyone)."""

    def __init__(self, uow: UnitOfWork, clock: Clock, config: ClinicConfig) -> None:
        self._uow, self._clock, self._zone = uow, clock, ZoneInfo(config.timezone)

    async def __call__(self, actor: Actor, request: SeriesRequest) -> Series:
        patient_id = patient_for_booking(actor, request.doctor_id, request.patient_id)
        now = self._clock.now()
        starts = occurrence_starts(request.starts_at, request.recurrence, self._zone)
        duration = (
            None if request.duration_minutes is None else duration_of(request.duration_minutes)
        )
        series_id = uuid4()
        async with self._uow as uow:
            policy = await uow.policy.get() if policy_applies(actor) else None
            admitted: list[Appointment] = []
            failures: list[tuple[datetime, DomainError]] = []
            for earlier, start in enumerate(starts):
                placement = Placement(
                    doctor_id=request.doctor_id,
                    patient_id=patient_id,
                    starts_at=start,
                    duration=duration,
                    service_id=request.service_id,
                    room_id=request.room_id,
                )
                try:
                    appointment = await admit(
                        uow,
                        self._zone,
                        now,
                        placement,
                        reason=request.reason,
                        policy=policy,
                        earlier=earlier,
                        series_id=series_id,
                    )
                except OCCURRENCE_ERRORS as error:
                    failures.append((start, error))
                    continue
                admitted.append(appointment)
            if failures:
                raise SeriesRefused(failures[0][1], [(at, e.code) for at, e in failures])
            for appointment in admitted:
                await _add(uow, appointment)
                uow.record(created("appointment.booked", actor, appointment))
            record = SeriesRecord(
                id=series_id,
                doctor_id=request.doctor_id,
                patient_id=patient_id,
                frequency=request.recurrence.frequency.value,
                interval=request.recurrence.interval,
                occurrences=len(admitted),
                starts_at=admitted[0].starts_at,
            )
            uow.record(created("series.booked", actor, record))
            await uow.commit()
        return Series(series_id, admitted)


async def _add(uow: UnitOfWork, appointment: Appointment) -> None:
    """Written; a concurrent booking committed meanwhile (the database's overlap
    constraint refuses it) refuses the series with this occurrence's conflict."""
    try:
        await uow.appointments.add(appointment)
    except Conflict as error:
        raise SeriesRefused(error, [(appointment.starts_at, error.code)]) from error


async def _visible_series(
    uow: UnitOfWork, actor: Actor, series_id: UUID, *, lock: bool = False
) -> Series:
    found = await uow.appointments.in_series(series_id, lock=lock)
    return Series(series_id, visible(found, may_see_series(actor, found)))


class GetSeries:
    """Who: whoever may see its appointments (NotFound otherwise)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def __call__(self, actor: Actor, series_id: UUID) -> Series:
        async with self._uow as uow:
            return await _visible_series(uow, actor, series_id)


class CancelSeries:
    """Every future active (scheduled or confirmed) occurrence cancelled, each under the
    rules of cancelling one appointment (a patient within the cut-off is refused: then
    nothing is cancelled). Past, checked-in and final occurrences are left as they are.
    Who: as cancel (the patient, the doctor, admins)."""

    def __init__(self, uow: UnitOfWork, clock: Clock) -> None:
        self._uow, self._clock = uow, clock

    async def __call__(self, actor: Actor, series_id: UUID, reason: str | None = None) -> Series:
        now = self._clock.now()
        async with self._uow as uow:
            series = await _visible_series(uow, actor, series_id, lock=True)
            cancelled = 0
            for appointment in series.appointments:
                if appointment.is_changeable and appointment.starts_at > now:
                    await cancel_appointment(uow, actor, appointment, reason, now)
                    cancelled += 1
            if cancelled:
                changes: Changes = {"cancelled_occurrences": {"old": None, "new": cancelled}}
                uow.record(Event("series.cancelled", series_id, by(actor), changes))
            await uow.commit()
        return series
