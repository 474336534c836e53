"""One connection and one transaction per use-case call; rolled back unless committed."""

from __future__ import annotations

import contextlib
from types import TracebackType
from typing import Any, Self

from sqlalchemy import CursorResult, Executable
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from appointments.adapters.sqlalchemy import errors


class Database:
    """The open connection, with every database error translated on the way out."""

    __slots__ = ("connection",)

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection

    async def execute(self, statement: Executable, parameters: Any = None) -> CursorResult[Any]:
        try:
            return await self.connection.execute(statement, parameters)
        except Exception as error:
            if (translated := errors.translate(error)) is not None:
                raise translated from error
            raise


class SqlUnitOfWork:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._connection: AsyncConnection | None = None

    async def __aenter__(self) -> Self:
        # Imported here: the repositories module imports this one for `Database`.
        from appointments.adapters.sqlalchemy import repositories as repos

        try:
            self._connection = await self._engine.connect()
            await self._connection.begin()
        except Exception as error:
            await self._close()
            if (translated := errors.translate(error)) is not None:
                raise translated from error
            raise
        db = Database(self._connection)
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
        assert self._connection is not None, "commit outside `async with`"
        try:
            await self._connection.commit()
        except Exception as error:
            if (translated := errors.translate(error)) is not None:
                raise translated from error
            raise

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._close()

    async def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        # Closing rolls back whatever was not committed; a connection that died with the
        # database cannot be closed cleanly and is discarded by the pool instead.
        with contextlib.suppress(Exception):
            await connection.close()
