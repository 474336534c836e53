"""What use-cases ask repositories for, and the read models they get back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Generic, Protocol, TypeVar
from uuid import UUID

from appointments.application.access import AppointmentScope, PatientScope
from appointments.application.events import AuditEvent
from appointments.domain.appointments import Status
from appointments.domain.schedule import Span
from appointments.domain.users import Role, User

T = TypeVar("T")

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


@dataclass(frozen=True, slots=True)
class PageRequest:
    limit: int = DEFAULT_PAGE_SIZE
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
    scope: PatientScope
    q: str | None = None


@dataclass(frozen=True, slots=True)
class DoctorFilter:
    department_id: UUID | None = None
    q: str | None = None
    is_active: bool | None = True


@dataclass(frozen=True, slots=True)
class CatalogFilter:
    """Services and rooms: by department, active ones by default."""

    department_id: UUID | None = None
    is_active: bool | None = True


@dataclass(frozen=True, slots=True)
class AppointmentFilter:
    """What the caller asked for, within what the caller may see (`scope`)."""

    scope: AppointmentScope = field(default_factory=AppointmentScope.everything)
    doctor_id: UUID | None = None
    patient_id: UUID | None = None
    status: Status | None = None
    starts_from: datetime | None = None
    starts_before: datetime | None = None
    # Any of these statuses (FHIR's `booked` is two of ours); None: any status.
    statuses: frozenset[Status] | None = None


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
    late_cancellations_30d: int
    no_shows_30d: int


@dataclass(frozen=True, slots=True)
class StatsPeriods:
    """The spans the dashboard counts over, and the cut-off that makes a cancellation late."""

    today: Span
    next_7_days: Span
    # The 30-day figures count from here (no-shows and cancellations only lie before now).
    thirty_days_ago: datetime
    cancellation_cutoff: timedelta


class StatsQueries(Protocol):
    async def dashboard(self, periods: StatsPeriods) -> DashboardStats:
        """Late cancellations: cancelled by the patient less than the cut-off before the
        start, within the last 30 days; no-shows: starting within the last 30 days."""


@dataclass(frozen=True, slots=True)
class AuditFilter:
    entity_type: str | None = None
    entity_id: UUID | None = None
    actor_user_id: UUID | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    # The admin's trail reads newest first; one entity's history oldest first.
    oldest_first: bool = False


class AuditQueries(Protocol):
    async def search(self, filters: AuditFilter, page: PageRequest) -> Page[AuditEvent]:
        """In recording order (`id`), newest first unless `oldest_first`; `since`
        inclusive, `until` exclusive."""
