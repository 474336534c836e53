"""`Idempotency-Key` over HTTP (API.md), on SQLite and PostgreSQL: a repeat is answered
from the key store with `Idempotent-Replayed: true` and changes nothing; the same key for
another request is 422, for one still running 409; keys are the caller's own and expire
after IDEMPOTENCY_TTL_HOURS; 5xx answers are not kept."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
from dependency_injector import providers
from fastapi import FastAPI
from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from appointments.adapters.clock import FixedClock
from appointments.adapters.sqlalchemy.engine import create_engine
from appointments.adapters.sqlalchemy.tables import appointments, idempotency_keys, users
from appointments.application.errors import DatabaseUnavailable
from appointments.application.idempotency import LEASE, fingerprint, scope_of
from appointments.container import Container
from tests.api.support import PASSWORD, ApiClinic, Party, bearer, relogin

KEY = "8e03978e-40d5-43e8-bc93-6894a57f9324"
REPLAYED = "Idempotent-Replayed"


async def rows(engine: AsyncEngine, table: Table) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(select(func.count()).select_from(table))).scalar_one())


def keyed(party: Party | None, key: str = KEY, **headers: str) -> dict[str, str]:
    return {**(party.headers if party else {}), "Idempotency-Key": key, **headers}


def assert_replay_of(replay: httpx.Response, first: httpx.Response) -> None:
    assert REPLAYED not in first.headers
    assert replay.headers[REPLAYED] == "true"
    assert (replay.status_code, replay.content) == (first.status_code, first.content)
    assert replay.headers.get("content-type") == first.headers.get("content-type")


@dataclass
class Booking:
    clinic: ApiClinic
    admin: Party
    doctor: Party
    patient: Party
    slot: datetime

    def body(self, **extra: Any) -> dict[str, Any]:
        return {"doctor_id": self.doctor.doctor_id, "starts_at": self.slot.isoformat(), **extra}

    async def post(
        self, who: Party | None = None, key: str | None = KEY, **extra: Any
    ) -> httpx.Response:
        party = who or self.patient
        headers = keyed(party, key) if key is not None else party.headers
        return await self.clinic.client.post(
            "/api/appointments", json=self.body(**extra), headers=headers
        )


@pytest.fixture
async def booking(clinic: ApiClinic) -> Booking:
    admin = await clinic.admin()
    doctor = await clinic.doctor(admin)
    patient = await clinic.patient()
    return Booking(clinic, admin, doctor, patient, clinic.next_working_day(days_ahead=3))


async def test_a_repeated_booking_is_replayed_and_books_once(
    booking: Booking, engine: AsyncEngine
) -> None:
    client = booking.clinic.client
    first = await client.post(
        "/api/appointments",
        json=booking.body(),
        headers=keyed(booking.patient, **{"X-Request-ID": "first-call"}),
    )
    assert first.status_code == 201, first.text
    replays = [
        await client.post(
            "/api/appointments",
            json=booking.body(),
            headers=keyed(booking.patient, **{"X-Request-ID": f"retry-{n}"}),
        )
        for n in range(3)
    ]
    for n, replay in enumerate(replays):
        assert_replay_of(replay, first)
        # The request id is the repeat's own, not the stored one.
        assert replay.headers["X-Request-ID"] == f"retry-{n}"
    assert await rows(engine, appointments) == 1
    assert await rows(engine, idempotency_keys) == 1


async def test_the_key_for_another_request_is_refused(
    booking: Booking, engine: AsyncEngine
) -> None:
    first = await booking.post()
    assert first.status_code == 201, first.text
    other_body = await booking.post(reason="Another body")
    other_query = await booking.clinic.client.post(
        "/api/appointments?x=1", json=booking.body(), headers=keyed(booking.patient)
    )
    other_path = await booking.clinic.client.post(
        f"/api/appointments/{first.json()['id']}/cancel", headers=keyed(booking.patient)
    )
    for refused in (other_body, other_query, other_path):
        assert refused.status_code == 422, refused.text
        assert refused.json() == {
            "detail": "This Idempotency-Key was used for a different request.",
            "code": "idempotency_key_reused",
        }
        assert REPLAYED not in refused.headers
    assert await rows(engine, appointments) == 1
    assert_replay_of(await booking.post(), first)  # the stored answer is untouched
    status = await booking.clinic.client.get(
        f"/api/appointments/{first.json()['id']}", headers=booking.patient.headers
    )
    assert status.json()["status"] == "scheduled"  # the cancel did not run


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"k" * 256, id="256-characters"),
        pytest.param("cl\u00e9".encode(), id="non-ascii"),
        pytest.param(b"ctrl\x01key", id="control-character"),
        pytest.param(b"del\x7f", id="del"),
    ],
)
async def test_a_malformed_key_is_refused(
    booking: Booking, engine: AsyncEngine, key: bytes
) -> None:
    response = await booking.clinic.client.post(
        "/api/appointments",
        json=booking.body(),
        headers=[*booking.patient.headers.items(), ("Idempotency-Key", key)],  # type: ignore[list-item]
    )
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_idempotency_key"
    assert response.json()["detail"]
    assert await rows(engine, appointments) == 0
    assert await rows(engine, idempotency_keys) == 0


async def test_two_keys_in_one_request_are_refused(booking: Booking, engine: AsyncEngine) -> None:
    headers = [*booking.patient.headers.items(), ("Idempotency-Key", "a"), ("Idempotency-Key", "b")]
    response = await booking.clinic.client.post(
        "/api/appointments", json=booking.body(), headers=headers
    )
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_idempotency_key"
    assert await rows(engine, appointments) == 0


async def test_a_key_of_255_printable_characters_is_accepted(booking: Booking) -> None:
    key = (" !~" + "k" * 255)[:255]
    first = await booking.post(key=key)
    assert first.status_code == 201, first.text
    assert_replay_of(await booking.post(key=key), first)


async def test_keys_are_the_callers_own(booking: Booking, engine: AsyncEngine) -> None:
    first = await booking.post()
    assert first.status_code == 201, first.text
    other = await booking.clinic.patient()
    # Same key, same method, path and body: another caller's request runs as its own.
    theirs = await booking.post(other)
    assert REPLAYED not in theirs.headers
    assert theirs.status_code == 409, theirs.text
    assert theirs.json()["code"] == "doctor_unavailable"
    assert first.json()["id"] not in theirs.text
    assert await rows(engine, idempotency_keys) == 2
    # And a slot of their own with that key is booked for them.
    own = await booking.clinic.client.post(
        "/api/appointments",
        json=booking.body(starts_at=(booking.slot + timedelta(hours=1)).isoformat()),
        headers=keyed(other, "their-key"),
    )
    assert own.status_code == 201, own.text
    assert own.json()["patient_id"] == other.patient_id


async def test_anonymous_registration_is_replayed(clinic: ApiClinic, engine: AsyncEngine) -> None:
    body = {
        "email": "once@example.com",
        "username": "once",
        "full_name": "Registered Once",
        "password": PASSWORD,
    }
    first = await clinic.client.post("/api/auth/register", json=body, headers=keyed(None))
    assert first.status_code == 201, first.text
    assert_replay_of(
        await clinic.client.post("/api/auth/register", json=body, headers=keyed(None)), first
    )
    assert await rows(engine, users) == 1
    reused = await clinic.client.post(
        "/api/auth/register", json={**body, "username": "twice"}, headers=keyed(None)
    )
    assert (reused.status_code, reused.json()["code"]) == (422, "idempotency_key_reused")
    # Without the key, the same registration runs (and is refused as taken).
    again = await clinic.client.post("/api/auth/register", json=body)
    assert again.status_code == 409


async def test_a_kept_answer_expires_after_the_ttl(
    booking: Booking, clock: FixedClock, engine: AsyncEngine
) -> None:
    first = await booking.post()
    assert first.status_code == 201, first.text
    clock.advance(timedelta(hours=24) - timedelta(seconds=1))
    await relogin(booking.clinic, booking.patient)  # the token expired meanwhile
    assert_replay_of(await booking.post(), first)
    clock.advance(timedelta(seconds=1))
    await relogin(booking.clinic, booking.patient)
    after = await booking.post()
    assert REPLAYED not in after.headers
    assert after.status_code == 409, after.text  # it ran: the slot is taken (by itself)
    assert after.json()["code"] in {"doctor_unavailable", "patient_unavailable"}
    assert await rows(engine, appointments) == 1


async def test_login_and_logout_ignore_the_key(clinic: ApiClinic) -> None:
    patient = await clinic.patient()
    form = {"username": patient.user["username"], "password": PASSWORD}
    logins = [
        await clinic.client.post("/api/auth/login", data=form, headers=keyed(None))
        for _ in range(2)
    ]
    assert [r.status_code for r in logins] == [200, 200]
    assert all(REPLAYED not in r.headers for r in logins)
    tokens = [str(r.json()["access_token"]) for r in logins]
    assert tokens[0] != tokens[1]
    for token in tokens:  # same user, same key, same (empty) body: each logout runs
        logout = await clinic.client.post("/api/auth/logout", headers=keyed(None, **bearer(token)))
        assert logout.status_code == 204
        assert REPLAYED not in logout.headers
        me = await clinic.client.get("/api/auth/me", headers=bearer(token))
        assert me.status_code == 401


async def test_a_refused_booking_is_kept_and_replayed(
    booking: Booking, engine: AsyncEngine
) -> None:
    taken = await booking.post(key=None)
    assert taken.status_code == 201, taken.text
    other = await booking.clinic.patient()
    refused = await booking.post(other)
    assert (refused.status_code, refused.json()["code"]) == (409, "doctor_unavailable")
    cancel = await booking.clinic.client.post(
        f"/api/appointments/{taken.json()['id']}/cancel", headers=booking.admin.headers
    )
    assert cancel.status_code == 200, cancel.text
    # The slot is free now, but the key's answer stands.
    assert_replay_of(await booking.post(other), refused)
    assert await rows(engine, appointments) == 1
    fresh = await booking.post(other, key="a-new-key")
    assert fresh.status_code == 201, fresh.text


async def test_without_a_key_every_request_runs(booking: Booking, engine: AsyncEngine) -> None:
    first = await booking.post(key=None)
    second = await booking.post(key=None)
    assert (first.status_code, second.status_code) == (201, 409)
    assert REPLAYED not in first.headers
    assert REPLAYED not in second.headers
    assert await rows(engine, idempotency_keys) == 0


async def test_a_request_still_running_answers_409(
    booking: Booking, container: Container, clock: FixedClock, engine: AsyncEngine
) -> None:
    """A claim held by a request that has not finished (put there as its worker would)."""
    raw = json.dumps(booking.body()).encode()
    now = clock.now()
    async with container.uow() as uow:
        held = await uow.idempotency.claim(
            scope_of(UUID(booking.patient.user["id"])),
            KEY,
            fingerprint("POST", "/api/appointments", b"", raw),
            now=now,
            expires_at=now + timedelta(hours=24),
            abandoned_before=now - LEASE,
        )
        await uow.commit()
    assert held is None
    headers = keyed(booking.patient, **{"Content-Type": "application/json"})

    async def send(content: bytes) -> httpx.Response:
        return await booking.clinic.client.post(
            "/api/appointments", content=content, headers=headers
        )

    in_use = await send(raw)
    assert (in_use.status_code, in_use.json()["code"]) == (409, "idempotency_key_in_use")
    other = await send(json.dumps(booking.body(reason="other")).encode())
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")
    assert await rows(engine, appointments) == 0
    # Its worker died: after the lease, a retry takes the key over and runs.
    clock.advance(LEASE + timedelta(seconds=1))
    taken_over = await send(raw)
    assert taken_over.status_code == 201, taken_over.text
    assert_replay_of(await send(raw), taken_over)
    assert await rows(engine, appointments) == 1


async def test_a_5xx_answer_is_not_kept(booking: Booking, container: Container) -> None:
    async def down(*_: object) -> None:
        raise DatabaseUnavailable()

    with container.book_appointment.override(providers.Object(down)):
        failed = await booking.post()
    assert (failed.status_code, failed.json()["code"]) == (503, "database_unavailable")
    retried = await booking.post()
    assert retried.status_code == 201, retried.text
    assert_replay_of(await booking.post(), retried)  # the key now holds the success


async def test_an_unhandled_error_releases_the_key(
    booking: Booking, app: FastAPI, container: Container
) -> None:
    async def broken(*_: object) -> None:
        raise RuntimeError("a bug")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        with container.book_appointment.override(providers.Object(broken)):
            failed = await client.post(
                "/api/appointments", json=booking.body(), headers=keyed(booking.patient)
            )
        assert failed.status_code == 500
        retried = await client.post(
            "/api/appointments", json=booking.body(), headers=keyed(booking.patient)
        )
    assert retried.status_code == 201, retried.text
    assert_replay_of(await booking.post(), retried)


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_database_down_at_claim_time_answers_503(
    client: httpx.AsyncClient, container: Container, engine: AsyncEngine
) -> None:
    dead = create_engine(
        f"postgresql+asyncpg://nobody@127.0.0.1:{_closed_port()}/none", connect_timeout=2
    )
    body = {"email": "x@example.com", "username": "x", "full_name": "X", "password": PASSWORD}
    try:
        with container.engine.override(providers.Object(dead)):
            response = await client.post("/api/auth/register", json=body, headers=keyed(None))
    finally:
        await dead.dispose()
    assert response.status_code == 503, response.text
    assert response.json() == {
        "detail": "The database is unavailable. Try again shortly.",
        "code": "database_unavailable",
    }
    assert await rows(engine, users) == 0


async def test_a_token_that_does_not_verify_passes_through(
    booking: Booking, engine: AsyncEngine, clock: FixedClock
) -> None:
    """The route answers 401 as without a key, and nothing is kept under any scope."""
    expired = booking.patient.token
    clock.advance(timedelta(minutes=31))
    for token in ("not-a-token", expired[:-2], expired):
        response = await booking.clinic.client.post(
            "/api/appointments", json=booking.body(), headers=keyed(None, **bearer(token))
        )
        assert (response.status_code, response.json()["code"]) == (401, "not_authenticated")
    assert await rows(engine, idempotency_keys) == 0
    await relogin(booking.clinic, booking.patient)
    first = await booking.post()
    assert first.status_code == 201, first.text
    assert_replay_of(await booking.post(), first)


async def test_a_delete_is_replayed(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    department = await clinic.department(admin)
    path = f"/api/departments/{department}"
    first = await clinic.client.delete(path, headers=keyed(admin))
    assert first.status_code == 204, first.text
    assert_replay_of(await clinic.client.delete(path, headers=keyed(admin)), first)
    assert (await clinic.client.delete(path, headers=admin.headers)).status_code == 404


async def test_the_body_limit_still_applies(booking: Booking, engine: AsyncEngine) -> None:
    big = json.dumps(booking.body(reason="x" * 2_000_000)).encode()

    async def streamed() -> AsyncIterator[bytes]:  # no Content-Length to refuse it early
        for start in range(0, len(big), 65_536):
            yield big[start : start + 65_536]

    response = await booking.clinic.client.post(
        "/api/appointments",
        content=streamed(),
        headers=keyed(booking.patient, **{"Content-Type": "application/json"}),
    )
    assert (response.status_code, response.json()["code"]) == (413, "payload_too_large")
    assert await rows(engine, idempotency_keys) == 0  # refused before any claim
    first = await booking.post()  # the key is still free for the real request
    assert first.status_code == 201, first.text
    assert_replay_of(await booking.post(), first)
