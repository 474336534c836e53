"""The outbox and its deliveries. Claims are safe with any number of dispatchers: rows
are picked with FOR UPDATE SKIP LOCKED on PostgreSQL (SQLite, one writer at a time,
ignores the clause and needs none), and a claim is a token with a lease, so a dead
dispatcher's work is picked up again once the lease runs out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import Row, insert, or_, select, update

from appointments.adapters.sqlalchemy.repositories.base import SqlRepository, entity_from, upsert
from appointments.adapters.sqlalchemy.tables import deliveries, outbox_messages
from appointments.application.outbox import OutboxMessage
from appointments.application.ports.outbox import Claim
from appointments.application.ports.queries import Page, PageRequest
from appointments.domain.deliveries import Channel, Delivery, DeliveryStatus

_MESSAGE_FIELDS = tuple(f.name for f in fields(OutboxMessage))
_DELIVERY_FIELDS = tuple(f.name for f in fields(Delivery))
# What an attempt changes; the rest of a delivery is fixed when it is planned.
_OUTCOME = ("status", "attempts", "last_status_code", "last_error", "next_attempt_at")


def message_row(message: OutboxMessage) -> dict[str, Any]:
    return {name: getattr(message, name) for name in _MESSAGE_FIELDS}


def _delivery_row(delivery: Delivery) -> dict[str, Any]:
    return {name: getattr(delivery, name) for name in _DELIVERY_FIELDS}


def _message(row: Row[Any]) -> OutboxMessage:
    return entity_from(OutboxMessage, row)


def _delivery(row: Row[Any]) -> Delivery:
    return entity_from(
        Delivery, row, channel=Channel(row.channel), status=DeliveryStatus(row.status)
    )


class SqlOutboxRepository(SqlRepository):
    async def add_messages(self, messages: Sequence[OutboxMessage]) -> None:
        if messages:
            await self._db.execute(insert(outbox_messages), [message_row(m) for m in messages])

    async def take_unplanned(self, limit: int) -> list[OutboxMessage]:
        t = outbox_messages
        query = (
            select(t)
            .where(t.c.planned_at.is_(None))
            .order_by(t.c.occurred_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [_message(r) for r in await self._db.execute(query)]

    async def mark_planned(self, message_ids: Sequence[UUID], now: datetime) -> None:
        if message_ids:
            t = outbox_messages
            await self._db.execute(update(t).where(t.c.id.in_(message_ids)).values(planned_at=now))

    async def add_deliveries(self, planned: Sequence[Delivery]) -> None:
        if planned:
            statement = upsert(self._db, deliveries).on_conflict_do_nothing()
            await self._db.execute(statement, [_delivery_row(d) for d in planned])

    async def claim_due(self, now: datetime, lease_until: datetime, limit: int) -> Claim:
        t = deliveries
        due = (
            select(t.c.id)
            .where(
                t.c.status == DeliveryStatus.PENDING.value,
                t.c.next_attempt_at <= now,
                or_(t.c.claimed_until.is_(None), t.c.claimed_until < now),
            )
            .order_by(t.c.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        token = uuid4()
        # One round trip: the due rows are locked and claimed by the same statement.
        claiming = (
            update(t)
            .where(t.c.id.in_(due.scalar_subquery()))
            .values(claim_token=token, claimed_until=lease_until)
            .returning(*t.c)
        )
        rows = await self._db.execute(claiming)
        claimed = sorted((_delivery(r) for r in rows), key=lambda d: d.next_attempt_at)
        return Claim(token=token, until=lease_until, deliveries=claimed)

    async def messages(self, message_ids: Sequence[UUID]) -> dict[UUID, OutboxMessage]:
        if not message_ids:
            return {}
        query = select(outbox_messages).where(outbox_messages.c.id.in_(message_ids))
        return {row.id: _message(row) for row in await self._db.execute(query)}

    async def finish(self, delivery: Delivery, token: UUID) -> bool:
        t = deliveries
        outcome = {name: getattr(delivery, name) for name in _OUTCOME}
        result = await self._db.execute(
            update(t)
            .where(t.c.id == delivery.id, t.c.claim_token == token)
            .values(
                **outcome, delivered_at=delivery.delivered_at, claim_token=None, claimed_until=None
            )
        )
        return bool(result.rowcount)

    async def deliveries_for(self, endpoint_id: UUID, page: PageRequest) -> Page[Delivery]:
        t = deliveries
        query = select(t).where(t.c.endpoint_id == endpoint_id)
        rows, total = await self._page(query, [t.c.created_at.desc(), t.c.id.desc()], page)
        return Page([_delivery(r) for r in rows], total, page.limit, page.offset)
