"""One connection and one transaction per use-case call; rolled back unless committed."""

from __future__ import annotations

import contextlib
from types import TracebackType
from typing import Any, Self

from sqlalchemy import CursorResult, Executable
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from appointments.adapters.sqlalchemy import errors


def _reraise(error: Exception) -> None:
    """Raise the application's error for a database error, or the error itself."""
    translated = errors.translate(error)
    if translated is None:
        raise error
    raise translated from error


class Database:
    """The connection of one unit of work, with every database error translated.

    Pooled connections are not pinged on checkout (that costs three round trips on
    asyncpg, on every request). Instead, when the FIRST statement finds its connection
    dead (the database restarted while it sat in the pool), nothing has happened in the
    transaction yet, so a fresh connection takes over; SQLAlchemy has by then invalidated
    the rest of the pool too. Read-only units of work run in autocommit: no BEGIN and
    ROLLBACK round trips for requests that change nothing.
    """

    __slots__ = ("_engine", "_fresh", "_read_only", "connection")

    def __init__(self, engine: AsyncEngine, *, read_only: bool) -> None:
        self._engine, self._read_only = engine, read_only
        self._fresh = True
        self.connection: AsyncConnection | None = None

    async def open(self) -> None:
        try:
            connection = await self._engine.connect()
            self.connection = connection
            if self._read_only:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
            else:
                await connection.begin()
        except Exception as error:
            await self.close()
            _reraise(error)
        self._fresh = True

    async def execute(self, statement: Executable, parameters: Any = None) -> CursorResult[Any]:
        assert self.connection is not None, "statement outside `async with`"
        try:
            try:
                result = await self.connection.execute(statement, parameters)
            except DBAPIError as error:
                if not (self._fresh and error.connection_invalidated):
                    raise
                await self.close()
                await self.open()
                assert self.connection is not None
                result = await self.connection.execute(statement, parameters)
        except Exception as error:
            _reraise(error)
        self._fresh = False
        return result

    async def commit(self) -> None:
        assert self.connection is not None, "commit outside `async with`"
        if self._read_only:
            raise RuntimeError("a read-only unit of work cannot commit")
        try:
            await self.connection.commit()
        except Exception as error:
            _reraise(error)

    async def close(self) -> None:
        connection, self.connection = self.connection, None
        if connection is None:
            return
        # Closing rolls back whatever was not committed; a connection that died with the
        # database cannot be closed cleanly and is discarded by the pool instead.
        with contextlib.suppress(Exception):
            await connection.close()


class SqlUnitOfWork:
    def __init__(self, engine: AsyncEngine, *, read_only: bool = False) -> None:
        self._engine, self._read_only = engine, read_only
        self._db: Database | None = None

    @property
    def connection(self) -> AsyncConnection | None:
        return self._db.connection if self._db else None

    async def __aenter__(self) -> Self:
        # Imported here: the repositories module imports this one for `Database`.
        from appointments.adapters.sqlalchemy import repositories as repos

        db = Database(self._engine, read_only=self._read_only)
        await db.open()
        self._db = db
        self.users = repos.SqlUserRepository(db)
        self.patients = repos.SqlPatientRepository(db)
        self.departments = repos.SqlDepartmentRepository(db)
        self.doctors = repos.SqlDoctorRepository(db)
        self.appointments = repos.SqlAppointmentRepository(db)
        self.revoked_tokens = repos.SqlRevokedTokenRepository(db)
        self.login_failures = repos.SqlLoginFailureRepository(db)
        self.stats = repos.SqlStatsQueries(db)
        return self

    async def commit(self) -> None:
        assert self._db is not None, "commit outside `async with`"
        await self._db.commit()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        db, self._db = self._db, None
        if db is not None:
            await db.close()
