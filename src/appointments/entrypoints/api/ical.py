"""A calendar feed as RFC 5545 text, built with the `icalendar` package.

Every event keeps its UID across changes (`<appointment id>@appointments`), carries its
times in UTC, a SEQUENCE that rises with every change of the appointment and DTSTAMP =
LAST-MODIFIED = the appointment's last change (a published feed has no METHOD, so DTSTAMP
is "when the information was last revised", RFC 5545 3.8.7.2): the same data gives the
same bytes, hence a stable ETag. Cancelled appointments stay, as STATUS:CANCELLED, so
subscribed calendars remove them.
"""

from __future__ import annotations

import hashlib

from icalendar import Calendar, Event

from appointments.application.calendar_feeds import FeedView
from appointments.domain.appointments import Appointment, Status
from appointments.domain.calendar_feeds import FeedOwner

PRODID = "-//appointments//calendar feed//EN"
UID_DOMAIN = "appointments"
# RFC 5545 STATUS of a VEVENT: TENTATIVE, CONFIRMED or CANCELLED.
EVENT_STATUS = {
    Status.SCHEDULED: "TENTATIVE",
    Status.CONFIRMED: "CONFIRMED",
    Status.CHECKED_IN: "CONFIRMED",
    Status.COMPLETED: "CONFIRMED",
    Status.NO_SHOW: "CONFIRMED",
    Status.CANCELLED: "CANCELLED",
}


def _summary(view: FeedView, appointment: Appointment) -> str:
    name = view.names.get(view.counterpart(appointment))
    if view.feed.owner_type is FeedOwner.DOCTOR:
        return f"Appointment: {name}" if name else "Appointment"
    return f"Appointment with {name}" if name else "Appointment"


def _event(view: FeedView, appointment: Appointment) -> Event:
    event = Event()
    event.add("uid", f"{appointment.id}@{UID_DOMAIN}")
    event.add("dtstamp", appointment.updated_at)
    event.add("dtstart", appointment.starts_at)
    event.add("dtend", appointment.ends_at)
    event.add("sequence", appointment.revision)
    event.add("created", appointment.created_at)
    event.add("last-modified", appointment.updated_at)
    event.add("summary", _summary(view, appointment))
    event.add("status", EVENT_STATUS[appointment.status])
    if appointment.status is not Status.SCHEDULED:
        event.add("x-appointments-status", appointment.status.value)
    return event


def render(view: FeedView) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", "Appointments")
    for appointment in view.appointments:
        calendar.add_component(_event(view, appointment))
    body: bytes = calendar.to_ical()
    return body


def etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def matches(if_none_match: str | None, tag: str) -> bool:
    """RFC 9110 If-None-Match: `*` or any listed tag, weak ones compared weakly."""
    if not if_none_match:
        return False
    candidates = [c.strip() for c in if_none_match.split(",")]
    return any(c == "*" or c.removeprefix("W/") == tag for c in candidates)
