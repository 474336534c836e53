"""A doctor's working time: weekly schedule, time off, and the availability computed from
them with the same domain code that validates a booking."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID
from zoneinfo import ZoneInfo

from appointments.application.access import (
    STAFF,
    Actor,
    Restricted,
    check_may_manage_doctor,
    may_see_time_off_reason,
    policy_applies,
    visible,
)
from appointments.application.booking import buffers_of, offered_service
from appointments.application.config import ClinicConfig
from appointments.application.errors import RangeTooLong
from appointments.application.events import created, deleted, replaced
from appointments.application.ports.services import Clock
from appointments.application.ports.unit_of_work import UnitOfWork
from appointments.domain.booking import DEFAULT_DURATION, duration_of
from appointments.domain.errors import InvalidValue
from appointments.domain.schedule import (
    Span,
    TimeOff,
    WeeklyInterval,
    WeeklySchedule,
    free_slots,
    local_days,
)


@dataclass(frozen=True, slots=True)
class DoctorSchedule:
    timezone: str
    weekly: WeeklySchedule
    time_off: list[TimeOff]


async def _upcoming_time_off(uow: UnitOfWork, doctor_id: UUID, now: datetime) -> list[TimeOff]:
    return [t for t in await uow.doctors.list_time_off(doctor_id) if t.ends_at > now]


class GetSchedule:
    """Schedule and upcoming time off, reasons only for those who may see them."""

    def __init__(self, uow: UnitOfWork, clock: Clock, config: ClinicConfig) -> None:
        self._uow, self._clock, self._zone = uow, clock, config.timezone

    async def __call__(self, actor: Actor, doctor_id: UUID) -> DoctorSchedule:
        async with self._uow as uow:
            visible(await uow.doctors.get(doctor_id))
            weekly = await uow.doctors.get_schedule(doctor_id)
            time_off = await _upcoming_time_off(uow, doctor_id, self._clock.now())
        if not may_see_time_off_reason(actor, doctor_id):
            time_off = [t.without_reason() for t in time_off]
        return DoctorSchedule(self._zone, weekly, time_off)


class SetSchedule(Restricted, roles=STAFF):
    def __init__(self, uow: UnitOfWork, clock: Clock, config: ClinicConfig) -> None:
        self._uow, self._clock, self._zone = uow, clock, config.timezone

    async def __call__(
        self, actor: Actor, doctor_id: UUID, intervals: list[WeeklyInterval]
    ) -> DoctorSchedule:
        check_may_manage_doctor(actor, doctor_id)
        weekly = WeeklySchedule.of(intervals)
        async with self._uow as uow:
            visible(await uow.doctors.get(doctor_id))
            before = await uow.doctors.get_schedule(doctor_id)
            await uow.doctors.set_schedule(doctor_id, weekly)
            uow.record(replaced("schedule.updated", actor, before, weekly, doctor_id))
            time_off = await _upcoming_time_off(uow, doctor_id, self._clock.now())
            await uow.commit()
        return DoctorSchedule(self._zone, weekly, time_off)


class AddTimeOff(Restricted, roles=STAFF):
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def __call__(
        self,
        actor: Actor,
        doctor_id: UUID,
        starts_at: datetime,
        ends_at: datetime,
        reason: str | None,
    ) -> TimeOff:
        check_may_manage_doctor(actor, doctor_id)
        time_off = TimeOff(doctor_id, starts_at, ends_at, reason)
        async with self._uow as uow:
            visible(await uow.doctors.get(doctor_id))
            await uow.doctors.add_time_off(time_off)
            uow.record(created("time_off.created", actor, time_off))
            await uow.commit()
        return time_off


class DeleteTimeOff(Restricted, roles=STAFF):
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def __call__(self, actor: Actor, doctor_id: UUID, time_off_id: UUID) -> None:
        check_may_manage_doctor(actor, doctor_id)
        async with self._uow as uow:
            found = await uow.doctors.get_time_off(time_off_id)
            time_off = visible(found, found is not None and found.doctor_id == doctor_id)
            await uow.doctors.delete_time_off(time_off_id)
            uow.record(deleted("time_off.deleted", actor, time_off))
            await uow.commit()


@dataclass(frozen=True, slots=True)
class Availability:
    doctor_id: UUID
    timezone: str
    slots: list[Span]


class GetAvailability:
    """Bookable slots, computed with the same domain rules that judge a booking: working
    time, time off, the doctor's buffered appointments, the room's bookings and, for a
    patient, the booking policy. Every slot offered to a caller is bookable by them."""

    def __init__(self, uow: UnitOfWork, clock: Clock, config: ClinicConfig) -> None:
        self._uow, self._clock, self._config = uow, clock, config

    async def __call__(
        self,
        actor: Actor,
        doctor_id: UUID,
        date_from: date,
        date_to: date,
        duration_minutes: int | None = None,
        *,
        service_id: UUID | None = None,
        room_id: UUID | None = None,
    ) -> Availability:
        days = (date_to - date_from).days + 1
        if days < 1:
            raise InvalidValue("date_to must not be before date_from.")
        if days > self._config.availability_max_days:
            raise RangeTooLong(
                f"At most {self._config.availability_max_days} days can be asked at once."
            )
        zone, now = ZoneInfo(self._config.timezone), self._clock.now()
        window = local_days(date_from, date_to, zone)
        nothing = Availability(doctor_id, self._config.timezone, [])
        async with self._uow as uow:
            doctor = visible(await uow.doctors.get(doctor_id))
            service = await offered_service(uow, service_id, doctor.department_id)
            if duration_minutes is not None:
                duration = duration_of(duration_minutes)
            else:
                duration = service.duration if service else DEFAULT_DURATION
            room = None if room_id is None else visible(await uow.rooms.get(room_id))
            if not doctor.is_active or (room is not None and not room.is_active):
                return nothing
            policy = await uow.policy.get() if policy_applies(actor) else None
            if policy is not None and actor.patient_id is not None:
                held = await uow.appointments.count_future_active(
                    patient_id=actor.patient_id, now=now
                )
                if policy.limit_reached(held):
                    return nothing
            buffers = buffers_of(service)
            weekly = await uow.doctors.get_schedule(doctor_id)
            around = buffers.around(window)
            # Live holds block like appointments (an expired one blocks nothing).
            blocked = await uow.holds.blocking(within=around, now=now, doctor_id=doctor_id)
            blocked += await uow.appointments.blocked_spans(within=around, doctor_id=doctor_id)
            unavailable = [
                t.span for t in await uow.doctors.list_time_off(doctor_id, within=window)
            ]
            if room is not None:
                unavailable += await uow.holds.blocking(within=window, now=now, room_id=room.id)
                unavailable += await uow.appointments.busy_spans(within=window, room_id=room.id)

        def bookable(slot: Span) -> bool:
            around = buffers.around(slot)
            if any(b.overlaps(around) for b in blocked):
                return False
            return policy is None or policy.admits_start(slot.starts_at, now)

        slots = free_slots(weekly, zone, date_from, date_to, duration, now, unavailable, bookable)
        return Availability(doctor_id, self._config.timezone, slots)
