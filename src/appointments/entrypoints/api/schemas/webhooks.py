"""Webhook endpoints. The secret appears in one answer only: the 201 of its creation.

Event names are documented here (enum) and checked by the domain, so an unknown one is
refused one way: 422 `invalid_value`. A URL the schema admits may still be refused: 422
`webhook_url_not_allowed` (scheme, credentials, or a host that is not public)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import Field, StringConstraints

from appointments.domain.deliveries import DeliveryStatus
from appointments.domain.webhooks import WEBHOOK_DESCRIPTION, WEBHOOK_EVENTS, WEBHOOK_URL
from appointments.entrypoints.api.schemas.common import Input, JsonBool, Output, free

WebhookUrl = Annotated[
    str, StringConstraints(min_length=WEBHOOK_URL.min, max_length=WEBHOOK_URL.max)
]
EventType = Annotated[str, Field(json_schema_extra={"enum": list(WEBHOOK_EVENTS)})]
# A name sent twice counts once (the domain keeps the first).
EventTypes = list[EventType]
WebhookDescription = Annotated[str, free(WEBHOOK_DESCRIPTION)]


class WebhookOut(Output):
    id: UUID
    url: str
    event_types: list[str]
    description: str | None
    is_active: bool
    created_at: datetime


class WebhookCreatedOut(WebhookOut):
    """Keep `secret`: it verifies the `webhook-signature` header, and is never shown again."""

    secret: str


class WebhookIn(Input):
    url: WebhookUrl
    event_types: EventTypes = []
    description: WebhookDescription | None = None


class WebhookPatchIn(Input):
    not_null = frozenset({"url", "event_types", "is_active"})

    url: WebhookUrl | None = None
    event_types: EventTypes | None = None
    description: WebhookDescription | None = None
    is_active: JsonBool | None = None


class DeliveryOut(Output):
    """One event's delivery to this endpoint: `pending` while attempts remain."""

    id: UUID
    event_id: UUID = Field(description="The `webhook-id` header of every attempt.")
    event_type: str
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime
