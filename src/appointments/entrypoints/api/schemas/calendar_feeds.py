"""Calendar feeds (API.md, "Calendar feeds and FHIR"). The URL, which holds the token, is
in one answer only: the 201 of its creation."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import Field

from appointments.domain.calendar_feeds import FeedOwner
from appointments.entrypoints.api.schemas.common import Input, Output


class CalendarFeedIn(Input):
    """Whose calendar: omit both for your own (a doctor or patient); an admin names one."""

    doctor_id: UUID | None = None
    patient_id: UUID | None = None


class CalendarFeedOut(Output):
    id: UUID
    owner_type: FeedOwner
    owner_id: UUID
    created_at: datetime


class CalendarFeedCreatedOut(CalendarFeedOut):
    """Keep `url`: whoever has it reads the calendar, and it is never shown again (revoke
    the feed and create another if it leaks)."""

    url: str = Field(
        description="Ends in `/calendar/{token}.ics`; absolute when PUBLIC_BASE_URL is set."
    )
