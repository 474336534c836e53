"""What an audit record says about an entity: its fields as plain JSON values, and the
field-level changes `{field: {old, new}}` between two such snapshots.

Secrets never reach a record: a field whose name says it holds one (a password hash, a
token, a secret) is written as REDACTED, whatever its value, so that a change to it is
still visible ("the password was changed") while the value is not.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from enum import Enum
from typing import Any, TypeAlias
from uuid import UUID

REDACTED = "[redacted]"
SECRET_NAMES = frozenset({"password", "token", "secret", "key"})
SECRET_SUFFIXES = ("_password", "_hash", "_token", "_secret", "_key")
# Bookkeeping that changes with every write: the event's own time says when.
NOT_RECORDED = frozenset({"updated_at", "revision"})

Json: TypeAlias = bool | int | float | str | list["Json"] | dict[str, "Json"] | None
Snapshot: TypeAlias = Mapping[str, Json]
Changes: TypeAlias = dict[str, dict[str, Json]]


def is_secret(name: str) -> bool:
    name = name.lower()
    return name in SECRET_NAMES or name.endswith(SECRET_SUFFIXES)


def jsonable(value: Any) -> Json:
    """A domain value as JSON: ids and times as strings, durations in minutes, value
    objects (dataclasses) as objects, collections as lists."""
    if isinstance(value, Enum):  # first: a StrEnum is a str too
        return jsonable(value.value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds() / 60
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    raise TypeError(f"cannot record a {type(value).__name__}")


def snapshot(entity: object) -> Snapshot:
    """The recordable fields of a dataclass entity as JSON values. It may hold a secret:
    it lives only in memory, and `diff` redacts what it lets out."""
    assert dataclasses.is_dataclass(entity)
    assert not isinstance(entity, type)
    return {
        f.name: jsonable(getattr(entity, f.name))
        for f in dataclasses.fields(entity)
        if f.name not in NOT_RECORDED
    }


def _shown(name: str, value: Json) -> Json:
    return REDACTED if value is not None and is_secret(name) else value


def diff(before: Snapshot | None, after: Snapshot | None) -> Changes:
    """`{field: {old, new}}` for every field that differs; a created entity (no `before`)
    has every field with `old` None, a deleted one every field with `new` None. A secret
    that changed shows as REDACTED on both sides, under its public name."""
    old, new = before or {}, after or {}
    return {
        _public_name(name): {"old": _shown(name, old.get(name)), "new": _shown(name, new.get(name))}
        for name in dict.fromkeys([*old, *new])
        if old.get(name) != new.get(name)
    }


def _public_name(name: str) -> str:
    """A stored secret is named for what it protects: `password_hash` is recorded as
    `password` (how it is stored is nobody's business)."""
    return name.removesuffix("_hash") if is_secret(name) else name


def changed(**fields: tuple[Any, Any]) -> Changes:
    """Changes given by hand (`field=(old, new)`), as recorded: secrets redacted."""
    return {
        name: {"old": _shown(name, jsonable(old)), "new": _shown(name, jsonable(new))}
        for name, (old, new) in fields.items()
    }
