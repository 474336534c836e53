"""The outbox and its deliveries, kept as the SQL tables keep them (claims included)."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID, uuid4

from appointments.adapters.memory.repositories.base import MemoryRepository, stored
from appointments.adapters.memory.state import DeliveryClaim
from appointments.application.outbox import OutboxMessage
from appointments.application.ports.outbox import Claim
from appointments.application.ports.queries import Page, PageRequest
from appointments.domain.deliveries import Channel, Delivery, DeliveryStatus


def _email_key(d: Delivery) -> tuple[UUID | None, str | None, datetime | None]:
    return (d.appointment_id, d.email_key, d.starts_at)


class MemoryOutboxRepository(MemoryRepository):
    async def add_messages(self, messages: Sequence[OutboxMessage]) -> None:
        for message in messages:
            self._s.outbox_messages[message.id] = (stored(message), None)

    async def take_unplanned(self, limit: int) -> list[OutboxMessage]:
        unplanned = [m for m, planned in self._s.outbox_messages.values() if planned is None]
        return sorted(unplanned, key=lambda m: m.occurred_at)[:limit]

    async def mark_planned(self, message_ids: Sequence[UUID], now: datetime) -> None:
        for message_id in message_ids:
            message, _ = self._s.outbox_messages[message_id]
            self._s.outbox_messages[message_id] = (message, now)

    async def add_deliveries(self, planned: Sequence[Delivery]) -> None:
        emails = {
            _email_key(d) for d, _ in self._s.deliveries.values() if d.channel is Channel.EMAIL
        }
        for delivery in planned:
            key = _email_key(delivery)
            if delivery.channel is Channel.EMAIL and key in emails:
                continue  # the unique (appointment_id, email_key, starts_at) of the table
            emails.add(key)
            self._s.deliveries[delivery.id] = (stored(delivery), None)

    async def claim_due(self, now: datetime, lease_until: datetime, limit: int) -> Claim:
        token = uuid4()
        due = sorted(
            (
                d
                for d, claim in self._s.deliveries.values()
                if d.status is DeliveryStatus.PENDING
                and d.next_attempt_at <= now
                and (claim is None or claim.until < now)
            ),
            key=lambda d: d.next_attempt_at,
        )[:limit]
        for delivery in due:
            self._s.deliveries[delivery.id] = (delivery, DeliveryClaim(token, lease_until))
        return Claim(token, lease_until, [copy.copy(d) for d in due])

    async def messages(self, message_ids: Sequence[UUID]) -> dict[UUID, OutboxMessage]:
        found = (self._s.outbox_messages.get(i) for i in message_ids)
        return {entry[0].id: entry[0] for entry in found if entry is not None}

    async def finish(self, delivery: Delivery, token: UUID) -> bool:
        entry = self._s.deliveries.get(delivery.id)
        if entry is None or entry[1] is None or entry[1].token != token:
            return False
        kept = dataclasses.replace(
            entry[0],
            status=delivery.status,
            attempts=delivery.attempts,
            last_status_code=delivery.last_status_code,
            last_error=delivery.last_error,
            next_attempt_at=delivery.next_attempt_at,
            delivered_at=delivery.delivered_at,
        )
        self._s.deliveries[delivery.id] = (stored(kept), None)
        return True

    async def deliveries_for(self, endpoint_id: UUID, page: PageRequest) -> Page[Delivery]:
        mine = [d for d, _ in self._s.deliveries.values() if d.endpoint_id == endpoint_id]
        newest_first = sorted(mine, key=lambda d: (d.created_at, d.id), reverse=True)
        chunk = newest_first[page.offset : page.offset + page.limit]
        return Page([copy.copy(d) for d in chunk], len(mine), page.limit, page.offset)
