"""Calendar feeds: created and revoked by their owner (or an admin), fetched by token.

A feed is a read model over the owner's appointments: the scope comes from access.py
(what the owner sees in GET /api/appointments), the names from the same rule home (a
doctor's feed names the patients, a patient's the doctors). Rendering as iCalendar is
the HTTP edge's business.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from appointments.application.access import (
    Actor,
    calendar_feed_scope,
    feed_appointments,
    feed_names_patients,
    feed_owner,
    patient_scope,
    visible,
)
from appointments.application.errors import FetchedTooOften
from appointments.application.events import Tracked, created
from appointments.application.ports.queries import AppointmentFilter, Page, PageRequest
from appointments.application.ports.services import Clock
from appointments.application.ports.unit_of_work import UnitOfWork
from appointments.domain.appointments import Appointment
from appointments.domain.calendar_feeds import (
    FETCH_WINDOW,
    MAX_EVENTS,
    MAX_FETCHES_PER_WINDOW,
    CalendarFeed,
    FeedOwner,
    feed_window,
    hash_token,
    well_formed,
)
from appointments.domain.errors import NotFound


@dataclass(frozen=True, slots=True)
class IssuedFeed:
    feed: CalendarFeed
    token: str  # shown once, in the answer to its creation


class CreateCalendarFeed:
    def __init__(self, uow: UnitOfWork, clock: Clock) -> None:
        self._uow, self._clock = uow, clock

    async def __call__(
        self, actor: Actor, doctor_id: UUID | None = None, patient_id: UUID | None = None
    ) -> IssuedFeed:
        owner_type, owner_id = feed_owner(actor, doctor_id, patient_id)
        async with self._uow as uow:
            if owner_type is FeedOwner.DOCTOR:
                visible(await uow.doctors.get(owner_id))
            else:
                visible(await uow.patients.get_in_scope(owner_id, patient_scope(actor)))
            feed, token = CalendarFeed.issue(owner_type, owner_id, self._clock.now(), actor.user_id)
            await uow.calendar_feeds.add(feed)
            uow.record(created("calendar_feed.created", actor, feed))
            await uow.commit()
        return IssuedFeed(feed, token)


class ListCalendarFeeds:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def __call__(self, actor: Actor, page: PageRequest) -> Page[CalendarFeed]:
        async with self._uow as uow:
            return await uow.calendar_feeds.search(calendar_feed_scope(actor), page)


class RevokeCalendarFeed:
    def __init__(self, uow: UnitOfWork, clock: Clock) -> None:
        self._uow, self._clock = uow, clock

    async def __call__(self, actor: Actor, feed_id: UUID) -> None:
        async with self._uow as uow:
            found = await uow.calendar_feeds.get(feed_id)
            allowed = (
                found is not None and found.is_active and calendar_feed_scope(actor).admits(found)
            )
            feed = visible(found, allowed)
            tracked = Tracked(feed)
            feed.revoke(self._clock.now())
            await uow.calendar_feeds.save(feed)
            uow.record(tracked.event("calendar_feed.revoked", actor))
            await uow.commit()


@dataclass(frozen=True, slots=True)
class FeedView:
    """What one fetch shows: the owner's appointments in the window, and the names the
    summaries may carry (patients in a doctor's feed, doctors in a patient's)."""

    feed: CalendarFeed
    appointments: list[Appointment]
    names: dict[UUID, str]

    def counterpart(self, appointment: Appointment) -> UUID:
        """Whom an event's summary names."""
        if feed_names_patients(self.feed):
            return appointment.patient_id
        return appointment.doctor_id


class ReadCalendarFeed:
    """No Actor: the token is the credential. Unknown, malformed and revoked tokens are
    one NotFound; a feed fetched too often answers FetchedTooOften for a while."""

    def __init__(
        self, uow: UnitOfWork, clock: Clock, fetch_limit: int = MAX_FETCHES_PER_WINDOW
    ) -> None:
        self._uow, self._clock, self._limit = uow, clock, fetch_limit

    async def __call__(self, token: str) -> FeedView:
        if not well_formed(token):
            raise NotFound()
        now = self._clock.now()
        async with self._uow as uow:
            found = await uow.calendar_feeds.fetch(hash_token(token), now, now - FETCH_WINDOW)
            if found is None or not await _owner_active(uow, found[0]):
                raise NotFound()
            feed, count = found
            if (retry_after := count.retry_after(now, self._limit)) is not None:
                await uow.commit()  # the refused fetch is counted too
                raise FetchedTooOften(retry_after)
            window = feed_window(now)
            filters = AppointmentFilter(
                scope=feed_appointments(feed),
                starts_from=window.starts_at,
                starts_before=window.ends_at,
            )
            page = await uow.appointments.search(filters, PageRequest(limit=MAX_EVENTS))
            view = FeedView(feed, page.items, {})
            wanted = {view.counterpart(a) for a in page.items}
            doctors, patients = (set(), wanted) if feed_names_patients(feed) else (wanted, set())
            view = FeedView(
                feed, page.items, await uow.calendar_feeds.party_names(doctors, patients)
            )
            await uow.commit()
        return view


async def _owner_active(uow: UnitOfWork, feed: CalendarFeed) -> bool:
    """A deactivated doctor's or patient's feed stops with their login."""
    if feed.owner_type is FeedOwner.DOCTOR:
        doctor = await uow.doctors.get(feed.owner_id)
        return doctor is not None and doctor.is_active
    patient = await uow.patients.get(feed.owner_id)
    return patient is not None and patient.is_active
