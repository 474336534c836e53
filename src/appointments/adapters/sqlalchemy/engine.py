"""Engine construction: one pool per process, shared by every unit of work."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

# aiosqlite logs every statement with its parameters (password hashes included) at DEBUG.
# Like SQLAlchemy does for its own loggers, cap it unless the operator configured it.
if logging.getLogger("aiosqlite").level == logging.NOTSET:
    logging.getLogger("aiosqlite").setLevel(logging.INFO)


# hide_parameters: a database error's text (which may reach a log line) never carries the
# statement's values: a password hash, a webhook secret, a patient's email.


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def create_engine(
    url: str, *, pool_size: int = 20, pool_timeout: float = 10, connect_timeout: float = 5
) -> AsyncEngine:
    if not is_sqlite(url):
        # `pool_size` is a hard cap (no overflow): past it a request queues for a free
        # connection (backpressure) instead of opening and closing one of its own, which
        # under load meant hundreds of new PostgreSQL sessions a minute. After
        # `pool_timeout` seconds of waiting it fails as database_unavailable (503).
        # No pool_pre_ping: a unit of work replaces a dead pooled connection on its first
        # statement (see database.Database), so the same process serves again once the
        # database is back, without three extra round trips on every checkout. The connect
        # timeout (asyncpg's default is 60 s) turns a silent network into a prompt 503.
        return create_async_engine(
            url,
            pool_size=pool_size,
            max_overflow=0,
            pool_timeout=pool_timeout,
            connect_args={"timeout": connect_timeout},
            hide_parameters=True,
        )
    engine = create_async_engine(url, connect_args={"timeout": 30}, hide_parameters=True)
    _serialise_sqlite_writes(engine)
    return engine


def _serialise_sqlite_writes(engine: AsyncEngine) -> None:
    """Every SQLite transaction starts with BEGIN IMMEDIATE, taking the write lock first.

    Check-then-insert (booking, unique names, last admin) is then serialised: the embedded
    database is single-process and one writer at a time is SQLite's model anyway. WAL keeps
    readers of committed data from blocking on a writer.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # the driver must not BEGIN by itself
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
