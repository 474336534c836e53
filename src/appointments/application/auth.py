"""Registration, login, token authentication, logout and password change."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from appointments.application.access import Actor
from appointments.application.config import ClinicConfig
from appointments.application.errors import (
    InvalidCredentials,
    NotAuthenticated,
    TooManyAttempts,
    WrongCurrentPassword,
)
from appointments.application.events import Event, Tracked, by
from appointments.application.ports.services import (
    Clock,
    IssuedToken,
    PasswordHasher,
    TokenService,
)
from appointments.application.ports.unit_of_work import UnitOfWork
from appointments.application.users import (
    NewUser,
    PatientDetails,
    add_patient_record,
    checked_user,
    create_user,
)
from appointments.domain.users import THROTTLE_KEY, Role, User, check_password


class RegisterPatient:
    """Self-registration: a PATIENT user and its patient record, in one transaction."""

    def __init__(self, uow: UnitOfWork, hasher: PasswordHasher, clock: Clock) -> None:
        self._uow, self._hasher, self._clock = uow, hasher, clock

    async def __call__(self, data: NewUser, details: PatientDetails) -> User:
        new = await checked_user(self._hasher, data)
        async with self._uow as uow:
            user = await create_user(
                uow, self._clock, new, Role.PATIENT, actor=None, action="user.registered"
            )
            await add_patient_record(uow, user, None, details)
            await uow.commit()
            return user


class Login:
    """Password login with a throttle shared by every worker (it lives in the database).

    The slow hash runs outside any transaction, so no connection is held while it
    computes. The attempt is counted by `counting`, an autocommit unit of work: its one
    write is atomic by itself, and a login saves the BEGIN and COMMIT round trips."""

    def __init__(
        self,
        uow: UnitOfWork,
        counting: UnitOfWork,
        hasher: PasswordHasher,
        tokens: TokenService,
        clock: Clock,
        config: ClinicConfig,
    ) -> None:
        self._uow, self._counting = uow, counting
        self._hasher, self._tokens, self._clock = hasher, tokens, clock
        self._max_failures = config.login_max_failures
        self._window = timedelta(seconds=config.login_window_seconds)

    async def __call__(self, login: str, password: str) -> IssuedToken:
        now = self._clock.now()
        async with self._counting as uow:
            user = await uow.users.find_by_login(login)
            # One counter per account, whether it is named by username or email; unknown
            # names are counted by the name given (cut to the length a key may have:
            # lower() can lengthen a name).
            key = f"user:{user.id}" if user else f"login:{login.strip().lower()}"
            key = key[: THROTTLE_KEY.max]
            # Every attempt counts BEFORE the slow hash: parallel guesses cannot all slip
            # under the limit while their hashes compute. A success clears the counter.
            attempts = await uow.login_failures.record(key, now, now - self._window)
        if attempts.count > self._max_failures:
            await self._failed(user)
            retry_at = attempts.first_failed_at + self._window
            raise TooManyAttempts(max(1, math.ceil((retry_at - now).total_seconds())))
        matches, new_hash = await self._hasher.verify(
            password, user.password_hash if user else None
        )
        if user is None or not matches or not user.is_active:
            await self._failed(user)
            raise InvalidCredentials()
        async with self._uow as uow:
            uow.record(Event("auth.login", user.id, by(Actor(user.id, user.role))))
            await uow.login_failures.clear(key)
            if new_hash:
                # Only the hash (writing back the row read before the slow verify could
                # undo a concurrent deactivation), and only if it is still the one verified.
                current = await _unchanged(uow, user)
                if current is not None:
                    current.password_hash = new_hash
                    await uow.users.save(current)
            await uow.commit()
        return self._tokens.issue(user, now)

    async def _failed(self, user: User | None) -> None:
        """A security event: recorded although the request fails."""
        async with self._uow as uow:
            uow.record(_login_failed(user))
            await uow.commit()


async def _unchanged(uow: UnitOfWork, user: User) -> User | None:
    """The user's row as it is now, locked until commit, if its password hash is still
    the one `user` was read with before a slow hash; None if the user is gone or the
    hash changed meanwhile (writing over it would undo that change)."""
    current = await uow.users.get(user.id, lock=True)
    if current is None or current.password_hash != user.password_hash:
        return None
    return current


def _login_failed(user: User | None) -> Event:
    """Names the account when the login matched one; never the name or password typed
    (a password typed into the name field is a common slip)."""
    return Event("auth.login_failed", user.id if user else None, None)


class Authenticate:
    """Bearer token -> Actor. The token is only a key: the user row decides (active? role?
    revoked?), read fresh on every request so revocation holds across all workers."""

    def __init__(self, uow: UnitOfWork, tokens: TokenService) -> None:
        self._uow, self._tokens = uow, tokens

    async def __call__(self, token: str) -> Actor:
        claims = self._tokens.decode(token)
        async with self._uow as uow:
            principal = await uow.users.load_principal(claims.user_id, claims.jti)
        if principal is None or principal.token_revoked or not principal.user.is_active:
            raise NotAuthenticated()
        valid_after = principal.user.tokens_valid_after
        if valid_after is not None and claims.issued_at < valid_after:
            raise NotAuthenticated()
        return Actor(
            user_id=principal.user.id,
            role=principal.user.role,
            patient_id=principal.patient_id,
            doctor_id=principal.doctor_id,
            claims=claims,
        )


@dataclass(frozen=True, slots=True)
class Me:
    user: User
    patient_id: UUID | None
    doctor_id: UUID | None


class GetMe:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def __call__(self, actor: Actor) -> Me:
        async with self._uow as uow:
            user = await uow.users.get(actor.user_id)
        if user is None:
            raise NotAuthenticated()
        return Me(user, actor.patient_id, actor.doctor_id)


class Logout:
    def __init__(self, uow: UnitOfWork, clock: Clock) -> None:
        self._uow, self._clock = uow, clock

    async def __call__(self, actor: Actor) -> None:
        if actor.claims is None:
            raise NotAuthenticated()
        async with self._uow as uow:
            await uow.revoked_tokens.purge_expired(self._clock.now())
            await uow.revoked_tokens.add(actor.claims.jti, actor.claims.expires_at)
            uow.record(Event("auth.logout", actor.user_id, by(actor)))
            await uow.commit()


class ChangePassword:
    def __init__(self, uow: UnitOfWork, hasher: PasswordHasher, clock: Clock) -> None:
        self._uow, self._hasher, self._clock = uow, hasher, clock

    async def __call__(self, actor: Actor, current_password: str, new_password: str) -> None:
        async with self._uow as uow:
            user = await uow.users.get(actor.user_id)
        if user is None:
            raise NotAuthenticated()
        # Both hashes outside any transaction, as in Login.
        matches, _ = await self._hasher.verify(current_password, user.password_hash)
        if not matches:
            raise WrongCurrentPassword()
        new_hash = await self._hasher.hash(check_password(new_password))
        async with self._uow as uow:
            current = await _unchanged(uow, user)
            if current is None:
                # Changed since it was verified (by another change, say): the password
                # given is no longer the current one, and the later change stands.
                raise WrongCurrentPassword()
            tracked = Tracked(current)
            current.set_password_hash(new_hash, self._clock.now())
            await uow.users.save(current)
            uow.record(tracked.event("user.password_changed", actor))
            await uow.commit()


class ProvisionAdmin:
    """Create an ADMIN from the operator's console (`appointments create-admin`): the
    console is trusted, so no actor is needed; this is how the first admin appears."""

    def __init__(self, uow: UnitOfWork, hasher: PasswordHasher, clock: Clock) -> None:
        self._uow, self._hasher, self._clock = uow, hasher, clock

    async def __call__(self, data: NewUser) -> User:
        new = await checked_user(self._hasher, data)
        async with self._uow as uow:
            user = await create_user(uow, self._clock, new, Role.ADMIN, actor=None)
            await uow.commit()
            return user
