"""Creating users (shared by registration, admin and doctor creation) and admin management."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from appointments.application.actor import ADMIN_ONLY, Actor, visible_or_404
from appointments.application.ports import (
    Clock,
    Page,
    PageRequest,
    PasswordHasher,
    UnitOfWork,
    UserFilter,
)
from appointments.domain.clinic import Patient
from appointments.domain.errors import LastAdmin
from appointments.domain.users import (
    Role,
    User,
    check_full_name,
    check_password,
    check_username,
    normalize_email,
)


@dataclass(frozen=True, slots=True)
class NewUser:
    email: str
    username: str
    full_name: str
    password: str


@dataclass(frozen=True, slots=True)
class PatientDetails:
    phone: str | None = None
    date_of_birth: date | None = None


async def create_user(
    uow: UnitOfWork, hasher: PasswordHasher, clock: Clock, data: NewUser, role: Role
) -> User:
    """Validate, pre-check uniqueness (the database index is the real guard) and add."""
    email = normalize_email(data.email)
    username = check_username(data.username)
    await uow.users.email_or_username_taken(email, username)
    user = User(
        email=email,
        username=username,
        full_name=check_full_name(data.full_name),
        role=role,
        password_hash=await hasher.hash(check_password(data.password)),
        created_at=clock.now(),
    )
    await uow.users.add(user)
    return user


async def add_patient_record(
    uow: UnitOfWork, user: User, details: PatientDetails = PatientDetails()
) -> Patient:
    patient = Patient(
        full_name=user.full_name,
        created_at=user.created_at,
        user_id=user.id,
        email=user.email,
        phone=details.phone,
        date_of_birth=details.date_of_birth,
    )
    await uow.patients.add(patient)
    return patient


async def ensure_admin_remains(uow: UnitOfWork, user: User) -> None:
    """Refuse a change that takes the last active admin away. Locks the admin rows so two
    admins demoting each other concurrently cannot both pass."""
    if user.role is not Role.ADMIN or not user.is_active:
        return
    admins = await uow.users.active_admin_ids(lock=True)
    if admins == [user.id]:
        raise LastAdmin()


class ListUsers:
    roles = ADMIN_ONLY

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def __call__(self, actor: Actor, filters: UserFilter, page: PageRequest) -> Page[User]:
        actor.require(*self.roles)
        async with self._uow as uow:
            return await uow.users.search(filters, page)


class CreateUser:
    roles = ADMIN_ONLY

    def __init__(self, uow: UnitOfWork, hasher: PasswordHasher, clock: Clock) -> None:
        self._uow, self._hasher, self._clock = uow, hasher, clock

    async def __call__(self, actor: Actor, data: NewUser, role: Role) -> User:
        actor.require(*self.roles)
        async with self._uow as uow:
            user = await create_user(uow, self._hasher, self._clock, data, role)
            if role is Role.PATIENT:
                await add_patient_record(uow, user)
            await uow.commit()
            return user


class GetUser:
    roles = ADMIN_ONLY

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def __call__(self, actor: Actor, user_id: UUID) -> User:
        actor.require(*self.roles)
        async with self._uow as uow:
            return visible_or_404(await uow.users.get(user_id))


@dataclass(frozen=True, slots=True)
class UserChanges:
    full_name: str | None = None
    role: Role | None = None
    is_active: bool | None = None
    password: str | None = None


class UpdateUser:
    roles = ADMIN_ONLY

    def __init__(self, uow: UnitOfWork, hasher: PasswordHasher, clock: Clock) -> None:
        self._uow, self._hasher, self._clock = uow, hasher, clock

    async def __call__(self, actor: Actor, user_id: UUID, changes: UserChanges) -> User:
        actor.require(*self.roles)
        now = self._clock.now()
        async with self._uow as uow:
            user = visible_or_404(await uow.users.get(user_id))
            demoted = changes.role is not None and changes.role is not Role.ADMIN
            if demoted or changes.is_active is False:
                await ensure_admin_remains(uow, user)
            if changes.full_name is not None:
                user.full_name = check_full_name(changes.full_name)
            if changes.role is not None:
                user.role = changes.role
            if changes.password is not None:
                user.password_hash = await self._hasher.hash(check_password(changes.password))
                user.revoke_tokens(now)
            if changes.is_active is False and user.is_active:
                user.deactivate(now)
            elif changes.is_active is True:
                user.is_active = True
            await uow.users.save(user)
            await uow.commit()
            return user


class DeactivateUser:
    roles = ADMIN_ONLY

    def __init__(self, uow: UnitOfWork, clock: Clock) -> None:
        self._uow, self._clock = uow, clock

    async def __call__(self, actor: Actor, user_id: UUID) -> None:
        actor.require(*self.roles)
        async with self._uow as uow:
            user = visible_or_404(await uow.users.get(user_id))
            await ensure_admin_remains(uow, user)
            if user.is_active:
                user.deactivate(self._clock.now())
                await uow.users.save(user)
            await uow.commit()


async def retire(
    uow: UnitOfWork,
    now: datetime,
    user_id: UUID | None,
    reason: str,
    *,
    doctor_id: UUID | None = None,
    patient_id: UUID | None = None,
) -> None:
    """What deactivating a doctor or a patient brings along: their login is deactivated
    (tokens revoked) and their future scheduled or confirmed appointments are cancelled."""
    user = await uow.users.get(user_id) if user_id is not None else None
    if user is not None and user.is_active:
        user.deactivate(now)
        await uow.users.save(user)
    future = await uow.appointments.future_active(
        now=now, doctor_id=doctor_id, patient_id=patient_id
    )
    for appointment in future:
        appointment.cancel(reason, now)
        await uow.appointments.save(appointment)
