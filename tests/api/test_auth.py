from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from appointments.adapters.clock import FixedClock
from appointments.adapters.sqlalchemy.engine import create_engine
from appointments.container import Container
from appointments.entrypoints.api.app import create_app
from tests.api.support import (
    PASSWORD,
    USER_FIELDS,
    ApiClinic,
    bearer,
    client_for,
    forbid_secrets_in_responses,
    make_container,
)

NEW_PASSWORD = "a-brand-new-passphrase"
SUBMITTED_PASSWORD = "submitted-secret-pw"  # used in invalid requests; must never echo back


@pytest.fixture(autouse=True)
def _no_secrets(client: httpx.AsyncClient) -> None:
    forbid_secrets_in_responses(client, NEW_PASSWORD, SUBMITTED_PASSWORD)


def registration(name: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "email": f"{name}@example.com",
        "username": name,
        "full_name": f"Full {name}",
        "password": PASSWORD,
    }
    body.update(changes)
    return body


async def login(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await client.post("/api/auth/login", data={"username": username, "password": password})


async def me(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get("/api/auth/me", headers=bearer(token))


def assert_unauthenticated(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json()["detail"]


# --- register ------------------------------------------------------------------------


async def test_register_creates_a_patient_user_and_its_patient_record(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/api/auth/register",
        json=registration("alice", phone="+44 20 7946 0000", date_of_birth="1990-05-17"),
    )
    assert response.status_code == 201, response.text
    user = response.json()
    assert set(user) == USER_FIELDS
    assert user["email"] == "alice@example.com"
    assert user["username"] == "alice"
    assert user["full_name"] == "Full alice"
    assert user["role"] == "PATIENT"
    assert user["is_active"] is True

    token = (await login(client, "alice", PASSWORD)).json()["access_token"]
    found = (await me(client, token)).json()
    assert found["id"] == user["id"]
    assert found["patient_id"] is not None
    assert found["doctor_id"] is None
    record = await client.get(f"/api/patients/{found['patient_id']}", headers=bearer(token))
    assert record.status_code == 200, record.text
    assert record.json()["user_id"] == user["id"]
    assert record.json()["phone"] == "+44 20 7946 0000"
    assert record.json()["date_of_birth"] == "1990-05-17"


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"email": "BOB@Example.COM", "username": "other"}, "email_taken"),
        ({"email": "other@example.com", "username": "BoB"}, "username_taken"),
    ],
)
async def test_register_conflicts_are_case_insensitive(
    clinic: ApiClinic, changes: dict[str, str], code: str
) -> None:
    client = clinic.client
    assert (await client.post("/api/auth/register", json=registration("bob"))).status_code == 201
    response = await client.post("/api/auth/register", json=registration("x", **changes))
    assert response.status_code == 409, response.text
    assert response.json()["code"] == code
    admin = await clinic.admin()
    users = await client.get("/api/admin/users", headers=admin.headers)
    assert {u["username"] for u in users.json()["items"]} == {"bob", admin.user["username"]}


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"password": "Zq7#xW1"}, id="password-7"),
        pytest.param({"password": "Zq7#" * 32 + "x"}, id="password-129"),
        pytest.param({"username": "ab"}, id="username-2"),
        pytest.param({"username": "u" * 51}, id="username-51"),
        pytest.param({"username": "bad name!"}, id="username-chars"),
        pytest.param({"email": "not-an-email"}, id="email"),
        pytest.param({"full_name": "   "}, id="blank-full-name"),
        pytest.param({"date_of_birth": "17/05/1990"}, id="date-of-birth"),
        pytest.param({"is_admin": True}, id="unknown-field"),
        pytest.param({"role": "ADMIN"}, id="role-field"),
        pytest.param({"email": None}, id="null-email"),
    ],
)
async def test_register_rejects_invalid_input_without_echoing_the_password(
    client: httpx.AsyncClient, changes: dict[str, Any]
) -> None:
    body = registration("carol", password=SUBMITTED_PASSWORD)
    body.update(changes)
    response = await client.post("/api/auth/register", json=body)
    assert response.status_code == 422, response.text
    assert isinstance(response.json()["detail"], list)
    assert body["password"] not in response.text
    # Nothing was created: the same user can still register.
    retry = await client.post("/api/auth/register", json=registration("carol"))
    assert retry.status_code == 201, retry.text


@pytest.mark.parametrize("missing", ["email", "username", "full_name", "password"])
async def test_register_requires_every_field(client: httpx.AsyncClient, missing: str) -> None:
    body = registration("dave", password=SUBMITTED_PASSWORD)
    del body[missing]
    response = await client.post("/api/auth/register", json=body)
    assert response.status_code == 422, response.text
    assert SUBMITTED_PASSWORD not in response.text
    assert (await login(client, "dave", SUBMITTED_PASSWORD)).status_code == 401


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"password": "p" * 8}, id="password-8"),
        pytest.param({"password": "p" * 128}, id="password-128"),
        pytest.param({"username": "abc"}, id="username-3"),
        pytest.param({"username": "A" * 50}, id="username-50"),
        pytest.param({"username": "a_b.c-D9"}, id="username-all-chars"),
    ],
)
async def test_register_accepts_the_bounds(
    client: httpx.AsyncClient, changes: dict[str, str]
) -> None:
    body = registration("erin", **changes)
    response = await client.post("/api/auth/register", json=body)
    assert response.status_code == 201, response.text
    assert (await login(client, body["username"], body["password"])).status_code == 200


