"""The connection of one unit of work, with every database error translated."""

from __future__ import annotations

import contextlib
from typing import Any, NoReturn

from sqlalchemy import CursorResult, Executable
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from appointments.adapters.sqlalchemy import errors


def _reraise(error: Exception) -> NoReturn:
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
    ROLLBACK round trips for requests that change nothing. So do `autocommit` ones, whose
    every statement is a whole change by itself (an atomic upsert): each commits as it
    runs, and `commit()` has nothing left to do.
    """

    __slots__ = ("_autocommit", "_engine", "_fresh", "_read_only", "connection")

    def __init__(self, engine: AsyncEngine, *, read_only: bool, autocommit: bool = False) -> None:
        self._engine, self._read_only = engine, read_only
        self._autocommit = read_only or autocommit
        self._fresh = True
        self.connection: AsyncConnection | None = None

    @property
    def dialect_name(self) -> str:
        """The dialect ("postgresql" or "sqlite"), known before a connection is open."""
        return self._engine.dialect.name

    async def open(self) -> None:
        try:
            connection = await self._engine.connect()
            self.connection = connection
            if self._autocommit:
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
        if self._autocommit:
            return  # every statement committed as it ran
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
