"""Admin CRUD of webhook endpoints (API.md, "Webhooks and notifications")."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Response, status

from appointments.application import webhooks as uc
from appointments.container import Container
from appointments.domain.errors import InvalidValue, NotFound, WebhookUrlNotAllowed
from appointments.entrypoints.api.dependencies import CurrentActor, Pagination, use
from appointments.entrypoints.api.schemas.common import PageOut, errors, page_out
from appointments.entrypoints.api.schemas.webhooks import (
    DeliveryOut,
    WebhookCreatedOut,
    WebhookIn,
    WebhookOut,
    WebhookPatchIn,
)

router = APIRouter(prefix="/api/admin/webhooks", tags=["webhooks"], responses=errors(401, 403, 503))


@router.get("", response_model=PageOut[WebhookOut])
async def list_webhooks(
    actor: CurrentActor,
    page: Pagination,
    list_webhooks: Annotated[uc.ListWebhooks, Depends(use(Container.list_webhooks))],
) -> PageOut[WebhookOut]:
    """List webhook endpoints

    Never their secrets.

    Who: ADMIN.
    """
    return page_out(WebhookOut, await list_webhooks(actor, page))


@router.get("/{webhook_id}", response_model=WebhookOut, responses=errors(NotFound))
async def get_webhook(
    webhook_id: UUID,
    actor: CurrentActor,
    get: Annotated[uc.GetWebhook, Depends(use(Container.get_webhook))],
) -> WebhookOut:
    """Get a webhook endpoint

    Never its secret.

    Who: ADMIN.
    """
    return WebhookOut.model_validate(await get(actor, webhook_id))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=WebhookCreatedOut,
    responses=errors(WebhookUrlNotAllowed, InvalidValue),
)
async def create_webhook(
    body: WebhookIn,
    actor: CurrentActor,
    create: Annotated[uc.CreateWebhook, Depends(use(Container.create_webhook))],
) -> WebhookCreatedOut:
    """Create a webhook endpoint

    The answer carries the signing `secret`, shown only here. `event_types` empty means
    all. A URL whose host resolves to a private, loopback, link-local or multicast
    address is `webhook_url_not_allowed` (unless the operator allows private networks).

    Who: ADMIN.
    """
    data = uc.NewWebhook(body.url, tuple(body.event_types), body.description)
    return WebhookCreatedOut.model_validate(await create(actor, data))


@router.patch(
    "/{webhook_id}",
    response_model=WebhookOut,
    responses=errors(NotFound, WebhookUrlNotAllowed, InvalidValue),
)
async def update_webhook(
    webhook_id: UUID,
    body: WebhookPatchIn,
    actor: CurrentActor,
    update: Annotated[uc.UpdateWebhook, Depends(use(Container.update_webhook))],
) -> WebhookOut:
    """Update a webhook endpoint

    Any of `url`, `event_types`, `description`, `is_active`.

    Who: ADMIN.
    """
    return WebhookOut.model_validate(
        await update(actor, webhook_id, body.changes(uc.WebhookChanges))
    )


@router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(NotFound))
async def delete_webhook(
    webhook_id: UUID,
    actor: CurrentActor,
    delete: Annotated[uc.DeleteWebhook, Depends(use(Container.delete_webhook))],
) -> Response:
    """Delete a webhook endpoint

    Who: ADMIN.
    """
    await delete(actor, webhook_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{webhook_id}/deliveries", response_model=PageOut[DeliveryOut], responses=errors(NotFound)
)
async def list_webhook_deliveries(
    webhook_id: UUID,
    actor: CurrentActor,
    page: Pagination,
    list_deliveries: Annotated[uc.ListDeliveries, Depends(use(Container.list_deliveries))],
) -> PageOut[DeliveryOut]:
    """An endpoint's delivery log

    Newest first: status, attempts, the last answer's status code or error, the next
    attempt.

    Who: ADMIN.
    """
    return page_out(DeliveryOut, await list_deliveries(actor, webhook_id, page))
