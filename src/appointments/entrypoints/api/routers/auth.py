from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from appointments.application import auth
from appointments.application.errors import (
    DatabaseUnavailable,
    InvalidCredentials,
    TooManyAttempts,
    WrongCurrentPassword,
)
from appointments.application.users import NewUser, PatientDetails
from appointments.container import Container
from appointments.domain.errors import EmailTaken, InvalidValue, UsernameTaken
from appointments.domain.text import Length
from appointments.domain.users import LOGIN_NAME, PASSWORD_ATTEMPT
from appointments.entrypoints.api.dependencies import CurrentActor, use
from appointments.entrypoints.api.schemas.common import AUTH_ERRORS, errors
from appointments.entrypoints.api.schemas.users import (
    LoginIn,
    MeOut,
    PasswordChangeIn,
    RegisterIn,
    TokenOut,
    UserOut,
)

router = APIRouter(prefix="/api/auth", tags=["auth"])


def _text_schema(length: Length) -> dict[str, object]:
    return {"type": "string", "minLength": length.min, "maxLength": length.max}


LOGIN_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["username", "password"],
                    "properties": {
                        "username": _text_schema(LOGIN_NAME),
                        "password": _text_schema(PASSWORD_ATTEMPT),
                        "grant_type": {"type": "string", "enum": ["password"]},
                        "scope": {"type": "string"},
                        "client_id": {"type": "string"},
                        "client_secret": {"type": "string"},
                    },
                }
            },
        },
    }
}
OAUTH2_FORM_EXTRAS = {"grant_type", "scope", "client_id", "client_secret"}


async def _login_form(request: Request) -> LoginIn:
    """Read the OAuth2 password form or a JSON body into one model."""
    try:
        if request.headers.get("content-type", "").startswith("application/json"):
            return LoginIn.model_validate_json(await request.body())
        form = await request.form()
        fields = {k: v for k, v in form.items() if k not in OAUTH2_FORM_EXTRAS}
        return LoginIn.model_validate(fields)
    except ValidationError as error:
        raise RequestValidationError(error.errors(include_input=False)) from None


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=UserOut,
    responses=errors(EmailTaken, UsernameTaken, InvalidValue, DatabaseUnavailable),
)
async def register_patient(
    body: RegisterIn,
    register: Annotated[auth.RegisterPatient, Depends(use(Container.register_patient))],
) -> UserOut:
    """Register as a patient

    Creates a PATIENT login and its patient record; email and username are unique,
    case-insensitive. Log in afterwards for a token.

    Who: anyone (no token).
    """
    user = await register(
        NewUser(body.email, body.username, body.full_name, body.password),
        PatientDetails(body.phone, body.date_of_birth),
    )
    return UserOut.model_validate(user)


@router.post(
    "/login",
    response_model=TokenOut,
    openapi_extra=LOGIN_BODY,
    responses=errors(InvalidCredentials, TooManyAttempts),
)
async def login(
    credentials: Annotated[LoginIn, Depends(_login_form)],
    login: Annotated[auth.Login, Depends(use(Container.login))],
) -> TokenOut:
    """Log in

    `username` (the username or the email) and `password` as an OAuth2 password form
    (what Swagger's Authorize sends); the same as a JSON body is accepted here too, and
    documented as loginJson. Answers a bearer token. A wrong password, an unknown and a
    deactivated user all get the same 401; repeated failures 429 with `Retry-After`.

    Who: anyone (no token).
    """
    issued = await login(credentials.username, credentials.password)
    return TokenOut(access_token=issued.token, expires_in=issued.expires_in)


@router.post(
    "/login/json", response_model=TokenOut, responses=errors(InvalidCredentials, TooManyAttempts)
)
async def login_json(
    credentials: LoginIn, login: Annotated[auth.Login, Depends(use(Container.login))]
) -> TokenOut:
    """Log in with JSON

    The same as login, with a JSON body `{username, password}`: one documented body
    type per operation, so generated clients get a plain `loginJson(body)`.

    Who: anyone (no token).
    """
    issued = await login(credentials.username, credentials.password)
    return TokenOut(access_token=issued.token, expires_in=issued.expires_in)


@router.get("/me", response_model=MeOut, responses=errors(*AUTH_ERRORS))
async def get_me(
    actor: CurrentActor, get_me: Annotated[auth.GetMe, Depends(use(Container.get_me))]
) -> MeOut:
    """Who am I

    The caller's user, with `patient_id` or `doctor_id` where they have that record.

    Who: any role.
    """
    found = await get_me(actor)
    return MeOut.model_validate(
        {
            **UserOut.model_validate(found.user).model_dump(),
            "patient_id": found.patient_id,
            "doctor_id": found.doctor_id,
        }
    )


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses=errors(*AUTH_ERRORS))
async def logout(
    actor: CurrentActor, logout: Annotated[auth.Logout, Depends(use(Container.logout))]
) -> Response:
    """Log out

    Revokes the presented token everywhere (every worker, every instance) until it
    expires.

    Who: any role.
    """
    await logout(actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/password",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=errors(*AUTH_ERRORS, WrongCurrentPassword, InvalidValue),
)
async def change_password(
    body: PasswordChangeIn,
    actor: CurrentActor,
    change: Annotated[auth.ChangePassword, Depends(use(Container.change_password))],
) -> Response:
    """Change my password

    `current_password` must be right; every token issued before is revoked.

    Who: any role.
    """
    await change(actor, body.current_password, body.new_password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
