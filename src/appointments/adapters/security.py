"""Tokens (PyJWT, HS256) and password hashing (passlib API from libpass; argon2id)."""

from __future__ import annotations

import asyncio
import functools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

# No stubs are installed for passlib (the types-passlib package would provide them).
from passlib.context import CryptContext  # type: ignore[import-untyped]

from appointments.application.errors import NotAuthenticated
from appointments.application.ports.services import Clock, IssuedToken, TokenClaims
from appointments.domain.users import Role, User

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ["sub", "role", "jti", "iat", "exp"]


# Verified tokens remembered per process: a client sends the same token on every request.
VERIFIED_TOKENS_KEPT = 4096


class JwtTokenService:
    """Signs and checks access tokens. The algorithm is pinned on decode, so a token
    claiming `alg: none` or an asymmetric algorithm is refused outright.

    A token's signature and claims are checked once: the claims of the last
    VERIFIED_TOKENS_KEPT valid tokens are kept by the exact token text, so a client's next
    request costs no signature, base64 or JSON work. That is safe because the claims are a
    pure function of the text and the key; what can change (expiry, logout, deactivation,
    role) is checked on every request, expiry here and the rest against the user row."""

    def __init__(
        self, secret_key: str, expire_minutes: int, clock: Clock, leeway_seconds: int = 10
    ) -> None:
        self._key = secret_key.encode()
        self._ttl = timedelta(minutes=expire_minutes)
        self._clock = clock
        self._leeway = timedelta(seconds=leeway_seconds)
        # Only successes are kept (lru_cache does not keep a raised error).
        self._verified = functools.lru_cache(maxsize=VERIFIED_TOKENS_KEPT)(self._verify)

    def issue(self, user: User, now: datetime) -> IssuedToken:
        jti = uuid.uuid4().hex
        expires_at = now + self._ttl
        payload = {
            "sub": str(user.id),
            "role": user.role.value,
            "jti": jti,
            # Sub-second `iat`: a token issued right after a password change must not look
            # older than the change.
            "iat": now.timestamp(),
            "exp": int(expires_at.timestamp()),
        }
        token = jwt.encode(payload, self._key, algorithm=ALGORITHM)
        return IssuedToken(token, jti, expires_at, int(self._ttl.total_seconds()))

    def decode(self, token: str) -> TokenClaims:
        found = self._verified(token)
        if found.expires_at + self._leeway <= self._clock.now():
            raise NotAuthenticated("The token is invalid or has expired.")
        return found

    def _verify(self, token: str) -> TokenClaims:
        try:
            # Signature and claims presence by PyJWT; time checks against our Clock, so
            # the whole application agrees on what "now" is.
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                options={
                    "require": REQUIRED_CLAIMS,
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
            found = TokenClaims(
                user_id=uuid.UUID(str(claims["sub"])),
                role=Role(claims["role"]),
                jti=str(claims["jti"]),
                issued_at=datetime.fromtimestamp(float(claims["iat"]), UTC),
                expires_at=datetime.fromtimestamp(float(claims["exp"]), UTC),
            )
        except (jwt.PyJWTError, ValueError, TypeError, KeyError, OverflowError) as error:
            raise NotAuthenticated("The token is invalid or has expired.") from error
        return found


class PasslibPasswordHasher:
    """argon2id by default; bcrypt hashes are still accepted and upgraded on login.

    Hashing runs in worker threads so the event loop never blocks, and a semaphore bounds
    how many run at once: a login flood queues instead of exhausting memory (each argon2
    hash takes `memory_kib`).
    """

    def __init__(
        self,
        *,
        memory_kib: int = 19456,
        time_cost: int = 2,
        parallelism: int = 1,
        max_concurrent: int = 4,
    ) -> None:
        self._context = CryptContext(
            schemes=["argon2", "bcrypt"],
            deprecated=["bcrypt"],
            argon2__type="ID",
            argon2__memory_cost=memory_kib,
            argon2__time_cost=time_cost,
            argon2__parallelism=parallelism,
        )
        # Made on first use, in the worker thread: computing it here would block the event
        # loop of whichever request first builds the hasher for a whole hash.
        self._dummy_hash: str | None = None
        self._slots = asyncio.Semaphore(max_concurrent)

    async def hash(self, password: str) -> str:
        async with self._slots:
            return await asyncio.to_thread(self._context.hash, password)

    async def verify(self, password: str, password_hash: str | None) -> tuple[bool, str | None]:
        async with self._slots:
            return await asyncio.to_thread(self._verify, password, password_hash)

    def _verify(self, password: str, password_hash: str | None) -> tuple[bool, str | None]:
        try:
            if password_hash is None:
                if self._dummy_hash is None:
                    self._dummy_hash = self._context.hash(uuid.uuid4().hex)
                self._context.verify(password, self._dummy_hash)  # same cost as a real user
                return False, None
            matches, new_hash = self._context.verify_and_update(password, password_hash)
            return bool(matches), new_hash
        except (ValueError, TypeError):
            # e.g. a password over 72 bytes against a bcrypt hash, or a malformed hash:
            # a wrong password, never a server error.
            return False, None
