"""Doctor records: created with their DOCTOR login, edited, deactivated with a cascade."""

from __future__ import annotations

from dataclasses import dataclass, fields
from uuid import UUID

from appointments.application.access import (
    ADMIN_ONLY,
    STAFF,
    Actor,
    Restricted,
    check_doctor_fields,
    check_may_manage_doctor,
    visible,
)
from appointments.application.deactivation import deactivate
from appointments.application.departments import department_must_exist
from appointments.application.events import Tracked, created
from appointments.application.ports.queries import DoctorFilter, Page, PageRequest
from appointments.application.ports.services import Clock, PasswordHasher
from appointments.application.ports.unit_of_work import UnitOfWork
from appointments.application.users import NewUser, checked_user, create_user, rename_person
from appointments.domain.changes import UNSET, Maybe
from appointments.domain.contact import check_full_name
from appointments.domain.doctors import Doctor
from appointments.domain.schedule import WeeklySchedule
from appointments.domain.users import Role


class CreateDoctor(Restricted, roles=ADMIN_ONLY):
    """The DOCTOR user and the doctor record in one transaction: a failure leaves neither.
    New doctors work the default week (WeeklySchedule.default)."""

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
        new = await checked_user(self._hasher, data)
        async with self._uow as uow:
            await department_must_exist(uow, department_id)
            user = await create_user(uow, self._clock, new, Role.DOCTOR, actor=actor)
            doctor = Doctor(
                user_id=user.id,
                full_name=user.full_name,
                email=user.email,
                department_id=department_id,
                specialization=specialization,
                phone=phone,
            )
            await uow.doctors.add(doctor, WeeklySchedule.default())
            uow.record(created("doctor.created", actor, doctor))
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
            return visible(await uow.doctors.get(doctor_id))


@dataclass(frozen=True, slots=True)
class DoctorChanges:
    full_name: Maybe[str] = UNSET
    department_id: Maybe[UUID] = UNSET
    specialization: Maybe[str] = UNSET
    phone: Maybe[str | None] = UNSET

    def sent(self) -> list[str]:
        return [f.name for f in fields(self) if getattr(self, f.name) is not UNSET]


class UpdateDoctor(Restricted, roles=STAFF):
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def __call__(self, actor: Actor, doctor_id: UUID, changes: DoctorChanges) -> Doctor:
        check_may_manage_doctor(actor, doctor_id)
        check_doctor_fields(actor, changes.sent())
        async with self._uow as uow:
            doctor = visible(await uow.doctors.get(doctor_id))
            tracked = Tracked(doctor)
            if changes.department_id is not UNSET:
                await department_must_exist(uow, changes.department_id)
                doctor.department_id = changes.department_id
            if changes.full_name is not UNSET:
                doctor.full_name = check_full_name(changes.full_name)
                user = visible(await uow.users.get(doctor.user_id))
                renamed = Tracked(user)
                await rename_person(uow, actor, user, doctor.full_name)
                uow.record(renamed.event("user.updated", actor))
            if changes.specialization is not UNSET:
                doctor.specialization = changes.specialization
            if changes.phone is not UNSET:
                doctor.phone = changes.phone
            await uow.doctors.save(doctor)
            uow.record(tracked.event("doctor.updated", actor))
            await uow.commit()
        return doctor


class DeactivateDoctor(Restricted, roles=ADMIN_ONLY):
    """Deactivates doctor and login, revokes their tokens and cancels their future
    active appointments, all in one transaction (domain/deactivation.py)."""

    def __init__(self, uow: UnitOfWork, clock: Clock) -> None:
        self._uow, self._clock = uow, clock

    async def __call__(self, actor: Actor, doctor_id: UUID) -> None:
        now = self._clock.now()
        async with self._uow as uow:
            # Locked first: a placement under way is waited for, then seen and cancelled.
            await deactivate(uow, actor, visible(await uow.doctors.get(doctor_id, lock=True)), now)
            await uow.commit()
