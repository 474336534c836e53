"""The shared security state: revoked tokens and the login throttle's failure counts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, case, delete, select
from sqlalchemy.sql.dml import ReturningInsert

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


def _attempt(dialect: str) -> ReturningInsert[int, datetime]:
    """Count an attempt on a key: a window that started before `window` starts again at
    one. On PostgreSQL the statement also drops the other keys' expired windows (failures
    for random usernames cannot pile up); SQLite takes no DELETE in a WITH."""
    t = login_failures
    expired = t.c.first_failed_at <= bindparam("window")
    statement = upsert(dialect, t).values(
        key=bindparam("key"), count=1, first_failed_at=bindparam("now")
    )
    restarted = case((expired, statement.excluded.first_failed_at), else_=t.c.first_failed_at)
    statement = statement.on_conflict_do_update(
        index_elements=[t.c.key],
        set_={"count": case((expired, 1), else_=t.c.count + 1), "first_failed_at": restarted},
    )
    if dialect == "postgresql":
        statement = statement.add_cte(_SWEEP.cte("swept"))
    return statement.returning(t.c.count, t.c.first_failed_at)


# Rows another attempt holds are skipped, not waited for: two attempts, each holding its
# own key's row and sweeping the other's, would deadlock. A skipped row goes next time.
_SWEEP = delete(login_failures).where(
    login_failures.c.key.in_(
        select(login_failures.c.key)
        .where(
            login_failures.c.first_failed_at <= bindparam("window"),
            login_failures.c.key != bindparam("key"),
        )
        .with_for_update(skip_locked=True)
    )
)
_ATTEMPT = {dialect: _attempt(dialect) for dialect in ("postgresql", "sqlite")}
_CLEAR = delete(login_failures).where(login_failures.c.key == bindparam("cleared_key"))


class SqlLoginFailureRepository(SqlRepository):
    async def record(
        self, key: str, now: datetime, window_started_after: datetime
    ) -> LoginFailures:
        """An atomic upsert: concurrent attempts on several workers all count."""
        values = {"key": key, "now": now, "window": window_started_after}
        dialect = self._db.dialect_name
        if dialect != "postgresql":
            await self._db.execute(_SWEEP, values)
        # By key: a Row's `count` attribute is the tuple method, not the column.
        row = (await self._db.execute(_ATTEMPT[dialect], values)).one()._mapping
        return LoginFailures(row["count"], row["first_failed_at"])

    async def clear(self, key: str) -> None:
        """With the commit: on PostgreSQL in the statement of its audit event."""
        await self._db.later(_CLEAR, {"cleared_key": key})
