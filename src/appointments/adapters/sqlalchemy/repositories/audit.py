"""The audit trail: rows made here, written by the commit (records.py), read by filters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, select

from appointments.adapters.sqlalchemy.repositories.base import SqlRepository
from appointments.adapters.sqlalchemy.tables import audit_events
from appointments.application.events import AuditEvent, Event, EventActor
from appointments.application.ports.queries import AuditFilter, Page, PageRequest
from appointments.domain.users import Role


def audit_row(event: Event, occurred_at: datetime, request_id: str | None) -> dict[str, Any]:
    actor = event.actor
    return {
        "occurred_at": occurred_at,
        "actor_user_id": actor.user_id if actor else None,
        "actor_role": actor.role.value if actor else None,
        "action": event.action,
        "entity_type": event.entity_type,
        "entity_id": event.entity_id,
        "changes": event.changes,
        "request_id": request_id,
    }


def _from_row(row: Row[Any]) -> AuditEvent:
    m = row._mapping
    actor = EventActor(m["actor_user_id"], Role(m["actor_role"])) if m["actor_role"] else None
    return AuditEvent(
        id=m["id"],
        occurred_at=m["occurred_at"],
        action=m["action"],
        entity_type=m["entity_type"],
        entity_id=m["entity_id"],
        actor=actor,
        changes=m["changes"],
        request_id=m["request_id"],
    )


class SqlAuditQueries(SqlRepository):
    async def search(self, filters: AuditFilter, page: PageRequest) -> Page[AuditEvent]:
        t = audit_events
        query = select(t)
        for column, value in (
            (t.c.entity_type, filters.entity_type),
            (t.c.entity_id, filters.entity_id),
            (t.c.actor_user_id, filters.actor_user_id),
            (t.c.action, filters.action),
        ):
            if value is not None:
                query = query.where(column == value)
        if filters.since is not None:
            query = query.where(t.c.occurred_at >= filters.since)
        if filters.until is not None:
            query = query.where(t.c.occurred_at < filters.until)
        order = t.c.id.asc() if filters.oldest_first else t.c.id.desc()
        rows, total = await self._page(query, [order], page)
        return Page([_from_row(r) for r in rows], total, page.limit, page.offset)
