"""The shared security state: revoked tokens and the login throttle's failure counts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete

from appointments.adapters.sqlalchemy.repositories.base import SqlRepository, upsert
from appointments.adapters.sqlalchemy.tables import login_failures, revoked_tokens
from appointments.application.ports.queries import LoginFailures


class SqlRevokedTokenRepository(SqlRepository):
    async def add(self, jti: str, expires_at: datetime) -> None:
        """Idempotent, also when the same token is logged out twice at once."""
        statement = upsert(self._db, revoked_tokens).values(jti=jti, expires_at=expires_at)
        await self._db.execute(statement.on_conflict_do_nothing())

    async def purge_expired(self, now: datetime) -> None:
        await self._db.execute(delete(revoked_tokens).where(revoked_tokens.c.expires_at < now))


class SqlLoginFailureRepository(SqlRepository):
    async def record(
        self, key: str, now: datetime, window_started_after: datetime
    ) -> LoginFailures:
        """An atomic upsert: concurrent attempts on several workers all count."""
        # Expired windows are dropped first: failures for random usernames cannot pile up.
        await self._db.execute(
            delete(login_failures).where(login_failures.c.first_failed_at <= window_started_after)
        )
        statement = (
            upsert(self._db, login_failures)
            .values(key=key, count=1, first_failed_at=now)
            .on_conflict_do_update(
                index_elements=[login_failures.c.key],
                set_={"count": login_failures.c.count + 1},
            )
            .returning(login_failures.c.count, login_failures.c.first_failed_at)
        )
        # By key: a Row's `count` attribute is the tuple method, not the column.
        row = (await self._db.execute(statement)).one()._mapping
        return LoginFailures(row["count"], row["first_failed_at"])

    async def clear(self, key: str) -> None:
        await self._db.execute(delete(login_failures).where(login_failures.c.key == key))
