"""Patient email: which messages an appointment gets, when, and what they say."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class EmailMessage:
    to: str
    subject: str
    text: str
    html: str
    # Stable per (appointment, kind, start): a resend after a crash carries the same
    # Message-ID, so mail systems and clients can recognise the duplicate.
    message_id: str
    headers: dict[str, str] = field(default_factory=dict)
