"""Every way a bearer token can be wrong ends in 401 with `WWW-Authenticate: Bearer`."""

from __future__ import annotations

import base64
import json
import uuid
import warnings
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest
from jwt.warnings import InsecureKeyLengthWarning

from appointments.adapters.clock import FixedClock
from appointments.container import Container
from tests.api.support import PASSWORD, ApiClinic, Party, bearer, forbid_secrets_in_responses
from tests.conftest import TEST_SECRET

# Authenticated endpoints of different roles: a forged token must not open any of them.
PROBES = [("GET", "/api/auth/me"), ("GET", "/api/admin/users"), ("GET", "/api/departments")]


@pytest.fixture(autouse=True)
def _no_secrets(client: httpx.AsyncClient) -> None:
    forbid_secrets_in_responses(client)


def _b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _claims(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def _resign(token: str, key: str = TEST_SECRET, algorithm: str = "HS256", **changes: object) -> str:
    """Re-sign `token` with `changes` applied to its claims (None removes a claim)."""
    claims = {**_claims(token), **changes}
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key, algorithm=algorithm)


def alg_none(token: str) -> str:
    header = _b64({"alg": "none", "typ": "JWT"})
    return f"{header}.{_b64({**_claims(token), 'role': 'ADMIN'})}."


def alg_none_upper(token: str) -> str:
    header = _b64({"alg": "None", "typ": "JWT"})
    return f"{header}.{_b64(_claims(token))}."


def tampered_payload(token: str) -> str:
    header, _, signature = token.split(".")
    return f"{header}.{_b64({**_claims(token), 'role': 'ADMIN'})}.{signature}"


def tampered_signature(token: str) -> str:
    header, payload, signature = token.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    return f"{header}.{payload}.{flipped}"


def other_key(token: str) -> str:
    return _resign(token, key="another-secret-key-that-is-long-enough-987654321")


def hs512_same_key(token: str) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        return _resign(token, algorithm="HS512")


def unknown_user(token: str) -> str:
    return _resign(token, sub=str(uuid.uuid4()))


def sub_not_a_uuid(token: str) -> str:
    return _resign(token, sub="admin")


def unknown_role(token: str) -> str:
    return _resign(token, role="SUPERUSER")


def without(claim: str) -> Callable[[str], str]:
    def forge(token: str) -> str:
        claims = {k: v for k, v in _claims(token).items() if k != claim}
        return jwt.encode(claims, TEST_SECRET, algorithm="HS256")

    forge.__name__ = f"without_{claim}"
    return forge


def exp_not_a_number(token: str) -> str:
    return _resign(token, exp="tomorrow")


def header_only(token: str) -> str:
    return token.split(".")[0]


FORGERIES: list[Callable[[str], str]] = [
    alg_none,
    alg_none_upper,
    tampered_payload,
    tampered_signature,
    other_key,
    hs512_same_key,
    unknown_user,
    sub_not_a_uuid,
    unknown_role,
    *(without(c) for c in ("sub", "role", "jti", "iat", "exp")),
    exp_not_a_number,
    header_only,
]


def assert_refused(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json()["detail"]


async def probe_all(client: httpx.AsyncClient, token: str) -> list[httpx.Response]:
    return [await client.request(m, path, headers=bearer(token)) for m, path in PROBES]


@pytest.mark.parametrize("forge", FORGERIES, ids=lambda f: f.__name__)
async def test_forged_tokens_are_refused(clinic: ApiClinic, forge: Callable[[str], str]) -> None:
    patient = await clinic.patient()
    forged = forge(patient.token)
    for response in await probe_all(clinic.client, forged):
        assert_refused(response)
    # The genuine token still works, so the refusal is about the forgery.
    assert (await clinic.client.get("/api/auth/me", headers=patient.headers)).status_code == 200


async def test_resigning_with_the_real_key_is_accepted(clinic: ApiClinic) -> None:
    """Control for the forgeries above: the re-signing helper itself makes valid tokens."""
    patient = await clinic.patient()
    response = await clinic.client.get("/api/auth/me", headers=bearer(_resign(patient.token)))
    assert response.status_code == 200, response.text


async def test_expired_token_is_refused_past_the_leeway(
    clinic: ApiClinic, clock: FixedClock, container: Container
) -> None:
    patient = await clinic.patient()
    lifetime = timedelta(minutes=container.settings().access_token_expire_minutes)
    clock.advance(lifetime - timedelta(seconds=1))
    assert (await clinic.client.get("/api/auth/me", headers=patient.headers)).status_code == 200
    clock.advance(timedelta(seconds=12))  # expiry + 11 s: beyond the 10 s leeway
    for response in await probe_all(clinic.client, patient.token):
        assert_refused(response)


async def _deactivate(clinic: ApiClinic, admin: Party, target: Party) -> None:
    response = await clinic.client.delete(
        f"/api/admin/users/{target.user['id']}", headers=admin.headers
    )
    assert response.status_code == 204, response.text


async def _change_password(clinic: ApiClinic, admin: Party, target: Party) -> None:
    other = await clinic.login(target.user["username"])
    response = await clinic.client.post(
        "/api/auth/password",
        json={"current_password": PASSWORD, "new_password": "brand-new-password"},
        headers=bearer(other),
    )
    assert response.status_code == 204, response.text


@pytest.mark.parametrize("revoke", [_deactivate, _change_password], ids=["deactivated", "pw"])
async def test_tokens_revoked_by_the_user_row_are_refused(
    clinic: ApiClinic, clock: FixedClock, revoke: Callable[..., Any]
) -> None:
    admin = await clinic.admin()
    patient = await clinic.patient()
    clock.advance(timedelta(seconds=1))
    await revoke(clinic, admin, patient)
    for response in await probe_all(clinic.client, patient.token):
        assert_refused(response)
    # The admin's own token, issued at the same time, is untouched.
    assert (await clinic.client.get("/api/auth/me", headers=admin.headers)).status_code == 200
