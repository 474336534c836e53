"""Webhook endpoints: admins manage where the clinic's events are delivered.

A URL is checked by the UrlGuard (its host must resolve to public addresses only) before
the transaction opens: a DNS lookup never holds a database connection. The secret is made
here once and shown only in what CreateWebhook returns; the audit trail redacts it (the
field is named `secret`). Delivery is the dispatcher's, which asks the same guard again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from appointments.application.access import ADMIN_ONLY, Actor, Restricted, visible
from appointments.application.events import Tracked, created, deleted
from appointments.application.ports.queries import Page, PageRequest
from appointments.application.ports.services import Clock, UrlGuard
from appointments.application.ports.unit_of_work import UnitOfWork
from appointments.domain.changes import UNSET, Maybe
from appointments.domain.deliveries import Delivery
from appointments.domain.webhooks import WebhookEndpoint, check_webhook_url


@dataclass(frozen=True, slots=True)
class NewWebhook:
    url: str
    event_types: Sequence[str] = ()
    description: str | None = None


class ListWebhooks(Restricted, roles=ADMIN_ONLY):
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def __call__(self, actor: Actor, page: PageRequest) -> Page[WebhookEndpoint]:
        async with self._uow as uow:
            return await uow.webhooks.search(page)


class GetWebhook(Restricted, roles=ADMIN_ONLY):
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def __call__(self, actor: Actor, webhook_id: UUID) -> WebhookEndpoint:
        async with self._uow as uow:
            return visible(await uow.webhooks.get(webhook_id))


class ListDeliveries(Restricted, roles=ADMIN_ONLY):
    """An endpoint's delivery log, newest first."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def __call__(self, actor: Actor, webhook_id: UUID, page: PageRequest) -> Page[Delivery]:
        async with self._uow as uow:
            endpoint = visible(await uow.webhooks.get(webhook_id))
            return await uow.outbox.deliveries_for(endpoint.id, page)


class CreateWebhook(Restricted, roles=ADMIN_ONLY):
    """Returns the endpoint with its new secret: the only time the caller sees it."""

    def __init__(self, uow: UnitOfWork, clock: Clock, guard: UrlGuard) -> None:
        self._uow, self._clock, self._guard = uow, clock, guard

    async def __call__(self, actor: Actor, data: NewWebhook) -> WebhookEndpoint:
        endpoint = WebhookEndpoint(
            url=data.url,
            event_types=tuple(data.event_types),
            description=data.description,
            created_at=self._clock.now(),
        )
        await self._guard.check(endpoint.url)
        async with self._uow as uow:
            await uow.webhooks.add(endpoint)
            uow.record(created("webhook.created", actor, endpoint))
            await uow.commit()
        return endpoint


@dataclass(frozen=True, slots=True)
class WebhookChanges:
    url: Maybe[str] = UNSET
    event_types: Maybe[Sequence[str]] = UNSET
    description: Maybe[str | None] = UNSET
    is_active: Maybe[bool] = UNSET


class UpdateWebhook(Restricted, roles=ADMIN_ONLY):
    def __init__(self, uow: UnitOfWork, guard: UrlGuard) -> None:
        self._uow, self._guard = uow, guard

    async def __call__(
        self, actor: Actor, webhook_id: UUID, changes: WebhookChanges
    ) -> WebhookEndpoint:
        if changes.url is not UNSET:
            await self._guard.check(check_webhook_url(changes.url))
        async with self._uow as uow:
            endpoint = visible(await uow.webhooks.get(webhook_id))
            tracked = Tracked(endpoint)
            if changes.url is not UNSET:
                endpoint.point_at(changes.url)
            if changes.event_types is not UNSET:
                endpoint.subscribe(changes.event_types)
            if changes.description is not UNSET:
                endpoint.describe(changes.description)
            if changes.is_active is not UNSET:
                endpoint.is_active = changes.is_active
            await uow.webhooks.save(endpoint)
            uow.record(tracked.event("webhook.updated", actor))
            await uow.commit()
        return endpoint


class DeleteWebhook(Restricted, roles=ADMIN_ONLY):
    """Removes the endpoint: nothing is delivered to it any more."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def __call__(self, actor: Actor, webhook_id: UUID) -> None:
        async with self._uow as uow:
            endpoint = visible(await uow.webhooks.get(webhook_id))
            await uow.webhooks.delete(endpoint.id)
            uow.record(deleted("webhook.deleted", actor, endpoint))
            await uow.commit()
