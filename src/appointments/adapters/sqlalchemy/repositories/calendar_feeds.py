"""Calendar feeds: found by token hash, counted per fetch in one UPDATE ... RETURNING."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Row, and_, case, false, literal, or_, select, true, update

from appointments.adapters.sqlalchemy.feed_tables import calendar_feeds
from appointments.adapters.sqlalchemy.repositories.base import SqlEntityRepository, entity_from
from appointments.adapters.sqlalchemy.tables import doctors, patients, users
from appointments.adapters.sqlalchemy.types import UTCDateTime
from appointments.application.access import FeedScope
from appointments.application.ports.queries import Page, PageRequest
from appointments.domain.calendar_feeds import CalendarFeed, FeedOwner, FetchCount


def _feed(row: Row[Any]) -> CalendarFeed:
    return entity_from(CalendarFeed, row, owner_type=FeedOwner(row.owner_type))


def _in_scope(scope: FeedScope) -> ColumnElement[bool]:
    """FeedScope.admits, as SQL."""
    if scope.everyone:
        return true()
    if scope.owner_id is None or scope.owner_type is None:
        return false()
    return and_(
        calendar_feeds.c.owner_type == scope.owner_type.value,
        calendar_feeds.c.owner_id == scope.owner_id,
    )


class SqlCalendarFeedRepository(SqlEntityRepository[CalendarFeed]):
    table = calendar_feeds
    _from_row = staticmethod(_feed)

    async def search(self, scope: FeedScope, page: PageRequest) -> Page[CalendarFeed]:
        query = select(calendar_feeds).where(
            _in_scope(scope), calendar_feeds.c.revoked_at.is_(None)
        )
        order = [calendar_feeds.c.created_at, calendar_feeds.c.id]
        rows, total = await self._page(query, order, page)
        return Page([_feed(r) for r in rows], total, page.limit, page.offset)

    async def fetch(
        self, token_hash: str, now: datetime, window_started_after: datetime
    ) -> tuple[CalendarFeed, FetchCount] | None:
        """One statement: concurrent fetches on several workers all count."""
        t = calendar_feeds
        started = t.c.window_started_at
        expired = or_(started.is_(None), started <= literal(window_started_after, UTCDateTime))
        statement = (
            update(t)
            .where(t.c.token_hash == token_hash, t.c.revoked_at.is_(None))
            .values(
                window_started_at=case((expired, literal(now, UTCDateTime)), else_=started),
                window_fetches=case((expired, 1), else_=t.c.window_fetches + 1),
            )
            .returning(*t.c)
        )
        row = (await self._db.execute(statement)).first()
        if row is None:
            return None
        return _feed(row), FetchCount(row.window_started_at, row.window_fetches)

    async def party_names(
        self, doctor_ids: Collection[UUID], patient_ids: Collection[UUID]
    ) -> dict[UUID, str]:
        names: dict[UUID, str] = {}
        if doctor_ids:
            query = (
                select(doctors.c.id, users.c.full_name)
                .join_from(doctors, users, doctors.c.user_id == users.c.id)
                .where(doctors.c.id.in_(list(doctor_ids)))
            )
            names.update({r.id: r.full_name for r in await self._db.execute(query)})
        if patient_ids:
            query = select(patients.c.id, patients.c.full_name).where(
                patients.c.id.in_(list(patient_ids))
            )
            names.update({r.id: r.full_name for r in await self._db.execute(query)})
        return names
