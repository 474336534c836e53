"""What happened: the events use-cases record on their unit of work.

A use-case records an Event for every change it makes; the unit of work stamps it (time,
request id) and writes it in the same transaction as the change, so a change and its
record commit or roll back together. The audit trail is these records; the notification
outbox is fed from the same ones (one mechanism, written once per transaction).
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from appointments.application.access import Actor
from appointments.domain.audit import Changes, diff, snapshot
from appointments.domain.users import Role

# The id of the request being served (set at the HTTP edge), None outside a request.
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)


@dataclass(frozen=True, slots=True)
class EventActor:
    """Who did it; None on an event means the system (a cascade, an expiry)."""

    user_id: UUID
    role: Role


@dataclass(frozen=True, slots=True)
class Event:
    """`action` is `<entity>.<verb>` (API.md's list)."""

    action: str
    entity_id: UUID | None
    actor: EventActor | None
    changes: Changes = field(default_factory=dict)
    # The entity as it now is, for the outbox (a webhook carries the whole appointment);
    # not part of the audit record, which keeps only the changes.
    subject: object | None = field(default=None, compare=False, repr=False)

    @property
    def entity_type(self) -> str:
        """The entity is the action's prefix; `auth.*` events are about a user."""
        prefix = self.action.partition(".")[0]
        return "user" if prefix == "auth" else prefix


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """An event as recorded."""

    id: int
    occurred_at: datetime
    action: str
    entity_type: str
    entity_id: UUID | None
    actor: EventActor | None
    changes: Changes
    request_id: str | None


def by(actor: Actor | None) -> EventActor | None:
    return None if actor is None else EventActor(actor.user_id, actor.role)


def created(action: str, actor: Actor | None, entity: object) -> Event:
    """An entity came to be: every field, `old` None."""
    return Event(action, _id_of(entity), by(actor), diff(None, snapshot(entity)), entity)


def deleted(action: str, actor: Actor | None, entity: object) -> Event:
    """An entity went: every field, `new` None."""
    return Event(action, _id_of(entity), by(actor), diff(snapshot(entity), None), entity)


def replaced(
    action: str, actor: Actor | None, before: object, after: object, entity_id: UUID | None = None
) -> Event | None:
    """An entity (or value object) replaced by a new version of it; None if nothing
    changed (an empty PATCH, a second deactivation): no record of a non-change."""
    changes = diff(snapshot(before), snapshot(after))
    return Event(action, entity_id or _id_of(after), by(actor), changes) if changes else None


class Tracked:
    """An entity watched from before a change: `.event(...)` holds the fields it changed.

    `tracked = Tracked(department)`, change it, `uow.record(tracked.event("...", actor))`."""

    __slots__ = ("_before", "entity")

    def __init__(self, entity: object) -> None:
        self.entity, self._before = entity, snapshot(entity)

    def event(
        self, action: str, actor: Actor | None, entity_id: UUID | None = None
    ) -> Event | None:
        """The change, or None if the entity did not change."""
        changes = diff(self._before, snapshot(self.entity))
        if not changes:
            return None
        return Event(action, entity_id or _id_of(self.entity), by(actor), changes, self.entity)


def _id_of(entity: object) -> UUID | None:
    entity_id = getattr(entity, "id", None)
    return entity_id if isinstance(entity_id, UUID) else None
