"""Tables of the calendar feeds, on the shared metadata of tables.py (imported wherever
the whole schema is gathered: migrations/env.py, the tests)."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Integer, String, Table, Uuid

from appointments.adapters.sqlalchemy.tables import metadata
from appointments.adapters.sqlalchemy.types import UTCDateTime
from appointments.domain.calendar_feeds import FeedOwner

OWNER_TYPES = ", ".join(f"'{owner}'" for owner in FeedOwner)

calendar_feeds = Table(
    "calendar_feeds",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("owner_type", String(16), nullable=False),
    # A doctor's or a patient's id, as owner_type says.
    Column("owner_id", Uuid, nullable=False),
    # SHA-256 (hex) of the token: the token itself is never stored.
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", Uuid, ForeignKey("users.id"), nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
    # The fetch throttle: when the current window started and how many fetches it saw.
    Column("window_started_at", UTCDateTime, nullable=True),
    Column("window_fetches", Integer, nullable=False, server_default="0"),
    CheckConstraint(f"owner_type IN ({OWNER_TYPES})", name="owner_type"),
)
Index("ix_calendar_feeds_owner", calendar_feeds.c.owner_type, calendar_feeds.c.owner_id)
