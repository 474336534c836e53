"""Services the use-cases call: password hashing, tokens and the clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from appointments.domain.users import Role, User


class PasswordHasher(Protocol):
    async def hash(self, password: str) -> str: ...

    async def verify(self, password: str, password_hash: str | None) -> tuple[bool, str | None]:
        """(matches, new hash when the stored one should be upgraded). A None hash runs a
        dummy verification so unknown users take as long as known ones."""


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    jti: str
    expires_at: datetime
    expires_in: int


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: UUID
    role: Role
    jti: str
    issued_at: datetime
    expires_at: datetime


class TokenService(Protocol):
    def issue(self, user: User, now: datetime) -> IssuedToken: ...

    def decode(self, token: str) -> TokenClaims:
        """Raises NotAuthenticated for anything but a valid, unexpired token of ours."""


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
