"""Patient email rules (domain/notifications.py): when reminders fall due, how a message is
keyed so it is sent once, and what it says, in the clinic's zone."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import pytest

from appointments.domain.appointments import Appointment, Status
from appointments.domain.notifications import (
    EMAIL_EVENTS,
    EmailKind,
    EmailMessage,
    ahead,
    compose_email,
    email_key,
    lead_minutes,
    parse_email_key,
    reminder_times,
    why_not_sent,
)

BERLIN = ZoneInfo("Europe/Berlin")
APPOINTMENT_ID = UUID("3f2b8c1e-4d5a-4b6c-9e7f-0a1b2c3d4e5f")
# Berlin springs forward at 02:00 on Sunday 29 March 2026: 07:00Z is 09:00 CEST that day,
# and 07:00Z on the Saturday before was 08:00 CET.
AFTER_SPRING_FORWARD = datetime(2026, 3, 29, 7, tzinfo=UTC)
WINTER_TUESDAY = datetime(2026, 3, 3, 8, tzinfo=UTC)  # 09:00 CET


def compose(kind: EmailKind, offset: int | None = None, **overrides: object) -> EmailMessage:
    values: dict[str, object] = {
        "kind": kind,
        "offset_minutes": offset,
        "to": "patient@example.com",
        "appointment_id": APPOINTMENT_ID,
        "starts_at": WINTER_TUESDAY,
        "ends_at": WINTER_TUESDAY + timedelta(minutes=30),
        "doctor_name": "Dr Anna Weber",
        "zone": BERLIN,
        "mail_domain": "clinic.example",
    }
    values.update(overrides)
    return compose_email(**values)  # type: ignore[arg-type]


# --- reminder_times -------------------------------------------------------------------


def test_reminders_behind_now_are_dropped() -> None:
    starts = datetime(2026, 6, 10, 12, tzinfo=UTC)
    now = starts - timedelta(hours=2)
    due = reminder_times(starts, [1440, 120, 60, 30], now)
    # 1440 is long past; 120 is due exactly now, which is not "still ahead".
    assert due == [(60, starts - timedelta(hours=1)), (30, starts - timedelta(minutes=30))]


def test_each_offset_counts_once_and_the_earliest_comes_first() -> None:
    starts = datetime(2026, 6, 10, 12, tzinfo=UTC)
    due = reminder_times(starts, [60, 2880, 60, 1440, 2880], starts - timedelta(days=7))
    assert [offset for offset, _ in due] == [2880, 1440, 60]
    assert [at for _, at in due] == sorted(at for _, at in due)


def test_nothing_is_due_for_an_appointment_that_already_started() -> None:
    starts = datetime(2026, 6, 10, 12, tzinfo=UTC)
    assert reminder_times(starts, [1440, 60], starts + timedelta(minutes=1)) == []


def test_offsets_are_absolute_minutes_across_a_dst_change() -> None:
    [(offset, due)] = reminder_times(AFTER_SPRING_FORWARD, [1440], datetime(2026, 3, 1, tzinfo=UTC))
    assert offset == 1440
    assert due == datetime(2026, 3, 28, 7, tzinfo=UTC)
    assert due.tzinfo is UTC
    local = due.astimezone(BERLIN)
    assert (local.date().isoformat(), local.hour) == ("2026-03-28", 8)  # not 09:00


def test_a_start_given_in_the_clinic_zone_is_still_counted_in_absolute_minutes() -> None:
    zoned = AFTER_SPRING_FORWARD.astimezone(BERLIN)  # 09:00 CEST
    [(_, due)] = reminder_times(zoned, [1440], datetime(2026, 3, 1, tzinfo=UTC))
    assert due == datetime(2026, 3, 28, 7, tzinfo=UTC)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        reminder_times(datetime(2026, 6, 10, 12), [60], datetime(2026, 6, 1, tzinfo=UTC))


# --- email_key ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "offset", "key"),
    [
        (EmailKind.BOOKED, None, "booked"),
        (EmailKind.MOVED, None, "moved"),
        (EmailKind.CANCELLED, None, "cancelled"),
        (EmailKind.REMINDER, 1440, "reminder_1440"),
        (EmailKind.REMINDER, 5, "reminder_5"),
    ],
)
def test_email_keys_round_trip(kind: EmailKind, offset: int | None, key: str) -> None:
    assert email_key(kind, offset) == key
    assert parse_email_key(key) == (kind, offset)


@pytest.mark.parametrize(
    "key",
    [
        "",
        "reminder",
        "reminder_",
        "reminder_-5",
        "reminder_+5",
        "reminder_05",
        "reminder_1e3",
        "reminder_ 60",
        "reminder_٣",  # an Arabic-Indic digit: str.isdigit() alone would accept it
        "BOOKED",
        " booked",
        "booked_60",
        "rescheduled",
    ],
)
def test_anything_else_is_not_an_email_key(key: str) -> None:
    with pytest.raises(ValueError, match="not an email kind"):
        parse_email_key(key)


def test_a_reminder_needs_an_offset_and_other_kinds_take_none() -> None:
    with pytest.raises(ValueError, match="offset"):
        email_key(EmailKind.REMINDER, None)
    with pytest.raises(ValueError, match="no offset"):
        email_key(EmailKind.BOOKED, 60)


# --- compose_email --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "offset", "prefix"),
    [
        (EmailKind.BOOKED, None, "Appointment booked"),
        (EmailKind.MOVED, None, "Appointment moved"),
        (EmailKind.CANCELLED, None, "Appointment cancelled"),
        (EmailKind.REMINDER, 1440, "Appointment reminder"),
    ],
)
def test_the_subject_starts_with_the_kind_then_the_local_date_and_time(
    kind: EmailKind, offset: int | None, prefix: str
) -> None:
    message = compose(kind, offset)
    assert message.subject == f"{prefix}: Tuesday 3 March 2026, 09:00"


def test_the_body_gives_doctor_local_date_times_and_zone() -> None:
    message = compose(EmailKind.BOOKED)
    for body in (message.text, message.html):
        assert "Dr Anna Weber" in body
        assert "Tuesday 3 March 2026" in body
        assert "09:00" in body
        assert "09:30" in body
        assert "Europe/Berlin" in body
        assert "08:00" not in body  # the UTC time is not shown


def test_local_time_follows_the_clinic_zone_across_dst() -> None:
    summer = compose(
        EmailKind.BOOKED,
        starts_at=AFTER_SPRING_FORWARD,
        ends_at=AFTER_SPRING_FORWARD + timedelta(minutes=45),
    )
    assert summer.subject == "Appointment booked: Sunday 29 March 2026, 09:00"
    assert "09:00 to 09:45" in summer.text
    # The same UTC hour a day earlier is an hour earlier on the clinic's clock.
    winter = compose(
        EmailKind.BOOKED,
        starts_at=AFTER_SPRING_FORWARD - timedelta(days=1),
        ends_at=AFTER_SPRING_FORWARD - timedelta(days=1, minutes=-30),
    )
    assert winter.subject == "Appointment booked: Saturday 28 March 2026, 08:00"


@pytest.mark.parametrize(
    ("offset", "phrase"),
    [(1440, "in 24 hours"), (60, "in 1 hour"), (30, "in 30 minutes"), (90, "in 1 hour 30 minutes")],
)
def test_a_reminder_says_how_far_ahead(offset: int, phrase: str) -> None:
    message = compose(EmailKind.REMINDER, offset)
    assert phrase in message.text
    assert phrase in message.html


def test_a_cancellation_says_so() -> None:
    message = compose(EmailKind.CANCELLED)
    assert "cancelled" in message.text
    assert "cancelled" in message.html
    assert "cancelled" not in compose(EmailKind.BOOKED).text


def test_every_value_in_the_html_is_escaped() -> None:
    message = compose(EmailKind.BOOKED, doctor_name="<b>Dr O'Neil & Co</b>")
    html = message.html
    assert "<b>" not in html
    assert "&lt;b&gt;Dr O&#x27;Neil &amp; Co&lt;/b&gt;" in html
    assert "<b>Dr O'Neil & Co</b>" in message.text  # the plain text carries it as is


def test_the_appointment_id_header_and_the_stable_message_id() -> None:
    message = compose(EmailKind.REMINDER, 1440)
    assert message.headers == {"X-Appointment-Id": str(APPOINTMENT_ID)}
    stamp = int(WINTER_TUESDAY.timestamp())
    expected = f"<{APPOINTMENT_ID}.reminder_1440.{stamp}@clinic.example>"
    assert message.message_id == expected
    assert compose(EmailKind.REMINDER, 1440) == message  # a resend is the same message


def test_the_message_id_differs_by_kind_offset_and_start() -> None:
    ids = {
        compose(EmailKind.BOOKED).message_id,
        compose(EmailKind.MOVED).message_id,
        compose(EmailKind.REMINDER, 1440).message_id,
        compose(EmailKind.REMINDER, 60).message_id,
        compose(
            EmailKind.MOVED,
            starts_at=WINTER_TUESDAY + timedelta(days=1),
            ends_at=WINTER_TUESDAY + timedelta(days=1, minutes=30),
        ).message_id,
    }
    assert len(ids) == 5


def test_the_message_goes_to_the_address_given_and_never_names_the_patient() -> None:
    # There is nothing to leak: the patient's name is not even an input...
    assert not [p for p in inspect.signature(compose_email).parameters if "patient" in p]
    message = compose(EmailKind.BOOKED, to="m.pfeiffer@example.com")
    assert message.to == "m.pfeiffer@example.com"
    # ...and the address (which may be mistyped or shared) is not repeated in the body.
    for text in (message.subject, message.text, message.html):
        assert "pfeiffer" not in text.lower()


# --- what is sent, checked again just before sending ----------------------------------


def test_the_events_that_email_the_patient() -> None:
    assert dict(EMAIL_EVENTS) == {
        "appointment.booked": EmailKind.BOOKED,
        "appointment.rescheduled": EmailKind.MOVED,
        "appointment.cancelled": EmailKind.CANCELLED,
        "waitlist.offered": EmailKind.OFFERED,
    }


NOW = WINTER_TUESDAY - timedelta(days=2)


def appointment(status: Status = Status.SCHEDULED) -> Appointment:
    return Appointment(
        patient_id=uuid4(),
        doctor_id=uuid4(),
        department_id=uuid4(),
        starts_at=WINTER_TUESDAY,
        ends_at=WINTER_TUESDAY + timedelta(minutes=30),
        created_at=NOW,
        updated_at=NOW,
        status=status,
    )


def reason(
    kind: EmailKind,
    offset: int | None = None,
    *,
    target: Appointment | None = None,
    planned_start: datetime | None = WINTER_TUESDAY,
    offsets: tuple[int, ...] = (1440, 60),
    has_email: bool = True,
    now: datetime = NOW,
) -> str | None:
    return why_not_sent(
        kind,
        offset,
        planned_start=planned_start,
        appointment=target or appointment(),
        reminder_offsets=offsets,
        has_email=has_email,
        now=now,
    )


@pytest.mark.parametrize(
    ("kind", "offset"),
    [(EmailKind.BOOKED, None), (EmailKind.MOVED, None), (EmailKind.REMINDER, 1440)],
)
def test_an_email_still_due_is_sent(kind: EmailKind, offset: int | None) -> None:
    assert reason(kind, offset) is None
    # The same instant given in the clinic's zone is the same start.
    assert reason(kind, offset, planned_start=WINTER_TUESDAY.astimezone(BERLIN)) is None


def test_nothing_goes_to_a_patient_without_an_address() -> None:
    for kind in EmailKind:
        offset = 60 if kind is EmailKind.REMINDER else None
        assert reason(kind, offset, has_email=False) == "the patient has no email address"


@pytest.mark.parametrize("status", [Status.CANCELLED, Status.COMPLETED, Status.NO_SHOW])
def test_nothing_but_the_cancellation_for_an_appointment_no_longer_active(
    status: Status,
) -> None:
    ended = appointment(status)
    for kind, offset in [(EmailKind.BOOKED, None), (EmailKind.REMINDER, 60)]:
        assert reason(kind, offset, target=ended) == "the appointment is no longer active"
    assert reason(EmailKind.CANCELLED, target=appointment(Status.CANCELLED)) is None


def test_emails_planned_for_an_earlier_start_are_skipped_after_a_move() -> None:
    earlier = WINTER_TUESDAY - timedelta(hours=1)
    for kind, offset in [
        (EmailKind.BOOKED, None),
        (EmailKind.MOVED, None),
        (EmailKind.REMINDER, 60),
    ]:
        assert reason(kind, offset, planned_start=earlier) == "the appointment has moved since"


def test_a_reminder_late_past_the_start_is_skipped() -> None:
    assert reason(EmailKind.REMINDER, 60, now=WINTER_TUESDAY) == (
        "the appointment has already started"
    )


def test_a_reminder_the_policy_dropped_is_skipped() -> None:
    assert reason(EmailKind.REMINDER, 1440, offsets=(60,)) == (
        "the booking policy no longer has this reminder"
    )


@pytest.mark.parametrize(
    ("offset", "minutes_left", "said"),
    [
        (1440, 1440, 1440),  # on time
        (1440, 1437, 1440),  # a poll late
        (1440, 1372, 1440),  # within 5 %
        (1440, 1300, 1300),  # the dispatcher was down: the truth
        (1440, 240, 240),
        (60, 62, 60),  # within 5 minutes
        (60, 50, 50),
        (1440, -3, 0),
    ],
)
def test_a_late_reminder_says_how_far_ahead_it_really_is(
    offset: int, minutes_left: int, said: int
) -> None:
    starts = datetime(2026, 3, 3, 8, tzinfo=UTC)
    assert lead_minutes(offset, starts, starts - timedelta(minutes=minutes_left)) == said
    late = compose_email(
        kind=EmailKind.REMINDER,
        offset_minutes=offset,
        to="someone@example.com",
        appointment_id=uuid4(),
        starts_at=starts,
        ends_at=starts + timedelta(minutes=30),
        doctor_name="Dr Weber",
        zone=ZoneInfo("UTC"),
        mail_domain="clinic.example",
        now=starts - timedelta(minutes=minutes_left),
    )
    assert ahead(said) in late.text
    assert f".reminder_{offset}." in late.message_id  # the key stays the offset's


def test_an_offer_email_says_until_when_the_time_is_held_and_names_the_entry() -> None:
    zone = ZoneInfo("Europe/Berlin")
    entry_id = uuid4()
    starts = datetime(2027, 3, 1, 9, tzinfo=UTC)  # 10:00 in Berlin
    message = compose_email(
        kind=EmailKind.OFFERED,
        offset_minutes=None,
        to="p@example.com",
        appointment_id=entry_id,
        starts_at=starts,
        ends_at=starts + timedelta(minutes=30),
        doctor_name="Dr. Weber",
        zone=zone,
        mail_domain="clinic.test",
        held_until=datetime(2027, 2, 28, 17, 30, tzinfo=UTC),
    )
    assert message.subject == "Appointment offered: Monday 1 March 2027, 10:00"
    assert "held for you until 18:30" in message.text
    assert message.headers == {"X-Waitlist-Entry-Id": str(entry_id)}
