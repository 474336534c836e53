"""Calendar feeds, kept as the SQL table keeps them (the fetch count beside each)."""

from __future__ import annotations

import copy
from collections.abc import Collection
from datetime import datetime
from uuid import UUID

from appointments.adapters.memory.repositories.base import MemoryRepository, page_of, stored
from appointments.application.access import FeedScope
from appointments.application.ports.queries import Page, PageRequest
from appointments.domain.calendar_feeds import CalendarFeed, FetchCount


class MemoryCalendarFeedRepository(MemoryRepository):
    async def add(self, feed: CalendarFeed) -> None:
        self._s.calendar_feeds[feed.id] = stored(feed)

    async def get(self, feed_id: UUID) -> CalendarFeed | None:
        return copy.copy(self._s.calendar_feeds.get(feed_id))

    async def save(self, feed: CalendarFeed) -> None:
        if feed.id in self._s.calendar_feeds:
            self._s.calendar_feeds[feed.id] = stored(feed)

    async def search(self, scope: FeedScope, page: PageRequest) -> Page[CalendarFeed]:
        found = [f for f in self._s.calendar_feeds.values() if f.is_active and scope.admits(f)]
        return page_of(found, lambda f: (f.created_at, f.id), page)

    async def fetch(
        self, token_hash: str, now: datetime, window_started_after: datetime
    ) -> tuple[CalendarFeed, FetchCount] | None:
        feed = next(
            (f for f in self._s.calendar_feeds.values() if f.token_hash == token_hash), None
        )
        if feed is None or not feed.is_active:
            return None
        count = self._s.feed_fetches.get(feed.id)
        if count is None or count.window_started_at <= window_started_after:
            count = FetchCount(now, 1)
        else:
            count = FetchCount(count.window_started_at, count.fetches + 1)
        self._s.feed_fetches[feed.id] = count
        return copy.copy(feed), count

    async def party_names(
        self, doctor_ids: Collection[UUID], patient_ids: Collection[UUID]
    ) -> dict[UUID, str]:
        names = {
            d.id: self._s.users[d.user_id].full_name
            for d in self._s.doctors.values()
            if d.id in doctor_ids
        }
        names.update({p.id: p.full_name for p in self._s.patients.values() if p.id in patient_ids})
        return names
