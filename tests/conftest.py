"""Shared fixtures: databases (SQLite always, PostgreSQL when reachable), containers, apps.

PostgreSQL tests skip with a visible reason when no server answers, unless
REQUIRE_POSTGRES=1 (as in CI), where they fail instead.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import pytest
from dependency_injector import providers
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from appointments.adapters.clock import FixedClock
from appointments.adapters.sqlalchemy.engine import create_engine
from appointments.adapters.sqlalchemy.schema import metadata
from appointments.container import Container
from appointments.entrypoints import migrations
from appointments.entrypoints.api.app import create_app
from appointments.settings import Settings

POSTGRES_SERVER_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
POSTGRES_TEST_DATABASE = os.environ.get("TEST_POSTGRES_DATABASE", "appointments_test")
REQUIRE_POSTGRES = os.environ.get("REQUIRE_POSTGRES") == "1"
TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _postgres_reachable() -> str | None:
    try:
        connection = await asyncpg.connect(_asyncpg_dsn(POSTGRES_SERVER_URL), timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        return f"{type(error).__name__}: {error}"
    await connection.close()
    return None


async def _recreate_postgres_database() -> str:
    connection = await asyncpg.connect(_asyncpg_dsn(POSTGRES_SERVER_URL), timeout=3)
    try:
        await connection.execute(f"DROP DATABASE IF EXISTS {POSTGRES_TEST_DATABASE} WITH (FORCE)")
        await connection.execute(f"CREATE DATABASE {POSTGRES_TEST_DATABASE}")
    finally:
        await connection.close()
    return (
        make_url(POSTGRES_SERVER_URL)
        .set(database=POSTGRES_TEST_DATABASE)
        .render_as_string(hide_password=False)
    )


@pytest.fixture(scope="session")
async def postgres_url() -> str:
    problem = await _postgres_reachable()
    if problem:
        message = f"PostgreSQL not reachable at {POSTGRES_SERVER_URL} ({problem})"
        if REQUIRE_POSTGRES:
            pytest.fail(f"{message} and REQUIRE_POSTGRES=1")
        pytest.skip(f"{message}; set TEST_POSTGRES_URL, or REQUIRE_POSTGRES=1 to fail instead")
    url = await _recreate_postgres_database()
    await asyncio.to_thread(migrations.upgrade, url)
    return url


@pytest.fixture(scope="session")
async def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path: Path = tmp_path_factory.mktemp("db") / "appointments.db"
    url = f"sqlite+aiosqlite:///{path}"
    await asyncio.to_thread(migrations.upgrade, url)
    return url


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test using it runs on SQLite and on PostgreSQL."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(name))


_engines: dict[str, AsyncEngine] = {}


async def clean(engine: AsyncEngine) -> None:
    """Empty every table. The audit trail refuses that by trigger: on PostgreSQL the
    session skips triggers (replica role, as a superuser may); SQLite's are dropped for
    the DELETE and put back as they were."""
    tables = [t.name for t in reversed(metadata.sorted_tables)]
    async with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            await connection.execute(text("SET LOCAL session_replication_role = replica"))
            await connection.execute(text(f"TRUNCATE {', '.join(tables)} CASCADE"))
            return
        guards = (
            await connection.execute(
                text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
            )
        ).all()
        for name, _ in guards:
            await connection.execute(text(f"DROP TRIGGER {name}"))
        for table in tables:
            await connection.execute(text(f"DELETE FROM {table}"))
        for _, sql in guards:
            await connection.execute(text(sql))


@pytest.fixture
async def engine(database_url: str) -> AsyncEngine:
    """A clean database for every test (tables emptied, schema kept)."""
    if database_url not in _engines:
        _engines[database_url] = create_engine(database_url)
    engine = _engines[database_url]
    await clean(engine)
    return engine


@pytest.fixture(scope="session", autouse=True)
async def _dispose_engines() -> AsyncIterator[None]:
    yield
    for engine in _engines.values():
        await engine.dispose()


def test_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": "test",
        "database_url": database_url,
        "secret_key": TEST_SECRET,
        # Cheap hashes keep the suite fast; production parameters are measured in bench/.
        "password_hash_memory_kib": 1024,
        "password_hash_time_cost": 1,
        # An app made in a test delivers nothing on its own; dispatcher tests run one.
        "dispatcher": "off",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@pytest.fixture
def clock() -> FixedClock:
    """A fixed 'now' shared by the app and the test (move it with `clock.advance`)."""
    return FixedClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def container(engine: AsyncEngine, database_url: str, clock: FixedClock) -> Iterator[Container]:
    container = Container()
    container.settings.override(providers.Object(test_settings(database_url)))
    container.engine.override(providers.Object(engine))
    container.clock.override(providers.Object(clock))
    yield container
    container.unwire()


_apps: dict[tuple[str, int], FastAPI] = {}


@pytest.fixture
def app(container: Container) -> FastAPI:
    """The app for this test's container. FastAPI prepares an app's routes on its first
    request (dependencies, models, for some 150 operations): a quarter of a second, most
    of a small test. So an app built for the same settings and engine serves every test
    that asks for one, each time handed that test's container: its routes and middleware
    look it up in app.state. Nothing else of the app outlives a test: it keeps no state
    of its own (its idempotency keys, tokens and rows are in the container and the
    database)."""
    key = (container.settings().model_dump_json(), id(container.engine()))
    if key not in _apps:
        _apps[key] = create_app(container)
    app = _apps[key]
    app.state.container = container
    return app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
