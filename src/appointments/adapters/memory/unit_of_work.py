"""An in-memory unit of work: each transaction works on a copy of the committed state,
so a use-case that raises (or forgets to commit) leaves nothing behind, as with SQL."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Self
from uuid import UUID

from appointments.domain.appointments import Appointment
from appointments.domain.clinic import Department, Doctor, Patient
from appointments.domain.schedule import TimeOff, WeeklySchedule
from appointments.domain.users import User


@dataclass
class MemoryState:
    users: dict[UUID, User] = field(default_factory=dict)
    patients: dict[UUID, Patient] = field(default_factory=dict)
    departments: dict[UUID, Department] = field(default_factory=dict)
    doctors: dict[UUID, Doctor] = field(default_factory=dict)
    schedules: dict[UUID, WeeklySchedule] = field(default_factory=dict)
    time_off: dict[UUID, TimeOff] = field(default_factory=dict)
    appointments: dict[UUID, Appointment] = field(default_factory=dict)
    revoked_tokens: dict[str, datetime] = field(default_factory=dict)
    login_failures: dict[str, tuple[int, datetime]] = field(default_factory=dict)


class MemoryStore:
    """The committed state, shared by every unit of work made from it."""

    def __init__(self) -> None:
        self.state = MemoryState()
        self.commits = 0


class MemoryUnitOfWork:
    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    async def __aenter__(self) -> Self:
        from appointments.adapters.memory import repositories as repos

        self._work = copy.deepcopy(self._store.state)
        self.users = repos.MemoryUserRepository(self._work)
        self.patients = repos.MemoryPatientRepository(self._work)
        self.departments = repos.MemoryDepartmentRepository(self._work)
        self.doctors = repos.MemoryDoctorRepository(self._work)
        self.appointments = repos.MemoryAppointmentRepository(self._work)
        self.revoked_tokens = repos.MemoryRevokedTokenRepository(self._work)
        self.login_failures = repos.MemoryLoginFailureRepository(self._work)
        self.stats = repos.MemoryStatsQueries(self._work)
        return self

    async def commit(self) -> None:
        self._store.state = copy.deepcopy(self._work)
        self._store.commits += 1

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        del self._work
