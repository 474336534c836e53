"""A delivery: one webhook POST to one endpoint, or one email to one patient, with its
attempts. Its moves (delivered, retried, failed, skipped) are decided here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from uuid import UUID, uuid4

from appointments.domain.text import Length
from appointments.domain.webhooks import deactivates, is_delivered, retry_delay

LAST_ERROR = Length(0, 500)
# Email has no per-message schedule of its own: a refused hand-over is retried on these
# delays (an SMTP server briefly down), then given up.
EMAIL_RETRY_SECONDS = (60, 300, 1800, 7200)


class Channel(StrEnum):
    WEBHOOK = "webhook"
    EMAIL = "email"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    # Email only: no longer due (the appointment moved or ended, the patient has no email).
    SKIPPED = "skipped"


@dataclass(slots=True)
class Delivery:
    channel: Channel
    event_id: UUID
    event_type: str
    created_at: datetime
    next_attempt_at: datetime
    endpoint_id: UUID | None = None
    # Email: which message for which appointment start; unique together, so each is
    # planned once however many dispatchers fan the same event out.
    appointment_id: UUID | None = None
    email_key: str | None = None
    starts_at: datetime | None = None
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    last_status_code: int | None = None
    last_error: str | None = None
    delivered_at: datetime | None = None
    id: UUID = field(default_factory=uuid4)

    def succeeded(self, now: datetime, status_code: int | None = None) -> None:
        self.attempts += 1
        self.status, self.delivered_at = DeliveryStatus.DELIVERED, now
        self.last_status_code, self.last_error = status_code, None

    def answered(
        self, now: datetime, status_code: int, schedule: Sequence[int], jitter: float
    ) -> bool:
        """A webhook's answer: delivered on a 2xx, else retried; True when the answer
        (410 Gone) says the endpoint should be deactivated."""
        if is_delivered(status_code):
            self.succeeded(now, status_code)
            return False
        self.failed(now, f"HTTP {status_code}", schedule, jitter, status_code=status_code)
        if deactivates(status_code):
            self.status, self.next_attempt_at = DeliveryStatus.FAILED, now
            return True
        return False

    def failed(
        self,
        now: datetime,
        error: str,
        schedule: Sequence[int],
        jitter: float,
        *,
        status_code: int | None = None,
    ) -> None:
        """An attempt that did not get through: due again after the schedule's next delay,
        or `failed` once it is spent."""
        self.attempts += 1
        self.last_status_code, self.last_error = status_code, error[: LAST_ERROR.max]
        delay = retry_delay(self.attempts, schedule, jitter)
        if delay is None:
            self.status = DeliveryStatus.FAILED
        else:
            self.next_attempt_at = now + delay

    def abandon(self, reason: str) -> None:
        """Given up without an attempt (its endpoint was switched off): `failed`, the
        attempts as they were."""
        self.status, self.last_error = DeliveryStatus.FAILED, reason[: LAST_ERROR.max]

    def skip(self, reason: str) -> None:
        self.status, self.last_error = DeliveryStatus.SKIPPED, reason[: LAST_ERROR.max]

    @property
    def is_final(self) -> bool:
        return self.status is not DeliveryStatus.PENDING
