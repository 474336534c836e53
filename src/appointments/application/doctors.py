"""Doctors, their weekly schedules, time off and availability."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from appointments.application.actor import ADMIN_ONLY, STAFF, Actor, visible_or_404
from appointments.application.errors import FieldNotAllowed, Forbidden, RangeTooLong
from appointments.application.ports import (
    ClinicConfig,
    Clock,
    DoctorFilter,
    Page,
    PageRequest,
    PasswordHasher,
    UnitOfWork,
)
from appointments.application.users import NewUser, create_user, retire
from appointments.domain.appointments import check_duration
from appointments.domain.clinic import Doctor
from appointments.domain.errors import InvalidValue
from appointments.domain.schedule import (
    Span,
    TimeOff,
    WeeklyInterval,
    WeeklySchedule,
    free_slots,
    local_days,
)
from appointments.domain.users import Role, check_full_name

DOCTOR_SELF_FIELDS = frozenset({"phone", "specialization"})


async def _department_must_exist(uow: UnitOfWork, department_id: UUID) -> None:
    if await uow.departments.get(department_id) is None:
        raise InvalidValue("The department does not exist.")


class CreateDoctor:
    """The DOCTOR user and the doctor record in one transaction: a failure leaves neither."""

    roles = ADMIN_ONLY

    def __init__(self, uow: UnitOfWork, hasher: PasswordHasher, clock: Clock) -> None:
        self._uow, self._hasher, self._clock = uow, hasher, clock

    async def __call__(
        self,
        actor: Actor,
        data: NewUser,
        department_id: UUID,
        specialization: str,
        phone: str | None,
    ) -> Doctor:
        actor.require(*self.roles)
        async with self._uow as uow:
            await _department_must_exist(uow, department_id)
            user = await create_user(uow, self._hasher, self._clock, data, Role.DOCTOR)
            doctor = Doctor(
                user_id=user.id,
                full_name=user.full_name,
                email=user.email,
                department_id=department_id,
                specialization=specialization,
                phone=phone,
            )
            await uow.doctors.add(doctor, WeeklySchedule.default())
            await uow.commit()
        return doctor


class ListDoctors:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def __call__(
        self, actor: Actor, filters: DoctorFilter, page: PageRequest
    ) -> Page[Doctor]:
        async with self._uow as uow:
            return await uow.doctors.search(filters, page)


class GetDoctor:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def __call__(self, actor: Actor, doctor_id: UUID) -> Doctor:
        async with self._uow as uow:
            return visible_or_404(await uow.doctors.get(doctor_id))


@dataclass(frozen=True, slots=True)
class DoctorChanges:
    """Only the fields the client sent (PATCH semantics)."""

    values: dict[str, object] = field(default_factory=dict)


class UpdateDoctor:
    roles = STAFF

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def __call__(self, actor: Actor, doctor_id: UUID, changes: DoctorChanges) -> Doctor:
        actor.require(*self.roles)
        if not actor.may_manage_doctor(doctor_id):
            raise Forbidden("Only an admin or the doctor themself may change a doctor.")
        values = changes.values
        if not actor.is_admin and (extra := sorted(set(values) - DOCTOR_SELF_FIELDS)):
            raise FieldNotAllowed(f"A doctor may not change: {', '.join(extra)}.")
        async with self._uow as uow:
            doctor = visible_or_404(await uow.doctors.get(doctor_id))
            if "department_id" in values:
                department_id = values["department_id"]
                assert isinstance(department_id, UUID)
                await _department_must_exist(uow, department_id)
                doctor.department_id = department_id
            if "full_name" in values:
                doctor.full_name = check_full_name(str(values["full_name"]))
                user = visible_or_404(await uow.users.get(doctor.user_id))
                user.full_name = doctor.full_name
                await uow.users.save(user)
            if "specialization" in values:
                doctor.specialization = str(values["specialization"])
            if "phone" in values:
                phone = values["phone"]
                doctor.phone = None if phone is None else str(phone)
            await uow.doctors.save(doctor)
            await uow.commit()
        return doctor


class DeactivateDoctor:
    """Deactivates doctor and login, revokes their tokens and cancels their future
    active appointments, all in one transaction."""

    roles = ADMIN_ONLY

    def __init__(self, uow: UnitOfWork, clock: Clock) -> None:
        self._uow, self._clock = uow, clock

    async def __call__(self, actor: Actor, doctor_id: UUID) -> None:
        actor.require(*self.roles)
        now = self._clock.now()
        async with self._uow as uow:
            doctor = visible_or_404(await uow.doctors.get(doctor_id))
            doctor.is_active = False
            await uow.doctors.save(doctor)
            await retire(uow, now, doctor.user_id, "doctor_deactivated", doctor_id=doctor_id)
            await uow.commit()


@dataclass(frozen=True, slots=True)
class DoctorSchedule:
    timezone: str
    weekly: WeeklySchedule
    time_off: list[TimeOff]


async def _upcoming_time_off(uow: UnitOfWork, doctor_id: UUID, now: datetime) -> list[TimeOff]:
    return [t for t in await uow.doctors.list_time_off(doctor_id) if t.ends_at > now]


class GetSchedule:
    """Schedule and upcoming time off. Time-off reasons are private to the doctor and
    admins: other callers see the times only."""

    def __init__(self, uow: UnitOfWork, clock: Clock, config: ClinicConfig) -> None:
        self._uow, self._clock, self._zone = uow, clock, config.timezone

    async def __call__(self, actor: Actor, doctor_id: UUID) -> DoctorSchedule:
        async with self._uow as uow:
            visible_or_404(await uow.doctors.get(doctor_id))
            weekly = await uow.doctors.get_schedule(doctor_id)
            time_off = await _upcoming_time_off(uow, doctor_id, self._clock.now())
        if not actor.may_manage_doctor(doctor_id):
            time_off = [TimeOff(t.doctor_id, t.starts_at, t.ends_at, None, t.id) for t in time_off]
        return DoctorSchedule(self._zone, weekly, time_off)


class SetSchedule:
    roles = STAFF

    def __init__(self, uow: UnitOfWork, clock: Clock, config: ClinicConfig) -> None:
        self._uow, self._clock, self._zone = uow, clock, config.timezone

    async def __call__(
        self, actor: Actor, doctor_id: UUID, intervals: list[WeeklyInterval]
    ) -> DoctorSchedule:
        actor.require(*self.roles)
        if not actor.may_manage_doctor(doctor_id):
            raise Forbidden("Only an admin or the doctor themself may change a schedule.")
        weekly = WeeklySchedule.of(intervals)
        async with self._uow as uow:
            visible_or_404(await uow.doctors.get(doctor_id))
            await uow.doctors.set_schedule(doctor_id, weekly)
            time_off = await _upcoming_time_off(uow, doctor_id, self._clock.now())
            await uow.commit()
        return DoctorSchedule(self._zone, weekly, time_off)


class AddTimeOff:
    roles = STAFF

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
        actor.require(*self.roles)
        if not actor.may_manage_doctor(doctor_id):
            raise Forbidden("Only an admin or the doctor themself may add time off.")
        if ends_at <= starts_at:
            raise InvalidValue("Time off must end after it starts.")
        time_off = TimeOff(doctor_id, starts_at, ends_at, reason)
        async with self._uow as uow:
            visible_or_404(await uow.doctors.get(doctor_id))
            await uow.doctors.add_time_off(time_off)
            await uow.commit()
        return time_off


class DeleteTimeOff:
    roles = STAFF

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def __call__(self, actor: Actor, doctor_id: UUID, time_off_id: UUID) -> None:
        actor.require(*self.roles)
        if not actor.may_manage_doctor(doctor_id):
            raise Forbidden("Only an admin or the doctor themself may remove time off.")
        async with self._uow as uow:
            time_off = await uow.doctors.get_time_off(time_off_id)
            visible_or_404(time_off, time_off is not None and time_off.doctor_id == doctor_id)
            await uow.doctors.delete_time_off(time_off_id)
            await uow.commit()


@dataclass(frozen=True, slots=True)
class Availability:
    doctor_id: UUID
    timezone: str
    slots: list[Span]


class GetAvailability:
    """Bookable slots, computed with the same domain code that validates a booking."""

    def __init__(self, uow: UnitOfWork, clock: Clock, config: ClinicConfig) -> None:
        self._uow, self._clock, self._config = uow, clock, config

    async def __call__(
        self, actor: Actor, doctor_id: UUID, date_from: date, date_to: date, duration_minutes: int
    ) -> Availability:
        days = (date_to - date_from).days + 1
        if days < 1:
            raise InvalidValue("date_to must not be before date_from.")
        if days > self._config.availability_max_days:
            raise RangeTooLong(
                f"At most {self._config.availability_max_days} days can be asked at once."
            )
        duration = timedelta(minutes=duration_minutes)
        zone = ZoneInfo(self._config.timezone)
        window = local_days(date_from, date_to, zone)
        async with self._uow as uow:
            doctor = visible_or_404(await uow.doctors.get(doctor_id))
            check_duration(window.start, window.start + duration)
            if not doctor.is_active:
                return Availability(doctor_id, self._config.timezone, [])
            weekly = await uow.doctors.get_schedule(doctor_id)
            busy = await uow.appointments.busy_spans(within=window, doctor_id=doctor_id)
            time_off = await uow.doctors.list_time_off(doctor_id, within=window)
        slots = free_slots(
            weekly,
            zone,
            date_from,
            date_to,
            duration,
            self._clock.now(),
            busy + [t.span for t in time_off],
        )
        return Availability(doctor_id, self._config.timezone, slots)
