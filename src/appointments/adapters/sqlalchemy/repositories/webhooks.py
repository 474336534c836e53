"""Webhook endpoints: one row each, `event_types` a JSON list."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import Row, delete, select, update

from appointments.adapters.sqlalchemy.repositories.base import SqlEntityRepository, entity_from
from appointments.adapters.sqlalchemy.tables import webhook_endpoints
from appointments.application.ports.queries import Page, PageRequest
from appointments.domain.webhooks import WebhookEndpoint


def _endpoint(row: Row[Any]) -> WebhookEndpoint:
    return entity_from(WebhookEndpoint, row, event_types=tuple(row.event_types))


class SqlWebhookRepository(SqlEntityRepository[WebhookEndpoint]):
    table = webhook_endpoints
    _from_row = staticmethod(_endpoint)

    async def delete(self, endpoint_id: UUID) -> None:
        await self._db.execute(
            delete(webhook_endpoints).where(webhook_endpoints.c.id == endpoint_id)
        )

    async def search(self, page: PageRequest) -> Page[WebhookEndpoint]:
        order = [webhook_endpoints.c.created_at, webhook_endpoints.c.id]
        rows, total = await self._page(select(webhook_endpoints), order, page)
        return Page([_endpoint(r) for r in rows], total, page.limit, page.offset)

    async def active(self) -> list[WebhookEndpoint]:
        query = select(webhook_endpoints).where(webhook_endpoints.c.is_active.is_(True))
        return [_endpoint(r) for r in await self._db.execute(query)]

    async def deactivate(self, endpoint_id: UUID) -> bool:
        t = webhook_endpoints
        result = await self._db.execute(
            update(t).where(t.c.id == endpoint_id, t.c.is_active.is_(True)).values(is_active=False)
        )
        return bool(result.rowcount)
