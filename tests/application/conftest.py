"""Use-case tests on the in-memory adapters, wired by the real container.

The `container` fixture here shadows the database one in tests/conftest.py: its `uow` makes
a MemoryUnitOfWork over one MemoryStore per test, so nothing in this directory touches a
database. Use-cases come from the container exactly as in production.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from dependency_injector import providers

from appointments.adapters.clock import FixedClock
from appointments.adapters.memory.state import MemoryState, MemoryStore
from appointments.adapters.memory.unit_of_work import MemoryUnitOfWork
from appointments.application.access import Actor
from appointments.application.appointments import BookingRequest
from appointments.application.patients import PatientChanges
from appointments.application.users import NewUser, PatientDetails
from appointments.container import Container
from appointments.domain.appointments import Appointment
from appointments.domain.departments import Department
from appointments.domain.patients import Patient
from appointments.domain.users import User
from tests.conftest import test_settings

PASSWORD = "correct-horse-battery"
MONDAY = date(2030, 1, 7)
# 06:00 UTC on a Monday: before the default 09:00-17:00 working hours in the default zone.
NOW = datetime.combine(MONDAY, time(6), tzinfo=UTC)

_counter = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}{next(_counter)}"


def did(actor: Actor) -> UUID:
    """The doctor id of a DOCTOR actor."""
    assert actor.doctor_id is not None
    return actor.doctor_id


def pid(actor: Actor) -> UUID:
    """The patient id of a PATIENT actor."""
    assert actor.patient_id is not None
    return actor.patient_id


@pytest.fixture
def clinic_timezone() -> str:
    """Override with `@pytest.mark.parametrize("clinic_timezone", [...])`."""
    return "UTC"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def container(store: MemoryStore, clock: FixedClock, clinic_timezone: str) -> Container:
    container = Container()
    settings = test_settings("sqlite+aiosqlite:///:memory:", clinic_timezone=clinic_timezone)
    container.settings.override(providers.Object(settings))
    container.clock.override(providers.Object(clock))
    container.uow.override(providers.Factory(MemoryUnitOfWork, store, clock=clock))
    container.read_uow.override(
        providers.Factory(MemoryUnitOfWork, store, clock=clock, read_only=True)
    )
    container.principal_uow.override(
        providers.Factory(MemoryUnitOfWork, store, clock=clock, read_only=True)
    )
    container.autocommit_uow.override(
        providers.Factory(MemoryUnitOfWork, store, clock=clock, autocommit=True)
    )
    return container


class Clinic:
    """Builders that go through the use-cases themselves, plus state checks."""

    def __init__(self, container: Container, store: MemoryStore, clock: FixedClock) -> None:
        self.c, self.store, self.clock = container, store, clock
        self.zone = ZoneInfo(container.settings().clinic_timezone)

    # --- time -----------------------------------------------------------------------
    def at(self, days: int, hour: int, minute: int = 0) -> datetime:
        """Local clinic wall-clock time `days` after MONDAY, as UTC."""
        local = datetime.combine(MONDAY + timedelta(days=days), time(hour, minute), self.zone)
        return local.astimezone(UTC)

    # --- state ----------------------------------------------------------------------
    @property
    def state(self) -> MemoryState:
        return self.store.state

    @contextmanager
    def commits_nothing(self) -> Iterator[None]:
        """Use as the OUTER context manager around `pytest.raises(...)`."""
        commits, before = self.store.commits, copy.deepcopy(self.store.state)
        yield
        assert self.store.commits == commits, "a failed use-case committed"
        assert self.store.state == before, "committed state changed"

    @contextmanager
    def commits_once(self) -> Iterator[None]:
        commits = self.store.commits
        yield
        assert self.store.commits == commits + 1

    # --- people ---------------------------------------------------------------------
    async def login(self, login: str, password: str = PASSWORD) -> str:
        return (await self.c.login()(login, password)).token

    async def authenticate(self, token: str) -> Actor:
        return await self.c.authenticate()(token)

    async def actor(self, login: str, password: str = PASSWORD) -> Actor:
        return await self.authenticate(await self.login(login, password))

    async def admin(self) -> Actor:
        username = unique("admin")
        await self.c.provision_admin()(
            NewUser(f"{username}@example.com", username, f"Admin {username}", PASSWORD)
        )
        return await self.actor(username)

    async def register(self, username: str | None = None) -> User:
        username = username or unique("patient")
        return await self.c.register_patient()(
            NewUser(f"{username}@example.com", username, f"Patient {username}", PASSWORD),
            PatientDetails(),
        )

    async def patient(self) -> Actor:
        user = await self.register()
        return await self.actor(user.username)

    async def front_desk_patient(self, admin: Actor, full_name: str = "Walk In") -> Patient:
        return await self.c.create_patient()(admin, PatientChanges(**{"full_name": full_name}))

    async def department(self, admin: Actor, name: str | None = None) -> Department:
        return await self.c.create_department()(admin, name or unique("Department "), None)

    async def doctor(self, admin: Actor, department_id: UUID | None = None) -> Actor:
        username = unique("doctor")
        if department_id is None:
            department_id = (await self.department(admin)).id
        await self.c.create_doctor()(
            admin,
            NewUser(f"{username}@example.com", username, f"Dr {username}", PASSWORD),
            department_id,
            "General practice",
            None,
        )
        return await self.actor(username)

    # --- appointments ---------------------------------------------------------------
    async def book(
        self,
        actor: Actor,
        doctor: Actor,
        starts_at: datetime,
        patient: Actor | UUID | None = None,
        minutes: int | None = 30,
    ) -> Appointment:
        patient_id = patient.patient_id if isinstance(patient, Actor) else patient
        assert doctor.doctor_id is not None
        return await self.c.book_appointment()(
            actor,
            BookingRequest(
                doctor_id=doctor.doctor_id,
                starts_at=starts_at,
                patient_id=patient_id,
                duration_minutes=minutes,
            ),
        )


@pytest.fixture
def clinic(container: Container, store: MemoryStore, clock: FixedClock) -> Clinic:
    return Clinic(container, store, clock)


@pytest.fixture
async def admin(clinic: Clinic) -> Actor:
    return await clinic.admin()
