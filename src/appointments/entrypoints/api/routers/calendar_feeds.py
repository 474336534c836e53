"""Calendar feeds (API.md, "Calendar feeds and FHIR"): created, listed and revoked under
/api with a Bearer token; fetched at /calendar/{token}.ics with the token alone."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Depends, Header, Request, Response, status

from appointments.application import calendar_feeds as uc
from appointments.container import Container
from appointments.entrypoints.api import ical
from appointments.entrypoints.api.dependencies import CurrentActor, Pagination, use
from appointments.entrypoints.api.schemas.calendar_feeds import (
    CalendarFeedCreatedOut,
    CalendarFeedIn,
    CalendarFeedOut,
)
from appointments.entrypoints.api.schemas.common import PageOut, errors, page_out

router = APIRouter(
    prefix="/api/calendar-feeds", tags=["calendar-feeds"], responses=errors(401, 422, 503)
)
# No Bearer token here: the URL is the credential (calendar apps send nothing else).
feed_router = APIRouter(tags=["calendar-feeds"], responses=errors(404, 429, 503))

CALENDAR = "text/calendar; charset=utf-8"
CALENDAR_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The feed (RFC 5545), with an `ETag`.",
        "content": {"text/calendar": {"schema": {"type": "string"}}},
    },
    304: {"description": "Unchanged since the `If-None-Match` ETag."},
}


def feed_url(request: Request, token: str) -> str:
    base: str = request.app.state.container.settings().public_base_url
    return f"{base.rstrip('/')}/calendar/{token}.ics"


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CalendarFeedCreatedOut,
    responses=errors(403, 404),
)
async def create_calendar_feed(
    request: Request,
    actor: CurrentActor,
    create: Annotated[uc.CreateCalendarFeed, Depends(use(Container.create_calendar_feed))],
    body: Annotated[CalendarFeedIn | None, Body()] = None,
) -> CalendarFeedCreatedOut:
    """Subscribe a calendar app to the URL in the answer (shown only here). Doctors and
    patients get a feed of their own calendar; an admin names `doctor_id` or `patient_id`."""
    body = body or CalendarFeedIn()
    issued = await create(actor, body.doctor_id, body.patient_id)
    out = CalendarFeedOut.model_validate(issued.feed)
    return CalendarFeedCreatedOut(**out.model_dump(), url=feed_url(request, issued.token))


@router.get("", response_model=PageOut[CalendarFeedOut])
async def list_calendar_feeds(
    actor: CurrentActor,
    page: Pagination,
    list_feeds: Annotated[uc.ListCalendarFeeds, Depends(use(Container.list_calendar_feeds))],
) -> PageOut[CalendarFeedOut]:
    """Your feeds (an admin: everyone's), oldest first; never their URLs."""
    return page_out(CalendarFeedOut, await list_feeds(actor, page))


@router.delete("/{calendar_feed_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(404))
async def revoke_calendar_feed(
    calendar_feed_id: UUID,
    actor: CurrentActor,
    revoke: Annotated[uc.RevokeCalendarFeed, Depends(use(Container.revoke_calendar_feed))],
) -> Response:
    """The feed's URL answers 404 from now on."""
    await revoke(actor, calendar_feed_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@feed_router.get("/calendar/{token}.ics", response_class=Response, responses=CALENDAR_RESPONSE)
async def read_calendar_feed(
    token: str,
    read: Annotated[uc.ReadCalendarFeed, Depends(use(Container.read_calendar_feed))],
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """The owner's appointments from 30 days back to 400 days ahead (at most 1000), as
    iCalendar. Unknown or revoked tokens: 404; fetched too often: 429."""
    body = ical.render(await read(token))
    tag = ical.etag(body)
    headers = {"ETag": tag, "Cache-Control": "private, no-cache"}
    if ical.matches(if_none_match, tag):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(body, media_type=CALENDAR, headers=headers)
