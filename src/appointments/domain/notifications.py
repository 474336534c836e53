"""Patient email: which messages an appointment gets, when, and what they say.

Pure rules, no I/O: the dispatcher stores one outbox row per (appointment, kind, start
time) under `email_key`, so a message is sent once; `compose_email` renders it the same
way every time, so a resend after a crash is the same message with the same Message-ID.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from uuid import UUID
from zoneinfo import ZoneInfo

from appointments.domain.appointments import Appointment


@dataclass(frozen=True, slots=True)
class EmailMessage:
    to: str
    subject: str
    text: str
    html: str
    # Stable per (appointment, kind, start): a resend after a crash carries the same
    # Message-ID, so mail systems and clients can recognise the duplicate.
    message_id: str
    headers: dict[str, str] = field(default_factory=dict)


class EmailKind(StrEnum):
    BOOKED = "booked"
    MOVED = "moved"
    CANCELLED = "cancelled"
    REMINDER = "reminder"
    OFFERED = "offered"  # a waitlist offer: time held for the patient


# The events that email the patient (reminders are planned with BOOKED and MOVED).
EMAIL_EVENTS: Mapping[str, EmailKind] = {
    "appointment.booked": EmailKind.BOOKED,
    "appointment.rescheduled": EmailKind.MOVED,
    "appointment.cancelled": EmailKind.CANCELLED,
    "waitlist.offered": EmailKind.OFFERED,
}
# API.md: every subject starts with one of these, so mail filters can rely on them.
SUBJECT_PREFIXES = {
    EmailKind.BOOKED: "Appointment booked",
    EmailKind.MOVED: "Appointment moved",
    EmailKind.CANCELLED: "Appointment cancelled",
    EmailKind.REMINDER: "Appointment reminder",
    EmailKind.OFFERED: "Appointment offered",
}
APPOINTMENT_ID_HEADER = "X-Appointment-Id"
WAITLIST_ENTRY_HEADER = "X-Waitlist-Entry-Id"
_REMINDER_PREFIX = f"{EmailKind.REMINDER.value}_"
_PLAIN_KINDS = frozenset(k.value for k in EmailKind if k is not EmailKind.REMINDER)
# English names, not strftime's %A/%B: those follow the process locale.
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def _utc(instant: datetime) -> datetime:
    """`instant` in UTC. Arithmetic on a zoned datetime is wall-clock arithmetic (wrong
    across a DST change), so offsets are always applied in UTC."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("expected a timezone-aware datetime")
    return instant.astimezone(UTC)


def reminder_times(
    starts_at: datetime, offsets_minutes: Iterable[int], now: datetime
) -> list[tuple[int, datetime]]:
    """(offset, due instant in UTC) for each distinct offset still ahead of `now`, earliest
    first. Offsets are absolute minutes: 1440 is 24 real hours, even across a DST change."""
    start, current = _utc(starts_at), _utc(now)
    due = ((o, start - timedelta(minutes=o)) for o in dict.fromkeys(offsets_minutes))
    return sorted(((o, at) for o, at in due if at > current), key=lambda pair: pair[1])


def email_key(kind: EmailKind, offset_minutes: int | None) -> str:
    """The kind as stored: one row per reminder offset, so each is sent once."""
    if kind is EmailKind.REMINDER:
        if offset_minutes is None or offset_minutes < 0:
            raise ValueError("a reminder needs an offset of 0 or more minutes")
        return f"{_REMINDER_PREFIX}{offset_minutes}"
    if offset_minutes is not None:
        raise ValueError(f"a {kind.value} email has no offset")
    return kind.value


def parse_email_key(key: str) -> tuple[EmailKind, int | None]:
    """The inverse of `email_key`; ValueError for any other text."""
    if key.startswith(_REMINDER_PREFIX):
        digits = key.removeprefix(_REMINDER_PREFIX)
        # Only the canonical spelling (no sign, blanks or leading zeros) round-trips.
        if digits.isascii() and digits.isdigit() and str(int(digits)) == digits:
            return EmailKind.REMINDER, int(digits)
    elif key in _PLAIN_KINDS:
        return EmailKind(key), None
    raise ValueError(f"not an email kind: {key!r}")


def why_not_sent(
    kind: EmailKind,
    offset_minutes: int | None,
    *,
    planned_start: datetime | None,
    appointment: Appointment,
    reminder_offsets: Iterable[int],
    has_email: bool,
    now: datetime,
) -> str | None:
    """Why a planned email is no longer due (None: send it), checked just before sending
    since the appointment may have changed since planning. A cancellation always goes
    out; anything else only for an active appointment still at the planned start, not
    yet begun: a move plans its own emails, and a late 'booked' after the 'cancelled'
    would mislead."""
    if not has_email:
        return "the patient has no email address"
    if kind is EmailKind.CANCELLED:
        return None
    if not appointment.is_active:
        return "the appointment is no longer active"
    if planned_start is not None and _utc(planned_start) != _utc(appointment.starts_at):
        return "the appointment has moved since"
    if _utc(now) >= _utc(appointment.starts_at):
        return "the appointment has already started"
    if kind is EmailKind.REMINDER and offset_minutes not in set(reminder_offsets):
        return "the booking policy no longer has this reminder"
    return None


