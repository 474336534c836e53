"""The outbox port: messages written with their change, fanned out to deliveries,
claimed by dispatchers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from appointments.application.outbox import OutboxMessage
from appointments.application.ports.queries import Page, PageRequest
from appointments.domain.deliveries import Delivery


@dataclass(frozen=True, slots=True)
class Claim:
    """Due deliveries taken by one dispatcher until `until`: another takes them over only
    after that (the first one died), and a late result from the first is then ignored."""

    token: UUID
    until: datetime
    deliveries: list[Delivery]


class OutboxRepository(Protocol):
    async def add_messages(self, messages: Sequence[OutboxMessage]) -> None:
        """Written by the unit of work's commit, with the change they announce."""

    async def take_unplanned(self, limit: int) -> list[OutboxMessage]:
        """Oldest messages not yet fanned out to deliveries, locked for this transaction
        (others skip them, so each is planned by one dispatcher)."""

    async def mark_planned(self, message_ids: Sequence[UUID], now: datetime) -> None: ...

    async def add_deliveries(self, deliveries: Sequence[Delivery]) -> None:
        """An email already planned for the same (appointment, key, start) is left out."""

    async def claim_due(self, now: datetime, lease_until: datetime, limit: int) -> Claim:
        """Pending deliveries due by `now`, not under another live claim; each claimed
        for `lease_until` under a fresh token."""

    async def messages(self, message_ids: Sequence[UUID]) -> dict[UUID, OutboxMessage]: ...

    async def finish(self, delivery: Delivery, token: UUID) -> bool:
        """Store the attempt's outcome and release the claim; False (nothing stored) if
        the claim expired and was taken over."""

    async def deliveries_for(self, endpoint_id: UUID, page: PageRequest) -> Page[Delivery]:
        """Newest first."""
