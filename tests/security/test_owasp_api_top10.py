"""OWASP API Security Top 10 (2023), one section per risk, against the real app on
PostgreSQL (see conftest.py: `database_url` is PostgreSQL only here).

Every response any client of this module receives is recorded; the last test scans them
all for password hashes, passwords and the signing key.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest
from dependency_injector import providers
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from appointments.adapters.clock import FixedClock
from appointments.adapters.security import PasslibPasswordHasher
from appointments.adapters.sqlalchemy import tables
from appointments.container import Container
from appointments.domain.audit import REDACTED
from appointments.settings import DEVELOPMENT_SECRET, Settings
from tests import conftest
from tests.api.support import (
    APPOINTMENT_FIELDS,
    DOCTOR_FIELDS,
    ME_FIELDS,
    PASSWORD,
    PATIENT_FIELDS,
    USER_FIELDS,
    ApiClinic,
    Party,
    at,
    bearer,
    next_monday,
)
from tests.security import policy
from tests.security.conftest import Recorded

OpenClient = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]

DEPARTMENT_FIELDS = {"id", "name", "description"}
PAGE_FIELDS = {"items", "total", "limit", "offset"}
TOKEN_FIELDS = {"access_token", "token_type", "expires_in"}

# Substrings no response may contain: hash prefixes (argon2, bcrypt), the hash column, the
# plaintext password every test user has, and the signing key.
LEAKS = ("$argon2", "$2b$", "$2a$", "$2y$", "password_hash", PASSWORD, conftest.TEST_SECRET)


async def snapshot(engine: AsyncEngine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, straight from SQL (not through the API under test)."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    async with engine.connect() as connection:
        for table in tables.metadata.sorted_tables:
            rows = (await connection.execute(select(table))).all()
            found[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return found


async def count(engine: AsyncEngine, table: Any, *where: Any) -> int:
    query = select(func.count()).select_from(table)
    if where:
        query = query.where(*where)
    async with engine.connect() as connection:
        return int((await connection.execute(query)).scalar_one())


def api_routes(app: FastAPI) -> Iterator[tuple[str, str, APIRoute]]:
    """(method, path template, route) for every APIRoute, routers included."""
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute):
            for method in sorted(context.methods or ()):
                yield method, str(context.path), route


def policed_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) of every APIRoute the access policy must cover."""
    return sorted(
        (method, path)
        for method, path, route in api_routes(app)
        # Routes left out of the OpenAPI document only answer 405 to every caller (the
        # other methods of /api/appointments/series).
        if not path.startswith(policy.EXCLUDED_PREFIXES) and route.include_in_schema
    )


@dataclass
class World:
    """admin; doctor `d` (with time off `time_off`) treats patient `p` (appointment `a`);
    `q` is another patient and `o` another doctor with no link to either."""

    clinic: ApiClinic
    engine: AsyncEngine
    admin: Party
    d: Party
    o: Party
    p: Party
    q: Party
    appointment: dict[str, Any]
    time_off: dict[str, Any]

    @property
    def client(self) -> httpx.AsyncClient:
        return self.clinic.client


@pytest.fixture
async def world(clinic: ApiClinic, engine: AsyncEngine) -> World:
    admin = await clinic.admin()
    department = await clinic.department(admin)
    d = await clinic.doctor(admin, department)
    o = await clinic.doctor(admin, department)
    p, q = await clinic.patient(), await clinic.patient()
    monday = next_monday(clinic.clock)
    booked = await clinic.book(p, d, at(monday, 9))
    assert booked.status_code == 201, booked.text
    time_off = await clinic.client.post(
        f"/api/doctors/{d.doctor_id}/time-off",
        json={
            "starts_at": at(monday, 15).isoformat(),
            "ends_at": at(monday, 16).isoformat(),
            "reason": "private: clinic board",
        },
        headers=d.headers,
    )
    assert time_off.status_code == 201, time_off.text
    return World(clinic, engine, admin, d, o, p, q, booked.json(), time_off.json())


# =========================================================================================
# API1:2023 Broken Object Level Authorization
#
# For every object endpoint and verb, the other patient `q` and the other doctor `o` reach
# nothing of patient `p`, doctor `d` or their appointment, and the database is unchanged.
# API.md: 404 for "an object the caller may not see" (never reveal that another patient's
# record exists); 403 where "the role may not use this endpoint" at all. The 403s below
# are of that second kind and do not depend on the id, so they reveal nothing:
# - DELETE /api/patients/{id} and every /api/admin/users/{id} route: ADMIN only;
# - PATCH /api/patients/{id}: "ADMIN; the patient themself", no DOCTOR at all;
# - confirm / check-in / complete / no-show: "that DOCTOR, ADMIN", no PATIENT at all;
# - doctor writes (PATCH, schedule, time off): "ADMIN; that doctor", no PATIENT at all.
# Doctors are public (every role reads GET /api/doctors/{id}), so another doctor writing
# to `d` is not hidden behind a 404: it is a 403 as well (also for any random id). Booking
# into `d`'s calendar as `o` is 403 for the same reason ("DOCTOR (for themself)").
# =========================================================================================


@dataclass(frozen=True)
class Probe:
    method: str
    path: str
    body: dict[str, Any] | None
    other_patient: int  # expected status for `q`
    other_doctor: int  # expected status for `o`

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


