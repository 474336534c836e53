"""The idempotency-key store's contract, on the in-memory fake, SQLite and PostgreSQL:
one claim per (scope, key) at a time, a later claim sees the one that holds the key, an
expired or abandoned claim is taken over, and concurrent claims (SQL) let exactly one in."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from appointments.adapters.clock import FixedClock
from appointments.application.ports.repositories import KeyClaim, StoredResponse
from appointments.application.ports.unit_of_work import UnitOfWork
from tests.adapters.conftest import Backend, on

HOUR = timedelta(hours=1)
LEASE = timedelta(seconds=60)
SCOPE, KEY = "user:3f0c", "key-1"
RESPONSE = StoredResponse(
    201,
    [("content-type", "application/json"), ("location", "/api/appointments/1")],
    b'{"id": "1"}\x00\xff',  # any bytes, not only UTF-8 text
)


async def claim(
    uow: UnitOfWork,
    fingerprint: str,
    now: datetime,
    *,
    scope: str = SCOPE,
    key: str = KEY,
    ttl: timedelta = HOUR,
) -> KeyClaim | None:
    return await uow.idempotency.claim(
        scope, key, fingerprint, now=now, expires_at=now + ttl, abandoned_before=now - LEASE
    )


async def committed_claim(
    backend: Backend, fingerprint: str, now: datetime, **options: str
) -> KeyClaim | None:
    async with backend.uow() as uow:
        held = await claim(uow, fingerprint, now, **options)
        await uow.commit()
    return held


async def complete(backend: Backend, response: StoredResponse = RESPONSE) -> None:
    async with backend.uow() as uow:
        await uow.idempotency.complete(SCOPE, KEY, response)
        await uow.commit()


async def release(backend: Backend) -> None:
    async with backend.uow() as uow:
        await uow.idempotency.release(SCOPE, KEY)
        await uow.commit()


async def test_the_second_claim_sees_the_first(backend: Backend, clock: FixedClock) -> None:
    now = clock.now()
    assert await committed_claim(backend, "fp-a", now) is None
    assert await committed_claim(backend, "fp-a", now) == KeyClaim("fp-a", None)
    assert await committed_claim(backend, "fp-b", now) == KeyClaim("fp-a", None)
    await complete(backend)
    assert await committed_claim(backend, "fp-b", now) == KeyClaim("fp-a", RESPONSE)
    assert await backend.stored("idempotency_keys") == 1


async def test_keys_are_per_scope(backend: Backend, clock: FixedClock) -> None:
    now = clock.now()
    assert await committed_claim(backend, "fp", now) is None
    assert await committed_claim(backend, "fp", now, scope="anonymous") is None
    assert await committed_claim(backend, "fp", now, key="key-2") is None
    assert await backend.stored("idempotency_keys") == 3


async def test_an_uncommitted_claim_holds_nothing(backend: Backend, clock: FixedClock) -> None:
    async with backend.uow() as uow:
        assert await claim(uow, "fp-a", clock.now()) is None
    assert await committed_claim(backend, "fp-b", clock.now()) is None


async def test_an_expired_claim_is_taken_over(backend: Backend, clock: FixedClock) -> None:
    now = clock.now()
    assert await committed_claim(backend, "fp-a", now) is None
    await complete(backend)
    almost = now + HOUR - timedelta(seconds=1)
    assert await committed_claim(backend, "fp-b", almost) == KeyClaim("fp-a", RESPONSE)
    assert await committed_claim(backend, "fp-b", now + HOUR) is None
    # The new claim is fresh: running, with its own fingerprint and expiry.
    assert await committed_claim(backend, "fp-c", now + HOUR) == KeyClaim("fp-b", None)
    within_lease = now + HOUR + LEASE
    assert await committed_claim(backend, "fp-c", within_lease) == KeyClaim("fp-b", None)
    assert await backend.stored("idempotency_keys") == 1


async def test_only_a_running_claim_can_be_abandoned(backend: Backend, clock: FixedClock) -> None:
    now = clock.now()
    assert await committed_claim(backend, "fp-a", now) is None
    at_lease = now + LEASE
    assert await committed_claim(backend, "fp-a", at_lease) == KeyClaim("fp-a", None)
    past_lease = at_lease + timedelta(seconds=1)
    assert await committed_claim(backend, "fp-b", past_lease) is None  # taken over
    await complete(backend)
    much_later = past_lease + 10 * LEASE
    assert await committed_claim(backend, "fp-c", much_later) == KeyClaim("fp-b", RESPONSE)


async def test_release_forgets_a_running_claim(backend: Backend, clock: FixedClock) -> None:
    assert await committed_claim(backend, "fp-a", clock.now()) is None
    await release(backend)
    assert await backend.stored("idempotency_keys") == 0
    assert await committed_claim(backend, "fp-b", clock.now()) is None
    await release(backend)  # releasing twice is harmless
    await release(backend)


async def test_a_completed_claim_is_neither_released_nor_overwritten(
    backend: Backend, clock: FixedClock
) -> None:
    assert await committed_claim(backend, "fp-a", clock.now()) is None
    await complete(backend)
    await release(backend)
    await complete(backend, StoredResponse(200, [], b"second"))
    assert await committed_claim(backend, "fp-a", clock.now()) == KeyClaim("fp-a", RESPONSE)


async def test_completing_an_unknown_key_stores_nothing(backend: Backend) -> None:
    await complete(backend)
    assert await backend.stored("idempotency_keys") == 0


async def test_purge_removes_only_expired_keys(backend: Backend, clock: FixedClock) -> None:
    now = clock.now()
    assert await committed_claim(backend, "fp", now, key="short", ttl=HOUR) is None
    assert await committed_claim(backend, "fp", now, key="long", ttl=3 * HOUR) is None
    async with backend.uow() as uow:
        await uow.idempotency.purge_expired(now + HOUR)
        await uow.commit()
    assert await backend.stored("idempotency_keys") == 1
    assert await committed_claim(backend, "fp-x", now, key="long") == KeyClaim("fp", None)
    assert await committed_claim(backend, "fp-x", now, key="short") is None


@on("sqlite", "postgres")
async def test_a_claim_waits_for_the_one_in_flight_and_sees_it(
    backend: Backend, clock: FixedClock
) -> None:
    """The first claim's transaction is still open when the second starts: the second
    blocks (PostgreSQL: on the row; SQLite: on the write lock) and then sees it."""
    now = clock.now()
    async with backend.uow() as first:
        assert await claim(first, "fp-a", now) is None
        second = asyncio.create_task(committed_claim(backend, "fp-b", now))
        await asyncio.sleep(0.3)
        assert not second.done()
        await first.commit()
    assert await asyncio.wait_for(second, 10) == KeyClaim("fp-a", None)


@on("sqlite", "postgres")
@pytest.mark.parametrize("expired", [False, True], ids=["fresh", "expired"])
async def test_of_concurrent_claims_exactly_one_gets_the_key(
    backend: Backend, clock: FixedClock, expired: bool
) -> None:
    now = clock.now()
    if expired:  # all race to take over one expired claim
        assert await committed_claim(backend, "old", now - 2 * HOUR) is None
    results = await asyncio.gather(*(committed_claim(backend, f"fp-{i}", now) for i in range(12)))
    winners = [i for i, r in enumerate(results) if r is None]
    assert len(winners) == 1, results
    assert {r for r in results if r is not None} == {KeyClaim(f"fp-{winners[0]}", None)}


async def test_an_autocommit_unit_of_work_keeps_each_write_as_it_runs(backend: Backend) -> None:
    """The key store runs in autocommit (one round trip per statement): a claim holds
    from the moment it is written, with no commit, and outlives the unit of work."""
    now = datetime(2030, 1, 1, tzinfo=UTC)
    async with backend.uow(autocommit=True) as uow:
        claimed = await uow.idempotency.claim(
            "user:a", "k-auto", "f1", now=now, expires_at=now + timedelta(hours=1),
            abandoned_before=now - timedelta(minutes=1),
        )  # fmt: skip
        assert claimed is None
        async with backend.uow() as other:
            seen = await other.idempotency.claim(
                "user:a", "k-auto", "f1", now=now, expires_at=now + timedelta(hours=1),
                abandoned_before=now - timedelta(minutes=1),
            )  # fmt: skip
        assert seen == KeyClaim("f1", None)
    assert await backend.stored("idempotency_keys") == 1
