"""What the in-memory adapters store: one MemoryState per transaction, and the
committed one in a MemoryStore shared by every unit of work made from it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from appointments.application.events import AuditEvent
from appointments.application.outbox import OutboxMessage
from appointments.application.ports.repositories import KeyClaim
from appointments.domain.appointments import Appointment
from appointments.domain.booking import BookingPolicy
from appointments.domain.calendar_feeds import CalendarFeed, FetchCount
from appointments.domain.deliveries import Delivery
from appointments.domain.departments import Department
from appointments.domain.doctors import Doctor
from appointments.domain.holds import Hold
from appointments.domain.patients import Patient
from appointments.domain.rooms import Room
from appointments.domain.schedule import TimeOff, WeeklySchedule
from appointments.domain.services import Service
from appointments.domain.users import User
from appointments.domain.waitlist import WaitlistEntry
from appointments.domain.webhooks import WebhookEndpoint


@dataclass(frozen=True, slots=True)
class DeliveryClaim:
    token: UUID
    until: datetime


@dataclass
class MemoryState:
    """The "tables", keyed as in the database. Values are copies nobody else holds."""

    users: dict[UUID, User] = field(default_factory=dict)
    patients: dict[UUID, Patient] = field(default_factory=dict)
    departments: dict[UUID, Department] = field(default_factory=dict)
    doctors: dict[UUID, Doctor] = field(default_factory=dict)
    schedules: dict[UUID, WeeklySchedule] = field(default_factory=dict)
    time_off: dict[UUID, TimeOff] = field(default_factory=dict)
    appointments: dict[UUID, Appointment] = field(default_factory=dict)
    services: dict[UUID, Service] = field(default_factory=dict)
    rooms: dict[UUID, Room] = field(default_factory=dict)
    # The single row (key 1) once an admin has stored a policy, as in the database.
    booking_policy: dict[int, BookingPolicy] = field(default_factory=dict)
    revoked_tokens: dict[str, datetime] = field(default_factory=dict)
    login_failures: dict[str, tuple[int, datetime]] = field(default_factory=dict)
    audit_events: list[AuditEvent] = field(default_factory=list)
    # (scope, key) -> the claim, when it was claimed, when it expires.
    idempotency_keys: dict[tuple[str, str], tuple[KeyClaim, datetime, datetime]] = field(
        default_factory=dict
    )
    webhook_endpoints: dict[UUID, WebhookEndpoint] = field(default_factory=dict)
    # id -> (message, when it was fanned out to deliveries)
    outbox_messages: dict[UUID, tuple[OutboxMessage, datetime | None]] = field(default_factory=dict)
    deliveries: dict[UUID, tuple[Delivery, DeliveryClaim | None]] = field(default_factory=dict)
    holds: dict[UUID, Hold] = field(default_factory=dict)
    waitlist: dict[UUID, WaitlistEntry] = field(default_factory=dict)
    calendar_feeds: dict[UUID, CalendarFeed] = field(default_factory=dict)
    # The fetch throttle's window per feed (columns of calendar_feeds in SQL).
    feed_fetches: dict[UUID, FetchCount] = field(default_factory=dict)


class MemoryStore:
    """The committed state, shared by every unit of work made from it."""

    def __init__(self) -> None:
        self.state = MemoryState()
        self.commits = 0