# --- login ---------------------------------------------------------------------------


async def test_login_with_form_or_json_and_username_or_email(clinic: ApiClinic) -> None:
    patient = await clinic.patient("frank")
    attempts: list[tuple[dict[str, str] | None, dict[str, str] | None]] = [
        ({"username": "frank", "password": PASSWORD}, None),
        ({"username": "frank@example.com", "password": PASSWORD, "grant_type": "password"}, None),
        (None, {"username": "frank", "password": PASSWORD}),
        (None, {"username": "FRANK@example.com", "password": PASSWORD}),
    ]
    # The JSON body at /api/auth/login too, and at its own operation (loginJson).
    attempts += [(None, {"username": "frank", "password": PASSWORD, "path": "/json"})]
    for form, body in attempts:
        attempt = form or body
        path = "/api/auth/login" + (body.pop("path", "") if body else "")
        response = await clinic.client.post(path, data=form, json=body)
        assert response.status_code == 200, (attempt, response.text)
        body = response.json()
        assert body["token_type"] == "bearer"
        assert body["expires_in"] == 30 * 60
        assert (await me(clinic.client, body["access_token"])).json()["id"] == patient.user["id"]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"username": "frank"}, id="no-password"),
        pytest.param({"password": PASSWORD}, id="no-username"),
        pytest.param({"username": "frank", "password": PASSWORD, "extra": 1}, id="extra"),
    ],
)
@pytest.mark.parametrize("path", ["/api/auth/login", "/api/auth/login/json"])
async def test_login_json_shape_is_validated(
    clinic: ApiClinic, body: dict[str, Any], path: str
) -> None:
    await clinic.patient("frank")
    response = await clinic.client.post(path, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_failed"
    assert PASSWORD not in response.text


async def test_json_login_refuses_a_wrong_password_like_the_form(clinic: ApiClinic) -> None:
    await clinic.patient("frank")
    body = {"username": "frank", "password": "wrong-password-1"}
    response = await clinic.client.post("/api/auth/login/json", json=body)
    assert (response.status_code, response.json()["code"]) == (401, "invalid_credentials")
    assert response.headers["www-authenticate"] == "Bearer"


async def test_wrong_password_unknown_user_and_deactivated_user_look_the_same(
    clinic: ApiClinic,
) -> None:
    admin = await clinic.admin()
    await clinic.patient("grace")
    gone = await clinic.patient("henry")
    deleted = await clinic.client.delete(
        f"/api/admin/users/{gone.user['id']}", headers=admin.headers
    )
    assert deleted.status_code == 204

    responses = [
        await login(clinic.client, "grace", "wrong-password"),
        await login(clinic.client, "nobody-at-all", PASSWORD),
        await login(clinic.client, "henry", PASSWORD),
    ]
    for response in responses:
        assert_unauthenticated(response)
        assert response.json()["code"] == "invalid_credentials"
    assert len({r.content for r in responses}) == 1
    assert len({r.headers["WWW-Authenticate"] for r in responses}) == 1


async def test_repeated_failures_are_throttled_until_the_window_passes(
    clinic: ApiClinic, container: Container, clock: FixedClock
) -> None:
    await clinic.patient("ivan")
    settings = container.settings()
    for _ in range(settings.login_max_failures):
        assert (await login(clinic.client, "ivan", "wrong-password")).status_code == 401

    blocked = await login(clinic.client, "ivan", PASSWORD)  # even the right password
    assert blocked.status_code == 429, blocked.text
    assert blocked.json()["code"] == "too_many_attempts"
    assert int(blocked.headers["Retry-After"]) == settings.login_window_seconds

    clock.advance(timedelta(minutes=10))
    still = await login(clinic.client, "ivan", PASSWORD)
    assert still.status_code == 429
    assert int(still.headers["Retry-After"]) == settings.login_window_seconds - 600

    clock.advance(timedelta(minutes=5))
    assert (await login(clinic.client, "ivan", PASSWORD)).status_code == 200


async def test_throttle_counts_failures_for_unknown_users_too(client: httpx.AsyncClient) -> None:
    codes = [(await login(client, "ghost", "nope-nope")).status_code for _ in range(6)]
    assert codes == [401] * 5 + [429]


# --- me ------------------------------------------------------------------------------


async def test_me_tells_the_patient_and_doctor_records(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    doctor = await clinic.doctor(admin)
    patient = await clinic.patient()

    for party, role in [(admin, "ADMIN"), (doctor, "DOCTOR"), (patient, "PATIENT")]:
        response = await me(clinic.client, party.token)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == USER_FIELDS | {"patient_id", "doctor_id"}
        assert body["role"] == role
    assert (await me(clinic.client, admin.token)).json()["patient_id"] is None
    assert (await me(clinic.client, admin.token)).json()["doctor_id"] is None
    assert doctor.doctor_id is not None
    assert doctor.patient_id is None
    got = await clinic.client.get(f"/api/doctors/{doctor.doctor_id}", headers=admin.headers)
    assert got.json()["user_id"] == doctor.user["id"]
    assert patient.patient_id is not None
    assert patient.doctor_id is None


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no-token"),
        pytest.param({"Authorization": "Bearer not-a-jwt"}, id="garbage"),
        pytest.param({"Authorization": "Bearer "}, id="empty"),
        pytest.param({"Authorization": "Basic dXNlcjpwYXNz"}, id="basic"),
    ],
)
async def test_me_without_a_valid_token_is_401(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    assert_unauthenticated(await client.get("/api/auth/me", headers=headers))


# --- logout --------------------------------------------------------------------------


async def test_logout_revokes_only_the_presented_token(clinic: ApiClinic) -> None:
    patient = await clinic.patient()
    other = await clinic.login(patient.user["username"])

    response = await clinic.client.post("/api/auth/logout", headers=patient.headers)
    assert response.status_code == 204
    assert response.content == b""
    assert_unauthenticated(await me(clinic.client, patient.token))
    assert_unauthenticated(await clinic.client.post("/api/auth/logout", headers=patient.headers))
    assert (await me(clinic.client, other)).status_code == 200


async def test_logout_is_seen_by_another_app_instance(
    clinic: ApiClinic, database_url: str, clock: FixedClock
) -> None:
    """A second app with its own container and connection pool on the same database
    stands for another worker or host."""
    patient = await clinic.patient()
    other_engine: AsyncEngine = create_engine(database_url)
    other_app = create_app(make_container(database_url, other_engine, FixedClock(clock.now())))
    try:
        async with client_for(other_app) as other:
            assert (await me(other, patient.token)).status_code == 200
            logout = await clinic.client.post("/api/auth/logout", headers=patient.headers)
            assert logout.status_code == 204
            assert_unauthenticated(await me(other, patient.token))
    finally:
        await other_engine.dispose()


# --- password change -----------------------------------------------------------------


async def test_password_change_revokes_every_earlier_token(
    clinic: ApiClinic, clock: FixedClock
) -> None:
    patient = await clinic.patient()
    username = patient.user["username"]
    second = await clinic.login(username)
    clock.advance(timedelta(seconds=1))

    response = await clinic.client.post(
        "/api/auth/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=patient.headers,
    )
    assert response.status_code == 204, response.text
    assert response.content == b""

    assert_unauthenticated(await me(clinic.client, patient.token))
    assert_unauthenticated(await me(clinic.client, second))
    old = await login(clinic.client, username, PASSWORD)
    assert_unauthenticated(old)
    assert old.json()["code"] == "invalid_credentials"
    fresh = await login(clinic.client, username, NEW_PASSWORD)
    assert fresh.status_code == 200, fresh.text
    # Issued at the very instant of the change: still valid.
    assert (await me(clinic.client, fresh.json()["access_token"])).status_code == 200


async def test_password_change_with_a_wrong_current_password_changes_nothing(
    clinic: ApiClinic,
) -> None:
    patient = await clinic.patient()
    response = await clinic.client.post(
        "/api/auth/password",
        json={"current_password": "not-my-password", "new_password": NEW_PASSWORD},
        headers=patient.headers,
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_credentials"
    assert (await me(clinic.client, patient.token)).status_code == 200
    assert (await login(clinic.client, patient.user["username"], PASSWORD)).status_code == 200
    assert (await login(clinic.client, patient.user["username"], NEW_PASSWORD)).status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"current_password": PASSWORD, "new_password": "Zq7#xW1"}, id="new-7"),
        pytest.param(
            {"current_password": PASSWORD, "new_password": "Zq7#" * 32 + "x"}, id="new-129"
        ),
        pytest.param({"current_password": PASSWORD}, id="missing-new"),
        pytest.param({"new_password": SUBMITTED_PASSWORD}, id="missing-current"),
        pytest.param(
            {"current_password": PASSWORD, "new_password": SUBMITTED_PASSWORD, "x": 1},
            id="extra",
        ),
    ],
)
async def test_password_change_validates_input(clinic: ApiClinic, body: dict[str, str]) -> None:
    patient = await clinic.patient()
    response = await clinic.client.post("/api/auth/password", json=body, headers=patient.headers)
    assert response.status_code == 422, response.text
    assert not [v for v in body.values() if isinstance(v, str) and v and v in response.text]
    assert (await me(clinic.client, patient.token)).status_code == 200


async def test_password_change_needs_a_token(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/auth/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert_unauthenticated(response)