def local_date(moment: datetime) -> str:
    """E.g. 'Tuesday 3 March 2026' (the date of a zoned datetime, in English)."""
    return f"{_WEEKDAYS[moment.weekday()]} {moment.day} {_MONTHS[moment.month - 1]} {moment.year}"


def ahead(offset_minutes: int) -> str:
    """How far ahead a reminder is: 'in 24 hours', 'in 1 hour', 'in 1 hour 30 minutes'."""
    hours, minutes = divmod(offset_minutes, 60)
    units = ((hours, "hour"), (minutes, "minute"))
    parts = [f"{n} {unit}{'' if n == 1 else 's'}" for n, unit in units if n]
    return f"in {' '.join(parts) or '0 minutes'}"


def lead_minutes(offset_minutes: int, starts_at: datetime, now: datetime) -> int:
    """How far ahead a reminder sent at `now` is: its offset when it goes out about on
    time (within 5 minutes or 5%), else the minutes really left (the dispatcher was
    down), so it never says "in 24 hours" four hours before."""
    left = round((_utc(starts_at) - _utc(now)).total_seconds() / 60)
    close_enough = max(5, offset_minutes // 20)
    return offset_minutes if abs(left - offset_minutes) <= close_enough else max(left, 0)


@dataclass(frozen=True, slots=True)
class _Facts:
    """What a message says, as plain text; escaped only where HTML is rendered."""

    headline: str
    doctor: str
    date: str
    time: str


def _facts(
    kind: EmailKind,
    offset_minutes: int | None,
    start: datetime,
    end: datetime,
    doctor_name: str,
    zone: ZoneInfo,
    held_until: datetime | None = None,
) -> _Facts:
    when = f"{local_date(start)} at {start:%H:%M}"
    until = "" if held_until is None else f"{_utc(held_until).astimezone(zone):%H:%M}"
    headlines = {
        EmailKind.BOOKED: f"Your appointment on {when} is booked.",
        EmailKind.MOVED: f"Your appointment has moved to {when}.",
        EmailKind.CANCELLED: f"Your appointment on {when} has been cancelled.",
        EmailKind.REMINDER: (
            f"A reminder: your appointment is {ahead(offset_minutes or 0)}, on {when}."
        ),
        EmailKind.OFFERED: (
            f"Time has come free on {when}, and it is held for you until {until}: "
            "accept the offer on your waitlist entry to book it."
        ),
    }
    return _Facts(
        headline=headlines[kind],
        doctor=doctor_name,
        date=local_date(start),
        time=f"{start:%H:%M} to {end:%H:%M} ({zone.key})",
    )


def _text(facts: _Facts) -> str:
    return (
        f"Hello,\n\n{facts.headline}\n\n"
        f"Doctor: {facts.doctor}\nDate: {facts.date}\nTime: {facts.time}\n"
    )


def _html(facts: _Facts) -> str:
    e = html.escape
    return (
        "<!DOCTYPE html>\n<html><body>\n<p>Hello,</p>\n"
        f"<p>{e(facts.headline)}</p>\n<table>\n"
        f"<tr><th>Doctor</th><td>{e(facts.doctor)}</td></tr>\n"
        f"<tr><th>Date</th><td>{e(facts.date)}</td></tr>\n"
        f"<tr><th>Time</th><td>{e(facts.time)}</td></tr>\n"
        "</table>\n</body></html>\n"
    )


def compose_email(
    *,
    kind: EmailKind,
    offset_minutes: int | None,
    to: str,
    appointment_id: UUID,
    starts_at: datetime,
    ends_at: datetime,
    doctor_name: str,
    zone: ZoneInfo,
    mail_domain: str,
    now: datetime | None = None,
    held_until: datetime | None = None,
) -> EmailMessage:
    """The message for one (appointment, kind, start time), times shown in the clinic's
    zone. No patient name: the address may be shared or mistyped. `now`: when it is sent,
    so a reminder that goes out late says how far ahead the appointment really is. An
    offer (OFFERED) is about a waitlist entry (`appointment_id` is its id) and says until
    when the time is held (`held_until`)."""
    key = email_key(kind, offset_minutes)
    start, end = _utc(starts_at).astimezone(zone), _utc(ends_at).astimezone(zone)
    lead = offset_minutes if now is None else lead_minutes(offset_minutes or 0, starts_at, now)
    facts = _facts(kind, lead, start, end, doctor_name, zone, held_until)
    header = WAITLIST_ENTRY_HEADER if kind is EmailKind.OFFERED else APPOINTMENT_ID_HEADER
    return EmailMessage(
        to=to,
        subject=f"{SUBJECT_PREFIXES[kind]}: {local_date(start)}, {start:%H:%M}",
        text=_text(facts),
        html=_html(facts),
        message_id=f"<{appointment_id}.{key}.{int(starts_at.timestamp())}@{mail_domain}>",
        headers={header: str(appointment_id)},
    )
