"""FHIR search parameters turned into the use-cases' own terms: references into ids,
`date`/`start` prefixes into instant bounds, status codes into our statuses. Anything
malformed is an InvalidValue (422, as everywhere in the API)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from appointments.domain.appointments import Status
from appointments.domain.errors import InvalidValue
from appointments.domain.schedule import local_days
from appointments.entrypoints.api.fhir import STATUSES_OF

PREFIXES = ("eq", "ge", "gt", "le", "lt")
DATE_VALUE = re.compile(r"^(eq|ge|gt|le|lt)?(\d{4}-\d{2}-\d{2}(T[0-9:.]+(Z|[+-]\d{2}:\d{2}))?)$")
# What an OpenAPI schema can say of a date parameter (the value is checked here too).
DATE_PATTERN = r"^(eq|ge|gt|le|lt)?\d{4}-\d{2}-\d{2}(T[0-9:.]+(Z|[+-]\d{2}:\d{2}))?$"
REFERENCE_PATTERN = (
    r"^([A-Za-z]+/)?[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?"
    r"[0-9a-fA-F]{12}$"
)
TINY = timedelta(microseconds=1)


def reference_id(value: str | None, kind: str) -> UUID | None:
    """`Kind/{id}` or `{id}`; another resource type or a malformed id is refused."""
    if value is None:
        return None
    named, _, given = value.rpartition("/")
    if named not in ("", kind):
        raise InvalidValue(f"Expected a {kind} reference.")
    try:
        return UUID(given)
    except ValueError as error:
        raise InvalidValue(f"Expected a {kind} reference.") from error


@dataclass(frozen=True, slots=True)
class Bounds:
    """Starts within [starts_from, starts_before); None: open on that side."""

    starts_from: datetime | None = None
    starts_before: datetime | None = None


def _range(value: str, zone: ZoneInfo) -> tuple[str, datetime, datetime]:
    """(prefix, first instant of the value's range, first instant after it)."""
    match = DATE_VALUE.match(value)
    if match is None:
        raise InvalidValue("A date is `[eq|ge|gt|le|lt]YYYY-MM-DD` or a dateTime with offset.")
    prefix, text = match.group(1) or "eq", match.group(2)
    try:
        if "T" in text:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            return prefix, moment, moment + TINY
        day = date.fromisoformat(text)
    except ValueError as error:
        raise InvalidValue("A date or time is not valid.") from error
    span = local_days(day, day, zone)
    return prefix, span.starts_at, span.ends_at


def date_bounds(values: Iterable[str], zone: ZoneInfo) -> Bounds:
    """Every value narrows (FHIR ANDs repeated parameters); dates are clinic-local days."""
    lows: list[datetime] = []
    highs: list[datetime] = []
    for value in values:
        prefix, low, high = _range(value, zone)
        match prefix:
            case "eq":
                lows.append(low)
                highs.append(high)
            case "ge":
                lows.append(low)
            case "gt":
                lows.append(high)
            case "lt":
                highs.append(low)
            case "le":
                highs.append(high)
    return Bounds(max(lows, default=None), min(highs, default=None))


def statuses(values: Iterable[str]) -> frozenset[Status] | None:
    """`status=booked,fulfilled` and repeats: any of them; None when none was given."""
    codes = [code.strip() for value in values for code in value.split(",") if code.strip()]
    if not codes:
        return None
    unknown = sorted(set(codes) - set(STATUSES_OF))
    if unknown:
        raise InvalidValue(f"Unknown appointment status: {', '.join(unknown)}.")
    return frozenset(s for code in codes for s in STATUSES_OF[code])


def local_dates(bounds: Bounds, zone: ZoneInfo) -> tuple[date, date]:
    """The clinic-local days a Slot search covers (availability is asked by days)."""
    if bounds.starts_from is None:
        raise InvalidValue("Give the first day: start=ge<date>.")
    first = bounds.starts_from.astimezone(zone).date()
    if bounds.starts_before is None:
        return first, first
    last = (bounds.starts_before - TINY).astimezone(zone).date()
    if last < first:
        raise InvalidValue("The start range is empty.")
    return first, last
