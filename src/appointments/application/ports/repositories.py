"""Repositories: one per aggregate, plus the shared security state. Every method runs in
the unit of work's transaction."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from appointments.application.access import FeedScope, PatientScope
from appointments.application.ports.queries import (
    AppointmentFilter,
    CatalogFilter,
    DoctorFilter,
    LoginFailures,
    Page,
    PageRequest,
    PatientFilter,
    Principal,
    UserFilter,
)
from appointments.domain.appointments import Appointment
from appointments.domain.booking import BookingPolicy
from appointments.domain.calendar_feeds import CalendarFeed, FetchCount
from appointments.domain.departments import Department
from appointments.domain.doctors import Doctor
from appointments.domain.patients import Patient
from appointments.domain.rooms import Room
from appointments.domain.schedule import Span, TimeOff, WeeklySchedule
from appointments.domain.services import Service
from appointments.domain.users import User
from appointments.domain.webhooks import WebhookEndpoint


class UserRepository(Protocol):
    async def add(self, user: User) -> None:
        """Insert; raises EmailTaken / UsernameTaken on a case-insensitive duplicate."""

    async def get(self, user_id: UUID, *, lock: bool = False) -> User | None:
        """With lock, the row is locked until commit against other writers of it."""

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
        """With lock, the row is locked until commit against every other placement of
        this party (see application/booking.py's `prepare`)."""

    async def get_in_scope(self, patient_id: UUID, scope: PatientScope) -> Patient | None:
        """The patient if `scope` admits them: the same rule as `search` applies."""

    async def get_by_user(self, user_id: UUID) -> Patient | None: ...

    async def lock(self, patient_ids: Sequence[UUID]) -> None:
        """Lock these patients' rows until commit, as `get(lock=True)` does, in id order
        (one order for every caller), before their placements."""

    async def save(self, patient: Patient) -> None: ...

    async def search(self, filters: PatientFilter, page: PageRequest) -> Page[Patient]: ...


class DepartmentRepository(Protocol):
    async def add(self, department: Department) -> None:
        """Insert; raises DepartmentExists on a case-insensitive duplicate name."""

    async def get(self, department_id: UUID) -> Department | None: ...

    async def save(self, department: Department) -> None: ...

    async def delete(self, department_id: UUID) -> None:
        """Raises DepartmentNotEmpty while doctors, appointments, services or rooms reference
        it."""

    async def search(self, page: PageRequest) -> Page[Department]: ...

    async def name_taken(self, name: str, *, except_id: UUID | None = None) -> bool: ...

    async def has_doctors(self, department_id: UUID) -> bool: ...


@dataclass(frozen=True, slots=True)
class PlacementParties:
    """What a placement reads of its patient and doctor (see booking.py's `prepare`)."""

    patient: Patient
    doctor: Doctor
    schedule: WeeklySchedule
    time_off: list[TimeOff]
    # No hold of the doctor's is live after this instant (None: none is live at all). The
    # store keeps it with the doctor, so a placement reads holds only when one can be live.
    holds_until: datetime | None


class DoctorRepository(Protocol):
    async def add(self, doctor: Doctor, schedule: WeeklySchedule) -> None: ...

    async def get(self, doctor_id: UUID, *, lock: bool = False) -> Doctor | None:
        """With lock, the row is locked until commit against every other placement of
        this party (see application/booking.py's `prepare`)."""

    async def save(self, doctor: Doctor) -> None:
        """Name and email are the user's: they are saved with the user, not here."""

    async def search(self, filters: DoctorFilter, page: PageRequest) -> Page[Doctor]: ...

    async def get_schedule(self, doctor_id: UUID) -> WeeklySchedule: ...

    async def lock_for_placement(
        self, patient_id: UUID, doctor_id: UUID, within: Span
    ) -> PlacementParties | None:
        """The patient and the doctor, locked until commit in the placement order (the
        patient, then the doctor, as `get(lock=True)` locks), with the doctor's schedule and
        time off overlapping `within`, in one round trip; None if either does not exist."""

    async def set_schedule(self, doctor_id: UUID, schedule: WeeklySchedule) -> None: ...

    async def add_time_off(self, time_off: TimeOff) -> None: ...

    async def get_time_off(self, time_off_id: UUID) -> TimeOff | None: ...

    async def delete_time_off(self, time_off_id: UUID) -> None: ...

    async def list_time_off(self, doctor_id: UUID, within: Span | None = None) -> list[TimeOff]:
        """All time off of the doctor, or only what overlaps `within`, by start."""


class AppointmentRepository(Protocol):
    @property
    def refuses_overlaps(self) -> bool:
        """The store refuses overlapping active appointments on write, as add() says."""

    async def add(self, appointment: Appointment) -> None:
        """Insert; raises DoctorUnavailable / PatientUnavailable where the database finds
        an overlap that a concurrent transaction committed first."""

    async def add_at_commit(self, appointment: Appointment) -> None:
        """`add`, written no later than the commit (with its records, one round trip
        fewer), so its refusal may come from any later statement or the commit."""

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
        room_id: UUID | None = None,
        exclude_id: UUID | None = None,
    ) -> list[Span]:
        """Own spans of the doctor's (patient's, room's) active appointments overlapping
        `within`."""

    async def blocked_spans(
        self, *, within: Span, doctor_id: UUID, exclude_id: UUID | None = None
    ) -> list[Span]:
        """The time the doctor's active appointments block (buffers included) where it
        overlaps `within`: what a new appointment's buffered span must not overlap."""

    async def count_future_active(self, *, patient_id: UUID, now: datetime) -> int:
        """The patient's active appointments starting after `now` (the booking limit)."""

    async def future_active(
        self, *, now: datetime, doctor_id: UUID | None = None, patient_id: UUID | None = None
    ) -> list[Appointment]:
        """Scheduled or confirmed appointments starting after `now`, by start."""

    async def in_series(self, series_id: UUID, *, lock: bool = False) -> list[Appointment]:
        """Every appointment of the series, whatever its status, by start; `lock` locks
        them for update until commit."""


