"""What every in-memory repository shares: copies in and out, paging, text matching.

Objects are copied in and out so callers never mutate stored state by accident, as with
rows in a database; datetimes are kept in UTC, as the SQL columns keep them."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import Field, fields
from datetime import UTC, datetime
from typing import Any, ClassVar, Protocol, TypeVar

from appointments.adapters.memory.state import MemoryState
from appointments.application.ports.queries import Page, PageRequest


class Dataclass(Protocol):
    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]


T = TypeVar("T")
E = TypeVar("E", bound=Dataclass)


def utc(value: datetime) -> datetime:
    """As a UTC column stores it: in UTC; a naive value is refused as a bug."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetime given to a UTC column")
    return value.astimezone(UTC)


def stored(entity: E) -> E:
    """A copy of `entity` as the database keeps it (datetimes in UTC)."""
    kept = copy.copy(entity)
    for f in fields(entity):
        value = getattr(entity, f.name)
        if isinstance(value, datetime):
            object.__setattr__(kept, f.name, utc(value))  # frozen dataclasses too
    return kept


def page_of(items: Iterable[T], key: Callable[[T], Any], page: PageRequest) -> Page[T]:
    ordered = sorted(items, key=key)
    chunk = ordered[page.offset : page.offset + page.limit]
    return Page([copy.copy(i) for i in chunk], len(ordered), page.limit, page.offset)


def contains(value: str | None, q: str) -> bool:
    """Case-insensitive substring, `%` and `_` literal: the SQL `icontains` with autoescape."""
    return value is not None and q.lower() in value.lower()


class MemoryRepository:
    __slots__ = ("_s",)

    def __init__(self, state: MemoryState) -> None:
        self._s = state
