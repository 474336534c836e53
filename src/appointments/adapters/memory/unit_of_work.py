"""An in-memory unit of work: each transaction works on a copy of the committed state,
so a use-case that raises (or forgets to commit) leaves nothing behind, as with SQL;
recorded events are written by the commit, as with SQL."""

from __future__ import annotations

import copy
from types import TracebackType
from typing import Self

from appointments.adapters.clock import SystemClock
from appointments.adapters.memory.repositories.appointments import MemoryAppointmentRepository
from appointments.adapters.memory.repositories.audit import (
    MemoryAuditQueries,
    MemoryIdempotencyRepository,
)
from appointments.adapters.memory.repositories.calendar_feeds import (
    MemoryCalendarFeedRepository,
)
from appointments.adapters.memory.repositories.departments import MemoryDepartmentRepository
from appointments.adapters.memory.repositories.doctors import MemoryDoctorRepository
from appointments.adapters.memory.repositories.holds import (
    MemoryHoldRepository,
    MemoryWaitlistRepository,
)
from appointments.adapters.memory.repositories.outbox import MemoryOutboxRepository
from appointments.adapters.memory.repositories.patients import MemoryPatientRepository
from appointments.adapters.memory.repositories.policy import MemoryPolicyRepository
from appointments.adapters.memory.repositories.rooms import MemoryRoomRepository
from appointments.adapters.memory.repositories.security import (
    MemoryLoginFailureRepository,
    MemoryRevokedTokenRepository,
)
from appointments.adapters.memory.repositories.services import MemoryServiceRepository
from appointments.adapters.memory.repositories.stats import MemoryStatsQueries
from appointments.adapters.memory.repositories.users import MemoryUserRepository
from appointments.adapters.memory.repositories.webhooks import MemoryWebhookRepository
from appointments.adapters.memory.state import MemoryState, MemoryStore
from appointments.application.events import REQUEST_ID, AuditEvent, Event
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


class MemoryUnitOfWork:
    """As SqlUnitOfWork: `read_only` ones refuse to commit; `autocommit` ones write to
    the committed state directly."""

    def __init__(
        self,
        store: MemoryStore,
        *,
        clock: Clock | None = None,
        read_only: bool = False,
        autocommit: bool = False,
    ) -> None:
        """`autocommit`: writes go straight to the committed state, as each statement of
        an autocommit SQL unit of work commits as it runs."""
        self._store, self._read_only, self._autocommit = store, read_only, autocommit
        self._clock = clock or SystemClock()
        self._work: MemoryState | None = None
        self._events: list[AuditEvent] = []
        self._messages: list[OutboxMessage] = []

    async def __aenter__(self) -> Self:
        work = self._store.state if self._autocommit else copy.deepcopy(self._store.state)
        self._work = work
        self.users: UserRepository = MemoryUserRepository(work)
        self.patients: PatientRepository = MemoryPatientRepository(work)
        self.departments: DepartmentRepository = MemoryDepartmentRepository(work)
        self.doctors: DoctorRepository = MemoryDoctorRepository(work)
        self.appointments: AppointmentRepository = MemoryAppointmentRepository(work)
        self.services: ServiceRepository = MemoryServiceRepository(work)
        self.rooms: RoomRepository = MemoryRoomRepository(work)
        self.policy: PolicyRepository = MemoryPolicyRepository(work)
        self.revoked_tokens: RevokedTokenRepository = MemoryRevokedTokenRepository(work)
        self.login_failures: LoginFailureRepository = MemoryLoginFailureRepository(work)
        self.stats: StatsQueries = MemoryStatsQueries(work)
        self._audit = MemoryAuditQueries(work)
        self.audit: AuditQueries = self._audit
        self.idempotency: IdempotencyRepository = MemoryIdempotencyRepository(work)
        self.webhooks: WebhookRepository = MemoryWebhookRepository(work)
        self._outbox = MemoryOutboxRepository(work)
        self.outbox: OutboxRepository = self._outbox
        self.holds: HoldRepository = MemoryHoldRepository(work)
        self.waitlist: WaitlistRepository = MemoryWaitlistRepository(work)
        self.calendar_feeds: CalendarFeedRepository = MemoryCalendarFeedRepository(work)
        self._events, self._messages = [], []
        return self

    def record(self, event: Event | None) -> None:
        if event is None:
            return
        assert not self._autocommit, "events need the transaction of their change"
        now = self._clock.now()
        self._messages += outbox_messages(event, now)
        self._events.append(
            AuditEvent(
                id=0,  # numbered when written
                occurred_at=now,
                action=event.action,
                entity_type=event.entity_type,
                entity_id=event.entity_id,
                actor=event.actor,
                changes=event.changes,
                request_id=REQUEST_ID.get(),
            )
        )

    async def commit(self) -> None:
        assert self._work is not None, "commit outside `async with`"
        if self._read_only:
            raise RuntimeError("a read-only unit of work cannot commit")
        self._store.commits += 1
        if self._autocommit:
            return  # its writes went to the committed state as they ran
        events, self._events = self._events, []
        messages, self._messages = self._messages, []
        self._audit.write(events)
        await self._outbox.add_messages(messages)
        self._store.state = copy.deepcopy(self._work)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._work, self._events, self._messages = None, [], []
