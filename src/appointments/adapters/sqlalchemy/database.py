"""The connection of one unit of work, with every database error translated."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, NoReturn

from sqlalchemy import CursorResult, Executable, UpdateBase
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from appointments.adapters.sqlalchemy import errors


def _reraise(error: Exception) -> NoReturn:
    """Raise the application's error for a database error, or the error itself."""
    translated = errors.translate(error)
    if translated is None:
        raise error
    raise translated from error


@dataclass(slots=True)
class _Parked:
    """A request's slot for the connection authentication hands over to the use-case."""

    engine: AsyncEngine | None = None
    connection: AsyncConnection | None = None

    def take(self, engine: AsyncEngine) -> AsyncConnection | None:
        if self.engine is not engine:
            return None
        connection, self.connection, self.engine = self.connection, None, None
        return connection

    async def release(self) -> None:
        connection, self.connection, self.engine = self.connection, None, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()


_PARKED: ContextVar[_Parked | None] = ContextVar("parked_connection", default=None)


@contextlib.asynccontextmanager
async def one_connection_per_request() -> AsyncIterator[None]:
    """Within it, the connection a `hand_over` unit of work used (authentication's) is not
    returned to the pool but kept for the next unit of work (the use-case's): a request
    checks out one connection, not two, and never holds two at once. Whatever is still
    kept at the end goes back to the pool."""
    slot = _Parked()
    token = _PARKED.set(slot)
    try:
        yield
    finally:
        _PARKED.reset(token)
        await slot.release()


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

    A `hand_over` database (read-only) leaves its connection to the next one of the same
    request (see one_connection_per_request) instead of returning it to the pool.

    A `later` write waits for the next statement, which it goes out before, or for the
    commit, whose records it may go out with (records.py).
    """

    __slots__ = (
        "_autocommit",
        "_engine",
        "_fresh",
        "_hand_over",
        "_later",
        "_read_only",
        "connection",
    )

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        read_only: bool,
        autocommit: bool = False,
        hand_over: bool = False,
    ) -> None:
        self._engine, self._read_only = engine, read_only
        self._autocommit = read_only or autocommit
        assert read_only or not hand_over, "only a connection outside a transaction is kept"
        self._hand_over = hand_over
        self._fresh = True
        self._later: tuple[UpdateBase, dict[str, Any]] | None = None
        self.connection: AsyncConnection | None = None

    @property
    def dialect_name(self) -> str:
        """The dialect ("postgresql" or "sqlite"), known before a connection is open."""
        return self._engine.dialect.name

    async def open(self) -> None:
        slot = _PARKED.get()
        kept = slot.take(self._engine) if slot is not None else None
        try:
            # A kept connection is in autocommit (it was a hand_over one's); a new one in
            # the pool's default mode. The mode is switched only when it differs.
            connection = kept or await self._engine.connect()
            self.connection = connection
            if self._autocommit:
                if kept is None:
                    await connection.execution_options(isolation_level="AUTOCOMMIT")
            else:
                if kept is not None:
                    # SQLAlchemy "began" even in autocommit; ending that sends nothing.
                    await connection.rollback()
                    default = self._engine.dialect.default_isolation_level
                    await connection.execution_options(isolation_level=default)
                await connection.begin()
        except Exception as error:
            await self.close()
            _reraise(error)
        self._fresh = True

    async def later(self, statement: UpdateBase, parameters: dict[str, Any]) -> None:
        """Run a write before the next statement or with the commit, whichever comes
        first (records.py may fold it into the records' statement: no bind name may be
        a column's, which SQLAlchemy would take for a value of every INSERT there); what
        refuses it is raised from there."""
        await self.write_later()
        self._later = (statement, parameters)
        if self._autocommit:
            await self.write_later()  # there is no commit to wait for

    def take_later(self) -> tuple[UpdateBase, dict[str, Any]] | None:
        """The write `later` left, now the caller's to run."""
        later, self._later = self._later, None
        return later

    async def write_later(self) -> None:
        later = self.take_later()
        if later is not None:
            await self.execute(*later)

    async def execute(self, statement: Executable, parameters: Any = None) -> CursorResult[Any]:
        assert self.connection is not None, "statement outside `async with`"
        if self._later is not None:
            await self.write_later()
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
        await self.write_later()
        try:
            await self.connection.commit()
        except Exception as error:
            _reraise(error)

    async def close(self) -> None:
        connection, self.connection, self._later = self.connection, None, None
        if connection is None:
            return
        slot = _PARKED.get() if self._hand_over else None
        if slot is not None and slot.connection is None and not connection.invalidated:
            slot.engine, slot.connection = self._engine, connection
            return
        # Closing rolls back whatever was not committed; a connection that died with the
        # database cannot be closed cleanly and is discarded by the pool instead.
        with contextlib.suppress(Exception):
            await connection.close()
