"""Calendar feed rules and the change counter behind SEQUENCE, and the FHIR search
parameters' meaning; table-driven, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest

from appointments.domain.appointments import CancelledBy
from appointments.domain.calendar_feeds import (
    DAYS_AHEAD,
    DAYS_BACK,
    FETCH_WINDOW,
    MAX_FETCHES_PER_WINDOW,
    CalendarFeed,
    FeedOwner,
    FetchCount,
    feed_window,
    hash_token,
    well_formed,
)
from appointments.domain.errors import InvalidTransition, InvalidValue
from appointments.domain.schedule import Span
from appointments.entrypoints.api import fhir_search
from tests.unit.test_rule_homes import NOW, booked, context

BERLIN = ZoneInfo("Europe/Berlin")


def test_every_change_raises_the_revision() -> None:
    appointment = booked()
    assert appointment.revision == 0
    seen = [appointment.revision]
    appointment.edit(NOW, reason="follow-up")
    seen.append(appointment.revision)
    later = Span(
        appointment.starts_at + timedelta(hours=2), appointment.ends_at + timedelta(hours=2)
    )
    appointment.reschedule(later, context())
    seen.append(appointment.revision)
    appointment.confirm(NOW)
    seen.append(appointment.revision)
    appointment.cancel(None, NOW, by=CancelledBy.PATIENT)
    seen.append(appointment.revision)
    assert seen == sorted(set(seen))


def test_a_refused_move_keeps_the_revision() -> None:
    appointment = booked()
    appointment.cancel(None, NOW, by=CancelledBy.DOCTOR)
    revision = appointment.revision
    with pytest.raises(InvalidTransition):
        appointment.confirm(NOW)
    assert appointment.revision == revision


def test_tokens_are_long_random_and_stored_only_as_their_hash() -> None:
    feed, token = CalendarFeed.issue(FeedOwner.PATIENT, uuid4(), NOW, uuid4())
    _other, second = CalendarFeed.issue(FeedOwner.PATIENT, uuid4(), NOW, uuid4())
    assert well_formed(token)
    assert well_formed(second)
    assert token != second
    assert len(token) * 6 >= 256  # base64url characters
    assert feed.token_hash == hash_token(token)
    assert token not in repr(feed)
    assert not well_formed(token[:-1])
    assert not well_formed(token + "A")
    feed.revoke(NOW)
    feed.revoke(NOW + timedelta(hours=1))
    assert feed.revoked_at == NOW
    assert not feed.is_active


def test_the_window_is_day_aligned_and_bounded() -> None:
    for now in (NOW, NOW + timedelta(hours=3, minutes=59)):
        window = feed_window(now)
        assert window.starts_at == datetime(2027, 1, 29, tzinfo=UTC)  # 30 days before Feb 28
        assert window.ends_at - window.starts_at == timedelta(days=DAYS_BACK + DAYS_AHEAD)


def test_the_fetch_throttle() -> None:
    count = FetchCount(NOW, MAX_FETCHES_PER_WINDOW)
    assert count.retry_after(NOW) is None
    over = FetchCount(NOW, MAX_FETCHES_PER_WINDOW + 1)
    assert over.retry_after(NOW) == FETCH_WINDOW.total_seconds() + 1
    assert over.retry_after(NOW + FETCH_WINDOW - timedelta(seconds=1)) == 2
    assert over.retry_after(NOW, limit=100) is None


@pytest.mark.parametrize(
    ("values", "starts_from", "starts_before"),
    [
        # a date is a clinic-local day: Berlin's 2027-03-28 is 23 hours long (DST)
        (
            ["2027-03-28"],
            datetime(2027, 3, 27, 23, tzinfo=UTC),
            datetime(2027, 3, 28, 22, tzinfo=UTC),
        ),
        (["ge2027-03-28"], datetime(2027, 3, 27, 23, tzinfo=UTC), None),
        (["gt2027-03-28"], datetime(2027, 3, 28, 22, tzinfo=UTC), None),
        (["lt2027-03-28"], None, datetime(2027, 3, 27, 23, tzinfo=UTC)),
        (["le2027-03-28"], None, datetime(2027, 3, 28, 22, tzinfo=UTC)),
        (
            ["ge2027-03-01T10:00:00+01:00", "lt2027-03-02T00:00:00Z"],
            datetime(2027, 3, 1, 9, tzinfo=UTC),
            datetime(2027, 3, 2, tzinfo=UTC),
        ),
        (
            ["gt2027-03-01T09:00:00Z"],
            datetime(2027, 3, 1, 9, tzinfo=UTC) + fhir_search.TINY,
            None,
        ),
        ([], None, None),
    ],
)
def test_fhir_date_prefixes(
    values: list[str], starts_from: datetime | None, starts_before: datetime | None
) -> None:
    bounds = fhir_search.date_bounds(values, BERLIN)
    assert (bounds.starts_from, bounds.starts_before) == (starts_from, starts_before)


@pytest.mark.parametrize(
    "value", ["2027-3-1", "ne2027-03-01", "2027-03-01T10:00:00", "2027-02-30", "2027-03-01T25:00Z"]
)
def test_fhir_dates_that_are_refused(value: str) -> None:
    with pytest.raises(InvalidValue):
        fhir_search.date_bounds([value], BERLIN)


def test_fhir_status_codes_and_references() -> None:
    assert {s.value for s in fhir_search.statuses(["booked"]) or ()} == {"scheduled", "confirmed"}
    assert fhir_search.statuses(["proposed"]) == frozenset()  # valid FHIR, never ours
    assert fhir_search.statuses([]) is None
    with pytest.raises(InvalidValue):
        fhir_search.statuses(["booked,unknown"])
    some = uuid4()
    assert fhir_search.reference_id(f"Patient/{some}", "Patient") == some
    assert fhir_search.reference_id(str(some), "Patient") == some
    with pytest.raises(InvalidValue):
        fhir_search.reference_id(f"Practitioner/{some}", "Patient")
