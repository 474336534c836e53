"""The transactional outbox: the recorded events that leave the building.

The unit of work turns each such event into an OutboxMessage and writes it in the same
transaction as the change (so nothing is sent for a change that rolled back, and nothing
is lost once it committed); the dispatcher (dispatch.py) delivers it afterwards. The
payload is thin: ids, times and statuses only, never a name, email, phone number or free
text (reason and notes may hold anything), so a receiver that needs more asks the API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from appointments.application.events import Event
from appointments.domain.appointments import Appointment
from appointments.domain.audit import jsonable
from appointments.domain.webhooks import WEBHOOK_EVENTS

# Sent as null whatever they hold: free text may name a person or a condition.
FREE_TEXT = ("reason", "notes", "cancellation_reason")
# The Appointment fields of API.md, in its order.
APPOINTMENT_FIELDS = (
    "id",
    "patient_id",
    "doctor_id",
    "department_id",
    "starts_at",
    "ends_at",
    "status",
    *FREE_TEXT,
    "created_at",
    "updated_at",
    "service_id",
    "room_id",
    "series_id",
    "cancelled_by",
    "cancelled_at",
)


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """`id` is the webhook-id receivers deduplicate on: the same on every retry."""

    event_type: str
    occurred_at: datetime
    payload: dict[str, Any]
    appointment_id: UUID | None = None
    starts_at: datetime | None = None
    id: UUID = field(default_factory=uuid4)


def appointment_payload(appointment: Appointment) -> dict[str, Any]:
    return {
        name: None if name in FREE_TEXT else jsonable(getattr(appointment, name))
        for name in APPOINTMENT_FIELDS
    }


# Not sent anywhere, but the dispatcher acts on it: new reminder offsets are planned for
# the appointments already booked.
POLICY_UPDATED = "policy.updated"


def outbox_message(event: Event, occurred_at: datetime) -> OutboxMessage | None:
    """The message an event sends, or None for one that stays inside (most of them)."""
    if event.action == POLICY_UPDATED:
        return OutboxMessage(event_type=event.action, occurred_at=occurred_at, payload={})
    if event.action not in WEBHOOK_EVENTS:
        return None
    subject = event.subject
    if isinstance(subject, Appointment):
        return OutboxMessage(
            event_type=event.action,
            occurred_at=occurred_at,
            payload={"appointment": appointment_payload(subject)},
            appointment_id=subject.id,
            starts_at=subject.starts_at,
        )
    raise AssertionError(f"{event.action} recorded without the entity it is about")
