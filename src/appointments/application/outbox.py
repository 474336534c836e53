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
from appointments.domain.holds import Hold
from appointments.domain.schedule import Span, TimeOff
from appointments.domain.waitlist import WaitlistEntry
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


# Not sent anywhere, but the dispatcher acts on them: new reminder offsets are planned for
# the appointments already booked; freed time is offered to the waitlist.
POLICY_UPDATED = "policy.updated"
TIME_FREED = "time.freed"


def outbox_messages(event: Event, occurred_at: datetime) -> list[OutboxMessage]:
    """The messages an event sends: most send none."""
    messages = []
    if event.action == POLICY_UPDATED:
        messages.append(OutboxMessage(event_type=event.action, occurred_at=occurred_at, payload={}))
    if event.action in WEBHOOK_EVENTS:
        messages.append(_public(event, occurred_at))
    if (freed := freed_time(event)) is not None:
        doctor_id, span = freed
        payload = {
            "doctor_id": str(doctor_id),
            "starts_at": span.starts_at.isoformat(),
            "ends_at": span.ends_at.isoformat(),
        }
        messages.append(OutboxMessage(TIME_FREED, occurred_at, payload))
    return messages


def _public(event: Event, occurred_at: datetime) -> OutboxMessage:
    subject = event.subject
    if isinstance(subject, Appointment):
        return OutboxMessage(
            event_type=event.action,
            occurred_at=occurred_at,
            payload={"appointment": appointment_payload(subject)},
            appointment_id=subject.id,
            starts_at=subject.starts_at,
        )
    if isinstance(subject, WaitlistEntry):
        payload = {"waitlist_entry": entry_payload(subject)}
        # The offered start: the patient's offer email is planned from it.
        offered = subject.offer.starts_at if subject.offer else None
        return OutboxMessage(event.action, occurred_at, payload, starts_at=offered)
    raise AssertionError(f"{event.action} recorded without the entity it is about")


def freed_span(message: OutboxMessage) -> tuple[UUID, Span]:
    """The doctor and the time a `time.freed` message gives back."""
    payload = message.payload
    span = Span(
        datetime.fromisoformat(payload["starts_at"]), datetime.fromisoformat(payload["ends_at"])
    )
    return UUID(payload["doctor_id"]), span


def freed_time(event: Event) -> tuple[UUID, Span] | None:
    """The doctor's time an event gave back, for the waitlist: a cancellation's span, a
    move's old span, a deleted time off, a hold released or run out."""
    subject = event.subject
    if isinstance(subject, Appointment):
        if event.action == "appointment.cancelled":
            return subject.doctor_id, subject.span
        if event.action == "appointment.rescheduled" and (
            "starts_at" in event.changes or "ends_at" in event.changes
        ):
            old = Span(
                _old(event, "starts_at", subject.starts_at), _old(event, "ends_at", subject.ends_at)
            )
            return subject.doctor_id, old
        return None
    if isinstance(subject, TimeOff) and event.action == "time_off.deleted":
        return subject.doctor_id, subject.span
    if isinstance(subject, Hold) and event.action in ("hold.released", "hold.expired"):
        return subject.doctor_id, subject.span
    return None


def _old(event: Event, name: str, current: datetime) -> datetime:
    change = event.changes.get(name)
    if change is None:
        return current
    old = change["old"]
    assert isinstance(old, str)
    return datetime.fromisoformat(old)


def entry_payload(entry: WaitlistEntry) -> dict[str, Any]:
    """A waitlist entry as API.md shows it (ids, days, status and offer times only)."""
    offer = entry.offer
    return {
        "id": str(entry.id),
        "patient_id": str(entry.patient_id),
        "doctor_id": jsonable(entry.doctor_id),
        "department_id": str(entry.department_id),
        "service_id": jsonable(entry.service_id),
        "date_from": entry.date_from.isoformat(),
        "date_to": entry.date_to.isoformat(),
        "duration_minutes": entry.duration_minutes,
        "status": entry.status.value,
        "offer": None
        if offer is None
        else {
            "hold_id": str(offer.hold_id),
            "doctor_id": str(offer.doctor_id),
            "starts_at": offer.starts_at.isoformat(),
            "ends_at": offer.ends_at.isoformat(),
            "expires_at": offer.expires_at.isoformat(),
        },
        "created_at": entry.created_at.isoformat(),
    }
