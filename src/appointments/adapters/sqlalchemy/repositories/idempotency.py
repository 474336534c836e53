"""Idempotency keys: the claim is one atomic upsert, so of any number of concurrent
requests with one key (on any worker or host) exactly one gets to run."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, delete, or_, select, update

from appointments.adapters.sqlalchemy.repositories.base import SqlRepository, upsert
from appointments.adapters.sqlalchemy.tables import idempotency_keys
from appointments.application.ports.repositories import KeyClaim, StoredResponse

t = idempotency_keys


class SqlIdempotencyRepository(SqlRepository):
    async def claim(
        self,
        scope: str,
        key: str,
        fingerprint: str,
        *,
        now: datetime,
        expires_at: datetime,
        abandoned_before: datetime,
    ) -> KeyClaim | None:
        fresh = {
            "fingerprint": fingerprint,
            "claimed_at": now,
            "expires_at": expires_at,
            "status_code": None,
            "headers": None,
            "body": None,
        }
        statement = (
            upsert(self._db, t)
            .values(scope=scope, key=key, **fresh)
            .on_conflict_do_update(
                index_elements=[t.c.scope, t.c.key],
                set_=fresh,
                # Take over only what nobody holds any more.
                where=or_(
                    t.c.expires_at <= now,
                    and_(t.c.status_code.is_(None), t.c.claimed_at < abandoned_before),
                ),
            )
            .returning(t.c.scope)
        )
        held = select(t.c.fingerprint, t.c.status_code, t.c.headers, t.c.body).where(
            t.c.scope == scope, t.c.key == key
        )
        for _ in range(2):
            if (await self._db.execute(statement)).first() is not None:
                return None
            row = (await self._db.execute(held)).first()
            if row is not None:
                break
            # Released (its request failed) between the two statements: claim again.
        else:
            return KeyClaim(fingerprint, None)  # released and re-claimed meanwhile: in use
        if row.status_code is None:
            return KeyClaim(row.fingerprint, None)
        headers = [(str(name), str(value)) for name, value in row.headers]
        return KeyClaim(row.fingerprint, StoredResponse(row.status_code, headers, row.body))

    async def complete(self, scope: str, key: str, response: StoredResponse) -> None:
        await self._db.execute(
            update(t)
            .where(t.c.scope == scope, t.c.key == key, t.c.status_code.is_(None))
            .values(
                status_code=response.status_code,
                headers=[list(h) for h in response.headers],
                body=response.body,
            )
        )

    async def release(self, scope: str, key: str) -> None:
        await self._db.execute(
            delete(t).where(t.c.scope == scope, t.c.key == key, t.c.status_code.is_(None))
        )

    async def purge_expired(self, now: datetime) -> None:
        await self._db.execute(delete(t).where(t.c.expires_at <= now))
