"""One connection and one transaction per use-case call; rolled back unless committed.

Recorded events are written by `commit()` just before the COMMIT: to the audit trail, and
those that leave the building to the outbox too (records.py: one statement on PostgreSQL)."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from appointments.adapters.clock import SystemClock
from appointments.adapters.sqlalchemy.database import Database
from appointments.adapters.sqlalchemy.repositories.appointments import SqlAppointmentRepository
from appointments.adapters.sqlalchemy.repositories.audit import SqlAuditQueries, audit_row
from appointments.adapters.sqlalchemy.repositories.calendar_feeds import (
    SqlCalendarFeedRepository,
)
from appointments.adapters.sqlalchemy.repositories.departments import SqlDepartmentRepository
from appointments.adapters.sqlalchemy.repositories.doctors import SqlDoctorRepository
from appointments.adapters.sqlalchemy.repositories.holds import (
    SqlHoldRepository,
    SqlWaitlistRepository,
)
from appointments.adapters.sqlalchemy.repositories.idempotency import SqlIdempotencyRepository
from appointments.adapters.sqlalchemy.repositories.outbox import SqlOutboxRepository
from appointments.adapters.sqlalchemy.repositories.patients import SqlPatientRepository
from appointments.adapters.sqlalchemy.repositories.policy import SqlPolicyRepository
from appointments.adapters.sqlalchemy.repositories.records import write_records
from appointments.adapters.sqlalchemy.repositories.rooms import SqlRoomRepository
from appointments.adapters.sqlalchemy.repositories.security import (
    SqlLoginFailureRepository,
    SqlRevokedTokenRepository,
)
from appointments.adapters.sqlalchemy.repositories.services import SqlServiceRepository
from appointments.adapters.sqlalchemy.repositories.stats import SqlStatsQueries
from appointments.adapters.sqlalchemy.repositories.users import SqlUserRepository
from appointments.adapters.sqlalchemy.repositories.webhooks import SqlWebhookRepository
from appointments.application.events import REQUEST_ID, Event
from appointments.application.outbox import OutboxMessage, outbox_messages
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
from appointments.application.ports.services import Clock


class SqlUnitOfWork:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        clock: Clock | None = None,
        read_only: bool = False,
        autocommit: bool = False,
        hand_over: bool = False,
    ) -> None:
        """`clock` stamps recorded events (the system's unless given); `autocommit`: for
        work whose statements are each a whole change (see Database), which records no
        events; `hand_over` (read-only): the connection is kept for the request's next
        unit of work (database.one_connection_per_request)."""
        self._engine, self._read_only, self._autocommit = engine, read_only, autocommit
        self._hand_over = hand_over
        self._clock = clock or SystemClock()
        self._db: Database | None = None
        self._events: list[dict[str, Any]] = []
        self._messages: list[OutboxMessage] = []

    @property
    def connection(self) -> AsyncConnection | None:
        return self._db.connection if self._db else None

    async def __aenter__(self) -> Self:
        db = Database(
            self._engine,
            read_only=self._read_only,
            autocommit=self._autocommit,
            hand_over=self._hand_over,
        )
        await db.open()
        self._db = db
        self.users: UserRepository = SqlUserRepository(db)
        self.patients: PatientRepository = SqlPatientRepository(db)
        self.departments: DepartmentRepository = SqlDepartmentRepository(db)
        self.doctors: DoctorRepository = SqlDoctorRepository(db)
        self.appointments: AppointmentRepository = SqlAppointmentRepository(db)
        self.services: ServiceRepository = SqlServiceRepository(db)
        self.rooms: RoomRepository = SqlRoomRepository(db)
        self.policy: PolicyRepository = SqlPolicyRepository(db)
        self.revoked_tokens: RevokedTokenRepository = SqlRevokedTokenRepository(db)
        self.login_failures: LoginFailureRepository = SqlLoginFailureRepository(db)
        self.stats: StatsQueries = SqlStatsQueries(db)
        self._audit = SqlAuditQueries(db)
        self.audit: AuditQueries = self._audit
        self.idempotency: IdempotencyRepository = SqlIdempotencyRepository(db)
        self.webhooks: WebhookRepository = SqlWebhookRepository(db)
        self._outbox = SqlOutboxRepository(db)
        self.outbox: OutboxRepository = self._outbox
        self.holds: HoldRepository = SqlHoldRepository(db)
        self.waitlist: WaitlistRepository = SqlWaitlistRepository(db)
        self.calendar_feeds: CalendarFeedRepository = SqlCalendarFeedRepository(db)
        self._events, self._messages = [], []
        return self

    def record(self, event: Event | None) -> None:
        if event is None:
            return
        assert not self._autocommit, "events need the transaction of their change"
        now = self._clock.now()
        self._events.append(audit_row(event, now, REQUEST_ID.get()))
        self._messages += outbox_messages(event, now)

    async def commit(self) -> None:
        assert self._db is not None, "commit outside `async with`"
        events, self._events = self._events, []
        messages, self._messages = self._messages, []
        await write_records(self._db, events, messages)
        await self._db.commit()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        db, self._db = self._db, None
        self._events, self._messages = [], []
        if db is not None:
            await db.close()
