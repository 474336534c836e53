"""Idempotency keys (API.md; the IETF `Idempotency-Key` draft): a retried request runs once.

A request with a key first claims it, in a transaction of its own that commits before the
request runs, so every worker and instance sees the claim (the keys live in the database).
A repeat then gets the stored response, or 409 while the first still runs, or 422 when it
is not the same request (method, path, query or body differ: another fingerprint).

Responses of 500 and above are not kept: the key is released so a retry may run.

A claim still running after LEASE is taken to be abandoned (its process died) and may be
taken over. What remains is a window this cannot close: a process that dies after the
request's own transaction committed but before its response was stored leaves a claim
that, once the lease is over, lets a retry run the request a second time. Closing it would
take storing the response in the request's own transaction, inside every use-case.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from appointments.application.errors import (
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    InvalidIdempotencyKey,
)
from appointments.application.ports.repositories import StoredResponse
from appointments.application.ports.services import Clock
from appointments.application.ports.unit_of_work import UnitOfWork
from appointments.domain.text import Length

KEY = Length(1, 255)
# A running claim older than this is abandoned: no request of ours runs that long.
LEASE = timedelta(seconds=60)
PURGE_INTERVAL = timedelta(minutes=1)
ANONYMOUS = "anonymous"


def check_key(key: str) -> str:
    """The key if it is 1..255 printable ASCII characters (0x20-0x7E), else 400."""
    if not KEY.admits(key) or not all(" " <= c <= "~" for c in key):
        raise InvalidIdempotencyKey()
    return key


def scope_of(user_id: UUID | None) -> str:
    """Keys are the caller's own: one user never sees another's stored response."""
    return ANONYMOUS if user_id is None else f"user:{user_id}"


def fingerprint(method: str, path: str, query: bytes, body: bytes) -> str:
    """sha256 over the parts, each length-prefixed so no two requests hash alike by
    shifting bytes from one part into the next."""
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), query, body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class KeyedRequest:
    """A request that carries an idempotency key, as the key store knows it."""

    scope: str
    key: str
    fingerprint: str


class ClaimKey:
    """Before the request runs: None to run it (the key is now ours), or the stored
    response to replay instead."""

    def __init__(self, uow: UnitOfWork, clock: Clock, ttl_hours: int) -> None:
        self._uow, self._clock = uow, clock
        self._ttl = timedelta(hours=ttl_hours)

    async def __call__(self, request: KeyedRequest) -> StoredResponse | None:
        now = self._clock.now()
        async with self._uow as uow:
            held = await uow.idempotency.claim(
                request.scope,
                request.key,
                request.fingerprint,
                now=now,
                expires_at=now + self._ttl,
                abandoned_before=now - LEASE,
            )
            await uow.commit()
        if held is None:
            return None
        if held.fingerprint != request.fingerprint:
            raise IdempotencyKeyReused()
        if held.response is None:
            raise IdempotencyKeyInUse()
        return held.response


class FinishKey:
    """After the request ran: keep its response for repeats, or, for a 5xx (or no
    response at all: `None`), release the key so that a retry may run."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def __call__(self, request: KeyedRequest, response: StoredResponse | None) -> None:
        async with self._uow as uow:
            if response is None or response.status_code >= 500:
                await uow.idempotency.release(request.scope, request.key)
            else:
                await uow.idempotency.complete(request.scope, request.key, response)
            await uow.commit()


class PurgeSchedule:
    """When this process next purges expired keys: one per process (a Singleton), so the
    purge costs one DELETE a minute, not one per request."""

    def __init__(self, interval: timedelta = PURGE_INTERVAL) -> None:
        self._interval = interval
        self._next: datetime | None = None

    def due(self, now: datetime) -> bool:
        """True at most once per interval; the caller then purges."""
        if self._next is not None and now < self._next:
            return False
        self._next = now + self._interval
        return True


class PurgeExpiredKeys:
    """Forget expired keys, when due. Expired keys are already ignored by `claim`: this
    only keeps the table from growing. True if it purged."""

    def __init__(self, uow: UnitOfWork, clock: Clock, schedule: PurgeSchedule) -> None:
        self._uow, self._clock, self._schedule = uow, clock, schedule

    async def __call__(self) -> bool:
        now = self._clock.now()
        if not self._schedule.due(now):
            return False
        async with self._uow as uow:
            await uow.idempotency.purge_expired(now)
            await uow.commit()
        return True
