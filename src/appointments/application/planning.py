"""Planning: the deliveries an outbox message makes, decided without I/O.

One per subscribed active endpoint (public events only), and, with email on, the
patient's emails: the message itself and the reminders still ahead (a waitlist offer:
its one email). A policy change
plans the reminders of its offsets for every appointment still to come."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from appointments.application.outbox import OutboxMessage
from appointments.domain.deliveries import Channel, Delivery
from appointments.domain.notifications import EMAIL_EVENTS, EmailKind, email_key, reminder_times
from appointments.domain.webhooks import WEBHOOK_EVENTS, WebhookEndpoint


def plan(
    message: OutboxMessage,
    endpoints: Sequence[WebhookEndpoint],
    reminder_offsets: Sequence[int] | None,
) -> list[Delivery]:
    """The deliveries of one message: each endpoint that wants it, and (when email is
    on: `reminder_offsets` not None) the patient's emails."""
    subscribed = endpoints if message.event_type in WEBHOOK_EVENTS else ()
    planned = [
        Delivery(
            channel=Channel.WEBHOOK,
            event_id=message.id,
            event_type=message.event_type,
            created_at=message.occurred_at,
            next_attempt_at=message.occurred_at,
            endpoint_id=endpoint.id,
        )
        for endpoint in subscribed
        if endpoint.wants(message.event_type)
    ]
    kind = EMAIL_EVENTS.get(message.event_type)
    if reminder_offsets is None or kind is None or message.starts_at is None:
        return planned
    if kind is EmailKind.OFFERED:  # about a waitlist entry: no appointment, no reminders
        key = email_key(kind, None)
        return [*planned, email(message, None, message.starts_at, key, message.occurred_at)]
    assert message.appointment_id is not None
    emails: list[tuple[str, datetime]] = [(email_key(kind, None), message.occurred_at)]
    if kind is not EmailKind.CANCELLED:
        emails += reminders(message.starts_at, reminder_offsets, message.occurred_at)
    return planned + [
        email(message, message.appointment_id, message.starts_at, key, due) for key, due in emails
    ]


def reminders(
    starts_at: datetime, offsets: Sequence[int], now: datetime
) -> list[tuple[str, datetime]]:
    """(email key, due) of each reminder still ahead of `now`."""
    return [
        (email_key(EmailKind.REMINDER, offset), due)
        for offset, due in reminder_times(starts_at, offsets, now)
    ]


def email(
    message: OutboxMessage,
    appointment_id: UUID | None,
    starts_at: datetime,
    key: str,
    due: datetime,
) -> Delivery:
    return Delivery(
        channel=Channel.EMAIL,
        event_id=message.id,
        event_type=message.event_type,
        created_at=message.occurred_at,
        next_attempt_at=due,
        appointment_id=appointment_id,
        email_key=key,
        starts_at=starts_at,
    )
