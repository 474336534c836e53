"""The outbox repository contract on every backend (memory, SQLite, PostgreSQL): messages
are written with the change that records them and planned once; emails are unique per
(appointment, key, start); a claim hides deliveries from other claimers until its lease
runs out, and a late outcome under a lost claim is dropped. On PostgreSQL, concurrent
claimers get disjoint deliveries (SKIP LOCKED)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from uuid import uuid4

from appointments.adapters.clock import FixedClock
from appointments.application.events import created
from appointments.application.outbox import TIME_FREED, OutboxMessage
from appointments.application.ports.queries import PageRequest
from appointments.domain.deliveries import Channel, Delivery, DeliveryStatus
from appointments.domain.webhooks import WebhookEndpoint
from tests.adapters.conftest import Backend, Seed, postgres_only

LEASE = timedelta(minutes=2)


def message(clock: FixedClock, minutes: int = 0) -> OutboxMessage:
    return OutboxMessage(
        event_type="appointment.booked",
        occurred_at=clock.now() + timedelta(minutes=minutes),
        payload={"appointment": {"id": str(uuid4())}},
        appointment_id=uuid4(),
        starts_at=clock.now() + timedelta(days=2),
    )


def webhook_delivery(of: OutboxMessage, endpoint: WebhookEndpoint, minutes: int = 0) -> Delivery:
    return Delivery(
        channel=Channel.WEBHOOK,
        event_id=of.id,
        event_type=of.event_type,
        created_at=of.occurred_at + timedelta(minutes=minutes),
        next_attempt_at=of.occurred_at + timedelta(minutes=minutes),
        endpoint_id=endpoint.id,
    )


def email_delivery(of: OutboxMessage, key: str = "booked") -> Delivery:
    return Delivery(
        channel=Channel.EMAIL,
        event_id=of.id,
        event_type=of.event_type,
        created_at=of.occurred_at,
        next_attempt_at=of.occurred_at,
        appointment_id=of.appointment_id,
        email_key=key,
        starts_at=of.starts_at,
    )


async def setup(backend: Backend, clock: FixedClock, *messages: OutboxMessage) -> WebhookEndpoint:
    endpoint = WebhookEndpoint(url="https://hooks.example.com/in", created_at=clock.now())
    async with backend.uow() as uow:
        await uow.webhooks.add(endpoint)
        await uow.outbox.add_messages(messages)
        await uow.commit()
    return endpoint


async def test_messages_are_planned_once_oldest_first(backend: Backend, clock: FixedClock) -> None:
    later, first = message(clock, 5), message(clock, 0)
    await setup(backend, clock, later, first)
    async with backend.uow() as uow:
        taken = await uow.outbox.take_unplanned(10)
        assert [m.id for m in taken] == [first.id, later.id]
        assert taken[0] == first
        await uow.outbox.mark_planned([first.id], clock.now())
        await uow.commit()
    async with backend.uow() as uow:
        assert [m.id for m in await uow.outbox.take_unplanned(10)] == [later.id]
        assert await uow.outbox.messages([first.id, uuid4()]) == {first.id: first}


async def test_a_rolled_back_message_is_not_there(backend: Backend, clock: FixedClock) -> None:
    async with backend.uow() as uow:
        await uow.outbox.add_messages([message(clock)])
    assert await backend.stored("outbox_messages") == 0


async def test_an_email_is_planned_once_per_appointment_key_and_start(
    backend: Backend, clock: FixedClock
) -> None:
    booked = message(clock)
    await setup(backend, clock, booked)
    async with backend.uow() as uow:
        await uow.outbox.add_deliveries([email_delivery(booked), email_delivery(booked, "r_60")])
        await uow.commit()
    async with backend.uow() as uow:  # a second dispatcher planning the same again
        await uow.outbox.add_deliveries([email_delivery(booked), email_delivery(booked, "r_60")])
        await uow.commit()
    assert await backend.stored("deliveries") == 2


async def test_a_claim_hides_deliveries_until_its_lease_runs_out(
    backend: Backend, clock: FixedClock
) -> None:
    booked = message(clock)
    endpoint = await setup(backend, clock, booked)
    due, not_yet = webhook_delivery(booked, endpoint), webhook_delivery(booked, endpoint, 10)
    async with backend.uow() as uow:
        await uow.outbox.add_deliveries([due, not_yet])
        await uow.commit()
    now = clock.now()
    async with backend.uow() as uow:
        first = await uow.outbox.claim_due(now, now + LEASE, 10)
        await uow.commit()
    assert [d.id for d in first.deliveries] == [due.id]
    assert first.deliveries[0] == due
    async with backend.uow() as uow:
        assert (
            await uow.outbox.claim_due(now + timedelta(minutes=1), now + LEASE, 10)
        ).deliveries == []
        await uow.commit()
    # The first claimer died: past its lease, another takes the delivery over.
    later = now + LEASE + timedelta(seconds=1)
    async with backend.uow() as uow:
        second = await uow.outbox.claim_due(later, later + LEASE, 1)
        await uow.commit()
    assert [d.id for d in second.deliveries] == [due.id]
    assert second.token != first.token

    late = first.deliveries[0]
    late.succeeded(later)
    async with backend.uow() as uow:
        assert await uow.outbox.finish(late, first.token) is False  # lost its claim
        await uow.commit()
    done = second.deliveries[0]
    done.answered(later, 500, [5], 0.0)
    async with backend.uow() as uow:
        assert await uow.outbox.finish(done, second.token) is True
        await uow.commit()
    async with backend.uow(read_only=True) as uow:
        log = await uow.outbox.deliveries_for(endpoint.id, PageRequest(limit=10, offset=0))
    assert log.total == 2
    assert [d.id for d in log.items] == [not_yet.id, due.id]  # newest first
    stored = log.items[1]
    assert stored.status is DeliveryStatus.PENDING
    assert (stored.attempts, stored.last_status_code, stored.last_error) == (1, 500, "HTTP 500")
    assert stored.next_attempt_at == later + timedelta(seconds=5)
    # Released: due again at its retry time, for anyone.
    retry = later + timedelta(seconds=6)
    async with backend.uow() as uow:
        assert [d.id for d in (await uow.outbox.claim_due(retry, retry + LEASE, 5)).deliveries] == [
            due.id
        ]
        await uow.commit()


async def test_final_deliveries_are_never_claimed(backend: Backend, clock: FixedClock) -> None:
    booked = message(clock)
    endpoint = await setup(backend, clock, booked)
    delivery = webhook_delivery(booked, endpoint)
    async with backend.uow() as uow:
        await uow.outbox.add_deliveries([delivery])
        await uow.commit()
    now = clock.now()
    async with backend.uow() as uow:
        claim = await uow.outbox.claim_due(now, now + LEASE, 5)
        claimed = claim.deliveries[0]
        claimed.succeeded(now, 204)
        assert await uow.outbox.finish(claimed, claim.token)
        await uow.commit()
    later = now + timedelta(days=1)
    async with backend.uow() as uow:
        assert (await uow.outbox.claim_due(later, later + LEASE, 5)).deliveries == []
    async with backend.uow(read_only=True) as uow:
        [stored] = (await uow.outbox.deliveries_for(endpoint.id, PageRequest(10, 0))).items
    assert (stored.status, stored.delivered_at, stored.last_status_code) == (
        DeliveryStatus.DELIVERED,
        now,
        204,
    )


async def test_an_endpoint_deleted_takes_its_deliveries(
    backend: Backend, clock: FixedClock
) -> None:
    booked = message(clock)
    endpoint = await setup(backend, clock, booked)
    async with backend.uow() as uow:
        await uow.outbox.add_deliveries([webhook_delivery(booked, endpoint)])
        await uow.commit()
    async with backend.uow() as uow:
        await uow.webhooks.delete(endpoint.id)
        await uow.commit()
    assert await backend.stored("deliveries") == 0


async def test_recorded_appointment_events_reach_the_outbox_on_commit(
    seed: Seed, clock: FixedClock
) -> None:
    backend = seed.backend
    starts_at = clock.now() + timedelta(days=1)
    appointment = await seed.appointment(await seed.doctor(), await seed.patient(), starts_at)
    department = await seed.department()
    async with backend.uow(clock=clock) as uow:
        uow.record(created("appointment.booked", None, appointment))
        uow.record(created("department.created", None, department))
        await uow.commit()
    async with backend.uow() as uow:
        [sent] = await uow.outbox.take_unplanned(10)
    assert (sent.event_type, sent.appointment_id, sent.starts_at) == (
        "appointment.booked",
        appointment.id,
        appointment.starts_at,
    )
    assert sent.occurred_at == clock.now()
    assert sent.payload["appointment"]["id"] == str(appointment.id)


@postgres_only
async def test_concurrent_claimers_get_disjoint_deliveries(
    backend: Backend, clock: FixedClock
) -> None:
    booked = message(clock)
    endpoint = await setup(backend, clock, booked)
    planned = [webhook_delivery(booked, endpoint) for _ in range(40)]
    async with backend.uow() as uow:
        await uow.outbox.add_deliveries(planned)
        await uow.commit()
    now = clock.now()

    async def claimer() -> list[Delivery]:
        async with backend.uow() as uow:
            claim = await uow.outbox.claim_due(now, now + LEASE, 15)
            await asyncio.sleep(0.05)  # hold the row locks while the others claim
            await uow.commit()
            return claim.deliveries

    claims = await asyncio.wait_for(asyncio.gather(*(claimer() for _ in range(4))), 30)
    ids = [d.id for claim in claims for d in claim]
    assert len(ids) == len(set(ids)) == 40


async def test_one_commit_writes_every_record_and_message_it_made(
    seed: Seed, clock: FixedClock
) -> None:
    """A cascade (several appointments cancelled by one deactivation) and a change that
    notifies nothing, in one commit: on PostgreSQL one statement writes them all."""
    backend = seed.backend
    doctor, patient = await seed.doctor(), await seed.patient()
    booked = [
        await seed.appointment(doctor, patient, clock.now() + timedelta(days=1, hours=h))
        for h in (1, 2)
    ]
    department = await seed.department()
    async with backend.uow(clock=clock) as uow:
        for appointment in booked:
            uow.record(created("appointment.cancelled", None, appointment))
        uow.record(created("department.created", None, department))
        await uow.commit()
    assert await backend.stored("audit_events") == 3
    # Each cancellation: its webhook message and the time it frees for the waitlist.
    assert await backend.stored("outbox_messages") == 4
    async with backend.uow() as uow:
        sent = await uow.outbox.take_unplanned(10)
    public = [m for m in sent if m.event_type == "appointment.cancelled"]
    assert {m.appointment_id for m in public} == {a.id for a in booked}
    freed = {m.payload["starts_at"] for m in sent if m.event_type == TIME_FREED}
    assert freed == {a.starts_at.isoformat() for a in booked}
