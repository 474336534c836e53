"""Settings validation; the developer's environment must not leak into these tests."""

from __future__ import annotations

import os

import pydantic
import pytest

from appointments.settings import (
    DEVELOPMENT_SECRET,
    MAX_HASH_SLOTS,
    MIN_SECRET_LENGTH,
    Settings,
    hash_slots,
)

STRONG_SECRET = "s" * 48


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
        monkeypatch.delenv(name, raising=False)


def load(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]


def test_defaults_are_development() -> None:
    settings = load()
    assert settings.environment == "development"
    assert settings.secret_key.get_secret_value() == DEVELOPMENT_SECRET
    assert settings.cors_origins == []
    assert settings.clinic_timezone == "UTC"
    assert settings.access_token_expire_minutes == 30


@pytest.mark.parametrize(
    "secret",
    [
        pytest.param(None, id="default"),
        pytest.param("short", id="short"),
        pytest.param("x" * (MIN_SECRET_LENGTH - 1), id="one-too-short"),
        pytest.param("leaky-secret-0123456789", id="short-distinctive"),
        pytest.param(DEVELOPMENT_SECRET, id="development-secret-given-explicitly"),
    ],
)
def test_production_refuses_weak_secret(
    monkeypatch: pytest.MonkeyPatch, secret: str | None
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    if secret is not None:
        monkeypatch.setenv("SECRET_KEY", secret)
    with pytest.raises(pydantic.ValidationError) as raised:
        load()
    assert "SECRET_KEY" in str(raised.value)
    # The refused secret itself is never echoed (error texts end up in logs).
    if secret is not None:
        assert secret not in str(raised.value)


def test_production_refuses_weak_secret_given_as_argument() -> None:
    with pytest.raises(pydantic.ValidationError, match="SECRET_KEY"):
        load(environment="production", secret_key="too-short")


@pytest.mark.parametrize("secret", [STRONG_SECRET, "y" * MIN_SECRET_LENGTH])
def test_production_accepts_strong_secret(monkeypatch: pytest.MonkeyPatch, secret: str) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("SECRET_KEY", secret)
    settings = load()
    assert settings.environment == "production"
    assert settings.secret_key.get_secret_value() == secret


@pytest.mark.parametrize("environment", ["development", "test"])
def test_weak_secret_is_fine_outside_production(
    monkeypatch: pytest.MonkeyPatch, environment: str
) -> None:
    monkeypatch.setenv("ENVIRONMENT", environment)
    monkeypatch.setenv("SECRET_KEY", "short")
    assert load().secret_key.get_secret_value() == "short"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a, b", ["a", "b"]),
        ("http://localhost:3000", ["http://localhost:3000"]),
        (" https://a.example ,https://b.example, ", ["https://a.example", "https://b.example"]),
        ("", []),
    ],
)
def test_cors_origins_split_on_commas(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: list[str]
) -> None:
    monkeypatch.setenv("CORS_ORIGINS", raw)
    assert load().cors_origins == expected


def test_cors_origins_accept_a_list() -> None:
    assert load(cors_origins=["https://a.example"]).cors_origins == ["https://a.example"]


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "Europe/Berln", "not a zone", "../etc"])
def test_unknown_clinic_timezone_is_refused(monkeypatch: pytest.MonkeyPatch, zone: str) -> None:
    monkeypatch.setenv("CLINIC_TIMEZONE", zone)
    with pytest.raises(pydantic.ValidationError, match="CLINIC_TIMEZONE"):
        load()


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York", "UTC"])
def test_known_clinic_timezone_is_accepted(monkeypatch: pytest.MonkeyPatch, zone: str) -> None:
    monkeypatch.setenv("CLINIC_TIMEZONE", zone)
    assert load().clinic_timezone == zone


def test_hash_concurrency_defaults_to_each_workers_share_of_the_cpus(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Unset, `serve --workers N` gives each worker cores / N hashing slots (at least
    one), and a lone process all of them; a value set is kept."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(4)), raising=False)
    assert load().password_hash_concurrency is None
    assert [hash_slots(workers) for workers in (1, 2, 3, 4, 8)] == [4, 2, 1, 1, 1]
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(64)), raising=False)
    assert hash_slots(1) == MAX_HASH_SLOTS  # a big host: memory stays bounded
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)  # not Linux
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert hash_slots(1) == 2
    assert load(password_hash_concurrency=3).password_hash_concurrency == 3
    with pytest.raises(pydantic.ValidationError):
        load(password_hash_concurrency=0)
