"""Users, roles and the shape rules for credentials."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from uuid import UUID, uuid4

from appointments.domain.errors import InvalidValue

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{3,50}$")
PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 128


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
        self.is_active = False
        self.revoke_tokens(now)

    def revoke_tokens(self, now: datetime) -> None:
        self.tokens_valid_after = now


def check_username(username: str) -> str:
    if not USERNAME_PATTERN.fullmatch(username):
        raise InvalidValue("A username is 3 to 50 characters of letters, digits, '_', '.', '-'.")
    return username


def check_password(password: str) -> str:
    if not PASSWORD_MIN_LENGTH <= len(password) <= PASSWORD_MAX_LENGTH:
        raise InvalidValue(
            f"A password is {PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} characters long."
        )
    return password


def normalize_email(email: str) -> str:
    """Emails compare case-insensitively; we keep the domain part lower-cased for display."""
    local, sep, domain = email.strip().rpartition("@")
    if not sep or not local or "@" in local or "." not in domain:
        raise InvalidValue("The email address is not valid.")
    return f"{local}@{domain.lower()}"


def check_full_name(full_name: str) -> str:
    name = full_name.strip()
    if not 1 <= len(name) <= 200:
        raise InvalidValue("A full name is 1 to 200 characters.")
    return name
