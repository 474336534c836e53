"""Webhook endpoints: where the clinic's events are POSTed, signed with a secret of their own.

The URL rules here are the ones that need no network (scheme, host, no credentials, length);
whether the host resolves to a public address is the UrlGuard port's job, asked on create,
on a changed URL, and again by the dispatcher before every delivery (DNS can change).

Delivery is pure here too: the body, its Standard Webhooks signature and headers, the
retry schedule with its jitter, and what a status code means; sending is an adapter's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import SplitResult, urlsplit
from uuid import UUID, uuid4

from appointments.domain.errors import InvalidValue, WebhookUrlNotAllowed
from appointments.domain.text import Length

# API.md, "Webhooks and notifications": every event an endpoint may subscribe to.
WEBHOOK_EVENTS = (
    "appointment.booked",
    "appointment.rescheduled",
    "appointment.confirmed",
    "appointment.checked_in",
    "appointment.completed",
    "appointment.cancelled",
    "appointment.no_show",
    "waitlist.offered",
)
WEBHOOK_SCHEMES = frozenset({"http", "https"})
WEBHOOK_URL = Length(1, 2000)
WEBHOOK_DESCRIPTION = Length(0, 500)
SECRET_PREFIX = "whsec_"  # noqa: S105 - a format prefix, not a secret
SECRET_BYTES = 32
# "whsec_" + base64 of 32 bytes (44 characters): the stored column's width.
SECRET_LENGTH = len(SECRET_PREFIX) + 4 * ((SECRET_BYTES + 2) // 3)


def new_secret() -> str:
    """A signing secret in the Standard Webhooks format, so its libraries verify with it."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def split_webhook_url(url: str) -> SplitResult:
    """The URL's parts, if it may be a webhook target at all (WebhookUrlNotAllowed if not):
    http or https, a host, no `user:password@`, a valid port, no blanks."""
    if not WEBHOOK_URL.admits(url):
        raise WebhookUrlNotAllowed(f"A webhook URL is at most {WEBHOOK_URL.max} characters.")
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        raise WebhookUrlNotAllowed("A webhook URL may not contain blanks or control characters.")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port out of range or not a number
    except ValueError as error:
        raise WebhookUrlNotAllowed("The webhook URL is malformed.") from error
    if parts.scheme.lower() not in WEBHOOK_SCHEMES:
        raise WebhookUrlNotAllowed("A webhook URL is http or https.")
    if parts.username is not None or parts.password is not None:
        raise WebhookUrlNotAllowed("A webhook URL may not carry credentials (user:password@).")
    if not parts.hostname:
        raise WebhookUrlNotAllowed("A webhook URL needs a host.")
    return parts


def check_webhook_url(url: str) -> str:
    split_webhook_url(url)
    return url


def check_event_types(event_types: Iterable[str]) -> tuple[str, ...]:
    """Known event names, each once, in the order given; empty means every event."""
    chosen = tuple(dict.fromkeys(event_types))
    if unknown := [e for e in chosen if e not in WEBHOOK_EVENTS]:
        raise InvalidValue(
            f"Unknown event types: {', '.join(unknown)}; known: {', '.join(WEBHOOK_EVENTS)}."
        )
    return chosen


def check_description(description: str | None) -> str | None:
    if description is not None and not WEBHOOK_DESCRIPTION.admits(description):
        raise InvalidValue(f"A description is at most {WEBHOOK_DESCRIPTION.max} characters.")
    return description


@dataclass(slots=True)
class WebhookEndpoint:
    """`secret` is named so the audit trail redacts it (domain/audit.py) and kept out of
    repr so it cannot reach a log line by accident."""

    url: str
    created_at: datetime
    event_types: tuple[str, ...] = ()
    description: str | None = None
    is_active: bool = True
    secret: str = field(default_factory=new_secret, repr=False)
    id: UUID = field(default_factory=uuid4)

    def __post_init__(self) -> None:
        self.url = check_webhook_url(self.url)
        self.event_types = check_event_types(self.event_types)
        self.description = check_description(self.description)

    @property
    def secret_bytes(self) -> bytes:
        """The HMAC-SHA256 key: the secret without its prefix, base64-decoded."""
        return base64.b64decode(self.secret.removeprefix(SECRET_PREFIX), validate=True)

    def wants(self, event_type: str) -> bool:
        """Whether a new event of this type is delivered here: active, and subscribed to
        it (no event types means every event)."""
        return self.is_active and (not self.event_types or event_type in self.event_types)

    def point_at(self, url: str) -> None:
        self.url = check_webhook_url(url)

    def subscribe(self, event_types: Iterable[str]) -> None:
        self.event_types = check_event_types(event_types)

    def describe(self, description: str | None) -> None:
        self.description = check_description(description)


# Delivery, as API.md's Standard Webhooks contract has it: the body, its signature, the
# headers of one attempt, and when a failed attempt is tried again.

USER_AGENT = "appointments-webhooks/1"
JITTER = 0.1  # each retry delay is scaled by (1 + j), j drawn by the caller in [-JITTER, JITTER]


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a webhook timestamp needs a timezone-aware datetime")
    return moment.astimezone(UTC)


def webhook_body(event_type: str, occurred_at: datetime, data: Mapping[str, object]) -> bytes:
    """The POSTed JSON, compact, keys in the order type, timestamp (RFC 3339, UTC, `Z`),
    data. These are the exact bytes signed and sent: serialise once, never re-encode."""
    timestamp = _utc(occurred_at).isoformat().replace("+00:00", "Z")
    payload = {"type": event_type, "timestamp": timestamp, "data": dict(data)}
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.encode("utf-8")


def signature(secret_bytes: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    """`v1,` + base64(HMAC-SHA256(secret, `{id}.{timestamp}.{body}`)): Standard Webhooks."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_bytes, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signed_headers(
    secret_bytes: bytes, message_id: str, attempted_at: datetime, body: bytes
) -> dict[str, str]:
    """The headers of one attempt: the id is the event's (the same on every retry), the
    timestamp this attempt's, in whole Unix seconds, so the receiver can refuse replays."""
    timestamp = int(_utc(attempted_at).timestamp())
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret_bytes, message_id, timestamp, body),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


def retry_delay(attempts_made: int, schedule: Sequence[int], jitter: float) -> timedelta | None:
    """How long to wait after the `attempts_made`-th failed attempt (1 for the first):
    that step of the schedule scaled by (1 + jitter), so endpoints that failed together do
    not all retry in the same second; None once the schedule is spent (then: failed)."""
    if attempts_made < 1:
        raise ValueError("attempts_made counts failed attempts, from 1")
    if not -JITTER <= jitter <= JITTER:
        raise ValueError(f"jitter is within [-{JITTER}, {JITTER}]")
    if attempts_made > len(schedule):
        return None
    return timedelta(seconds=schedule[attempts_made - 1] * (1 + jitter))


def is_delivered(status_code: int) -> bool:
    """Any 2xx answer; a 3xx is not followed, so it is a failure like any other."""
    return 200 <= status_code <= 299


def deactivates(status_code: int) -> bool:
    """410 Gone: the receiver asks for no more deliveries, so the endpoint is deactivated."""
    return status_code == 410
