"""Calendar feeds: a secret URL per doctor or patient that calendar apps subscribe to.

The token is the only credential, so it is long (256 random bits) and stored only as its
SHA-256: a database dump holds no usable URL, and a fetch finds its feed by an indexed
equality on the hash (no comparison whose time depends on how much of a guess matched).
What one fetch reads is bounded: 30 days back, `DAYS_AHEAD` ahead, at most `MAX_EVENTS`.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from uuid import UUID, uuid4

from appointments.domain.schedule import Span

TOKEN_BYTES = 32  # 256 bits, as `secrets.token_urlsafe` text of 43 characters
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")
DAYS_BACK = 30
DAYS_AHEAD = 400  # beyond the longest booking horizon a patient can be given plus a month
MAX_EVENTS = 1000
# Fetches a feed answers per window before it answers 429 (calendar apps poll every 15
# minutes or slower; a loop hammering one URL is cut off). The limit is a setting
# (CALENDAR_FEED_FETCH_LIMIT), this its default.
FETCH_WINDOW = timedelta(minutes=10)
MAX_FETCHES_PER_WINDOW = 30


class FeedOwner(StrEnum):
    DOCTOR = "doctor"
    PATIENT = "patient"


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def well_formed(token: str) -> bool:
    """A token we could have issued (anything else is unknown without a lookup)."""
    return TOKEN_SHAPE.fullmatch(token) is not None


def feed_window(now: datetime) -> Span:
    """What a fetch shows: appointments starting from midnight UTC 30 days back, until
    `DAYS_AHEAD` later. Day-aligned, so the feed (and its ETag) stays the same all day
    while nothing changes."""
    first = datetime.combine(now.astimezone(UTC).date(), time(0), tzinfo=UTC)
    first -= timedelta(days=DAYS_BACK)
    return Span(first, first + timedelta(days=DAYS_BACK + DAYS_AHEAD))


@dataclass(frozen=True, slots=True)
class FetchCount:
    """How often a feed was fetched in the current window."""

    window_started_at: datetime
    fetches: int

    def retry_after(self, now: datetime, limit: int = MAX_FETCHES_PER_WINDOW) -> int | None:
        """Seconds until the window ends if this fetch is one too many, else None."""
        if self.fetches <= limit:
            return None
        left = self.window_started_at + FETCH_WINDOW - now
        return max(1, int(left.total_seconds()) + 1)


@dataclass(slots=True)
class CalendarFeed:
    owner_type: FeedOwner
    owner_id: UUID
    token_hash: str
    created_at: datetime
    created_by: UUID | None = None
    revoked_at: datetime | None = None
    id: UUID = field(default_factory=uuid4)

    @classmethod
    def issue(
        cls, owner_type: FeedOwner, owner_id: UUID, now: datetime, created_by: UUID
    ) -> tuple[CalendarFeed, str]:
        """A new feed and its token (shown once: only the hash is kept)."""
        token = new_token()
        feed = cls(owner_type, owner_id, hash_token(token), now, created_by)
        return feed, token

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def revoke(self, now: datetime) -> None:
        if self.revoked_at is None:
            self.revoked_at = now
