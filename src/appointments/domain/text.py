"""Length limits for text. Each limit is declared once, in the module of the concept it
belongs to; the HTTP schemas and the tables import it, so the OpenAPI document states the
same bounds the domain enforces."""

from __future__ import annotations

from dataclasses import dataclass

from appointments.domain.errors import InvalidValue


@dataclass(frozen=True, slots=True)
class Length:
    """Allowed length of a text, in characters, both ends included."""

    min: int
    max: int

    def admits(self, text: str) -> bool:
        return self.min <= len(text) <= self.max

    def trimmed(self, text: str, what: str) -> str:
        """`text` without surrounding blanks, if within the limits (422 naming `what`)."""
        cleaned = text.strip()
        if not self.admits(cleaned):
            raise InvalidValue(f"{what} is {self.min} to {self.max} characters.")
        return cleaned


# Free-text search terms (`q` in lists).
SEARCH_TERM = Length(0, 100)
