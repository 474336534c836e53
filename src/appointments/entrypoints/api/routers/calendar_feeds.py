"""Calendar feeds (API.md, "Calendar feeds and FHIR"): created, listed and revoked under
/api with a Bearer token; fetched at /calendar/{token}.ics with the token alone."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Depends, Header, Request, Response, status

from appointments.application import calendar_feeds as uc
from appointments.application.errors import FetchedTooOften, Forbidden
from appointments.container import Container
from appointments.domain.errors import InvalidValue, NotFound
from appointments.entrypoints.api import ical
from appointments.entrypoints.api.dependencies import CurrentActor, Pagination, use
from appointments.entrypoints.api.schemas.calendar_feeds import (
    CalendarFeedCreatedOut,
    CalendarFeedIn,
    CalendarFeedOut,
)
from appointments.entrypoints.api.schemas.common import PageOut, errors, page_out

# 401, 422 and 503 are added by openapi.py (a token, parameters, the database).
router = APIRouter(prefix="/api/calendar-feeds", tags=["calendar-feeds"])
# No Bearer token here: the URL is the credential (calendar apps send nothing else).
feed_router = APIRouter(tags=["calendar-feeds"])

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
    responses=errors(Forbidden, NotFound, InvalidValue),
)
async def create_calendar_feed(
    request: Request,
    actor: CurrentActor,
    create: Annotated[uc.CreateCalendarFeed, Depends(use(Container.create_calendar_feed))],
    body: Annotated[CalendarFeedIn | None, Body()] = None,
) -> CalendarFeedCreatedOut:
    """Create a calendar feed

    Subscribe a calendar app to the URL in the answer (shown only here). Doctors and
    patients get a feed of their own calendar; an admin names `doctor_id` or `patient_id`
    (one of them: else `invalid_value`).

    Who: a DOCTOR or a PATIENT for themself (another doctor is `forbidden`, another
    patient `not_found`); ADMIN for anyone.
    """
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
    """List calendar feeds

    Feeds not revoked, oldest first; never their URLs.

    Who: a DOCTOR or a PATIENT sees their own; ADMIN everyone's.
    """
    return page_out(CalendarFeedOut, await list_feeds(actor, page))


@router.delete("/{calendar_feed_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(404))
async def revoke_calendar_feed(
    calendar_feed_id: UUID,
    actor: CurrentActor,
    revoke: Annotated[uc.RevokeCalendarFeed, Depends(use(Container.revoke_calendar_feed))],
) -> Response:
    """Revoke a calendar feed

    The feed's URL answers `not_found` from now on.

    Who: a DOCTOR or a PATIENT for their own feeds; ADMIN for anyone's. Another's feed
    is `not_found`.
    """
    await revoke(actor, calendar_feed_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@feed_router.get(
    "/calendar/{token}.ics",
    response_class=Response,
    responses={**CALENDAR_RESPONSE, **errors(NotFound, FetchedTooOften)},
)
async def read_calendar_feed(
    token: str,
    read: Annotated[uc.ReadCalendarFeed, Depends(use(Container.read_calendar_feed))],
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """Fetch a calendar feed as iCalendar

    The owner's appointments from 30 days back to 400 days ahead (at most 1000), as RFC
    5545 with an `ETag`. Unknown or revoked tokens, and feeds of a deactivated owner, are
    `not_found`; a feed fetched too often is `too_many_attempts` (with `Retry-After`).

    Who: anyone holding the URL, no Bearer token (the token in the URL is the credential).
    """
    body = ical.render(await read(token))
    tag = ical.etag(body)
    headers = {"ETag": tag, "Cache-Control": "private, no-cache"}
    if ical.matches(if_none_match, tag):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(body, media_type=CALENDAR, headers=headers)
