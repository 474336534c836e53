from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from appointments.domain.users import Role
from appointments.entrypoints.api.schemas.common import Output


class ActorOut(Output):
    user_id: UUID
    role: Role


class FieldChangeOut(BaseModel):
    old: Any
    new: Any


class AuditEventOut(Output):
    """`actor` null: the system did it (a cascade, an expiry). A password, hash, token or
    secret in `changes` reads "[redacted]"."""

    id: int
    occurred_at: datetime
    actor: ActorOut | None
    action: str
    entity_type: str
    entity_id: UUID | None
    changes: dict[str, FieldChangeOut]
    request_id: str | None
