"""The unit of work: one transaction per use-case call, holding every repository."""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self

from appointments.application.events import Event
from appointments.application.ports.holds import HoldRepository, WaitlistRepository
from appointments.application.ports.outbox import OutboxRepository
from appointments.application.ports.queries import AuditQueries, StatsQueries
from appointments.application.ports.repositories import (
    AppointmentRepository,
    CalendarFeedRepository,
    DepartmentRepository,
    DoctorRepository,
    IdempotencyRepository,
    LoginFailureRepository,
    PatientRepository,
    PolicyRepository,
    RevokedTokenRepository,
    RoomRepository,
    ServiceRepository,
    UserRepository,
    WebhookRepository,
)


class UnitOfWork(Protocol):
    """Rolled back unless `commit()` is awaited; the events recorded on it are written
    by that commit, in the same transaction as the change they describe: to the audit
    trail, and the ones that notify (outbox.py) to the outbox."""

    users: UserRepository
    patients: PatientRepository
    departments: DepartmentRepository
    doctors: DoctorRepository
    appointments: AppointmentRepository
    services: ServiceRepository
    rooms: RoomRepository
    policy: PolicyRepository
    revoked_tokens: RevokedTokenRepository
    login_failures: LoginFailureRepository
    stats: StatsQueries
    audit: AuditQueries
    idempotency: IdempotencyRepository
    webhooks: WebhookRepository
    outbox: OutboxRepository
    holds: HoldRepository
    waitlist: WaitlistRepository
    calendar_feeds: CalendarFeedRepository

    def record(self, event: Event | None) -> None:
        """Stamp the event (now, the request's id) to be written by `commit()`; None (an
        entity that did not change) records nothing."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...
