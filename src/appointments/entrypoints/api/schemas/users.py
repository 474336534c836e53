from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import EmailStr, Field

from appointments.domain.users import LOGIN_NAME, PASSWORD_ATTEMPT, Role
from appointments.entrypoints.api.schemas.common import (
    FullName,
    Input,
    IsoDate,
    JsonBool,
    Output,
    Password,
    Phone,
    Username,
)


class UserOut(Output):
    id: UUID
    email: str
    username: str
    full_name: str
    role: Role
    is_active: bool
    created_at: datetime


class MeOut(UserOut):
    patient_id: UUID | None = None
    doctor_id: UUID | None = None


class RegisterIn(Input):
    email: EmailStr
    username: Username
    full_name: FullName
    password: Password
    phone: Phone | None = None
    date_of_birth: IsoDate | None = None


class LoginIn(Input):
    username: str = Field(min_length=LOGIN_NAME.min, max_length=LOGIN_NAME.max)
    password: str = Field(min_length=PASSWORD_ATTEMPT.min, max_length=PASSWORD_ATTEMPT.max)


class TokenOut(Output):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type
    expires_in: int


class PasswordChangeIn(Input):
    current_password: str = Field(min_length=PASSWORD_ATTEMPT.min, max_length=PASSWORD_ATTEMPT.max)
    new_password: Password


class AdminUserCreateIn(Input):
    email: EmailStr
    username: Username
    full_name: FullName
    password: Password
    role: Role


class AdminUserPatchIn(Input):
    not_null = frozenset({"full_name", "role", "is_active", "password"})

    full_name: FullName | None = None
    role: Role | None = None
    is_active: JsonBool | None = None
    password: Password | None = None