APPOINTMENT = "/api/appointments/{appointment}"
BOLA_PROBES = [
    Probe("GET", "/api/patients/{patient}", None, 404, 404),
    Probe("PATCH", "/api/patients/{patient}", {"phone": "+1 555 0199"}, 404, 403),
    Probe("DELETE", "/api/patients/{patient}", None, 403, 403),
    Probe("GET", APPOINTMENT, None, 404, 404),
    Probe("PATCH", APPOINTMENT, {"reason": "hijacked"}, 404, 404),
    Probe("PATCH", APPOINTMENT, {"starts_at": "{later}"}, 404, 404),
    Probe("PATCH", APPOINTMENT, {"notes": "hijacked"}, 404, 404),
    Probe("DELETE", APPOINTMENT, None, 404, 404),
    Probe("POST", APPOINTMENT + "/confirm", None, 403, 404),
    Probe("POST", APPOINTMENT + "/check-in", None, 403, 404),
    Probe("POST", APPOINTMENT + "/complete", None, 403, 404),
    Probe("POST", APPOINTMENT + "/no-show", None, 403, 404),
    Probe("POST", APPOINTMENT + "/cancel", {"reason": "hijacked"}, 404, 404),
    Probe(
        "POST",
        "/api/appointments",
        {"doctor_id": "{doctor}", "patient_id": "{patient}", "starts_at": "{later}"},
        404,
        403,
    ),
    Probe("PATCH", "/api/doctors/{doctor}", {"phone": "+1 555 0199"}, 403, 403),
    Probe("DELETE", "/api/doctors/{doctor}", None, 403, 403),
    Probe("PUT", "/api/doctors/{doctor}/schedule", {"weekly": []}, 403, 403),
    Probe(
        "POST",
        "/api/doctors/{doctor}/time-off",
        {"starts_at": "{later}", "ends_at": "{latest}"},
        403,
        403,
    ),
    Probe("DELETE", "/api/doctors/{doctor}/time-off/{time_off}", None, 403, 403),
    # `o`'s own path with `d`'s time off: the time off is not `o`'s, so it does not exist.
    Probe("DELETE", "/api/doctors/{other_doctor}/time-off/{time_off}", None, 403, 404),
    Probe("GET", "/api/admin/users/{patient_user}", None, 403, 403),
    Probe("PATCH", "/api/admin/users/{patient_user}", {"is_active": False}, 403, 403),
    Probe("DELETE", "/api/admin/users/{patient_user}", None, 403, 403),
    Probe("GET", "/api/admin/users/{doctor_user}", None, 403, 403),
    Probe("PATCH", "/api/admin/users/{doctor_user}", {"role": "ADMIN"}, 403, 403),
    Probe("DELETE", "/api/admin/users/{doctor_user}", None, 403, 403),
]


