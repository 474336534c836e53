"""Creating users (shared by registration, admin and doctor creation) and admin management."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from appointments.application.access import ADMIN_ONLY, Actor, Restricted, visible
from appointments.application.events import Tracked, created
from appointments.application.ports.queries import Page, PageRequest, UserFilter
from appointments.application.ports.services import Clock, PasswordHasher
from appointments.application.ports.unit_of_work import UnitOfWork
from appointments.domain.changes import UNSET, Maybe
from appointments.domain.contact import check_full_name, normalize_email
from appointments.domain.patients import Patient
from appointments.domain.users import (
    Role,
    User,
    check_admin_remains,
    check_password,
    check_username,
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


@dataclass(frozen=True, slots=True)
class CheckedUser:
    """A new user's fields, checked, and the password hashed."""

    email: str
    username: str
    full_name: str
    password_hash: str


async def checked_user(hasher: PasswordHasher, data: NewUser) -> CheckedUser:
    """Every field checked, then the password hashed. Before any transaction: no pooled
    connection (nor, on SQLite, the write lock) is held while the slow hash computes."""
    email = normalize_email(data.email)
    username = check_username(data.username)
    full_name = check_full_name(data.full_name)
    password = check_password(data.password)
    return CheckedUser(email, username, full_name, await hasher.hash(password))


async def create_user(
    uow: UnitOfWork,
    clock: Clock,
    new: CheckedUser,
    role: Role,
    *,
    actor: Actor | None,
    action: str = "user.created",
) -> User:
    """Pre-check uniqueness (the database index is the real guard), add and record.
    `actor` None: the new user is their own actor (registration), or the operator's
    console is (create-admin)."""
    await uow.users.email_or_username_taken(new.email, new.username)
    user = User(
        email=new.email,
        username=new.username,
        full_name=new.full_name,
        role=role,
        password_hash=new.password_hash,
        created_at=clock.now(),
    )
    await uow.users.add(user)
    uow.record(created(action, actor or _self_service(user, action), user))
    return user


def _self_service(user: User, action: str) -> Actor | None:
    """Who registers is the new user; the console that creates an admin is nobody's."""
    return Actor(user.id, user.role) if action == "user.registered" else None


async def add_patient_record(
    uow: UnitOfWork, user: User, actor: Actor | None, details: PatientDetails = PatientDetails()
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
    uow.record(created("patient.created", actor or Actor(user.id, user.role), patient))
    return patient


async def rename_person(uow: UnitOfWork, actor: Actor, user: User, full_name: str) -> None:
    """A person has one name: renaming a login renames its patient record, and the other
    way round (a doctor's name is read from the login, so nothing else to do there). The
    caller records the change of `user`; the patient record's is recorded here."""
    user.full_name = full_name
    await uow.users.save(user)
    patient = await uow.patients.get_by_user(user.id)
    if patient is not None and patient.full_name != full_name:
        tracked = Tracked(patient)
        patient.full_name = full_name
        await uow.patients.save(patient)
        uow.record(tracked.event("patient.updated", actor))


async def _check_admin_remains(uow: UnitOfWork, user: User) -> None:
    """Locks the admin rows, so two admins demoting each other cannot both pass."""
    if user.role is Role.ADMIN and user.is_active:
        check_admin_remains(user, await uow.users.active_admin_ids(lock=True))


class ListUsers(Restricted, roles=ADMIN_ONLY):
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def __call__(self, actor: Actor, filters: UserFilter, page: PageRequest) -> Page[User]:
        async with self._uow as uow:
            return await uow.users.search(filters, page)


class CreateUser(Restricted, roles=ADMIN_ONLY):
    def __init__(self, uow: UnitOfWork, hasher: PasswordHasher, clock: Clock) -> None:
        self._uow, self._hasher, self._clock = uow, hasher, clock

    async def __call__(self, actor: Actor, data: NewUser, role: Role) -> User:
        new = await checked_user(self._hasher, data)
        async with self._uow as uow:
            user = await create_user(uow, self._clock, new, role, actor=actor)
            if role is Role.PATIENT:
                await add_patient_record(uow, user, actor)
            await uow.commit()
            return user


class GetUser(Restricted, roles=ADMIN_ONLY):
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def __call__(self, actor: Actor, user_id: UUID) -> User:
        async with self._uow as uow:
            return visible(await uow.users.get(user_id))


@dataclass(frozen=True, slots=True)
class UserChanges:
    full_name: Maybe[str] = UNSET
    role: Maybe[Role] = UNSET
    is_active: Maybe[bool] = UNSET
    password: Maybe[str] = UNSET


class UpdateUser(Restricted, roles=ADMIN_ONLY):
    def __init__(self, uow: UnitOfWork, hasher: PasswordHasher, clock: Clock) -> None:
        self._uow, self._hasher, self._clock = uow, hasher, clock

    async def __call__(self, actor: Actor, user_id: UUID, changes: UserChanges) -> User:
        now = self._clock.now()
        new_hash = None  # hashed before the transaction, as in checked_user
        if changes.password is not UNSET:
            new_hash = await self._hasher.hash(check_password(changes.password))
        async with self._uow as uow:
            user = visible(await uow.users.get(user_id))
            tracked, was_active = Tracked(user), user.is_active
            demoted = changes.role is not UNSET and changes.role is not Role.ADMIN
            if demoted or changes.is_active is False:
                await _check_admin_remains(uow, user)
            full_name = UNSET if changes.full_name is UNSET else check_full_name(changes.full_name)
            if changes.role is not UNSET:
                user.role = changes.role
            if new_hash is not None:
                user.set_password_hash(new_hash, now)
            if changes.is_active is False:
                user.deactivate(now)
            elif changes.is_active is True:
                user.is_active = True
            if full_name is not UNSET:
                await rename_person(uow, actor, user, full_name)
            await uow.users.save(user)
            deactivated = changes.is_active is False and was_active
            uow.record(tracked.event("user.deactivated" if deactivated else "user.updated", actor))
            await uow.commit()
            return user


class DeactivateUser(Restricted, roles=ADMIN_ONLY):
    def __init__(self, uow: UnitOfWork, clock: Clock) -> None:
        self._uow, self._clock = uow, clock

    async def __call__(self, actor: Actor, user_id: UUID) -> None:
        async with self._uow as uow:
            user = visible(await uow.users.get(user_id))
            await _check_admin_remains(uow, user)
            if user.is_active:
                tracked = Tracked(user)
                user.deactivate(self._clock.now())
                await uow.users.save(user)
                uow.record(tracked.event("user.deactivated", actor))
            await uow.commit()
