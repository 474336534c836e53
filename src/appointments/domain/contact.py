"""How people are named and reached: the rules shared by users, doctors and patients."""

from __future__ import annotations

from appointments.domain.errors import InvalidValue
from appointments.domain.text import Length

FULL_NAME = Length(1, 200)
EMAIL = Length(3, 320)
PHONE = Length(1, 50)


def check_full_name(full_name: str) -> str:
    return FULL_NAME.trimmed(full_name, "A full name")


def normalize_email(email: str) -> str:
    """Emails compare case-insensitively; we keep the domain part lower-cased for display."""
    local, sep, domain = email.strip().rpartition("@")
    if not sep or not local or "@" in local or "." not in domain or len(email) > EMAIL.max:
        raise InvalidValue("The email address is not valid.")
    return f"{local}@{domain.lower()}"
