"""Settings from the environment or `.env` (see .env.example for every one)."""

from __future__ import annotations

import os
from ipaddress import ip_network
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, IPvAnyNetwork, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from appointments.domain.holds import DEFAULT_HOLD_MINUTES, DEFAULT_OFFER_MINUTES

MAX_HASH_SLOTS = 4  # the former fixed default: bounds memory on a host of many cores


def hash_slots(workers: int) -> int:
    """One worker's share of the CPUs this process may run on (at most MAX_HASH_SLOTS):
    with as many argon2 hashes at once as there are cores, each costs least (more evict
    each other's 19 MiB)."""
    affinity = getattr(os, "sched_getaffinity", None)  # Linux; elsewhere every CPU
    cpus = len(affinity(0)) if affinity else (os.cpu_count() or 1)
    return max(1, min(MAX_HASH_SLOTS, cpus // workers))


DEVELOPMENT_SECRET = "development-only-secret-do-not-use-in-production"  # noqa: S105
MIN_SECRET_LENGTH = 32


class Settings(BaseSettings):
    # hide_input_in_errors: a refused SECRET_KEY must not end up in logs via the error text.
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", hide_input_in_errors=True)

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite+aiosqlite:///./appointments.db"
    secret_key: SecretStr = SecretStr(DEVELOPMENT_SECRET)
    access_token_expire_minutes: int = Field(30, ge=1, le=24 * 60)
    cors_origins: Annotated[list[str], NoDecode] = []
    clinic_timezone: str = "UTC"

    # Operational knobs with safe defaults (documented in .env.example).
    # Connections per process: a hard cap (no overflow). A request beyond it waits up to
    # DB_POOL_TIMEOUT seconds for one to come free, then answers 503 database_unavailable.
    db_pool_size: int = Field(20, ge=1, le=200)
    db_pool_timeout: float = Field(10, gt=0, le=300)
    password_hash_memory_kib: int = Field(19456, ge=1024)
    password_hash_time_cost: int = Field(2, ge=1)
    # Hashes computed at once per process; unset, the process's share of the CPUs (see
    # hash_slots): more hashes than cores only thrash each other's caches.
    password_hash_concurrency: int | None = Field(None, ge=1)
    login_max_failures: int = Field(5, ge=1)
    login_window_seconds: int = Field(900, ge=1)
    max_request_bytes: int = Field(1_048_576, ge=1024)
    # How long a response kept for an Idempotency-Key is replayed (API.md).
    idempotency_ttl_hours: int = Field(24, ge=1, le=24 * 365)
    # Webhook URLs may target loopback, private, link-local and multicast hosts (a lab,
    # an internal receiver); off, such a URL is refused (no SSRF).
    webhook_allow_private_networks: bool = False
    # Delays (seconds) before each retry of a failed webhook delivery; then it is `failed`.
    webhook_retry_seconds: Annotated[list[int], NoDecode] = [
        5,
        300,
        1800,
        7200,
        18000,
        36000,
        86400,
    ]
    # `smtp://[user:pass@]host:port` (STARTTLS when offered), `smtps://...` (TLS from the
    # start); empty: no email.
    smtp_url: SecretStr = SecretStr("")
    mail_from: str = "appointments@localhost"
    # `inline`: `serve` delivers the outbox itself; `off`: `appointments worker` does.
    dispatcher: Literal["inline", "off"] = "inline"
    dispatch_poll_seconds: float = Field(2.0, gt=0, le=300)
    # How long a dispatcher holds the deliveries it is attempting; a dispatcher that died
    # leaves them to another after this. Longer than an attempt can take (10 s for a
    # webhook, 30 s for SMTP).
    dispatch_lease_seconds: int = Field(120, ge=1, le=3600)
    # How long a hold (POST /api/holds) keeps its slot, and a waitlist offer its hold
    # (fractions allowed: 0.5 is 30 seconds).
    hold_minutes: float = Field(DEFAULT_HOLD_MINUTES, gt=0, le=1440)
    waitlist_offer_minutes: float = Field(DEFAULT_OFFER_MINUTES, gt=0, le=10080)
    # Where clients reach this server (`https://clinic.example.com`): calendar feed URLs
    # are absolute under it; empty, they are paths (`/calendar/<token>.ics`).
    public_base_url: str = ""
    # Fetches one calendar feed answers per 10 minutes before it answers 429.
    calendar_feed_fetch_limit: int = Field(30, ge=1)
    # Log lines: `json` (one object a line) or `console`; unset: json in production.
    log_format: Literal["json", "console"] | None = None
    # GET /metrics (Prometheus), answered only to clients in METRICS_ALLOW_FROM (else 404).
    metrics_enabled: bool = True
    metrics_allow_from: Annotated[list[IPvAnyNetwork], NoDecode] = [
        ip_network("127.0.0.0/8"),
        ip_network("::1/128"),
    ]

    @field_validator("cors_origins", "metrics_allow_from", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("webhook_retry_seconds", mode="before")
    @classmethod
    def _split_delays(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("webhook_retry_seconds")
    @classmethod
    def _positive_delays(cls, value: list[int]) -> list[int]:
        if any(delay < 1 for delay in value):
            raise ValueError("WEBHOOK_RETRY_SECONDS are whole seconds, each at least 1")
        return value

    @field_validator("public_base_url")
    @classmethod
    def _http_base(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("PUBLIC_BASE_URL starts with http:// or https://")
        return value

    @field_validator("log_format", mode="before")
    @classmethod
    def _empty_format_is_unset(cls, value: object) -> object:
        """`LOG_FORMAT=` (as in .env.example): by environment."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("secret_key", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        """`SECRET_KEY=` (as in .env.example) must not sign tokens with an empty key."""
        if isinstance(value, str) and not value.strip():
            return DEVELOPMENT_SECRET
        return value

    @field_validator("clinic_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"CLINIC_TIMEZONE {value!r} is not an IANA time zone") from error
        return value

    @model_validator(mode="after")
    def _refuse_weak_secret_in_production(self) -> Settings:
        if self.environment == "production":
            secret = self.secret_key.get_secret_value()
            if secret == DEVELOPMENT_SECRET or len(secret) < MIN_SECRET_LENGTH:
                raise ValueError(
                    "SECRET_KEY must be set to a random value of at least "
                    f"{MIN_SECRET_LENGTH} characters when ENVIRONMENT=production "
                    '(for example: python -c "import secrets; print(secrets.token_urlsafe(48))")'
                )
        return self
