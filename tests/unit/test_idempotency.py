"""The pure rules of idempotency keys: what a key may be, whose it is, what makes two
requests the same one, which requests are covered, and how often expired keys go."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pydantic
import pytest

from appointments.application.errors import InvalidIdempotencyKey
from appointments.application.idempotency import (
    PURGE_INTERVAL,
    PurgeSchedule,
    check_key,
    fingerprint,
    scope_of,
)
from appointments.entrypoints.api.idempotency import covered
from appointments.settings import Settings


@pytest.mark.parametrize(
    "key",
    [
        "a",
        "k" * 255,
        " ",
        "~",
        "8e03978e-40d5-43e8-bc93-6894a57f9324",
        '"quoted", with: punctuation!',
    ],
)
def test_printable_ascii_keys_of_1_to_255_characters_are_accepted(key: str) -> None:
    assert check_key(key) == key


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("", id="empty"),
        pytest.param("k" * 256, id="256-characters"),
        pytest.param("caf\u00e9", id="non-ascii"),
        pytest.param("tab\tkey", id="tab"),
        pytest.param("nul\x00", id="nul"),
        pytest.param("del\x7f", id="del"),
        pytest.param("\x1f", id="unit-separator"),
        pytest.param("line\nbreak", id="newline"),
    ],
)
def test_other_keys_are_refused(key: str) -> None:
    with pytest.raises(InvalidIdempotencyKey) as raised:
        check_key(key)
    assert raised.value.code == "invalid_idempotency_key"


def test_scope_is_the_user_or_anonymous() -> None:
    user_id = uuid4()
    assert scope_of(user_id) == f"user:{user_id}"
    assert scope_of(None) == "anonymous"
    assert scope_of(uuid4()) != scope_of(user_id)


def test_fingerprint_tells_every_part_apart() -> None:
    base = fingerprint("POST", "/api/appointments", b"a=1", b'{"x":1}')
    assert base == fingerprint("post", "/api/appointments", b"a=1", b'{"x":1}')
    assert len(base) == 64
    others = {
        fingerprint("PUT", "/api/appointments", b"a=1", b'{"x":1}'),
        fingerprint("POST", "/api/appointment", b"a=1", b'{"x":1}'),
        fingerprint("POST", "/api/appointments", b"a=2", b'{"x":1}'),
        fingerprint("POST", "/api/appointments", b"a=1", b'{"x":2}'),
        # Bytes moved from one part to the next: framing keeps these apart.
        fingerprint("POST", "/api/appointments", b"a=1{", b'"x":1}'),
        fingerprint("POST", "/api/appointments", b"", b'a=1{"x":1}'),
    }
    assert base not in others
    assert len(others) == 6


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/appointments"),
        ("PUT", "/api/policy"),
        ("PATCH", "/api/departments/1"),
        ("DELETE", "/api/rooms/1"),
        ("POST", "/api/auth/register"),
        ("POST", "/api/auth/login/extra"),
    ],
)
def test_changing_requests_under_api_are_covered(method: str, path: str) -> None:
    assert covered({"method": method, "path": path})


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/appointments"),
        ("HEAD", "/api/appointments"),
        ("OPTIONS", "/api/appointments"),
        ("POST", "/api/auth/login"),
        ("POST", "/api/auth/logout"),
        ("POST", "/api/auth/password"),
        ("POST", "/health"),
        ("POST", "/apix/appointments"),
    ],
)
def test_reads_auth_sessions_and_other_paths_are_not(method: str, path: str) -> None:
    assert not covered({"method": method, "path": path})


def test_purge_is_due_at_most_once_per_interval() -> None:
    schedule = PurgeSchedule()
    now = datetime(2030, 1, 1, tzinfo=UTC)
    assert schedule.due(now)
    assert not schedule.due(now)
    assert not schedule.due(now + PURGE_INTERVAL - timedelta(seconds=1))
    assert schedule.due(now + PURGE_INTERVAL)
    assert not schedule.due(now + PURGE_INTERVAL)


def test_ttl_setting_defaults_to_a_day_and_needs_an_hour(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("IDEMPOTENCY_TTL_HOURS", raising=False)
    assert Settings(_env_file=None).idempotency_ttl_hours == 24  # type: ignore[call-arg]
    monkeypatch.setenv("IDEMPOTENCY_TTL_HOURS", "2")
    assert Settings(_env_file=None).idempotency_ttl_hours == 2  # type: ignore[call-arg]
    monkeypatch.setenv("IDEMPOTENCY_TTL_HOURS", "0")
    with pytest.raises(pydantic.ValidationError, match="idempotency_ttl_hours"):
        Settings(_env_file=None)  # type: ignore[call-arg]
