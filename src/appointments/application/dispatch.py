"""The dispatcher: delivers what the outbox holds, at least once, with any number of
processes running it.

Two steps, each its own short transaction. Planning takes outbox messages no one has
planned (locked, so each is planned once) and writes their deliveries: one per
subscribed endpoint, and the patient's emails (reminders at their due times). Delivering
claims due deliveries under a lease, attempts them with no transaction open, and stores
each outcome only if the claim still holds. A dispatcher that dies mid-attempt leaves its
claims to run out; another then attempts them again. So the one duplicate that can
remain is an attempt that got through while its process died before storing the outcome
(a few milliseconds after the answer): receivers deduplicate on `webhook-id`, and a
repeated email carries the same Message-ID.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from appointments.application.errors import DeliveryFailed
from appointments.application.events import Tracked
from appointments.application.outbox import POLICY_UPDATED, OutboxMessage
from appointments.application.ports.services import (
    Clock,
    Mailer,
    UrlGuard,
    WebhookRequest,
    WebhookSender,
)
from appointments.application.ports.unit_of_work import UnitOfWork
from appointments.domain.deliveries import EMAIL_RETRY_SECONDS, Channel, Delivery
from appointments.domain.errors import WebhookUrlNotAllowed
from appointments.domain.notifications import (
    EMAIL_EVENTS,
    EmailKind,
    compose_email,
    email_key,
    parse_email_key,
    reminder_times,
    why_not_sent,
)
from appointments.domain.webhooks import (
    JITTER,
    WEBHOOK_EVENTS,
    WebhookEndpoint,
    signed_headers,
    webhook_body,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DispatchConfig:
    retry_seconds: tuple[int, ...]
    timezone: str = "UTC"
    batch_size: int = 50
    # Longer than any attempt can take (a 10 s webhook timeout, a 30 s SMTP one).
    lease: timedelta = timedelta(seconds=120)


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
    message: OutboxMessage, appointment_id: UUID, starts_at: datetime, key: str, due: datetime
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


class Dispatcher:
    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        clock: Clock,
        guard: UrlGuard,
        sender: WebhookSender,
        mailer: Mailer | None,
        config: DispatchConfig,
        jitter: Callable[[], float] = lambda: random.uniform(-JITTER, JITTER),  # noqa: S311
    ) -> None:
        """`mailer` None: no email (no SMTP_URL). `jitter` spreads retries so endpoints
        that failed together are not retried in one burst."""
        self._uow, self._clock, self._guard = uow, clock, guard
        self._sender, self._mailer, self._config = sender, mailer, config
        self._jitter, self._zone = jitter, ZoneInfo(config.timezone)

    async def run(self, stop: asyncio.Event, poll_seconds: float) -> None:
        """Until `stop` is set: work while there is work, else wait up to a poll. An
        attempt under way when `stop` is set is finished (graceful shutdown)."""
        while not stop.is_set():
            try:
                busy = await self.run_once() >= self._config.batch_size
            except Exception:  # a database outage: log it, try again after a poll
                log.exception("dispatch failed; retrying")
                busy = False
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), poll_seconds)

    async def run_once(self) -> int:
        """Plan what is new, attempt what is due; how many messages and deliveries."""
        return await self.plan_new() + await self.deliver_due()

    async def plan_new(self) -> int:
        async with self._uow() as uow:
            messages = await uow.outbox.take_unplanned(self._config.batch_size)
            if not messages:
                return 0
            endpoints = await uow.webhooks.active()
            policy = await uow.policy.get()
            offsets = policy.reminder_offsets_minutes if self._mailer else None
            planned = [d for m in messages for d in plan(m, endpoints, offsets)]
            if offsets is not None and any(m.event_type == POLICY_UPDATED for m in messages):
                planned += await self._replan_reminders(uow, messages, offsets)
            await uow.outbox.add_deliveries(planned)
            await uow.outbox.mark_planned([m.id for m in messages], self._clock.now())
            await uow.commit()
        return len(messages)

    async def _replan_reminders(
        self, uow: UnitOfWork, messages: Sequence[OutboxMessage], offsets: Sequence[int]
    ) -> list[Delivery]:
        """The policy changed: reminders at its offsets for every appointment still to
        come (those already planned are left out by the store; those at offsets no longer
        in the policy are skipped when due)."""
        [update, *_] = [m for m in messages if m.event_type == POLICY_UPDATED]
        now = self._clock.now()
        return [
            email(update, appointment.id, appointment.starts_at, key, due)
            for appointment in await uow.appointments.future_active(now=now)
            for key, due in reminders(appointment.starts_at, offsets, now)
        ]

    async def deliver_due(self) -> int:
        now = self._clock.now()
        async with self._uow() as uow:
            claim = await uow.outbox.claim_due(
                now, now + self._config.lease, self._config.batch_size
            )
            messages = await uow.outbox.messages(list({d.event_id for d in claim.deliveries}))
            await uow.commit()
        attempts = [
            self._webhook(d, messages[d.event_id], claim.token)
            if d.channel is Channel.WEBHOOK
            else self._email(d, claim.token)
            for d in claim.deliveries
        ]
        await asyncio.gather(*attempts)
        return len(attempts)

    async def _webhook(self, delivery: Delivery, message: OutboxMessage, token: UUID) -> None:
        async with self._uow() as uow:
            assert delivery.endpoint_id is not None
            endpoint = await uow.webhooks.get(delivery.endpoint_id)
        now = self._clock.now()
        schedule, deactivate = self._config.retry_seconds, False
        if endpoint is None or not endpoint.is_active:
            delivery.failed(now, "the endpoint was deactivated", (), 0.0)
        else:
            body = webhook_body(message.event_type, message.occurred_at, message.payload)
            headers = signed_headers(endpoint.secret_bytes, str(message.id), now, body)
            try:
                target = await self._guard.check(endpoint.url)
                status = await self._sender.post(WebhookRequest(target, headers, body))
            except (WebhookUrlNotAllowed, DeliveryFailed) as error:
                delivery.failed(self._clock.now(), str(error), schedule, self._jitter())
            else:
                deactivate = delivery.answered(self._clock.now(), status, schedule, self._jitter())
        async with self._uow() as uow:
            kept = await uow.outbox.finish(delivery, token)
            if kept and deactivate and (gone := await uow.webhooks.get(delivery.endpoint_id)):
                tracked = Tracked(gone)
                gone.is_active = False
                await uow.webhooks.save(gone)
                uow.record(tracked.event("webhook.deactivated", None))
            await uow.commit()

    async def _email(self, delivery: Delivery, token: UUID) -> None:
        assert delivery.appointment_id is not None
        assert delivery.email_key is not None
        kind, offset = parse_email_key(delivery.email_key)
        async with self._uow() as uow:
            appointment = await uow.appointments.get(delivery.appointment_id)
            assert appointment is not None  # appointments are never deleted
            patient = await uow.patients.get(appointment.patient_id)
            doctor = await uow.doctors.get(appointment.doctor_id)
            policy = await uow.policy.get()
        now = self._clock.now()
        reason = why_not_sent(
            kind,
            offset,
            planned_start=delivery.starts_at,
            appointment=appointment,
            reminder_offsets=policy.reminder_offsets_minutes,
            has_email=bool(patient and patient.email),
            now=now,
        )
        if reason is not None or self._mailer is None:
            delivery.skip(reason or "email is off (no SMTP_URL)")
        else:
            assert patient is not None
            assert patient.email
            assert doctor is not None
            message = compose_email(
                kind=kind,
                offset_minutes=offset,
                to=patient.email,
                appointment_id=appointment.id,
                starts_at=appointment.starts_at,
                ends_at=appointment.ends_at,
                doctor_name=doctor.full_name,
                zone=self._zone,
                mail_domain=self._mailer.mail_domain,
            )
            try:
                await self._mailer.send(message)
            except DeliveryFailed as error:
                delivery.failed(self._clock.now(), str(error), EMAIL_RETRY_SECONDS, self._jitter())
            else:
                delivery.succeeded(self._clock.now())
        async with self._uow() as uow:
            await uow.outbox.finish(delivery, token)
            await uow.commit()
