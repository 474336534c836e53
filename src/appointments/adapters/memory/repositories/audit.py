"""The audit trail and idempotency keys, in memory, with the SQL adapters' semantics."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from appointments.adapters.memory.repositories.base import MemoryRepository, page_of, utc
from appointments.application.events import AuditEvent
from appointments.application.ports.queries import AuditFilter, Page, PageRequest
from appointments.application.ports.repositories import KeyClaim, StoredResponse


def _matches(event: AuditEvent, f: AuditFilter) -> bool:
    actor_id = event.actor.user_id if event.actor else None
    return (
        (f.entity_type is None or event.entity_type == f.entity_type)
        and (f.entity_id is None or event.entity_id == f.entity_id)
        and (f.actor_user_id is None or actor_id == f.actor_user_id)
        and (f.action is None or event.action == f.action)
        and (f.since is None or event.occurred_at >= f.since)
        and (f.until is None or event.occurred_at < f.until)
    )


class MemoryAuditQueries(MemoryRepository):
    def write(self, events: list[AuditEvent]) -> None:
        first = len(self._s.audit_events) + 1
        self._s.audit_events.extend(
            dataclasses.replace(e, id=first + i, occurred_at=utc(e.occurred_at))
            for i, e in enumerate(events)
        )

    async def search(self, filters: AuditFilter, page: PageRequest) -> Page[AuditEvent]:
        sign = 1 if filters.oldest_first else -1
        found = (e for e in self._s.audit_events if _matches(e, filters))
        return page_of(found, lambda e: sign * e.id, page)


class MemoryIdempotencyRepository(MemoryRepository):
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
        held = self._s.idempotency_keys.get((scope, key))
        if held is not None:
            claim, claimed_at, expires = held
            abandoned = claim.response is None and claimed_at < abandoned_before
            if expires > now and not abandoned:
                return claim
        self._s.idempotency_keys[(scope, key)] = (KeyClaim(fingerprint, None), now, expires_at)
        return None

    async def complete(self, scope: str, key: str, response: StoredResponse) -> None:
        held = self._s.idempotency_keys.get((scope, key))
        if held is not None and held[0].response is None:
            claim, claimed_at, expires_at = held
            done = KeyClaim(claim.fingerprint, response)
            self._s.idempotency_keys[(scope, key)] = (done, claimed_at, expires_at)

    async def release(self, scope: str, key: str) -> None:
        held = self._s.idempotency_keys.get((scope, key))
        if held is not None and held[0].response is None:
            del self._s.idempotency_keys[(scope, key)]

    async def purge_expired(self, now: datetime) -> None:
        keys = self._s.idempotency_keys
        for stale in [k for k, (_, _, expires_at) in keys.items() if expires_at <= now]:
            del keys[stale]
