"""The idempotency use-cases on the in-memory backend, wired by the container: claim, then
finish; a repeat replays, a different request with the key is refused, a running one is
in use; keys expire after the TTL; an abandoned claim is taken over; 5xx are forgotten."""

from __future__ import annotations

from datetime import timedelta

import pytest
from dependency_injector import providers

from appointments.adapters.clock import FixedClock
from appointments.adapters.memory.state import MemoryStore
from appointments.application.errors import IdempotencyKeyInUse, IdempotencyKeyReused
from appointments.application.idempotency import LEASE, PURGE_INTERVAL, KeyedRequest, fingerprint
from appointments.application.ports.repositories import StoredResponse
from appointments.container import Container
from tests import conftest

FIRST = KeyedRequest("user:one", "key-1", fingerprint("POST", "/api/x", b"", b"{}"))
OTHER_BODY = KeyedRequest("user:one", "key-1", fingerprint("POST", "/api/x", b"", b"{ }"))
CREATED = StoredResponse(201, [("content-type", "application/json")], b'{"id": 1}')
TTL = timedelta(hours=24)


async def claim(container: Container, request: KeyedRequest = FIRST) -> StoredResponse | None:
    result: StoredResponse | None = await container.claim_idempotency_key()(request)
    return result


async def finish(
    container: Container, response: StoredResponse | None, request: KeyedRequest = FIRST
) -> None:
    await container.finish_idempotency_key()(request, response)


async def test_a_finished_request_is_replayed(container: Container) -> None:
    assert await claim(container) is None
    await finish(container, CREATED)
    assert await claim(container) == CREATED
    assert await claim(container) == CREATED


async def test_another_request_with_the_key_is_refused(container: Container) -> None:
    assert await claim(container) is None
    await finish(container, CREATED)
    with pytest.raises(IdempotencyKeyReused):
        await claim(container, OTHER_BODY)
    assert await claim(container) == CREATED  # the refusal changed nothing


async def test_another_request_while_the_first_runs_is_refused_as_reused(
    container: Container,
) -> None:
    assert await claim(container) is None
    with pytest.raises(IdempotencyKeyReused):
        await claim(container, OTHER_BODY)


async def test_the_same_request_while_the_first_runs_is_in_use(
    container: Container, clock: FixedClock
) -> None:
    assert await claim(container) is None
    clock.advance(LEASE - timedelta(seconds=1))
    with pytest.raises(IdempotencyKeyInUse):
        await claim(container)


async def test_keys_are_the_callers_own(container: Container) -> None:
    assert await claim(container) is None
    await finish(container, CREATED)
    someone_else = KeyedRequest("user:two", FIRST.key, FIRST.fingerprint)
    assert await claim(container, someone_else) is None


async def test_a_key_expires_after_the_ttl(container: Container, clock: FixedClock) -> None:
    assert await claim(container) is None
    await finish(container, CREATED)
    clock.advance(TTL - timedelta(seconds=1))
    assert await claim(container) == CREATED
    clock.advance(timedelta(seconds=1))
    assert await claim(container) is None  # runs again
    # ... and once expired, even another request may use the key.
    clock.advance(TTL)
    assert await claim(container, OTHER_BODY) is None


async def test_the_ttl_comes_from_the_settings(container: Container, clock: FixedClock) -> None:
    settings = conftest.test_settings("sqlite+aiosqlite:///:memory:", idempotency_ttl_hours=1)
    container.settings.override(providers.Object(settings))
    assert await claim(container) is None
    await finish(container, CREATED)
    clock.advance(timedelta(minutes=59))
    assert await claim(container) == CREATED
    clock.advance(timedelta(minutes=1))
    assert await claim(container) is None


async def test_an_abandoned_claim_is_taken_over_after_the_lease(
    container: Container, clock: FixedClock
) -> None:
    assert await claim(container) is None  # ...and its process dies: never finished
    clock.advance(LEASE + timedelta(seconds=1))
    assert await claim(container) is None
    # The new claim is running again, with a lease of its own.
    with pytest.raises(IdempotencyKeyInUse):
        await claim(container)
    await finish(container, CREATED)
    clock.advance(LEASE * 10)
    assert await claim(container) == CREATED  # a finished claim is never "abandoned"


async def test_a_late_failure_does_not_undo_the_response_of_the_takeover(
    container: Container, clock: FixedClock
) -> None:
    assert await claim(container) is None  # A: slow, not dead
    clock.advance(LEASE + timedelta(seconds=1))
    assert await claim(container) is None  # B takes over
    await finish(container, CREATED)  # B answers
    await finish(container, StoredResponse(500, [], b"boom"))  # A fails at last
    await finish(container, StoredResponse(200, [], b"late"))  # or answers at last
    assert await claim(container) == CREATED


@pytest.mark.parametrize(
    "failed",
    [StoredResponse(500, [], b"oops"), StoredResponse(503, [], b"down"), None],
    ids=["500", "503", "no-response"],
)
async def test_a_failed_request_releases_its_key(
    container: Container, store: MemoryStore, failed: StoredResponse | None
) -> None:
    assert await claim(container) is None
    await finish(container, failed)
    assert store.state.idempotency_keys == {}
    assert await claim(container, OTHER_BODY) is None  # a retry, whatever it is, runs


@pytest.mark.parametrize("status", [200, 204, 400, 404, 409, 422, 499])
async def test_every_answer_below_500_is_kept(container: Container, status: int) -> None:
    kept = StoredResponse(status, [], b"")
    assert await claim(container) is None
    await finish(container, kept)
    assert await claim(container) == kept


async def test_purge_forgets_expired_keys_at_most_once_a_minute(
    container: Container, store: MemoryStore, clock: FixedClock
) -> None:
    purge = container.purge_idempotency_keys
    half = PURGE_INTERVAL / 2
    assert await claim(container) is None
    await finish(container, CREATED)
    clock.advance(TTL - half)
    later = KeyedRequest("anonymous", "key-2", FIRST.fingerprint)
    assert await claim(container, later) is None
    assert await purge()() is True  # nothing expired yet: both kept
    assert len(store.state.idempotency_keys) == 2

    clock.advance(half)  # FIRST has expired, but the last purge was half a minute ago
    assert await purge()() is False
    assert (FIRST.scope, FIRST.key) in store.state.idempotency_keys
    clock.advance(half)
    assert await purge()() is True
    assert set(store.state.idempotency_keys) == {(later.scope, later.key)}


async def test_each_use_case_is_one_committed_transaction(
    container: Container, store: MemoryStore
) -> None:
    commits = store.commits
    assert await claim(container) is None
    assert store.commits == commits + 1  # committed before the request runs
    await finish(container, CREATED)
    assert store.commits == commits + 2
