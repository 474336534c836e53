"""Length limits for text. Each limit is declared once, in the module of the concept it
belongs to; the HTTP schemas and the tables import it, so the OpenAPI document states the
same bounds the domain enforces."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Length:
    """Allowed length of a text, in characters, both ends included."""

    min: int
    max: int

    def admits(self, text: str) -> bool:
        return self.min <= len(text) <= self.max


# Free-text search terms (`q` in lists).
SEARCH_TERM = Length(0, 100)
