"""Webhook endpoints guard their own values: http(s) URLs with a host and no credentials,
known event names, a Standard Webhooks secret; `wants` decides what is delivered."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime

import pytest

from appointments.domain.audit import REDACTED, diff, snapshot
from appointments.domain.errors import InvalidValue, WebhookUrlNotAllowed
from appointments.domain.webhooks import (
    SECRET_LENGTH,
    WEBHOOK_EVENTS,
    WEBHOOK_URL,
    WebhookEndpoint,
    new_secret,
)

NOW = datetime(2027, 3, 1, 9, tzinfo=UTC)
SECRET = re.compile(r"whsec_[A-Za-z0-9+/]{43}=")


def endpoint(url: str = "https://hooks.example.com/clinic", **extra: object) -> WebhookEndpoint:
    return WebhookEndpoint(url=url, created_at=NOW, **extra)  # type: ignore[arg-type]


def test_api_md_events() -> None:
    assert WEBHOOK_EVENTS == (
        "appointment.booked",
        "appointment.rescheduled",
        "appointment.confirmed",
        "appointment.checked_in",
        "appointment.completed",
        "appointment.cancelled",
        "appointment.no_show",
        "waitlist.offered",
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/clinic",
        "http://example.com",
        "HTTPS://Example.COM:8443/a/b?x=1",
        "http://[2606:4700::1111]/hook",
        "http://8.8.8.8:80/",
        "https://example.com/" + "a" * (WEBHOOK_URL.max - len("https://example.com/")),
    ],
)
def test_accepted_urls(url: str) -> None:
    assert endpoint(url).url == url


@pytest.mark.parametrize(
    "url",
    [
        "ftp://x",
        "file:///etc/passwd",
        "gopher://example.com/",
        "javascript:alert(1)",
        "example.com/hook",
        "//example.com/hook",
        "http://",
        "http:///path",
        "https://user:pass@example.com/",
        "https://user@example.com/",
        "https://:pass@example.com/",
        "http://example.com:99999/",
        "http://example.com:port/",
        "http://exa mple.com/",
        "http://example.com/\n",
        "http://[::1/",
        "",
        "https://example.com/" + "a" * WEBHOOK_URL.max,
    ],
)
def test_refused_urls(url: str) -> None:
    with pytest.raises(WebhookUrlNotAllowed) as refused:
        endpoint(url)
    assert refused.value.code == "webhook_url_not_allowed"
    hook = endpoint()
    with pytest.raises(WebhookUrlNotAllowed):
        hook.point_at(url)
    assert hook.url == "https://hooks.example.com/clinic"


def test_the_secret_is_standard_webhooks_base64_of_32_random_bytes() -> None:
    secrets = {new_secret() for _ in range(50)}
    assert len(secrets) == 50
    for secret in secrets:
        assert SECRET.fullmatch(secret), secret
        assert len(secret) == SECRET_LENGTH
        assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    hook = endpoint()
    assert SECRET.fullmatch(hook.secret)
    assert hook.secret_bytes == base64.b64decode(hook.secret[len("whsec_") :])
    assert len(hook.secret_bytes) == 32
    assert endpoint().secret != hook.secret


def test_the_secret_stays_out_of_repr_and_audit_changes() -> None:
    hook = endpoint()
    assert hook.secret not in repr(hook)
    assert diff(None, snapshot(hook))["secret"] == {"old": None, "new": REDACTED}


def test_event_types_known_once_each_in_order() -> None:
    hook = endpoint(event_types=["appointment.cancelled", "appointment.booked"])
    assert hook.event_types == ("appointment.cancelled", "appointment.booked")
    hook.subscribe(["waitlist.offered", "waitlist.offered"])
    assert hook.event_types == ("waitlist.offered",)
    with pytest.raises(InvalidValue, match=r"appointment\.deleted"):
        endpoint(event_types=("appointment.booked", "appointment.deleted"))
    with pytest.raises(InvalidValue):
        hook.subscribe(["APPOINTMENT.BOOKED"])
    assert hook.event_types == ("waitlist.offered",)


def test_wants_subscribed_events_only_while_active() -> None:
    every = endpoint()
    assert all(every.wants(e) for e in WEBHOOK_EVENTS)
    some = endpoint(event_types=("appointment.booked",))
    assert some.wants("appointment.booked")
    assert not some.wants("appointment.cancelled")
    some.is_active = every.is_active = False
    assert not some.wants("appointment.booked")
    assert not every.wants("appointment.booked")


def test_description_is_bounded() -> None:
    assert endpoint(description="").description == ""
    assert endpoint(description="x" * 500).description == "x" * 500
    with pytest.raises(InvalidValue):
        endpoint(description="x" * 501)
