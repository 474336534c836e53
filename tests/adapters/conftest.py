"""Backends, builders and fixtures for the adapter tests.

The repository and unit-of-work tests state the ports' contract, so they run on every
backend: the in-memory fake, SQLite and PostgreSQL. A test asks for `backend` (or `seed`)
and gets each in turn. A test that reaches the database itself (it asks for `engine`,
`database_url` or the `container`: raw SQL, drivers, concurrency) runs on SQLite and
PostgreSQL only. `on(...)` (and `postgres_only`, `sqlite_only`) narrows either further.

Rows are written straight through the repositories (no password hashing, no use-case
pre-checks), so a test controls exactly what is stored.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import pytest
from sqlalchemy import Executable, Select, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from appointments.adapters.clock import FixedClock
from appointments.adapters.memory.state import MemoryStore
from appointments.adapters.memory.unit_of_work import MemoryUnitOfWork
from appointments.adapters.sqlalchemy.tables import appointments, metadata
from appointments.adapters.sqlalchemy.unit_of_work import SqlUnitOfWork
from appointments.application.ports.unit_of_work import UnitOfWork
from appointments.domain.appointments import ACTIVE_STATUSES, Appointment, Status
from appointments.domain.departments import Department
from appointments.domain.doctors import Doctor
from appointments.domain.patients import Patient
from appointments.domain.schedule import WeeklySchedule
from appointments.domain.users import Role, User
from tests.conftest import POSTGRES_SERVER_URL, _asyncpg_dsn

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
SCRATCH_PREFIX = "appt_adapters_"

BACKENDS = ("memory", "sqlite", "postgres")
SQL_BACKENDS = ("sqlite", "postgres")


def on(*names: str) -> pytest.MarkDecorator:
    """Run a test on these backends only."""
    return pytest.mark.parametrize("backend_name", names, indirect=True)


postgres_only = on("postgres")
sqlite_only = on("sqlite")

ACTIVE = sorted(s.value for s in ACTIVE_STATUSES)
_counter = itertools.count(1)


def _narrowed(metafunc: pytest.Metafunc) -> bool:
    for mark in metafunc.definition.iter_markers("parametrize"):
        names = mark.args[0]
        if "backend_name" in (names.split(",") if isinstance(names, str) else names):
            return True
    return False


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every backend for a test of the ports, SQLite and PostgreSQL for one that reaches
    the database itself (its fixtures need `database_url`), unless the test says `on(...)`."""
    if "backend_name" not in metafunc.fixturenames or _narrowed(metafunc):
        return
    touches_sql = "database_url" in metafunc.fixturenames
    metafunc.parametrize("backend_name", SQL_BACKENDS if touches_sql else BACKENDS, indirect=True)


@pytest.fixture
def backend_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(request: pytest.FixtureRequest, backend_name: str) -> str:
    """The database of this test's backend (shadows the session-wide one here)."""
    if backend_name not in SQL_BACKENDS:
        pytest.fail(f"{request.node.name} uses the database itself: it cannot run on memory")
    return str(request.getfixturevalue(f"{backend_name}_url"))


@dataclass
class Backend:
    """One implementation of the ports: units of work over empty storage."""

    name: str
    engine: AsyncEngine | None = None
    store: MemoryStore | None = None

    def uow(
        self,
        *,
        read_only: bool = False,
        autocommit: bool = False,
        clock: FixedClock | None = None,
    ) -> UnitOfWork:
        """`clock` stamps the events it records (the system's if None)."""
        modes = {"read_only": read_only, "autocommit": autocommit}
        if self.engine is not None:
            return SqlUnitOfWork(self.engine, clock=clock, **modes)
        assert self.store is not None
        return MemoryUnitOfWork(self.store, clock=clock, **modes)

    async def stored(self, table: str) -> int:
        """How many rows `table` holds in committed storage, read past the repositories."""
        assert table in metadata.tables, table
        if self.engine is not None:
            return await count_rows(self.engine, f"SELECT count(*) FROM {table}")
        assert self.store is not None
        return len(getattr(self.store.state, table))


@pytest.fixture
def backend(request: pytest.FixtureRequest, backend_name: str) -> Backend:
    """Empty storage of this test's backend; on SQL, the database of `engine`."""
    if backend_name == "memory":
        return Backend(backend_name, store=MemoryStore())
    # Looked up, not requested: only SQL backends need (and clean) a database.
    engine: AsyncEngine = request.getfixturevalue("engine")
    return Backend(backend_name, engine=engine)


def unique(prefix: str) -> str:
    return f"{prefix}{next(_counter)}x{uuid.uuid4().hex[:6]}"


def next_working_day(now: datetime, at: int = 10) -> datetime:
    """`at` o'clock UTC on the first Monday-Friday strictly after `now`'s date."""
    day = now.date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day, time(at), tzinfo=UTC)


