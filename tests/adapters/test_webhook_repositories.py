"""The webhook endpoint repository contract, on every backend (memory, SQLite,
PostgreSQL): what goes in comes out (event types, the secret, the creation time), saves
and deletes stick, the list pages oldest first."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from uuid import uuid4

from appointments.adapters.clock import FixedClock
from appointments.application.ports.queries import PageRequest
from appointments.domain.webhooks import WebhookEndpoint
from tests.adapters.conftest import Backend


def new_endpoint(clock: FixedClock, minutes: int = 0, **extra: object) -> WebhookEndpoint:
    return WebhookEndpoint(
        url="https://hooks.example.com/clinic",
        created_at=clock.now() + timedelta(minutes=minutes),
        **extra,  # type: ignore[arg-type]
    )


async def add_all(backend: Backend, *endpoints: WebhookEndpoint) -> None:
    async with backend.uow() as uow:
        for endpoint in endpoints:
            await uow.webhooks.add(endpoint)
        await uow.commit()


async def test_round_trip_save_and_delete(backend: Backend, clock: FixedClock) -> None:
    endpoint = new_endpoint(
        clock,
        event_types=("appointment.booked", "waitlist.offered"),
        description="The front-desk system",
    )
    await add_all(backend, endpoint)
    assert await backend.stored("webhook_endpoints") == 1
    async with backend.uow(read_only=True) as uow:
        found = await uow.webhooks.get(endpoint.id)
        assert await uow.webhooks.get(uuid4()) is None
    assert found == endpoint
    assert found is not None
    assert found.event_types == ("appointment.booked", "waitlist.offered")
    assert found.secret_bytes == endpoint.secret_bytes

    changed = dataclasses.replace(
        endpoint,
        url="http://8.8.8.8:8080/x?y=1",
        event_types=(),
        description=None,
        is_active=False,
    )
    async with backend.uow() as uow:
        await uow.webhooks.save(changed)
        await uow.commit()
    async with backend.uow(read_only=True) as uow:
        assert await uow.webhooks.get(endpoint.id) == changed

    async with backend.uow() as uow:
        await uow.webhooks.delete(endpoint.id)
        await uow.webhooks.delete(uuid4())  # an unknown id: nothing to do
        await uow.commit()
    async with backend.uow(read_only=True) as uow:
        assert await uow.webhooks.get(endpoint.id) is None
    assert await backend.stored("webhook_endpoints") == 0


async def test_uncommitted_changes_are_rolled_back(backend: Backend, clock: FixedClock) -> None:
    endpoint = new_endpoint(clock)
    await add_all(backend, endpoint)
    async with backend.uow() as uow:
        await uow.webhooks.delete(endpoint.id)
        await uow.webhooks.add(new_endpoint(clock))
    async with backend.uow(read_only=True) as uow:
        assert await uow.webhooks.get(endpoint.id) == endpoint
    assert await backend.stored("webhook_endpoints") == 1


async def test_search_pages_oldest_first(backend: Backend, clock: FixedClock) -> None:
    made = [new_endpoint(clock, minutes) for minutes in (30, 0, 10, 20)]
    await add_all(backend, *made)
    ordered = sorted(made, key=lambda e: e.created_at)
    async with backend.uow(read_only=True) as uow:
        first = await uow.webhooks.search(PageRequest(limit=3, offset=0))
        rest = await uow.webhooks.search(PageRequest(limit=3, offset=3))
    assert first.items == ordered[:3]
    assert rest.items == ordered[3:]
    assert (first.total, first.limit, first.offset) == (4, 3, 0)
    assert (rest.total, rest.offset) == (4, 3)


async def test_deactivate_switches_off_once_and_writes_nothing_else(
    backend: Backend, clock: FixedClock
) -> None:
    endpoint = new_endpoint(clock)
    await add_all(backend, endpoint)
    async with backend.uow() as uow:
        assert await uow.webhooks.deactivate(endpoint.id) is True
        assert await uow.webhooks.deactivate(endpoint.id) is False
        assert await uow.webhooks.deactivate(uuid4()) is False
        await uow.commit()
    async with backend.uow(read_only=True) as uow:
        found = await uow.webhooks.get(endpoint.id)
        assert await uow.webhooks.active() == []
    assert found == dataclasses.replace(endpoint, is_active=False)
