"""The dispatcher on the in-memory adapters, delivering to real parts: a webhook receiver
on loopback and an SMTP server in this process. The clock is fixed and moved by hand, so
retry schedules and reminder times are exact.

What is proven: an event reaches the outbox with its change, and only then; each
subscribed endpoint gets it signed (verified by the standardwebhooks library), thin, and
once; failures retry on WEBHOOK_RETRY_SECONDS and then fail; 410 deactivates; the URL is
vetted again at delivery; the patient's emails go out once each, reminders at the
policy's offsets, recomputed on a move and dropped on a cancellation.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from dependency_injector import providers
from standardwebhooks import Webhook

from appointments.adapters.clock import FixedClock
from appointments.adapters.memory.state import MemoryStore
from appointments.adapters.network import ResolvingUrlGuard
from appointments.application.access import Actor
from appointments.application.appointments import Action, AppointmentChanges
from appointments.application.dispatch import Dispatcher, plan
from appointments.application.outbox import POLICY_UPDATED, TIME_FREED, OutboxMessage
from appointments.application.ports.queries import PageRequest
from appointments.application.webhooks import NewWebhook, WebhookChanges
from appointments.container import Container
from appointments.domain.deliveries import Channel, DeliveryStatus
from appointments.domain.errors import DoctorUnavailable
from appointments.domain.webhooks import WebhookEndpoint
from tests.application.conftest import Clinic, pid
from tests.conftest import test_settings as settings_for
from tests.smtp_server import SmtpServer, smtp_server
from tests.webhook_receiver import Answer, WebhookReceiver, webhook_receiver

RETRIES = [5, 60]
PAGE = PageRequest(limit=50, offset=0)


@pytest.fixture
def mail() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async with webhook_receiver() as receiver:
        yield receiver


@pytest.fixture
def container(container: Container, clinic_timezone: str, mail: SmtpServer) -> Container:
    """The application conftest's container, delivering: loopback receivers allowed,
    email on, a short retry schedule, no jitter (exact retry times)."""
    settings = settings_for(
        "sqlite+aiosqlite:///:memory:",
        clinic_timezone=clinic_timezone,
        webhook_allow_private_networks=True,
        webhook_retry_seconds=RETRIES,
        smtp_url=mail.url(),
        mail_from="appointments@clinic.example",
    )
    container.settings.override(providers.Object(settings))
    container.dispatcher.add_kwargs(jitter=lambda: 0.0)
    return container


def dispatcher(clinic: Clinic) -> Dispatcher:
    return clinic.c.dispatcher()


async def endpoint(clinic: Clinic, admin: Actor, url: str, *events: str) -> WebhookEndpoint:
    return await clinic.c.create_webhook()(admin, NewWebhook(url, events))


async def booked(clinic: Clinic, admin: Actor, days: int = 2) -> tuple[Actor, Any]:
    doctor, patient = await clinic.doctor(admin), await clinic.patient()
    appointment = await clinic.book(patient, doctor, clinic.at(days, 10), patient)
    return patient, appointment


def log(clinic: Clinic, channel: Channel) -> list[Any]:
    return [d for d, _ in clinic.store.state.deliveries.values() if d.channel is channel]


async def test_an_event_reaches_the_outbox_with_its_change_and_only_then(
    clinic: Clinic, admin: Actor
) -> None:
    doctor, patient = await clinic.doctor(admin), await clinic.patient()
    appointment = await clinic.book(patient, doctor, clinic.at(2, 10), patient)
    [(message, planned)] = clinic.state.outbox_messages.values()
    assert planned is None
    assert (message.event_type, message.appointment_id) == ("appointment.booked", appointment.id)
    sent = message.payload["appointment"]
    assert sent["id"] == str(appointment.id)
    assert sent["status"] == "scheduled"
    assert (sent["reason"], sent["notes"], sent["cancellation_reason"]) == (None, None, None)

    other = await clinic.patient()
    with clinic.commits_nothing(), pytest.raises(DoctorUnavailable):
        await clinic.book(other, doctor, clinic.at(2, 10), other)
    assert len(clinic.state.outbox_messages) == 1
    # Events that stay inside (a department created...) send nothing.
    await clinic.department(admin)
    assert len(clinic.state.outbox_messages) == 1


async def test_a_subscribed_endpoint_gets_the_event_signed_thin_and_once(
    clinic: Clinic, admin: Actor, receiver: WebhookReceiver, clock: FixedClock
) -> None:
    hook = await endpoint(clinic, admin, receiver.url)
    elsewhere = await endpoint(clinic, admin, receiver.url + "/cancelled", "appointment.cancelled")
    patient, appointment = await booked(clinic, admin)
    await dispatcher(clinic).run_once()
    [request] = await receiver.wait_for(1)
    # The library's own signature (its verify() also wants the timestamp within five
    # minutes of the real time, and this clock is years ahead: the API test does that).
    stamp = datetime.fromtimestamp(int(request.headers["webhook-timestamp"]), UTC)
    signed = Webhook(hook.secret).sign(request.headers["webhook-id"], stamp, request.body.decode())
    assert request.headers["webhook-signature"] == signed
    payload = request.json()
    assert payload["type"] == "appointment.booked"
    assert payload["data"]["appointment"]["id"] == str(appointment.id)
    assert patient.user_id is not None
    body = request.body.decode()
    for private in ("@example.com", "Patient ", "Dr "):  # no emails, no names
        assert private not in body
    assert request.headers["webhook-timestamp"] == str(int(clock.now().timestamp()))

    await dispatcher(clinic).run_once()  # nothing left to do
    assert len(receiver.requests) == 1
    [delivery] = (await clinic.c.list_deliveries()(admin, hook.id, PAGE)).items
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        DeliveryStatus.DELIVERED,
        1,
        204,
    )
    assert (await clinic.c.list_deliveries()(admin, elsewhere.id, PAGE)).total == 0


async def test_failures_retry_on_the_schedule_with_the_same_id_then_fail(
    clinic: Clinic, admin: Actor, receiver: WebhookReceiver, clock: FixedClock
) -> None:
    receiver.default = Answer(500)
    hook = await endpoint(clinic, admin, receiver.url)
    await booked(clinic, admin)
    expected = 1
    for delay in [*RETRIES, None]:
        await dispatcher(clinic).run_once()
        await receiver.wait_for(expected)
        [delivery] = (await clinic.c.list_deliveries()(admin, hook.id, PAGE)).items
        assert delivery.attempts == expected
        assert (delivery.last_status_code, delivery.last_error) == (500, "HTTP 500")
        if delay is None:
            assert delivery.status is DeliveryStatus.FAILED
            break
        assert delivery.status is DeliveryStatus.PENDING
        assert delivery.next_attempt_at == clock.now() + timedelta(seconds=delay)
        clock.advance(timedelta(seconds=delay - 1))
        await dispatcher(clinic).run_once()  # not yet due
        assert len(receiver.requests) == expected
        clock.advance(timedelta(seconds=1))
        expected += 1
    ids = {r.headers["webhook-id"] for r in receiver.requests}
    assert len(receiver.requests) == 3
    assert len(ids) == 1
    clock.advance(timedelta(days=2))
    await dispatcher(clinic).run_once()
    assert len(receiver.requests) == 3


async def test_410_gone_deactivates_the_endpoint(
    clinic: Clinic, admin: Actor, receiver: WebhookReceiver
) -> None:
    receiver.respond(410)
    hook = await endpoint(clinic, admin, receiver.url)
    await booked(clinic, admin)
    await dispatcher(clinic).run_once()
    await receiver.wait_for(1)
    assert (await clinic.c.get_webhook()(admin, hook.id)).is_active is False
    [delivery] = (await clinic.c.list_deliveries()(admin, hook.id, PAGE)).items
    assert (delivery.status, delivery.last_status_code) == (DeliveryStatus.FAILED, 410)
    [event] = [e for e in clinic.state.audit_events if e.action == "webhook.deactivated"]
    assert event.actor is None
    assert event.changes == {"is_active": {"old": True, "new": False}}
    await booked(clinic, admin)  # a deactivated endpoint is not planned for
    await dispatcher(clinic).run_once()
    assert len(receiver.requests) == 1


async def test_the_url_is_vetted_again_at_delivery(
    clinic: Clinic, admin: Actor, receiver: WebhookReceiver
) -> None:
    hook = await endpoint(clinic, admin, receiver.url)
    # The name now resolves somewhere internal (DNS rebinding), or the clinic turned
    # private targets off: the delivery is refused and nothing is sent.
    clinic.c.url_guard.override(providers.Object(ResolvingUrlGuard(allow_private_networks=False)))
    clinic.c.dispatcher.reset()
    await booked(clinic, admin)
    await dispatcher(clinic).run_once()
    assert receiver.requests == []
    [delivery] = (await clinic.c.list_deliveries()(admin, hook.id, PAGE)).items
    assert delivery.status is DeliveryStatus.PENDING
    assert delivery.attempts == 1
    assert "loopback, private" in (delivery.last_error or "")


async def test_a_deleted_endpoint_gets_nothing_more(
    clinic: Clinic, admin: Actor, receiver: WebhookReceiver
) -> None:
    hook = await endpoint(clinic, admin, receiver.url)
    await booked(clinic, admin)
    await clinic.c.delete_webhook()(admin, hook.id)
    await dispatcher(clinic).run_once()
    assert receiver.requests == []
    assert log(clinic, Channel.WEBHOOK) == []


async def test_the_patient_gets_booked_reminder_moved_and_cancelled_emails_once(
    clinic: Clinic, admin: Actor, mail: SmtpServer, clock: FixedClock
) -> None:
    patient, appointment = await booked(clinic, admin, days=3)
    await dispatcher(clinic).run_once()
    [booking] = await mail.wait_for(1)
    assert booking.message["Subject"].startswith("Appointment booked")
    assert booking.message["X-Appointment-Id"] == str(appointment.id)
    assert list(booking.rcpt_tos) == [clinic.state.patients[pid(patient)].email]
    assert "Dr doctor" in (booking.part("text/plain") or "")
    # The default policy reminds 1440 minutes ahead: planned, not yet due.
    [reminder] = [d for d in log(clinic, Channel.EMAIL) if d.email_key == "reminder_1440"]
    assert reminder.next_attempt_at == appointment.starts_at - timedelta(minutes=1440)

    moved = await clinic.c.update_appointment()(
        patient, appointment.id, AppointmentChanges(starts_at=clinic.at(4, 11))
    )
    await dispatcher(clinic).run_once()
    [_, moving] = await mail.wait_for(2)
    assert moving.message["Subject"].startswith("Appointment moved")

    clock.advance(moved.starts_at - timedelta(minutes=1440) - clock.now())
    await dispatcher(clinic).run_once()
    [*_, reminding] = await mail.wait_for(3)
    assert reminding.message["Subject"].startswith("Appointment reminder")
    old = next(d for d in log(clinic, Channel.EMAIL) if d.id == reminder.id)
    assert old.status is DeliveryStatus.SKIPPED  # for the start it no longer has
    assert len(mail.received) == 3

    await clinic.c.change_status()(patient, appointment.id, Action.CANCEL)
    await dispatcher(clinic).run_once()
    [*_, cancelling] = await mail.wait_for(4)
    assert cancelling.message["Subject"].startswith("Appointment cancelled")
    clock.advance(timedelta(days=7))
    await dispatcher(clinic).run_once()
    assert len(mail.received) == 4
    ids = [r.message["Message-ID"].strip() for r in mail.received]
    assert len(set(ids)) == 4


async def test_reminders_only_for_offsets_still_ahead_and_none_without_an_email(
    clinic: Clinic, admin: Actor, mail: SmtpServer, store: MemoryStore
) -> None:
    doctor, patient = await clinic.doctor(admin), await clinic.patient()
    # Booked 4 hours ahead: the 1440-minute reminder is already behind.
    soon = await clinic.book(patient, doctor, clinic.at(0, 10), patient)
    walk_in = await clinic.front_desk_patient(admin)  # no email on the record
    await clinic.book(admin, doctor, clinic.at(2, 12), walk_in.id)
    await dispatcher(clinic).run_once()
    await mail.wait_for(1)
    emails = log(clinic, Channel.EMAIL)
    assert sorted(d.email_key or "" for d in emails if d.appointment_id == soon.id) == ["booked"]
    unsent = [d for d in emails if d.appointment_id != soon.id]
    assert {d.email_key for d in unsent} == {"booked", "reminder_1440"}
    [skipped] = [d for d in unsent if d.email_key == "booked"]
    assert skipped.status is DeliveryStatus.SKIPPED
    assert skipped.last_error == "the patient has no email address"
    assert len(mail.received) == 1
    assert json.dumps([d.last_error for d in emails]).count("@") == 0


async def test_email_off_plans_no_email(
    clinic: Clinic, admin: Actor, container: Container, mail: SmtpServer
) -> None:
    container.mailer.override(providers.Object(None))
    await booked(clinic, admin)
    await dispatcher(clinic).run_once()
    assert log(clinic, Channel.EMAIL) == []
    assert mail.received == []


async def test_a_refused_email_is_retried(
    clinic: Clinic, admin: Actor, mail: SmtpServer, clock: FixedClock
) -> None:
    mail.refuse_all = True
    await booked(clinic, admin)
    await dispatcher(clinic).run_once()
    [delivery] = [d for d in log(clinic, Channel.EMAIL) if d.email_key == "booked"]
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)
    assert "SMTP 550" in (delivery.last_error or "")
    assert "@" not in (delivery.last_error or "")
    mail.refuse_all = False
    clock.advance(delivery.next_attempt_at - clock.now())
    await dispatcher(clinic).run_once()
    await mail.wait_for(1)
    [delivery] = [d for d in log(clinic, Channel.EMAIL) if d.email_key == "booked"]
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 2)


async def test_a_policy_change_replans_the_reminders_of_booked_appointments(
    clinic: Clinic, admin: Actor, mail: SmtpServer, clock: FixedClock
) -> None:
    _, appointment = await booked(clinic, admin, days=3)
    await dispatcher(clinic).run_once()
    await mail.wait_for(1)  # booked
    await clinic.c.put_policy()(
        admin,
        min_notice_minutes=0,
        booking_horizon_days=365,
        cancellation_cutoff_hours=0,
        max_active_per_patient=0,
        reminder_offsets_minutes=[60],
    )
    await dispatcher(clinic).run_once()
    keys = {d.email_key: d for d in log(clinic, Channel.EMAIL)}
    assert set(keys) == {"booked", "reminder_1440", "reminder_60"}
    assert keys["reminder_60"].next_attempt_at == appointment.starts_at - timedelta(minutes=60)
    assert keys["reminder_60"].starts_at == appointment.starts_at

    clock.advance(appointment.starts_at - timedelta(minutes=60) - clock.now())
    await dispatcher(clinic).run_once()
    [_, reminding] = await mail.wait_for(2)
    assert "in 1 hour" in (reminding.part("text/plain") or "")
    dropped = next(d for d in log(clinic, Channel.EMAIL) if d.email_key == "reminder_1440")
    assert dropped.status is DeliveryStatus.SKIPPED
    assert dropped.last_error == "the booking policy no longer has this reminder"
    assert len(mail.received) == 2


def test_planning_sends_only_public_events_to_the_endpoints_that_want_them() -> None:
    now = datetime(2030, 1, 7, 6, tzinfo=UTC)
    every = WebhookEndpoint(url="https://a.example/", created_at=now)
    cancellations = WebhookEndpoint(
        url="https://b.example/", created_at=now, event_types=("appointment.cancelled",)
    )
    off = WebhookEndpoint(url="https://c.example/", created_at=now, is_active=False)
    endpoints = [every, cancellations, off]

    def planned(event_type: str, offsets: list[int] | None = None) -> set[object]:
        message = OutboxMessage(
            event_type=event_type,
            occurred_at=now,
            payload={},
            appointment_id=uuid4() if event_type != POLICY_UPDATED else None,
            starts_at=now + timedelta(days=2) if event_type != POLICY_UPDATED else None,
        )
        return {d.endpoint_id or d.email_key for d in plan(message, endpoints, offsets)}

    assert planned("appointment.booked") == {every.id}
    assert planned("appointment.cancelled") == {every.id, cancellations.id}
    assert planned(POLICY_UPDATED) == set()  # internal: never to an "every event" endpoint
    assert planned("appointment.booked", [60, 1440, 4320]) == {
        every.id,
        "booked",
        "reminder_60",
        "reminder_1440",
    }
    assert planned("appointment.cancelled", [60]) == {every.id, cancellations.id, "cancelled"}
    assert planned("appointment.confirmed", [60]) == {every.id}


async def test_every_appointment_event_of_the_contract_reaches_the_outbox(
    clinic: Clinic, admin: Actor, clock: FixedClock
) -> None:
    doctor = await clinic.doctor(admin)
    patient, other = await clinic.patient(), await clinic.patient()
    first = await clinic.book(patient, doctor, clinic.at(1, 10), patient)
    second = await clinic.book(other, doctor, clinic.at(1, 11), other)
    await clinic.c.update_appointment()(
        patient, first.id, AppointmentChanges(starts_at=clinic.at(1, 12))
    )
    for action in (Action.CONFIRM, Action.CHECK_IN, Action.COMPLETE):
        await clinic.c.change_status()(doctor, first.id, action)
    third = await clinic.book(patient, doctor, clinic.at(2, 10), patient)
    await clinic.c.change_status()(patient, third.id, Action.CANCEL)
    clock.advance(clinic.at(1, 11, 30) - clock.now())
    await clinic.c.change_status()(doctor, second.id, Action.NO_SHOW)
    await clinic.c.update_appointment()(  # not a move: nothing leaves the building
        doctor, third.id, AppointmentChanges(notes="Bring the X-ray")
    )
    every = sorted(clinic.state.outbox_messages.values(), key=lambda entry: entry[0].occurred_at)
    sent = [(m, at) for m, at in every if m.event_type != TIME_FREED]
    assert [m.event_type for m, _ in sent] == [
        "appointment.booked",
        "appointment.booked",
        "appointment.rescheduled",
        "appointment.confirmed",
        "appointment.checked_in",
        "appointment.completed",
        "appointment.booked",
        "appointment.cancelled",
        "appointment.no_show",
    ]
    statuses = [m.payload["appointment"]["status"] for m, _ in sent]
    assert statuses[-4:] == ["completed", "scheduled", "cancelled", "no_show"]
    # The move gave back its old time and the cancellation its own, for the waitlist.
    freed = [m.payload for m, _ in every if m.event_type == TIME_FREED]
    old_start, cancelled_start = clinic.at(1, 10), clinic.at(2, 10)
    assert [f["starts_at"] for f in freed] == [old_start.isoformat(), cancelled_start.isoformat()]
    assert {f["doctor_id"] for f in freed} == {str(doctor.doctor_id)}


async def test_a_paused_endpoint_gives_its_pending_deliveries_up_without_an_attempt(
    clinic: Clinic, admin: Actor, receiver: WebhookReceiver
) -> None:
    hook = await endpoint(clinic, admin, receiver.url)
    await booked(clinic, admin)
    await dispatcher(clinic).plan_new()
    await clinic.c.update_webhook()(admin, hook.id, WebhookChanges(is_active=False))
    await dispatcher(clinic).run_once()
    assert receiver.requests == []
    [delivery] = (await clinic.c.list_deliveries()(admin, hook.id, PAGE)).items
    assert (delivery.status, delivery.attempts, delivery.last_error) == (
        DeliveryStatus.FAILED,
        0,
        "the endpoint is inactive",
    )
    assert not [e for e in clinic.state.audit_events if e.action == "webhook.deactivated"]


async def test_a_slow_receiver_delays_nobody_else_and_stopping_finishes_its_attempt(
    clinic: Clinic, admin: Actor, receiver: WebhookReceiver
) -> None:
    async with webhook_receiver() as slow:
        slow.respond(204, delay=3.0)
        slow_hook = await endpoint(clinic, admin, slow.url)
        await endpoint(clinic, admin, receiver.url)
        stop = asyncio.Event()
        running = asyncio.create_task(dispatcher(clinic).run(stop, poll_seconds=0.05))
        try:
            await booked(clinic, admin)
            await slow.wait_for(1, timeout=2)
            await receiver.wait_for(1, timeout=2)
            await booked(clinic, admin)  # while the slow receiver still holds the first
            await receiver.wait_for(2, timeout=1.5)
            assert len(slow.requests) >= 1
            [*_, first] = (await clinic.c.list_deliveries()(admin, slow_hook.id, PAGE)).items
            assert first.status is DeliveryStatus.PENDING  # still being attempted
        finally:
            stop.set()
            await asyncio.wait_for(running, 10)
        log_ = (await clinic.c.list_deliveries()(admin, slow_hook.id, PAGE)).items
        assert {d.status for d in log_} == {DeliveryStatus.DELIVERED}