class RevokedTokenRepository(Protocol):
    async def add(self, jti: str, expires_at: datetime) -> None: ...

    async def purge_expired(self, now: datetime) -> None: ...


class LoginFailureRepository(Protocol):
    async def record(
        self, key: str, now: datetime, window_started_after: datetime
    ) -> LoginFailures:
        """Count one attempt atomically and return the count; a window older than
        `window_started_after` starts again at one."""

    async def clear(self, key: str) -> None: ...


class ServiceRepository(Protocol):
    async def add(self, service: Service) -> None:
        """Insert; raises ServiceExists on a duplicate name (case-insensitive) within the
        department."""

    async def get(self, service_id: UUID) -> Service | None: ...

    async def save(self, service: Service) -> None:
        """Update; raises ServiceExists like `add`."""

    async def search(self, filters: CatalogFilter, page: PageRequest) -> Page[Service]:
        """By department and name (case-insensitive), then id."""

    async def name_taken(
        self, department_id: UUID, name: str, *, except_id: UUID | None = None
    ) -> bool: ...


class RoomRepository(Protocol):
    async def add(self, room: Room) -> None:
        """Insert; raises RoomExists on a duplicate name (case-insensitive)."""

    async def get(self, room_id: UUID, *, lock: bool = False) -> Room | None:
        """With lock, the row is locked until commit against every other placement of
        this party (see application/booking.py's `prepare`)."""

    async def save(self, room: Room) -> None:
        """Update; raises RoomExists like `add`."""

    async def search(self, filters: CatalogFilter, page: PageRequest) -> Page[Room]:
        """By name (case-insensitive), then id."""

    async def name_taken(self, name: str, *, except_id: UUID | None = None) -> bool: ...


class WebhookRepository(Protocol):
    async def add(self, endpoint: WebhookEndpoint) -> None: ...

    async def get(self, endpoint_id: UUID) -> WebhookEndpoint | None: ...

    async def save(self, endpoint: WebhookEndpoint) -> None: ...

    async def delete(self, endpoint_id: UUID) -> None: ...

    async def search(self, page: PageRequest) -> Page[WebhookEndpoint]:
        """Oldest first (by creation time, then id)."""

    async def active(self) -> list[WebhookEndpoint]:
        """Every active endpoint (what an event is fanned out to)."""

    async def deactivate(self, endpoint_id: UUID) -> bool:
        """Switch an active endpoint off in one statement (nothing else it holds is
        written, so an admin's concurrent change stands); False if it was not active."""


class CalendarFeedRepository(Protocol):
    async def add(self, feed: CalendarFeed) -> None: ...

    async def get(self, feed_id: UUID) -> CalendarFeed | None: ...

    async def save(self, feed: CalendarFeed) -> None: ...

    async def search(self, scope: FeedScope, page: PageRequest) -> Page[CalendarFeed]:
        """Active feeds `scope` admits, oldest first."""

    async def fetch(
        self, token_hash: str, now: datetime, window_started_after: datetime
    ) -> tuple[CalendarFeed, FetchCount] | None:
        """The active feed with this token hash, counting this fetch atomically (a
        window older than `window_started_after` starts again at one); None if none."""

    async def party_names(
        self, doctor_ids: Collection[UUID], patient_ids: Collection[UUID]
    ) -> dict[UUID, str]:
        """Full names of these doctors and patients, in one round trip each (a feed's
        event summaries)."""


class PolicyRepository(Protocol):
    async def get(self) -> BookingPolicy:
        """The clinic's policy; the defaults until an admin stores one."""

    async def save(self, policy: BookingPolicy) -> None: ...


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """What a finished request answered, replayed for a repeat of it."""

    status_code: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True, slots=True)
class KeyClaim:
    """The request that holds an idempotency key: still running if `response` is None."""

    fingerprint: str
    response: StoredResponse | None


class IdempotencyRepository(Protocol):
    async def claim(
        self,
        scope: str,
        key: str,
        fingerprint: str,
        *,
        now: datetime,
        expires_at: datetime,
        abandoned_before: datetime,
    ) -> KeyClaim | None:
        """Claim the key for a new request (None), or the claim that holds it. An expired
        claim, or one still running that was claimed before `abandoned_before` (its
        process died), is taken over: a new claim, None."""

    async def complete(self, scope: str, key: str, response: StoredResponse) -> None:
        """Store the response of a running claim; a claim already completed (by whoever
        took over an abandoned one) keeps its first response."""

    async def release(self, scope: str, key: str) -> None:
        """Forget a running claim whose request will not be replayed (it failed with a
        5xx); a completed claim is kept, so a late failure cannot undo another's result."""

    async def purge_expired(self, now: datetime) -> None: ...
