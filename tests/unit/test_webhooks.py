"""Webhook endpoints guard their own values: http(s) URLs with a host and no credentials,
known event names, a Standard Webhooks secret; `wants` decides what is delivered. A
delivery's body and signed headers verify with the standardwebhooks library itself, and
failed attempts are retried along the schedule, jittered, then given up."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from appointments.domain.audit import REDACTED, diff, snapshot
from appointments.domain.errors import InvalidValue, WebhookUrlNotAllowed
from appointments.domain.webhooks import (
    JITTER,
    SECRET_LENGTH,
    WEBHOOK_EVENTS,
    WEBHOOK_URL,
    WebhookEndpoint,
    deactivates,
    is_delivered,
    new_secret,
    retry_delay,
    signature,
    signed_headers,
    webhook_body,
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


DEFAULT_SCHEDULE = [5, 300, 1800, 7200, 18000, 36000, 86400]
EVENT_ID = "0b9c3f5e-8f7a-4c8e-9d61-2f4b8a1c7e55"
APPOINTMENT = {
    "id": "5f0e7c1a-3b2d-4e6f-8a9b-0c1d2e3f4a5b",
    "status": "scheduled",
    "starts_at": "2027-03-01T10:00:00Z",
    "duration_minutes": 30,
    "notes": None,
}


def delivery(secret: str, attempted_at: datetime | None = None) -> tuple[bytes, dict[str, str]]:
    hook = endpoint(secret=secret)
    body = webhook_body("appointment.booked", NOW, {"appointment": APPOINTMENT})
    at = attempted_at or datetime.now(UTC)
    return body, signed_headers(hook.secret_bytes, EVENT_ID, at, body)


def test_the_signature_verifies_with_the_standard_webhooks_library() -> None:
    secret = new_secret()
    body, headers = delivery(secret)
    payload = Webhook(secret).verify(body, headers)
    assert payload == {
        "type": "appointment.booked",
        "timestamp": "2027-03-01T09:00:00Z",
        "data": {"appointment": APPOINTMENT},
    }
    assert Webhook(secret).verify(body.decode(), headers) == payload


def test_a_tampered_body_or_another_secret_fails_verification() -> None:
    secret = new_secret()
    body, headers = delivery(secret)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace(b"scheduled", b"cancelled"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, {**headers, "webhook-id": "another-event"})
    with pytest.raises(WebhookVerificationError):  # a replay: the timestamp is signed too
        Webhook(secret).verify(body, {**headers, "webhook-timestamp": str(int(NOW.timestamp()))})


def test_the_signature_is_hmac_sha256_of_id_timestamp_and_body() -> None:
    key = bytes(range(32))
    got = signature(key, "msg_1", 1700000000, b'{"a":1}')
    # Computed independently by the library from the same key and message.
    secret = "whsec_" + base64.b64encode(key).decode()
    expected = Webhook(secret).sign("msg_1", datetime.fromtimestamp(1700000000, UTC), '{"a":1}')
    assert got == expected
    assert got.startswith("v1,")
    assert len(base64.b64decode(got.removeprefix("v1,"), validate=True)) == 32
    assert signature(key, "msg_1", 1700000001, b'{"a":1}') != got


def test_headers_carry_the_event_id_and_this_attempts_whole_seconds() -> None:
    attempted = datetime(2027, 3, 1, 9, 0, 7, 999_999, tzinfo=UTC)
    _, headers = delivery(new_secret(), attempted)
    assert set(headers) == {
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "content-type",
        "user-agent",
    }
    assert headers["webhook-id"] == EVENT_ID
    assert headers["webhook-timestamp"] == str(int(NOW.timestamp()) + 7)
    assert re.fullmatch(r"v1,[A-Za-z0-9+/]{43}=", headers["webhook-signature"])
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == "appointments-webhooks/1"
    # A retry: same id, its own timestamp, so its own signature.
    _, retry = delivery(new_secret(), attempted + timedelta(minutes=5))
    assert retry["webhook-id"] == EVENT_ID
    assert int(retry["webhook-timestamp"]) == int(headers["webhook-timestamp"]) + 300
    # Any timezone names the same instant.
    plus_two = attempted.astimezone(timezone(timedelta(hours=2)))
    assert delivery(new_secret(), plus_two)[1]["webhook-timestamp"] == headers["webhook-timestamp"]


def test_the_body_is_compact_json_type_timestamp_data_in_order() -> None:
    later = datetime(2027, 3, 1, 11, 30, 5, tzinfo=timezone(timedelta(hours=2)))
    body = webhook_body("appointment.cancelled", later, {"appointment": APPOINTMENT})
    text = body.decode("utf-8")
    assert text.startswith('{"type":"appointment.cancelled","timestamp":"2027-03-01T09:30:05Z",')
    assert ": " not in text
    assert ", " not in text
    parsed = json.loads(body)
    assert list(parsed) == ["type", "timestamp", "data"]
    assert parsed["type"] == "appointment.cancelled"
    assert parsed["timestamp"].endswith("Z")
    assert datetime.fromisoformat(parsed["timestamp"]) == later
    assert parsed["data"] == {"appointment": APPOINTMENT}
    fraction = webhook_body("waitlist.offered", NOW.replace(microsecond=250_000), {})
    assert json.loads(fraction)["timestamp"] == "2027-03-01T09:00:00.250000Z"


def test_naive_datetimes_are_refused() -> None:
    naive = datetime(2027, 3, 1, 9)
    with pytest.raises(ValueError, match="timezone"):
        webhook_body("appointment.booked", naive, {})
    with pytest.raises(ValueError, match="timezone"):
        signed_headers(b"k" * 32, EVENT_ID, naive, b"{}")


@pytest.mark.parametrize("jitter", [-0.1, 0.0, 0.1])
def test_retry_delays_follow_the_schedule_scaled_by_the_jitter(jitter: float) -> None:
    delays = [retry_delay(n, DEFAULT_SCHEDULE, jitter) for n in range(1, 8)]
    expected = [timedelta(seconds=s * (1 + jitter)) for s in DEFAULT_SCHEDULE]
    assert delays == expected
    assert delays[0] == timedelta(seconds={-0.1: 4.5, 0.0: 5, 0.1: 5.5}[jitter])
    assert delays[-1] == timedelta(days={-0.1: 0.9, 0.0: 1, 0.1: 1.1}[jitter])
    assert retry_delay(8, DEFAULT_SCHEDULE, jitter) is None  # after the 7th retry: failed
    assert retry_delay(100, DEFAULT_SCHEDULE, jitter) is None


def test_retry_delay_edges() -> None:
    assert JITTER == 0.1
    assert retry_delay(1, [], 0.0) is None
    assert retry_delay(1, (60,), 0.05) == timedelta(seconds=63)
    assert retry_delay(2, (60,), 0.05) is None
    for attempts in (0, -1):
        with pytest.raises(ValueError, match="attempts_made"):
            retry_delay(attempts, DEFAULT_SCHEDULE, 0.0)
    for jitter in (-0.11, 0.11, 1.0):
        with pytest.raises(ValueError, match="jitter"):
            retry_delay(1, DEFAULT_SCHEDULE, jitter)


@pytest.mark.parametrize(
    ("status", "delivered", "gone"),
    [
        (100, False, False),
        (199, False, False),
        (200, True, False),
        (201, True, False),
        (202, True, False),
        (204, True, False),
        (299, True, False),
        (301, False, False),
        (302, False, False),
        (304, False, False),
        (400, False, False),
        (404, False, False),
        (410, False, True),
        (429, False, False),
        (500, False, False),
        (503, False, False),
    ],
)
def test_what_a_status_code_means(status: int, delivered: bool, gone: bool) -> None:
    assert is_delivered(status) is delivered
    assert deactivates(status) is gone
