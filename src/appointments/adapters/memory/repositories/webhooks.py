"""Webhook endpoints, kept as the SQL table keeps them."""

from __future__ import annotations

import copy
from uuid import UUID

from appointments.adapters.memory.repositories.base import MemoryRepository, page_of, stored
from appointments.application.ports.queries import Page, PageRequest
from appointments.domain.webhooks import WebhookEndpoint


class MemoryWebhookRepository(MemoryRepository):
    async def add(self, endpoint: WebhookEndpoint) -> None:
        self._s.webhook_endpoints[endpoint.id] = stored(endpoint)

    async def get(self, endpoint_id: UUID) -> WebhookEndpoint | None:
        return copy.copy(self._s.webhook_endpoints.get(endpoint_id))

    async def save(self, endpoint: WebhookEndpoint) -> None:
        if endpoint.id in self._s.webhook_endpoints:
            self._s.webhook_endpoints[endpoint.id] = stored(endpoint)

    async def delete(self, endpoint_id: UUID) -> None:
        """Its deliveries go with it (ON DELETE CASCADE in the table)."""
        self._s.webhook_endpoints.pop(endpoint_id, None)
        for delivery_id, (delivery, _) in list(self._s.deliveries.items()):
            if delivery.endpoint_id == endpoint_id:
                del self._s.deliveries[delivery_id]

    async def search(self, page: PageRequest) -> Page[WebhookEndpoint]:
        return page_of(self._s.webhook_endpoints.values(), lambda e: (e.created_at, e.id), page)

    async def active(self) -> list[WebhookEndpoint]:
        return [copy.copy(e) for e in self._s.webhook_endpoints.values() if e.is_active]

    async def deactivate(self, endpoint_id: UUID) -> bool:
        endpoint = self._s.webhook_endpoints.get(endpoint_id)
        if endpoint is None or not endpoint.is_active:
            return False
        endpoint.is_active = False
        return True
