"""Ports: what the use-cases need from the outside world, as Protocols.

Adapters (SQLAlchemy, in-memory, JWT, passlib) implement them; the container plugs them in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Generic, Protocol, Self, TypeVar
from uuid import UUID

from appointments.domain.appointments import Appointment, Status
from appointments.domain.clinic import Department, Doctor, Patient
from appointments.domain.schedule import Span, TimeOff, WeeklySchedule
from appointments.domain.users import Role, User

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PageRequest:
    limit: int = 20
    offset: int = 0


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True, slots=True)
class UserFilter:
    role: Role | None = None
    is_active: bool | None = None
    q: str | None = None


@dataclass(frozen=True, slots=True)
class PatientFilter:
    q: str | None = None
    # Visibility, set by the use-case from the actor: a doctor's patients, or one patient.
    with_doctor_id: UUID | None = None
    only_id: UUID | None = None


@dataclass(frozen=True, slots=True)
class DoctorFilter:
    department_id: UUID | None = None
    q: str | None = None
    is_active: bool | None = True


@dataclass(frozen=True, slots=True)
class AppointmentFilter:
    doctor_id: UUID | None = None
    patient_id: UUID | None = None
    status: Status | None = None
    starts_from: datetime | None = None
    starts_before: datetime | None = None


@dataclass(frozen=True, slots=True)
class Principal:
    """What authenticating a token needs, read in one round trip."""

    user: User
    patient_id: UUID | None
    doctor_id: UUID | None
    token_revoked: bool


@dataclass(frozen=True, slots=True)
class LoginFailures:
    count: int
    first_failed_at: datetime


@dataclass(frozen=True, slots=True)
class DashboardStats:
    users_total: int
    users_active: int
    users_by_role: dict[Role, int]
    departments: int
    doctors: int
    patients: int
    appointments_total: int
    appointments_by_status: dict[Status, int]
    appointments_today: int
    appointments_next_7_days: int


class UserRepository(Protocol):
    async def add(self, user: User) -> None:
        """Insert; raises EmailTaken / UsernameTaken on a case-insensitive duplicate."""

    async def get(self, user_id: UUID) -> User | None: ...

    async def find_by_login(self, login: str) -> User | None:
        """By username or email, case-insensitively."""

    async def email_or_username_taken(self, email: str, username: str) -> None:
        """Raise EmailTaken / UsernameTaken when either is in use (friendly pre-check)."""

    async def save(self, user: User) -> None: ...

    async def search(self, filters: UserFilter, page: PageRequest) -> Page[User]: ...

    async def active_admin_ids(self, *, lock: bool = False) -> list[UUID]:
        """Ids of active admins; with lock, held until commit (last-admin race)."""

    async def load_principal(self, user_id: UUID, jti: str) -> Principal | None: ...


class PatientRepository(Protocol):
    async def add(self, patient: Patient) -> None: ...

    async def get(self, patient_id: UUID, *, lock: bool = False) -> Patient | None:
        """With lock, the row is share-locked until commit (a booking holds its parties)."""

    async def get_by_user(self, user_id: UUID) -> Patient | None: ...

    async def save(self, patient: Patient) -> None: ...

    async def search(self, filters: PatientFilter, page: PageRequest) -> Page[Patient]: ...

    async def has_appointment_with(self, patient_id: UUID, doctor_id: UUID) -> bool: ...


class DepartmentRepository(Protocol):
    async def add(self, department: Department) -> None:
        """Insert; raises DepartmentExists on a case-insensitive duplicate name."""

    async def get(self, department_id: UUID) -> Department | None: ...

    async def save(self, department: Department) -> None: ...

    async def delete(self, department_id: UUID) -> None:
        """Raises DepartmentNotEmpty while doctors reference it."""

    async def search(self, page: PageRequest) -> Page[Department]: ...

    async def name_taken(self, name: str, *, except_id: UUID | None = None) -> bool: ...

    async def has_doctors(self, department_id: UUID) -> bool: ...


class DoctorRepository(Protocol):
    async def add(self, doctor: Doctor, schedule: WeeklySchedule) -> None: ...

    async def get(self, doctor_id: UUID, *, lock: bool = False) -> Doctor | None:
        """With lock, the row is share-locked until commit (a booking holds its parties)."""

    async def get_by_user(self, user_id: UUID) -> Doctor | None: ...

    async def save(self, doctor: Doctor) -> None: ...

    async def search(self, filters: DoctorFilter, page: PageRequest) -> Page[Doctor]: ...

    async def get_schedule(self, doctor_id: UUID) -> WeeklySchedule: ...

    async def set_schedule(self, doctor_id: UUID, schedule: WeeklySchedule) -> None: ...

    async def add_time_off(self, time_off: TimeOff) -> None: ...

    async def get_time_off(self, time_off_id: UUID) -> TimeOff | None: ...

    async def delete_time_off(self, time_off_id: UUID) -> None: ...

    async def list_time_off(self, doctor_id: UUID, within: Span | None = None) -> list[TimeOff]:
        """All time off of the doctor, or only what overlaps `within`, by start."""


class AppointmentRepository(Protocol):
    async def add(self, appointment: Appointment) -> None:
        """Insert; raises DoctorUnavailable / PatientUnavailable where the database finds
        an overlap that a concurrent transaction committed first."""

    async def get(self, appointment_id: UUID, *, lock: bool = False) -> Appointment | None:
        """With lock, the row is locked for update until commit (no lost updates)."""

    async def save(self, appointment: Appointment) -> None:
        """Update; overlap violations map as in `add`."""

    async def search(self, filters: AppointmentFilter, page: PageRequest) -> Page[Appointment]: ...

    async def busy_spans(
        self,
        *,
        within: Span,
        doctor_id: UUID | None = None,
        patient_id: UUID | None = None,
        exclude_id: UUID | None = None,
    ) -> list[Span]:
        """Spans of the doctor's (or patient's) active appointments overlapping `within`."""

    async def future_active(
        self, *, now: datetime, doctor_id: UUID | None = None, patient_id: UUID | None = None
    ) -> list[Appointment]: ...


class RevokedTokenRepository(Protocol):
    async def add(self, jti: str, expires_at: datetime) -> None: ...

    async def purge_expired(self, now: datetime) -> None: ...


class LoginFailureRepository(Protocol):
    async def get(self, key: str) -> LoginFailures | None: ...

    async def record(
        self, key: str, now: datetime, window_started_after: datetime
    ) -> LoginFailures:
        """Count one attempt atomically and return the count; a window older than
        `window_started_after` starts again at one."""

    async def clear(self, key: str) -> None: ...


class StatsQueries(Protocol):
    async def dashboard(self, today: Span, next_7_days: Span) -> DashboardStats: ...


class UnitOfWork(Protocol):
    """One transaction per use-case call: rolled back unless `commit()` is awaited."""

    users: UserRepository
    patients: PatientRepository
    departments: DepartmentRepository
    doctors: DoctorRepository
    appointments: AppointmentRepository
    revoked_tokens: RevokedTokenRepository
    login_failures: LoginFailureRepository
    stats: StatsQueries

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...


class PasswordHasher(Protocol):
    async def hash(self, password: str) -> str: ...

    async def verify(self, password: str, password_hash: str | None) -> tuple[bool, str | None]:
        """(matches, new hash when the stored one should be upgraded). A None hash runs a
        dummy verification so unknown users take as long as known ones."""


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    jti: str
    expires_at: datetime
    expires_in: int


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: UUID
    role: Role
    jti: str
    issued_at: datetime
    expires_at: datetime


class TokenService(Protocol):
    def issue(self, user: User, now: datetime) -> IssuedToken: ...

    def decode(self, token: str) -> TokenClaims:
        """Raises NotAuthenticated for anything but a valid, unexpired token of ours."""


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""


@dataclass(frozen=True, slots=True)
class ClinicConfig:
    timezone: str = "UTC"
    login_max_failures: int = 5
    login_window_seconds: int = 900
    availability_max_days: int = 31