def _fill(template: Any, values: dict[str, str]) -> Any:
    if isinstance(template, str):
        return template.format_map(values)
    if isinstance(template, dict):
        return {k: _fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [_fill(v, values) for v in template]
    return template


def _bola_values(world: World) -> dict[str, str]:
    monday = next_monday(world.clinic.clock)
    return {
        "patient": str(world.p.patient_id),
        "appointment": str(world.appointment["id"]),
        "doctor": str(world.d.doctor_id),
        "other_doctor": str(world.o.doctor_id),
        "time_off": str(world.time_off["id"]),
        "patient_user": str(world.p.user["id"]),
        "doctor_user": str(world.d.user["id"]),
        "later": at(monday, 11).isoformat(),
        "latest": at(monday, 12).isoformat(),
    }


async def test_api1_other_patient_and_other_doctor_reach_nothing(world: World) -> None:
    """One world for every probe (each is refused, so none changes it); every violation is
    collected so a failure lists them all."""
    values = _bola_values(world)
    before = await snapshot(world.engine)
    violations: list[tuple[Any, ...]] = []
    for probe in BOLA_PROBES:
        path, body = _fill(probe.path, values), _fill(probe.body, values)
        for caller, expected in ((world.q, probe.other_patient), (world.o, probe.other_doctor)):
            response = await world.client.request(
                probe.method, path, json=body, headers=caller.headers
            )
            code = {404: "not_found", 403: "forbidden"}[expected]
            got = (response.status_code, response.json().get("code"))
            if got != (expected, code):
                violations.append((str(probe), caller.user["role"], got, (expected, code)))
            if await snapshot(world.engine) != before:
                violations.append((str(probe), caller.user["role"], "changed the database"))
                before = await snapshot(world.engine)
    assert violations == []
    # The probes aimed at real objects: their rightful readers do see them.
    for path in ("/api/patients/{patient}", APPOINTMENT, "/api/admin/users/{patient_user}"):
        response = await world.client.get(_fill(path, values), headers=world.admin.headers)
        assert response.status_code == 200


async def test_api1_lists_never_include_other_peoples_objects(world: World) -> None:
    client, p, d = world.client, world.p, world.d

    async def listed(path: str, caller: Party, **params: str) -> list[str]:
        response = await client.get(path, params=params, headers=caller.headers)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    appointment = world.appointment["id"]
    assert await listed("/api/appointments", world.q) == []
    assert await listed("/api/appointments", world.q, patient_id=str(p.patient_id)) == []
    assert await listed("/api/appointments", world.o, doctor_id=str(d.doctor_id)) == []
    assert await listed("/api/patients", world.o) == []
    assert await listed("/api/patients", world.q) == [world.q.patient_id]
    # The rightful parties do see them: the filters above are not simply broken.
    assert await listed("/api/appointments", p) == [appointment]
    assert await listed("/api/appointments", d) == [appointment]
    assert await listed("/api/patients", d) == [p.patient_id]


async def test_api1_time_off_reasons_are_private_to_the_doctor_and_admins(world: World) -> None:
    path = f"/api/doctors/{world.d.doctor_id}/schedule"
    reasons = {}
    for name in ("admin", "d", "o", "p", "q"):
        caller: Party = getattr(world, name)
        response = await world.client.get(path, headers=caller.headers)
        assert response.status_code == 200, response.text
        reasons[name] = [t["reason"] for t in response.json()["time_off"]]
    private = ["private: clinic board"]
    assert reasons == {"admin": private, "d": private, "o": [None], "p": [None], "q": [None]}


# =========================================================================================
# API2:2023 Broken Authentication
# =========================================================================================


def _b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _claims(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def _alg_none(token: str) -> str:
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64({**_claims(token), 'role': 'ADMIN'})}."


def _tampered(token: str) -> str:
    header, _, signature = token.split(".")
    return f"{header}.{_b64({**_claims(token), 'role': 'ADMIN'})}.{signature}"


def _wrong_key(token: str) -> str:
    return jwt.encode(_claims(token), "another-secret-key-of-sufficient-length-0123", "HS256")


FORGERIES: dict[str, Callable[[str], str]] = {
    "alg_none": _alg_none,
    "tampered_payload": _tampered,
    "wrong_key": _wrong_key,
}


async def _assert_401(client: httpx.AsyncClient, token: str) -> None:
    for method, path in (("GET", "/api/auth/me"), ("GET", "/api/departments")):
        response = await client.request(method, path, headers=bearer(token))
        assert response.status_code == 401, (path, response.text)
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize("forgery", FORGERIES)
async def test_api2_forged_tokens_are_401(clinic: ApiClinic, forgery: str) -> None:
    patient = await clinic.patient()
    assert (await clinic.client.get("/api/auth/me", headers=patient.headers)).status_code == 200
    await _assert_401(clinic.client, FORGERIES[forgery](patient.token))


async def test_api2_token_expired_beyond_leeway_is_401(
    clinic: ApiClinic, clock: FixedClock
) -> None:
    patient = await clinic.patient()
    expires = _claims(patient.token)["exp"] - clock.now().timestamp()
    clock.advance(timedelta(seconds=expires + 5))  # inside the 10 s leeway: still good
    assert (await clinic.client.get("/api/auth/me", headers=patient.headers)).status_code == 200
    clock.advance(timedelta(seconds=6))
    await _assert_401(clinic.client, patient.token)


async def _logout(clinic: ApiClinic, admin: Party, victim: Party) -> None:
    response = await clinic.client.post("/api/auth/logout", headers=victim.headers)
    assert response.status_code == 204


async def _deactivate(clinic: ApiClinic, admin: Party, victim: Party) -> None:
    path = f"/api/admin/users/{victim.user['id']}"
    assert (await clinic.client.delete(path, headers=admin.headers)).status_code == 204


async def _change_password(clinic: ApiClinic, admin: Party, victim: Party) -> None:
    response = await clinic.client.post(
        "/api/auth/password",
        json={"current_password": PASSWORD, "new_password": "a-brand-new-passphrase"},
        headers=victim.headers,
    )
    assert response.status_code == 204, response.text


REVOCATIONS = {"logout": _logout, "deactivated": _deactivate, "password_changed": _change_password}


@pytest.mark.parametrize("revocation", REVOCATIONS)
async def test_api2_revoked_tokens_are_401(
    clinic: ApiClinic, clock: FixedClock, revocation: str
) -> None:
    admin = await clinic.admin()
    victim = await clinic.patient()
    bystander = await clinic.patient()
    assert (await clinic.client.get("/api/auth/me", headers=victim.headers)).status_code == 200
    clock.advance(timedelta(seconds=1))  # the revocation happens after the token was issued
    await REVOCATIONS[revocation](clinic, admin, victim)
    await _assert_401(clinic.client, victim.token)
    # Only the victim's token: another user's session is untouched.
    assert (await clinic.client.get("/api/auth/me", headers=bystander.headers)).status_code == 200


async def test_api2_login_failures_are_indistinguishable(clinic: ApiClinic) -> None:
    """Unknown user, wrong password and deactivated user: same status, same bytes."""
    admin = await clinic.admin()
    known = await clinic.patient()
    gone = await clinic.patient()
    await _deactivate(clinic, admin, gone)
    attempts = {
        "unknown_user": {"username": "nobody-at-all", "password": PASSWORD},
        "wrong_password": {"username": known.user["username"], "password": "not-the-password"},
        "deactivated": {"username": gone.user["username"], "password": PASSWORD},
    }
    answers = {}
    for name, form in attempts.items():
        response = await clinic.client.post("/api/auth/login", data=form)
        answers[name] = (
            response.status_code,
            response.content,
            response.headers.get("www-authenticate"),
        )
    assert answers["unknown_user"][0] == 401
    assert json.loads(answers["unknown_user"][1])["code"] == "invalid_credentials"
    assert answers["wrong_password"] == answers["unknown_user"]
    assert answers["deactivated"] == answers["unknown_user"]


async def test_api2_repeated_failures_are_throttled_with_retry_after(
    clinic: ApiClinic, container: Container, clock: FixedClock
) -> None:
    patient = await clinic.patient()
    username = patient.user["username"]
    settings = container.settings()
    wrong = {"username": username, "password": "not-the-password"}
    for _ in range(settings.login_max_failures):
        assert (await clinic.client.post("/api/auth/login", data=wrong)).status_code == 401
    # Now even the right password is refused until the window has passed.
    right = {"username": username, "password": PASSWORD}
    throttled = await clinic.client.post("/api/auth/login", data=right)
    assert throttled.status_code == 429, throttled.text
    assert throttled.json()["code"] == "too_many_attempts"
    retry_after = int(throttled.headers["retry-after"])
    assert 0 < retry_after <= settings.login_window_seconds
    assert "access_token" not in throttled.text
    clock.advance(timedelta(seconds=retry_after))
    assert (await clinic.client.post("/api/auth/login", data=right)).status_code == 200


# =========================================================================================
# API3:2023 Broken Object Property Level Authorization
# Mass assignment: fields a caller may not set are refused with 422, never applied.
# Over-exposure: the exact field set of each shape, for every role that can read it.
# =========================================================================================


@pytest.mark.parametrize(
    "extra",
    [
        {"role": "ADMIN"},
        {"role": "DOCTOR"},
        {"is_active": False},
        {"id": str(uuid.uuid4())},
        {"password_hash": "$argon2id$v=19$forged"},
        {"patient_id": str(uuid.uuid4())},
    ],
    ids=lambda extra: next(iter(extra)),
)
async def test_api3_register_refuses_privileged_fields(
    client: httpx.AsyncClient, engine: AsyncEngine, extra: dict[str, Any]
) -> None:
    before = await snapshot(engine)
    body = {
        "email": "mallory@example.com",
        "username": "mallory",
        "full_name": "Mallory",
        "password": PASSWORD,
        **extra,
    }
    response = await client.post("/api/auth/register", json=body)
    assert response.status_code == 422, response.text
    assert await snapshot(engine) == before
    assert await count(engine, tables.users, tables.users.c.role == "ADMIN") == 0


@dataclass(frozen=True)
class MassAssignment:
    who: str  # a World attribute
    method: str
    path: str
    body: dict[str, Any]
    code: str | None  # domain code, or None for a validation 422 (unknown field)

    def __str__(self) -> str:
        return f"{self.who} {self.method} {self.path} {sorted(self.body)}"


RANDOM = str(uuid.uuid4())
MASS_ASSIGNMENTS = [
    MassAssignment("p", "PATCH", "/api/patients/{patient}", {"user_id": RANDOM}, None),
    MassAssignment("p", "PATCH", "/api/patients/{patient}", {"is_active": False}, None),
    MassAssignment("p", "PATCH", "/api/patients/{patient}", {"id": RANDOM}, None),
    MassAssignment("p", "PATCH", APPOINTMENT, {"status": "completed"}, None),
    MassAssignment("p", "PATCH", APPOINTMENT, {"notes": "all fine"}, "field_not_allowed"),
    MassAssignment("p", "PATCH", APPOINTMENT, {"doctor_id": "{other_doctor}"}, None),
    MassAssignment("p", "PATCH", APPOINTMENT, {"patient_id": RANDOM}, None),
    MassAssignment("p", "PATCH", APPOINTMENT, {"department_id": RANDOM}, None),
    MassAssignment("d", "PATCH", APPOINTMENT, {"status": "completed"}, None),
    MassAssignment("d", "PATCH", APPOINTMENT, {"patient_id": RANDOM}, None),
    MassAssignment(
        "d",
        "PATCH",
        "/api/doctors/{doctor}",
        {"department_id": "{department}"},
        "field_not_allowed",
    ),
    MassAssignment(
        "d", "PATCH", "/api/doctors/{doctor}", {"full_name": "Dr Boss"}, "field_not_allowed"
    ),
    MassAssignment("d", "PATCH", "/api/doctors/{doctor}", {"is_active": False}, None),
    MassAssignment("d", "PATCH", "/api/doctors/{doctor}", {"user_id": RANDOM}, None),
    MassAssignment(
        "admin",
        "PATCH",
        "/api/admin/users/{patient_user}",
        {"password_hash": "$argon2id$v=19$forged"},
        None,
    ),
    MassAssignment(
        "admin", "PATCH", "/api/admin/users/{patient_user}", {"username": "renamed"}, None
    ),
    MassAssignment(
        "p",
        "POST",
        "/api/appointments",
        {"doctor_id": "{doctor}", "starts_at": "{later}", "status": "confirmed"},
        None,
    ),
    MassAssignment(
        "p",
        "POST",
        "/api/appointments",
        {"doctor_id": "{doctor}", "starts_at": "{later}", "department_id": RANDOM},
        None,
    ),
]


@pytest.mark.parametrize("case", MASS_ASSIGNMENTS, ids=str)
async def test_api3_mass_assignment_is_refused_and_changes_nothing(
    world: World, case: MassAssignment
) -> None:
    other_department = await world.clinic.department(world.admin)
    values = {**_bola_values(world), "department": other_department}
    before = await snapshot(world.engine)
    caller: Party = getattr(world, case.who)
    response = await world.client.request(
        case.method,
        _fill(case.path, values),
        json=_fill(case.body, values),
        headers=caller.headers,
    )
    assert response.status_code == 422, response.text
    if case.code is None:
        assert [e["type"] for e in response.json()["detail"]] == ["extra_forbidden"]
    else:
        assert response.json()["code"] == case.code
    assert await snapshot(world.engine) == before


async def test_api3_each_shape_has_exactly_its_fields_for_every_role(world: World) -> None:
    client, a = world.client, world.appointment["id"]
    department = (
        await client.get(f"/api/doctors/{world.d.doctor_id}", headers=world.admin.headers)
    ).json()["department_id"]
    readers = {"admin": world.admin, "d": world.d, "p": world.p}
    per_role_reads = [
        ("/api/auth/me", ME_FIELDS),
        (f"/api/doctors/{world.d.doctor_id}", DOCTOR_FIELDS),
        (f"/api/patients/{world.p.patient_id}", PATIENT_FIELDS),
        (f"/api/appointments/{a}", APPOINTMENT_FIELDS),
        (f"/api/departments/{department}", DEPARTMENT_FIELDS),
    ]
    per_role_lists = [
        ("/api/doctors", DOCTOR_FIELDS),
        ("/api/patients", PATIENT_FIELDS),
        ("/api/appointments", APPOINTMENT_FIELDS),
        ("/api/departments", DEPARTMENT_FIELDS),
    ]
    for name, reader in readers.items():
        for path, fields in per_role_reads:
            response = await client.get(path, headers=reader.headers)
            assert response.status_code == 200, (name, path)
            assert set(response.json()) == fields, (name, path)
        for path, fields in per_role_lists:
            body = (await client.get(path, headers=reader.headers)).json()
            assert set(body) == PAGE_FIELDS, (name, path)
            assert body["items"], (name, path)
            assert all(set(item) == fields for item in body["items"]), (name, path)
    admin_only = [
        (f"/api/admin/users/{world.p.user['id']}", USER_FIELDS),
    ]
    for path, fields in admin_only:
        assert set((await client.get(path, headers=world.admin.headers)).json()) == fields
    users = (await client.get("/api/admin/users", headers=world.admin.headers)).json()
    assert users["items"]
    assert all(set(u) == USER_FIELDS for u in users["items"])


async def test_api3_write_responses_have_exactly_their_fields(clinic: ApiClinic) -> None:
    client = clinic.client
    registered = await client.post(
        "/api/auth/register",
        json={
            "email": "ann@example.com",
            "username": "ann",
            "full_name": "Ann",
            "password": PASSWORD,
        },
    )
    assert registered.status_code == 201
    assert set(registered.json()) == USER_FIELDS
    login = await client.post("/api/auth/login", data={"username": "ann", "password": PASSWORD})
    assert set(login.json()) == TOKEN_FIELDS
    admin = await clinic.admin()
    department = await clinic.department(admin)
    created = await client.post(
        "/api/doctors",
        json={
            "email": "doc@example.com",
            "username": "doc",
            "full_name": "Dr Doc",
            "password": PASSWORD,
            "department_id": department,
            "specialization": "GP",
        },
        headers=admin.headers,
    )
    assert created.status_code == 201
    assert set(created.json()) == DOCTOR_FIELDS
    user = await client.post(
        "/api/admin/users",
        json={
            "email": "u@example.com",
            "username": "someone",
            "full_name": "Some One",
            "password": PASSWORD,
            "role": "PATIENT",
        },
        headers=admin.headers,
    )
    assert user.status_code == 201
    assert set(user.json()) == USER_FIELDS
    patient = await client.post(
        "/api/patients", json={"full_name": "Walk In"}, headers=admin.headers
    )
    assert set(patient.json()) == PATIENT_FIELDS
    booked = await client.post(
        "/api/appointments",
        json={
            "doctor_id": created.json()["id"],
            "patient_id": patient.json()["id"],
            "starts_at": at(next_monday(clinic.clock), 10).isoformat(),
        },
        headers=admin.headers,
    )
    assert booked.status_code == 201
    assert set(booked.json()) == APPOINTMENT_FIELDS


def _response_schema_refs(openapi: dict[str, Any]) -> set[str]:
    """Every component schema reachable from any documented response body."""
    schemas = openapi["components"]["schemas"]
    pending = [
        content["schema"]
        for path_item in openapi["paths"].values()
        for operation in path_item.values()
        for response in operation.get("responses", {}).values()
        for content in response.get("content", {}).values()
        if "schema" in content
    ]
    seen: set[str] = set()
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                name = ref.rsplit("/", 1)[-1]
                if name not in seen:
                    seen.add(name)
                    pending.append(schemas[name])
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return seen


async def test_api3_openapi_exposes_no_secret_and_no_password_in_any_response_schema(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    for leak in LEAKS:
        assert leak not in response.text, leak
    openapi = response.json()
    out = _response_schema_refs(openapi)
    assert {"UserOut", "MeOut", "DoctorOut", "PatientOut", "AppointmentOut"} <= out
    for name in out:
        properties = openapi["components"]["schemas"][name].get("properties", {})
        assert not [p for p in properties if "password" in p.lower()], name


# =========================================================================================
# API4:2023 Unrestricted Resource Consumption
# =========================================================================================

LISTS = [
    "/api/admin/users",
    "/api/departments",
    "/api/doctors",
    "/api/patients",
    "/api/appointments",
    "/api/services",
    "/api/rooms",
    "/api/admin/webhooks",
]


@pytest.mark.parametrize("path", LISTS)
async def test_api4_page_size_is_capped(clinic: ApiClinic, path: str) -> None:
    admin = await clinic.admin()
    ok = await clinic.client.get(path, params={"limit": 100}, headers=admin.headers)
    assert ok.status_code == 200, ok.text
    assert ok.json()["limit"] == 100
    for params in ({"limit": 101}, {"limit": 0}, {"offset": -1}, {"limit": 10**9}):
        refused = await clinic.client.get(path, params=params, headers=admin.headers)
        assert refused.status_code == 422, (params, refused.text)
        assert refused.json()["detail"][0]["loc"][0] == "query"


async def test_api4_availability_range_is_capped(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    doctor = await clinic.doctor(admin)
    start = next_monday(clinic.clock)
    path = f"/api/doctors/{doctor.doctor_id}/availability"

    async def ask(days: int) -> httpx.Response:
        until = start + timedelta(days=days - 1)
        params = {"date_from": str(start), "date_to": str(until)}
        return await clinic.client.get(path, params=params, headers=admin.headers)

    assert (await ask(31)).status_code == 200
    refused = await ask(32)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "range_too_long"
    assert (await ask(3650)).status_code == 422


def _register_body(full_name_bytes: int) -> bytes:
    return json.dumps(
        {
            "email": "big@example.com",
            "username": "big",
            "password": PASSWORD,
            "full_name": "x" * full_name_bytes,
        }
    ).encode()


@pytest.mark.parametrize("chunked", [False, True], ids=["content_length", "chunked"])
async def test_api4_body_over_the_limit_is_413(
    client: httpx.AsyncClient, container: Container, engine: AsyncEngine, chunked: bool
) -> None:
    limit = container.settings().max_request_bytes
    assert limit == 1024 * 1024  # the default applies
    body = _register_body(limit)
    assert len(body) > limit

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    headers = {"content-type": "application/json"}
    response = await client.post(
        "/api/auth/register", content=chunks() if chunked else body, headers=headers
    )
    assert response.status_code == 413, response.text
    assert response.json()["detail"] == "The request body is too large."
    assert await count(engine, tables.users) == 0
    # Just under the limit the body is read and validated (a 422, not a 413).
    under = _register_body(limit - 200)
    assert len(under) <= limit
    assert (
        await client.post("/api/auth/register", content=under, headers=headers)
    ).status_code == 422


class PeakTracker:
    """Counts calls running at once in worker threads; each call is slowed down a little so
    that unbounded calls would visibly overlap."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.running = self.peak = self.calls = 0

    def wrap(self, method: Callable[..., Any]) -> Callable[..., Any]:
        def tracked(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self.running += 1
                self.calls += 1
                self.peak = max(self.peak, self.running)
            try:
                time.sleep(0.03)
                return method(*args, **kwargs)
            finally:
                with self._lock:
                    self.running -= 1

        return tracked


class TrackedContext:
    """A CryptContext whose hashing methods report to a PeakTracker."""

    TRACKED = frozenset({"hash", "verify", "verify_and_update"})

    def __init__(self, inner: Any, tracker: PeakTracker) -> None:
        self._inner, self._tracker = inner, tracker

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        return self._tracker.wrap(value) if name in self.TRACKED else value


async def test_api4_password_hashing_runs_at_most_max_concurrent_at_once(
    clinic: ApiClinic, container: Container
) -> None:
    max_concurrent = 3
    hasher = PasslibPasswordHasher(memory_kib=1024, time_cost=1, max_concurrent=max_concurrent)
    tracker = PeakTracker()
    hasher._context = TrackedContext(hasher._context, tracker)
    container.hasher.override(providers.Object(hasher))
    logins = 20
    # One account each: attempts on a single account are throttled before hashing.
    patients = [await clinic.patient() for _ in range(logins)]
    tracker.peak = tracker.calls = 0
    forms = [{"username": p.user["username"], "password": PASSWORD} for p in patients]
    responses = await asyncio.gather(
        *(clinic.client.post("/api/auth/login", data=form) for form in forms)
    )
    assert [r.status_code for r in responses] == [200] * logins
    assert tracker.calls == logins
    # Never more than the bound, and the bound was reached: the flood did queue on it.
    assert tracker.peak == max_concurrent


# =========================================================================================
# API5:2023 Broken Function Level Authorization
# A route x role matrix generated from the app's routes, checked against the declared
# policy in policy.py (API.md's "who" column).
# =========================================================================================

# A valid body for every route that reads one, so a refusal cannot hide behind a 422.
# Placeholders: the caller's own ids where API.md's "that doctor"/"themself" needs them.
SAMPLE_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/auth/register"): {
        "email": "u{unique}@example.com",
        "username": "u{unique}",
        "full_name": "New User",
        "password": PASSWORD,
    },
    ("POST", "/api/auth/login"): {"username": "{login}", "password": PASSWORD},
    ("POST", "/api/auth/login/json"): {"username": "{login}", "password": PASSWORD},
    ("POST", "/api/auth/password"): {
        "current_password": "not-the-password",
        "new_password": "another-passphrase",
    },
    ("POST", "/api/admin/users"): {
        "email": "a{unique}@example.com",
        "username": "a{unique}",
        "full_name": "Made User",
        "password": PASSWORD,
        "role": "PATIENT",
    },
    ("PATCH", "/api/admin/users/{user_id}"): {"full_name": "Renamed"},
    ("POST", "/api/departments"): {"name": "Department {unique}"},
    ("PATCH", "/api/departments/{department_id}"): {"description": "changed"},
    ("POST", "/api/doctors"): {
        "email": "d{unique}@example.com",
        "username": "d{unique}",
        "full_name": "Dr New",
        "password": PASSWORD,
        "department_id": "{department_id}",
        "specialization": "GP",
    },
    ("PATCH", "/api/doctors/{doctor_id}"): {"phone": "+1 555 0100"},
    ("PUT", "/api/doctors/{doctor_id}/schedule"): {
        "weekly": [{"weekday": 0, "start": "09:00", "end": "17:00"}],
    },
    ("POST", "/api/doctors/{doctor_id}/time-off"): {
        "starts_at": "{starts_at}",
        "ends_at": "{ends_at}",
    },
    ("POST", "/api/patients"): {"full_name": "Walk In"},
    ("PATCH", "/api/patients/{patient_id}"): {"phone": "+1 555 0101"},
    ("POST", "/api/appointments"): {
        "doctor_id": "{doctor_id}",
        "patient_id": "{patient_id}",
        "starts_at": "{starts_at}",
    },
    ("PATCH", "/api/appointments/{appointment_id}"): {"reason": "changed"},
    ("POST", "/api/appointments/{appointment_id}/cancel"): {"reason": "changed my mind"},
    ("POST", "/api/appointments/series"): {
        "doctor_id": "{doctor_id}",
        "patient_id": "{patient_id}",
        "starts_at": "{starts_at}",
        "recurrence": {"frequency": "weekly", "count": 2},
    },
    ("POST", "/api/appointments/series/{series_id}/cancel"): {"reason": "changed my mind"},
    ("POST", "/api/services"): {
        "name": "Service {unique}",
        "department_id": "{department_id}",
        "duration_minutes": 30,
    },
    ("PATCH", "/api/services/{service_id}"): {"description": "changed"},
    ("POST", "/api/rooms"): {"name": "Room {unique}"},
    ("PATCH", "/api/rooms/{room_id}"): {"name": "Room {unique}"},
    ("POST", "/api/admin/webhooks"): {"url": "https://8.8.8.8/hooks/{unique}"},
    ("PATCH", "/api/admin/webhooks/{webhook_id}"): {"is_active": False},
    ("POST", "/api/holds"): {
        "doctor_id": "{doctor_id}",
        "patient_id": "{patient_id}",
        "starts_at": "{starts_at}",
    },
    ("POST", "/api/waitlist"): {
        "doctor_id": "{doctor_id}",
        "patient_id": "{patient_id}",
        "date_from": "{day}",
        "date_to": "{day}",
    },
    ("POST", "/api/calendar-feeds"): {},  # your own calendar (an admin must name one: 422)
    # The defaults: storing them changes no later request of the matrix.
    ("PUT", "/api/policy"): {
        "min_notice_minutes": 0,
        "booking_horizon_days": 365,
        "cancellation_cutoff_hours": 0,
        "max_active_per_patient": 0,
        "reminder_offsets_minutes": [1440],
    },
}


def test_api5_every_route_has_a_policy_and_every_policy_a_route(app: FastAPI) -> None:
    routes = set(policed_routes(app))
    assert len(routes) >= 40  # the walk itself works
    assert sorted(routes - set(policy.POLICY)) == [], "routes without a policy entry"
    assert sorted(set(policy.POLICY) - routes) == [], "policy entries without a route"
    assert all(roles <= set(policy.CALLERS) for roles in policy.POLICY.values())


def test_api5_every_route_reading_a_body_has_a_sample_body(app: FastAPI) -> None:
    """Without a valid body a refused call could hide behind a 422."""
    readers = {(m, p) for m, p, route in api_routes(app) if route.body_field}
    assert sorted(r for r in readers & set(policy.POLICY) if r not in SAMPLE_BODIES) == []
    assert sorted(set(SAMPLE_BODIES) - set(policed_routes(app))) == []


async def test_api5_route_role_matrix(app: FastAPI, clinic: ApiClinic, engine: AsyncEngine) -> None:
    """Every policed route x every caller, in one world. Allowed callers act on their own
    records or on random ids; refused calls must leave the database as it was. Every
    violation is collected so a failure lists them all."""
    admin = await clinic.admin()
    doctor = await clinic.doctor(admin)
    patient = await clinic.patient()
    parties = {policy.ADMIN: admin, policy.DOCTOR: doctor, policy.PATIENT: patient}
    monday = next_monday(clinic.clock)
    violations: list[tuple[Any, ...]] = []
    checked = 0
    routes = policed_routes(app)
    for method, path in routes:
        allowed = policy.POLICY[(method, path)]
        for caller in policy.CALLERS:
            party = parties.get(caller)
            values = {
                "user_id": str(uuid.uuid4()),
                "department_id": str(uuid.uuid4()),
                "appointment_id": str(uuid.uuid4()),
                "time_off_id": str(uuid.uuid4()),
                "service_id": str(uuid.uuid4()),
                "room_id": str(uuid.uuid4()),
                "webhook_id": str(uuid.uuid4()),
                "calendar_feed_id": str(uuid.uuid4()),
                "hold_id": str(uuid.uuid4()),
                "entry_id": str(uuid.uuid4()),
                "day": str(monday),
                "practitioner_id": str(uuid.uuid4()),
                "token": uuid.uuid4().hex,
                "series_id": str(uuid.uuid4()),
                # API.md's "that doctor" / "the patient themself": the caller's own ids.
                "doctor_id": str(doctor.doctor_id if caller == policy.DOCTOR else uuid.uuid4()),
                "patient_id": str(patient.patient_id if caller == policy.PATIENT else uuid.uuid4()),
                "unique": uuid.uuid4().hex[:12],
                "login": str(patient.user["username"]),
                "starts_at": at(monday, 10).isoformat(),
                "ends_at": at(monday, 11).isoformat(),
            }
            headers = party.headers if party else {}
            if party and path == "/api/auth/logout":  # keep the party's own token usable
                headers = bearer(await clinic.login(str(party.user["username"])))
            before = None if caller in allowed else await snapshot(engine)
            response = await clinic.client.request(
                method,
                _fill(path, values),
                json=_fill(SAMPLE_BODIES.get((method, path)), values),
                headers=headers,
            )
            checked += 1
            if before is not None and await snapshot(engine) != before:
                violations.append((method, path, caller, "refused but changed the database"))
            status = response.status_code
            if caller in allowed:
                ok = status not in (401, 403) and status < 500
            elif party is None:
                ok = status == 401 and response.headers.get("www-authenticate") == "Bearer"
            else:
                ok = status == 403 and response.json().get("code") == "forbidden"
            if not ok:
                violations.append((method, path, caller, status, response.text[:200]))
    assert checked == len(routes) * len(policy.CALLERS)
    assert violations == []


# =========================================================================================
# API6:2023 Unrestricted Access to Sensitive Business Flows
# One patient cannot hold many doctors' time at once: overlapping bookings by the same
# patient are refused (409 patient_unavailable), also when fired concurrently, because
# PostgreSQL's exclusion constraint enforces it.
# =========================================================================================


async def test_api6_booking_flood_by_one_patient_is_bounded_by_the_overlap_rule(
    clinic: ApiClinic, engine: AsyncEngine
) -> None:
    admin = await clinic.admin()
    department = await clinic.department(admin)
    doctors = []
    for n in range(8):
        created = await clinic.client.post(
            "/api/doctors",
            json={
                "email": f"flood{n}@example.com",
                "username": f"flood{n}",
                "full_name": f"Dr Flood {n}",
                "password": PASSWORD,
                "department_id": department,
                "specialization": "GP",
            },
            headers=admin.headers,
        )
        assert created.status_code == 201, created.text
        doctors.append(created.json()["id"])
    patient = await clinic.patient()
    slot = at(next_monday(clinic.clock), 10)

    async def book(doctor_id: str, starts_at: Any) -> httpx.Response:
        return await clinic.client.post(
            "/api/appointments",
            json={"doctor_id": doctor_id, "starts_at": starts_at.isoformat()},
            headers=patient.headers,
        )

    flood = await asyncio.gather(*(book(d, slot) for d in doctors[:6]))
    statuses = sorted(r.status_code for r in flood)
    assert statuses == [201] + [409] * 5, statuses
    assert {r.json()["code"] for r in flood if r.status_code == 409} == {"patient_unavailable"}
    # Partly overlapping with another doctor: refused as well.
    partial = await book(doctors[6], slot + timedelta(minutes=15))
    assert partial.status_code == 409
    assert partial.json()["code"] == "patient_unavailable"
    active = tables.appointments.c.status.in_(["scheduled", "confirmed", "checked_in"])
    assert await count(engine, tables.appointments, active) == 1
    # It is the overlap rule, not a blanket cap: the adjacent slot is bookable.
    assert (await book(doctors[7], slot + timedelta(minutes=30))).status_code == 201


# =========================================================================================
# API7:2023 Server Side Request Forgery: the only URLs a client chooses are webhook
# endpoints (admins only). One whose host is, or resolves to, an internal address is
# refused before it is stored (the dispatcher asks the same guard before each delivery).
# =========================================================================================

SSRF_TARGETS = (
    "http://127.0.0.1:5432/",
    "http://localhost/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::ffff:169.254.169.254]/",
    "http://10.1.2.3/",
    "http://0x7f000001/",
    "file:///etc/passwd",
    "gopher://127.0.0.1:6379/_INFO",
)


async def test_api7_webhook_urls_cannot_target_internal_hosts(
    clinic: ApiClinic, engine: AsyncEngine
) -> None:
    admin = await clinic.admin()
    before = await snapshot(engine)
    for url in SSRF_TARGETS:
        response = await clinic.client.post(
            "/api/admin/webhooks", json={"url": url}, headers=admin.headers
        )
        assert response.status_code == 422, (url, response.text)
        assert response.json()["code"] == "webhook_url_not_allowed", url
    assert await snapshot(engine) == before


# =========================================================================================
# API8:2023 Security Misconfiguration
# =========================================================================================

ALLOWED_ORIGIN = "https://app.example.com"
OTHER_ORIGIN = "https://evil.example.net"


async def test_api8_cors_answers_only_the_configured_origin(
    app_with: Callable[..., FastAPI], open_client: OpenClient
) -> None:
    preflight = {
        "access-control-request-method": "GET",
        "access-control-request-headers": "authorization",
    }
    async with open_client(app_with(cors_origins=[ALLOWED_ORIGIN])) as client:
        for origin, expected in ((ALLOWED_ORIGIN, ALLOWED_ORIGIN), (OTHER_ORIGIN, None)):
            simple = await client.get("/health", headers={"origin": origin})
            assert simple.status_code == 200
            assert simple.headers.get("access-control-allow-origin") == expected, origin
            options = await client.options(
                "/api/departments", headers={"origin": origin, **preflight}
            )
            assert options.headers.get("access-control-allow-origin") == expected, origin
        assert options.status_code == 400  # the disallowed preflight is refused
    async with open_client(app_with()) as client:  # no CORS_ORIGINS: no cross-origin access
        response = await client.get("/health", headers={"origin": ALLOWED_ORIGIN})
        assert "access-control-allow-origin" not in response.headers


async def test_api8_error_responses_carry_no_traceback(
    app: FastAPI, container: Container, clinic: ApiClinic, open_client: OpenClient
) -> None:
    admin = await clinic.admin()

    async def explode(*_: Any) -> None:
        raise RuntimeError("internal detail /srv/app/secret.py line 42")

    container.list_departments.override(providers.Object(explode))
    errors = [
        ("GET", "/api/no-such-thing", None, 404),
        ("GET", f"/api/departments/{uuid.uuid4()}", None, 404),
        ("PUT", "/api/departments", None, 405),
        ("GET", "/api/doctors?limit=abc", None, 422),
        ("POST", "/api/departments", b"{not json", 400),
        ("GET", "/api/departments", None, 500),
    ]
    async with open_client(app, raise_app_exceptions=False) as client:
        for method, path, content, expected in errors:
            response = await client.request(
                method,
                path,
                content=content,
                headers={**admin.headers, "content-type": "application/json"},
            )
            assert response.status_code == expected, (path, response.text)
            assert "detail" in response.json()
            for needle in ("Traceback", 'File "', "RuntimeError", "internal detail", ".py"):
                assert needle not in response.text, (path, needle)
    assert response.json() == {"detail": "Internal server error.", "code": "internal_error"}


@pytest.mark.parametrize(
    "secret", [None, DEVELOPMENT_SECRET, "short-secret"], ids=["unset", "default", "short"]
)
def test_api8_production_refuses_a_default_or_weak_secret_key(
    monkeypatch: pytest.MonkeyPatch, secret: str | None
) -> None:
    for name in ("SECRET_KEY", "ENVIRONMENT"):
        monkeypatch.delenv(name, raising=False)
    values: dict[str, Any] = {"environment": "production"}
    if secret is not None:
        values["secret_key"] = secret
    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None, **values)  # type: ignore[call-arg]
    assert "SECRET_KEY" in str(refused.value)
    if secret is not None:
        assert secret not in str(refused.value)
    strong_values = {**values, "secret_key": "s" * 48}
    strong = Settings(_env_file=None, **strong_values)  # type: ignore[call-arg]
    assert strong.secret_key.get_secret_value() == "s" * 48


# =========================================================================================
# API9:2023 Improper Inventory Management
# What is served is exactly what is documented.
# =========================================================================================


async def test_api9_served_routes_equal_documented_operations(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    openapi = (await client.get("/openapi.json")).json()
    documented = {
        (method.upper(), path)
        for path, item in openapi["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }
    # HEAD is GET without the body (RFC 9110 9.3.2): documented by its GET.
    served = {("GET" if method == "HEAD" else method, path) for method, path, _ in api_routes(app)}
    assert len(served) >= 40
    # The one undocumented route: the other methods of /api/appointments/series, which
    # only answer 405 (else the appointment-id routes would take `series` for an id).
    guard = {(m, "/api/appointments/series") for m in ("GET", "PUT", "PATCH", "DELETE", "OPTIONS")}
    assert guard <= served
    for method, path in guard:
        answer = await client.request(method, path)
        assert (answer.status_code, answer.headers["allow"]) == (405, "POST"), method
    served -= guard
    assert served - documented == set(), "served but undocumented"
    assert documented - served == set(), "documented but not served"
    others = {
        str(c.path)
        for c in iter_route_contexts(app.routes)
        if not isinstance(c.original_route, APIRoute)
    }
    # The docs pages, and the Swagger UI / ReDoc files they load (a static mount: no CDN);
    # /metrics, for Prometheus, not for API clients: kept out of the schema on purpose
    # (answered to METRICS_ALLOW_FROM only, loopback by default; tests/api/test_metrics.py).
    assert others == {
        "/openapi.json",
        "/docs",
        "/docs/oauth2-redirect",
        "/redoc",
        "/docs/assets",
        "/metrics",
    }


# =========================================================================================
# API10:2023 Unsafe Consumption of APIs: not applicable. The service consumes no
# third-party API; its only upstream is its own PostgreSQL database.
# =========================================================================================


# =========================================================================================
# API3 (continued): nothing in any response of this module leaked a secret. Kept last so
# it scans what every test above received (run alone, it scans its own requests).
# =========================================================================================


def _keys(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from _keys(value)
    elif isinstance(node, list):
        for value in node:
            yield from _keys(value)


def _redacted_change(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and set(value) == {"old", "new"}
        and all(v in (REDACTED, None) for v in (value["old"], value["new"]))
        and REDACTED in (value["old"], value["new"])
    )


def _without_redacted(node: Any) -> Any:
    """Audit changes name a secret field whose value they redact ("the password was
    changed"): the name leaks nothing, so it is left out of the scan; its value is not."""
    if isinstance(node, dict):
        return {k: _without_redacted(v) for k, v in node.items() if not _redacted_change(v)}
    if isinstance(node, list):
        return [_without_redacted(v) for v in node]
    return node


def _scannable(seen: Recorded) -> str:
    """The body, minus the `loc` of validation errors: it names the fields the client sent
    (say an unknown `password_hash`), which leaks nothing; and minus redacted changes."""
    if not seen.body.startswith(("{", "[")):
        return seen.body
    body = _without_redacted(json.loads(seen.body))
    if seen.status == 422 and isinstance(body, dict) and isinstance(body.get("detail"), list):
        body["detail"] = [{k: v for k, v in e.items() if k != "loc"} for e in body["detail"]]
    return json.dumps(body)


async def test_api3_no_response_of_this_module_leaked_a_secret(
    world: World, recorded: list[Recorded]
) -> None:
    for path in (
        "/api/auth/me",
        "/api/admin/audit",
        "/api/admin/users",
        "/api/doctors",
        "/api/patients",
        "/api/appointments",
        f"/api/admin/users/{world.p.user['id']}",
    ):
        assert (await world.client.get(path, headers=world.admin.headers)).status_code == 200
    assert (await world.client.get("/openapi.json")).status_code == 200
    assert len(recorded) > 20
    for seen in recorded:
        body = _scannable(seen)
        for leak in LEAKS:
            assert leak not in body, (seen.method, seen.url, leak)
            assert leak not in seen.headers, (seen.method, seen.url, leak)
        if seen.url.endswith("/openapi.json") or not seen.body.startswith(("{", "[")):
            continue
        keys = set(_keys(_without_redacted(json.loads(seen.body))))
        assert not {k for k in keys if "password" in k.lower()}, (seen.method, seen.url)
