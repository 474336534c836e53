"""The dispatcher: delivers what the outbox holds, at least once, with any number of
processes running it.

Two steps, each its own short transaction. Planning takes outbox messages no one has
planned (locked, so each is planned once) and writes their deliveries (planning.py).
Delivering claims due deliveries under a lease, attempts them with no transaction open,
and stores each outcome only if the claim still holds. A dispatcher that dies mid-attempt
leaves its claims to run out; another then attempts them again. So the one duplicate
that can remain is an attempt that got through while its process died (or lost its
database) before storing the outcome: receivers deduplicate on `webhook-id`, and a
repeated email carries the same Message-ID.

At most `concurrency` attempts run at once, each on its own; new work is claimed while
they run, so one slow receiver delays nobody else's delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from appointments.application.errors import DeliveryFailed
from appointments.application.events import Event, by
from appointments.application.offers import OfferFreedTime
from appointments.application.outbox import POLICY_UPDATED, TIME_FREED, OutboxMessage, freed_span
from appointments.application.planning import email, plan, reminders
from appointments.application.ports.services import (
    Clock,
    Mailer,
    UrlGuard,
    WebhookRequest,
    WebhookSender,
)
from appointments.application.ports.unit_of_work import UnitOfWork
from appointments.domain.audit import changed
from appointments.domain.deliveries import EMAIL_RETRY_SECONDS, Channel, Delivery
from appointments.domain.errors import WebhookUrlNotAllowed
from appointments.domain.notifications import (
    EmailKind,
    EmailMessage,
    compose_email,
    parse_email_key,
    why_not_sent,
)
from appointments.domain.webhooks import JITTER, signed_headers, webhook_body

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DispatchConfig:
    retry_seconds: tuple[int, ...]
    timezone: str = "UTC"
    batch_size: int = 50
    # Attempts at once per dispatcher: each holds a database connection for a moment
    # before and after it, so this stays well below the pool.
    concurrency: int = 8
    # Longer than any attempt can take (a 10 s webhook timeout, a 30 s SMTP one).
    lease: timedelta = timedelta(seconds=120)


@dataclass(frozen=True, slots=True)
class _Attempt:
    delivery: Delivery
    message: OutboxMessage
    token: UUID


class Dispatcher:
    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        read_uow: Callable[[], UnitOfWork],
        clock: Clock,
        guard: UrlGuard,
        sender: WebhookSender,
        mailer: Mailer | None,
        config: DispatchConfig,
        jitter: Callable[[], float] = lambda: random.uniform(-JITTER, JITTER),  # noqa: S311
        offer_time: OfferFreedTime | None = None,
        sweep: Callable[[], Callable[[], Awaitable[int]]] | None = None,
    ) -> None:
        """`read_uow` for what an attempt reads first (no write lock taken on SQLite).
        `mailer` None: no email (no SMTP_URL). `jitter` spreads retries so endpoints
        that failed together are not retried in one burst. `offer_time` offers freed
        time to the waitlist as it is planned; `sweep` (a fresh one per round) ends
        holds and waitlist entries that ran out."""
        self._uow, self._read_uow, self._clock, self._guard = uow, read_uow, clock, guard
        self._sender, self._mailer, self._config = sender, mailer, config
        self._jitter, self._zone = jitter, ZoneInfo(config.timezone)
        self._offer_time, self._sweep = offer_time, sweep

    async def run(self, stop: asyncio.Event, poll_seconds: float) -> None:
        """Until `stop` is set: plan and start attempts while there is work, else wait up
        to a poll. Attempts under way when `stop` is set are finished (graceful)."""
        running: set[asyncio.Task[None]] = set()
        while not stop.is_set():
            busy = False
            try:
                await self.sweep()
                busy = await self.plan_new() >= self._config.batch_size
                free = self._config.concurrency - len(running)
                if free > 0:
                    claimed = await self._claim(free)
                    busy = busy or len(claimed) == free
                    for attempt in claimed:
                        task = asyncio.create_task(self._attempt(attempt))
                        running.add(task)
                        task.add_done_callback(running.discard)
            except Exception:  # a database outage: log it, try again after a poll
                log.exception("dispatch failed; retrying")
            if not busy or len(running) >= self._config.concurrency:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), poll_seconds)
        await asyncio.gather(*running, return_exceptions=True)

    async def run_once(self) -> int:
        """Plan what is new, attempt what is due and wait for the attempts; how many
        messages and deliveries that was."""
        await self.sweep()
        planned = await self.plan_new()
        claimed = await self._claim(self._config.batch_size)
        await asyncio.gather(*(self._attempt(a) for a in claimed))
        return planned + len(claimed)

    async def sweep(self) -> int:
        """Holds and waitlist entries that ran out, ended (their messages are planned
        next)."""
        return 0 if self._sweep is None else await self._sweep()()

    async def plan_new(self) -> int:
        async with self._uow() as uow:
            messages = await uow.outbox.take_unplanned(self._config.batch_size)
            if not messages:
                return 0
            endpoints = await uow.webhooks.active()
            policy = await uow.policy.get()
            offsets = policy.reminder_offsets_minutes if self._mailer else None
            planned = [d for m in messages for d in plan(m, endpoints, offsets)]
            freed = [freed_span(m) for m in messages if m.event_type == TIME_FREED]
            if self._offer_time is not None and freed:
                await self._offer_time(uow, freed)
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

    async def _claim(self, limit: int) -> list[_Attempt]:
        now = self._clock.now()
        async with self._uow() as uow:
            claim = await uow.outbox.claim_due(now, now + self._config.lease, limit)
            messages = await uow.outbox.messages(list({d.event_id for d in claim.deliveries}))
            await uow.commit()
        return [_Attempt(d, messages[d.event_id], claim.token) for d in claim.deliveries]

    async def _attempt(self, attempt: _Attempt) -> None:
        """One attempt; an error it did not expect (the database gone while it stores
        the outcome) is logged, and the claim running out hands the delivery on."""
        try:
            if attempt.delivery.channel is Channel.WEBHOOK:
                await self._webhook(attempt)
            else:
                await self._email(attempt)
        except Exception:
            log.exception("delivery %s: attempt not recorded", attempt.delivery.id)

    async def _webhook(self, attempt: _Attempt) -> None:
        delivery, message = attempt.delivery, attempt.message
        assert delivery.endpoint_id is not None
        async with self._read_uow() as uow:
            endpoint = await uow.webhooks.get(delivery.endpoint_id)
        schedule, gone = self._config.retry_seconds, False
        if endpoint is None or not endpoint.is_active:
            delivery.abandon("the endpoint is inactive")
        else:
            now = self._clock.now()
            body = webhook_body(message.event_type, message.occurred_at, message.payload)
            headers = signed_headers(endpoint.secret_bytes, str(message.id), now, body)
            try:
                target = await self._guard.check(endpoint.url)
                status = await self._sender.post(WebhookRequest(target, headers, body))
            except (WebhookUrlNotAllowed, DeliveryFailed) as error:
                delivery.failed(self._clock.now(), str(error), schedule, self._jitter())
            else:
                gone = delivery.answered(self._clock.now(), status, schedule, self._jitter())
        async with self._uow() as uow:
            kept = await uow.outbox.finish(delivery, attempt.token)
            if kept and gone and await uow.webhooks.deactivate(delivery.endpoint_id):
                changes = changed(is_active=(True, False))
                uow.record(Event("webhook.deactivated", delivery.endpoint_id, by(None), changes))
            await uow.commit()

    async def _email(self, attempt: _Attempt) -> None:
        delivery = attempt.delivery
        assert delivery.email_key is not None
        kind, offset = parse_email_key(delivery.email_key)
        message: EmailMessage | None
        reason: str | None
        if self._mailer is None:
            message, reason = None, "email is off (no SMTP_URL)"
        elif kind is EmailKind.OFFERED:
            message, reason = await self._offer_email(self._mailer, attempt.message)
        else:
            message, reason = await self._appointment_email(self._mailer, delivery, kind, offset)
        if message is None or self._mailer is None:
            delivery.skip(reason or "nothing to send")
        else:
            try:
                await self._mailer.send(message)
            except DeliveryFailed as error:
                delivery.failed(self._clock.now(), str(error), EMAIL_RETRY_SECONDS, self._jitter())
            else:
                delivery.succeeded(self._clock.now())
        async with self._uow() as uow:
            await uow.outbox.finish(delivery, attempt.token)
            await uow.commit()

    async def _appointment_email(
        self, mailer: Mailer, delivery: Delivery, kind: EmailKind, offset: int | None
    ) -> tuple[EmailMessage | None, str | None]:
        """The email about an appointment, or why it is no longer due."""
        assert delivery.appointment_id is not None
        async with self._read_uow() as uow:
            appointment = await uow.appointments.get(delivery.appointment_id)
            assert appointment is not None  # appointments are never deleted
            patient = await uow.patients.get(appointment.patient_id)
            doctor = await uow.doctors.get(appointment.doctor_id)
            policy = await uow.policy.get()
        reason = why_not_sent(
            kind,
            offset,
            planned_start=delivery.starts_at,
            appointment=appointment,
            reminder_offsets=policy.reminder_offsets_minutes,
            has_email=bool(patient and patient.email),
            now=self._clock.now(),
        )
        if reason is not None:
            return None, reason
        assert patient is not None
        assert patient.email
        assert doctor is not None
        return compose_email(
            kind=kind,
            offset_minutes=offset,
            to=patient.email,
            appointment_id=appointment.id,
            starts_at=appointment.starts_at,
            ends_at=appointment.ends_at,
            doctor_name=doctor.full_name,
            zone=self._zone,
            mail_domain=mailer.mail_domain,
            now=self._clock.now(),
        ), None

    async def _offer_email(
        self, mailer: Mailer, message: OutboxMessage
    ) -> tuple[EmailMessage | None, str | None]:
        """The waitlist offer's email, if the offer still stands."""
        sent = message.payload["waitlist_entry"]
        now = self._clock.now()
        async with self._read_uow() as uow:
            entry = await uow.waitlist.get(UUID(sent["id"]))
            offer = entry.offer if entry else None
            if entry is None or offer is None or str(offer.hold_id) != sent["offer"]["hold_id"]:
                return None, "the offer no longer stands"
            if offer.expires_at <= now:
                return None, "the offer has lapsed"
            patient = await uow.patients.get(entry.patient_id)
            doctor = await uow.doctors.get(offer.doctor_id)
        if patient is None or not patient.email:
            return None, "the patient has no email address"
        assert doctor is not None
        return compose_email(
            kind=EmailKind.OFFERED,
            offset_minutes=None,
            to=patient.email,
            appointment_id=entry.id,
            starts_at=offer.starts_at,
            ends_at=offer.ends_at,
            doctor_name=doctor.full_name,
            zone=self._zone,
            mail_domain=mailer.mail_domain,
            held_until=offer.expires_at,
        ), None
