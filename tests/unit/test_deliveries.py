"""A delivery's moves, without I/O: delivered on a 2xx, retried along the schedule with
the caller's jitter, failed once it is spent, failed at once on 410 (and the endpoint to
be deactivated), skipped with a reason; errors are cut to the column's width."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from appointments.domain.deliveries import LAST_ERROR, Channel, Delivery, DeliveryStatus

NOW = datetime(2030, 3, 4, 9, tzinfo=UTC)
SCHEDULE = [5, 300]


def delivery() -> Delivery:
    return Delivery(
        channel=Channel.WEBHOOK,
        event_id=uuid4(),
        event_type="appointment.booked",
        created_at=NOW,
        next_attempt_at=NOW,
        endpoint_id=uuid4(),
    )


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
def test_a_2xx_is_delivered(status: int) -> None:
    d = delivery()
    assert d.answered(NOW, status, SCHEDULE, 0.0) is False
    assert (d.status, d.attempts, d.delivered_at, d.last_status_code) == (
        DeliveryStatus.DELIVERED,
        1,
        NOW,
        status,
    )
    assert d.is_final


@pytest.mark.parametrize("status", [300, 302, 400, 404, 429, 500, 503])
def test_anything_else_is_retried_along_the_schedule_then_failed(status: int) -> None:
    d = delivery()
    assert d.answered(NOW, status, SCHEDULE, 0.1) is False
    assert (d.status, d.attempts, d.last_error) == (DeliveryStatus.PENDING, 1, f"HTTP {status}")
    assert d.next_attempt_at == NOW + timedelta(seconds=5 * 1.1)
    later = NOW + timedelta(minutes=1)
    d.answered(later, status, SCHEDULE, -0.1)
    assert d.next_attempt_at == later + timedelta(seconds=300 * 0.9)
    assert not d.is_final
    d.answered(later, status, SCHEDULE, 0.0)
    assert (d.status, d.attempts) == (DeliveryStatus.FAILED, 3)
    assert d.delivered_at is None


def test_410_fails_at_once_and_asks_for_deactivation() -> None:
    d = delivery()
    assert d.answered(NOW, 410, SCHEDULE, 0.0) is True
    assert (d.status, d.attempts, d.last_status_code) == (DeliveryStatus.FAILED, 1, 410)


def test_a_transport_error_is_retried_and_kept_short() -> None:
    d = delivery()
    d.failed(NOW, "x" * 2000, SCHEDULE, 0.0)
    assert d.status is DeliveryStatus.PENDING
    assert d.last_status_code is None
    assert len(d.last_error or "") == LAST_ERROR.max
    d.failed(NOW, "connection refused", (), 0.0)  # no schedule: fails at once
    assert d.status is DeliveryStatus.FAILED


def test_a_retry_that_succeeds_clears_the_error() -> None:
    d = delivery()
    d.failed(NOW, "timed out after 10 s", SCHEDULE, 0.0)
    d.succeeded(NOW + timedelta(seconds=5), 204)
    assert (d.status, d.attempts, d.last_error) == (DeliveryStatus.DELIVERED, 2, None)


def test_skipped_is_final_with_its_reason() -> None:
    d = delivery()
    d.skip("the appointment has moved since")
    assert (d.status, d.last_error, d.attempts) == (
        DeliveryStatus.SKIPPED,
        "the appointment has moved since",
        0,
    )
    assert d.is_final
