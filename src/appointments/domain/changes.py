"""Partial updates (PATCH): a field is either given a value, or left UNSET.

`None` cannot mean "unchanged", because clearing a field (`"phone": null`) is a change.
`Maybe[T]` says so in the types, and mypy checks that UNSET is handled before use.
"""

from __future__ import annotations

from enum import Enum
from typing import Literal, TypeAlias, TypeVar

T = TypeVar("T")


class Unset(Enum):
    UNSET = "unset"

    def __repr__(self) -> str:
        return "UNSET"


UNSET = Unset.UNSET
Maybe: TypeAlias = T | Literal[Unset.UNSET]


def kept(change: Maybe[T], current: T) -> T:
    """The value after a partial update: `change` if one was sent, else `current`."""
    return current if change is UNSET else change
