"""Users, roles, the shape rules for credentials and the last-admin rule."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from uuid import UUID, uuid4

from appointments.domain.errors import InvalidValue, LastAdmin
from appointments.domain.text import Length

USERNAME = Length(3, 50)
USERNAME_PATTERN = rf"^[A-Za-z0-9_.-]{{{USERNAME.min},{USERNAME.max}}}$"
PASSWORD = Length(8, 128)
# What a login form accepts: a username or an email, and any password attempt (a longer
# one cannot match; the limit keeps hashing cheap to refuse).
LOGIN_NAME = Length(1, 320)
PASSWORD_ATTEMPT = Length(1, 1024)
# Login throttling counts per account, or per login name given for unknown ones.
THROTTLE_KEY = Length(1, LOGIN_NAME.max)

_USERNAME = re.compile(USERNAME_PATTERN)


class Role(StrEnum):
    ADMIN = "ADMIN"
    DOCTOR = "DOCTOR"
    PATIENT = "PATIENT"


@dataclass(slots=True)
class User:
    email: str
    username: str
    full_name: str
    role: Role
    password_hash: str
    created_at: datetime
    is_active: bool = True
    # Tokens issued before this instant are void: set on password change and deactivation.
    tokens_valid_after: datetime | None = None
    id: UUID = field(default_factory=uuid4)

    def deactivate(self, now: datetime) -> None:
        """Deactivating a login revokes its tokens; deactivating it again changes nothing."""
        if self.is_active:
            self.is_active = False
            self.revoke_tokens(now)

    def revoke_tokens(self, now: datetime) -> None:
        self.tokens_valid_after = now

    def set_password_hash(self, password_hash: str, now: datetime) -> None:
        """A new password voids every token issued before it."""
        self.password_hash = password_hash
        self.revoke_tokens(now)


def check_username(username: str) -> str:
    if not _USERNAME.fullmatch(username):
        raise InvalidValue(
            f"A username is {USERNAME.min} to {USERNAME.max} characters of letters, digits, "
            "'_', '.', '-'."
        )
    return username


def check_password(password: str) -> str:
    if not PASSWORD.admits(password):
        raise InvalidValue(f"A password is {PASSWORD.min} to {PASSWORD.max} characters long.")
    return password


def check_admin_remains(user: User, active_admin_ids: Collection[UUID]) -> None:
    """Refuse taking `user` away (demotion, deactivation) when they are the last active
    admin. The caller passes the active admins read under lock (the demote-each-other race)."""
    if user.role is Role.ADMIN and user.is_active and set(active_admin_ids) == {user.id}:
        raise LastAdmin()