@dataclass
class Seed:
    """Writes rows through the repositories, one committed unit of work per call."""

    backend: Backend
    clock: FixedClock

    def uow(self) -> UnitOfWork:
        return self.backend.uow()

    def new_user(self, role: Role = Role.PATIENT, name: str | None = None) -> User:
        username = name or unique("user")
        return User(
            email=f"{username}@example.com",
            username=username,
            full_name=f"Full {username}",
            role=role,
            password_hash="not-a-real-hash",
            created_at=self.clock.now(),
        )

    async def user(self, role: Role = Role.PATIENT, name: str | None = None) -> User:
        user = self.new_user(role, name)
        async with self.uow() as uow:
            await uow.users.add(user)
            await uow.commit()
        return user

    async def patients(self, count: int, *, with_login: bool = False) -> list[Patient]:
        made: list[Patient] = []
        async with self.uow() as uow:
            for _ in range(count):
                name = unique("patient")
                user_id = None
                if with_login:
                    user = self.new_user(Role.PATIENT, name)
                    await uow.users.add(user)
                    user_id = user.id
                patient = Patient(
                    full_name=f"Patient {name}",
                    created_at=self.clock.now(),
                    user_id=user_id,
                    email=f"{name}@example.com",
                )
                await uow.patients.add(patient)
                made.append(patient)
            await uow.commit()
        return made

    async def patient(self, *, with_login: bool = False) -> Patient:
        return (await self.patients(1, with_login=with_login))[0]

    async def department(self, name: str | None = None) -> Department:
        department = Department(name=name or unique("Department "), description="desc")
        async with self.uow() as uow:
            await uow.departments.add(department)
            await uow.commit()
        return department

    async def doctors(
        self,
        count: int,
        department: Department | None = None,
        schedule: WeeklySchedule | None = None,
    ) -> list[Doctor]:
        department = department or await self.department()
        made: list[Doctor] = []
        async with self.uow() as uow:
            for _ in range(count):
                user = self.new_user(Role.DOCTOR, unique("doctor"))
                await uow.users.add(user)
                doctor = Doctor(
                    user_id=user.id,
                    full_name=user.full_name,
                    email=user.email,
                    department_id=department.id,
                    specialization="General practice",
                )
                await uow.doctors.add(doctor, schedule or WeeklySchedule.default())
                made.append(doctor)
            await uow.commit()
        return made

    async def doctor(self, department: Department | None = None) -> Doctor:
        return (await self.doctors(1, department))[0]

    def new_appointment(
        self,
        doctor: Doctor,
        patient: Patient,
        starts_at: datetime,
        minutes: int = 30,
        status: Status = Status.SCHEDULED,
    ) -> Appointment:
        return Appointment(
            patient_id=patient.id,
            doctor_id=doctor.id,
            department_id=doctor.department_id,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=minutes),
            created_at=self.clock.now(),
            updated_at=self.clock.now(),
            status=status,
        )

    async def appointment(
        self,
        doctor: Doctor,
        patient: Patient,
        starts_at: datetime,
        minutes: int = 30,
        status: Status = Status.SCHEDULED,
    ) -> Appointment:
        appointment = self.new_appointment(doctor, patient, starts_at, minutes, status)
        async with self.uow() as uow:
            await uow.appointments.add(appointment)
            await uow.commit()
        return appointment


@pytest.fixture
def seed(backend: Backend, clock: FixedClock) -> Seed:
    return Seed(backend, clock)


async def commit_with(backend: Backend, action: Callable[[UnitOfWork], Awaitable[object]]) -> None:
    """Run `action` in a fresh unit of work and commit it."""
    async with backend.uow() as uow:
        await action(uow)
        await uow.commit()


async def count_rows(engine: AsyncEngine, sql: str | Executable, **params: object) -> int:
    """A count straight from the database (raw SQL, or a Core query for typed values)."""
    statement = text(sql) if isinstance(sql, str) else sql
    async with engine.connect() as connection:
        return int((await connection.execute(statement, params)).scalar_one())


def active_appointments(
    *, doctor_id: UUID | None = None, patient_id: UUID | None = None
) -> Select[Any]:
    query = select(func.count()).select_from(appointments).where(appointments.c.status.in_(ACTIVE))
    if doctor_id is not None:
        query = query.where(appointments.c.doctor_id == doctor_id)
    if patient_id is not None:
        query = query.where(appointments.c.patient_id == patient_id)
    return query


# --- scratch databases (migrations, CLI) ---------------------------------------------


async def _admin_execute(*statements: str) -> None:
    connection = await asyncpg.connect(_asyncpg_dsn(POSTGRES_SERVER_URL), timeout=5)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture
async def empty_postgres_url(postgres_url: str) -> AsyncIterator[str]:
    """A brand-new PostgreSQL database with no schema, dropped afterwards.

    Depends on `postgres_url` for its reachability check (skip, or fail with
    REQUIRE_POSTGRES=1)."""
    name = f"{SCRATCH_PREFIX}{uuid.uuid4().hex[:12]}"
    await _admin_execute(f"CREATE DATABASE {name}")
    try:
        yield make_url(POSTGRES_SERVER_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        await _admin_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def empty_sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database_url(request: pytest.FixtureRequest) -> str:
    """A database with no schema at all, on SQLite and on PostgreSQL."""
    name = "empty_sqlite_url" if request.param == "sqlite" else "empty_postgres_url"
    return str(request.getfixturevalue(name))


def run_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment for a child process: this one's, pointed at `database_url`."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "ENVIRONMENT"}}
    env.update(
        DATABASE_URL=database_url,
        PASSWORD_HASH_MEMORY_KIB="1024",
        PASSWORD_HASH_TIME_COST="1",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


async def run(
    command: Sequence[str],
    *,
    env: dict[str, str],
    cwd: Path,
    stdin: str = "",
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run a child process off the event loop, bounded by `timeout` seconds."""
    return await asyncio.to_thread(
        subprocess.run,
        list(command),
        input=stdin,
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def isolated_cwd(tmp_path: Path) -> Path:
    """A working directory without `.env` or `alembic.ini`, for the console scripts."""
    work = tmp_path / "cwd"
    work.mkdir()
    return work
