from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import time, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from appointments.adapters.clock import FixedClock
from appointments.domain.appointments import Status
from appointments.domain.users import Role
from appointments.entrypoints.api.app import create_app
from tests.api.support import (
    PASSWORD,
    USER_FIELDS,
    ApiClinic,
    Party,
    bearer,
    client_for,
    forbid_secrets_in_responses,
    make_container,
)

NEW_PASSWORD = "admin-set-passphrase"


@pytest.fixture(autouse=True)
def _no_secrets(client: httpx.AsyncClient) -> None:
    forbid_secrets_in_responses(client, NEW_PASSWORD)


def new_user(name: str, role: str = "PATIENT", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "email": f"{name}@example.com",
        "username": name,
        "full_name": f"Full {name}",
        "password": PASSWORD,
        "role": role,
    }
    body.update(changes)
    return body


async def create(clinic: ApiClinic, admin: Party, body: dict[str, Any]) -> dict[str, Any]:
    response = await clinic.client.post("/api/admin/users", json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    user: dict[str, Any] = response.json()
    return user


async def get_user(clinic: ApiClinic, admin: Party, user_id: str) -> dict[str, Any]:
    response = await clinic.client.get(f"/api/admin/users/{user_id}", headers=admin.headers)
    assert response.status_code == 200, response.text
    user: dict[str, Any] = response.json()
    return user


async def me_status(clinic: ApiClinic, token: str) -> int:
    return (await clinic.client.get("/api/auth/me", headers=bearer(token))).status_code


async def login_status(clinic: ApiClinic, username: str, password: str = PASSWORD) -> int:
    response = await clinic.client.post(
        "/api/auth/login", data={"username": username, "password": password}
    )
    return response.status_code


# --- who may use it ------------------------------------------------------------------


def admin_requests(target_id: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    """One valid request per admin endpoint, aimed at a real user."""
    return [
        ("GET", "/api/admin/dashboard/stats", None),
        ("GET", "/api/admin/users", None),
        ("POST", "/api/admin/users", new_user("intruder", role="ADMIN")),
        ("GET", f"/api/admin/users/{target_id}", None),
        ("PATCH", f"/api/admin/users/{target_id}", {"role": "PATIENT", "is_active": False}),
        ("DELETE", f"/api/admin/users/{target_id}", None),
    ]


@pytest.mark.parametrize("role", ["DOCTOR", "PATIENT", "anonymous"])
async def test_only_admins_may_use_admin_endpoints(clinic: ApiClinic, role: str) -> None:
    admin = await clinic.admin()
    caller: dict[str, str] = {}
    if role == "DOCTOR":
        caller = (await clinic.doctor(admin)).headers
    elif role == "PATIENT":
        caller = (await clinic.patient()).headers
    expected = 401 if role == "anonymous" else 403

    for method, path, body in admin_requests(admin.user["id"]):
        response = await clinic.client.request(method, path, json=body, headers=caller)
        assert response.status_code == expected, (method, path, response.text)
        assert response.json()["code"] == ("not_authenticated" if expected == 401 else "forbidden")
        if expected == 401:
            assert response.headers["WWW-Authenticate"] == "Bearer"

    # Nothing changed: the admin is still an active admin, no intruder was created.
    assert (await get_user(clinic, admin, admin.user["id"]))["role"] == "ADMIN"
    assert (await get_user(clinic, admin, admin.user["id"]))["is_active"] is True
    assert await login_status(clinic, "intruder") == 401


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/admin/users", {}),
        ("POST", "/api/admin/users", {"role": "ADMIN", "unknown": 1}),
        ("PATCH", "/api/admin/users/not-a-uuid", {"role": "nope"}),
        ("GET", "/api/admin/users?limit=1000", None),
        ("POST", "/api/departments", {}),
        ("POST", "/api/doctors", {"email": "x"}),
        ("POST", "/api/patients", []),
    ],
)
async def test_a_role_that_may_not_use_an_endpoint_gets_403_before_validation(
    clinic: ApiClinic, method: str, path: str, body: Any
) -> None:
    """An invalid request from a role that may never use the endpoint is 403, not 422:
    validation errors would describe an endpoint the caller has no business probing."""
    patient = await clinic.patient()
    response = await clinic.client.request(method, path, json=body, headers=patient.headers)
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "forbidden"


# --- list ----------------------------------------------------------------------------


async def test_list_filters_by_role_activity_and_text(clinic: ApiClinic) -> None:
    admin = await clinic.admin("boss")
    zed = await create(clinic, admin, new_user("zed_user", "DOCTOR", full_name="Zed Doctor"))
    ann = await create(clinic, admin, new_user("ann", "PATIENT", email="qwerty@mail.example"))
    bob = await create(clinic, admin, new_user("bob", "PATIENT", full_name="Robert Plumtree"))
    off = await create(clinic, admin, new_user("off", "ADMIN"))
    assert (
        await clinic.client.patch(
            f"/api/admin/users/{off['id']}", json={"is_active": False}, headers=admin.headers
        )
    ).status_code == 200

    async def usernames(**params: Any) -> set[str]:
        response = await clinic.client.get("/api/admin/users", params=params, headers=admin.headers)
        assert response.status_code == 200, response.text
        page = response.json()
        assert page["total"] == len(page["items"])
        return {u["username"] for u in page["items"]}

    everyone = {"boss", zed["username"], ann["username"], bob["username"], off["username"]}
    assert await usernames() == everyone
    assert await usernames(role="PATIENT") == {"ann", "bob"}
    assert await usernames(role="ADMIN") == {"boss", "off"}
    assert await usernames(role="DOCTOR") == {"zed_user"}
    assert await usernames(is_active="false") == {"off"}
    assert await usernames(is_active="true") == everyone - {"off"}
    assert await usernames(role="ADMIN", is_active="true") == {"boss"}
    assert await usernames(q="ZED_U") == {"zed_user"}  # username, any case
    assert await usernames(q="qwerty@MAIL") == {"ann"}  # email
    assert await usernames(q="plumtree") == {"bob"}  # full name
    assert await usernames(q="%") == set()  # a wildcard is matched literally
    assert await usernames(q="nothing-like-this") == set()


BAD_QUERIES: list[dict[str, Any]] = [
    {"limit": 0},
    {"limit": 101},
    {"offset": -1},
    {"limit": "ten"},
    {"role": "SUPERUSER"},
    {"is_active": "maybe"},
    {"q": "x" * 101},
]


async def test_list_rejects_bad_query(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    for params in BAD_QUERIES:
        response = await clinic.client.get("/api/admin/users", params=params, headers=admin.headers)
        assert response.status_code == 422, (params, response.text)
        assert isinstance(response.json()["detail"], list)
    for params in ({"limit": 1}, {"limit": 100}, {"offset": 0}):
        response = await clinic.client.get("/api/admin/users", params=params, headers=admin.headers)
        assert response.status_code == 200, (params, response.text)


async def test_list_pages_are_stable_and_complete(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    for n in range(6):
        await create(clinic, admin, new_user(f"paged{n}", clinic_role(n)))

    async def page(limit: int, offset: int) -> dict[str, Any]:
        response = await clinic.client.get(
            "/api/admin/users", params={"limit": limit, "offset": offset}, headers=admin.headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert (body["limit"], body["offset"], body["total"]) == (limit, offset, 7)
        return body

    full = [u["id"] for u in (await page(100, 0))["items"]]
    assert len(full) == len(set(full)) == 7
    assert [u["id"] for u in (await page(100, 0))["items"]] == full  # same order again
    pieces = [u["id"] for offset in range(0, 8, 3) for u in (await page(3, offset))["items"]]
    assert pieces == full
    assert (await page(1, 0))["items"][0]["id"] == full[0]
    assert (await page(20, 7))["items"] == []
    default = (await clinic.client.get("/api/admin/users", headers=admin.headers)).json()
    assert (default["limit"], default["offset"]) == (20, 0)
    assert all(set(u) == USER_FIELDS for u in default["items"])


def clinic_role(n: int) -> str:
    return [r.value for r in Role][n % len(Role)]


# --- create / get --------------------------------------------------------------------


@pytest.mark.parametrize("role", [r.value for r in Role])
async def test_create_user_with_each_role(clinic: ApiClinic, role: str) -> None:
    admin = await clinic.admin()
    user = await create(clinic, admin, new_user("newbie", role))
    assert set(user) == USER_FIELDS
    assert (user["role"], user["is_active"], user["username"]) == (role, True, "newbie")
    assert await get_user(clinic, admin, user["id"]) == user

    token = await clinic.login("newbie")
    me = (await clinic.client.get("/api/auth/me", headers=bearer(token))).json()
    assert me["role"] == role
    assert (me["patient_id"] is not None) == (role == "PATIENT")


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        ({"email": "TAKEN@example.com", "username": "fresh"}, 409, "email_taken"),
        ({"email": "fresh@example.com", "username": "Taken"}, 409, "username_taken"),
        ({"role": "ROOT"}, 422, "validation_failed"),
        ({"password": "Zq7#xW1"}, 422, "validation_failed"),
        ({"password": "Zq7#" * 32 + "x"}, 422, "validation_failed"),
        ({"username": "no spaces"}, 422, "validation_failed"),
        ({"phone": "123"}, 422, "validation_failed"),
    ],
)
async def test_create_user_refusals_create_nothing(
    clinic: ApiClinic, changes: dict[str, Any], status: int, code: str
) -> None:
    admin = await clinic.admin()
    await create(clinic, admin, new_user("taken"))
    body = new_user("fresh", **changes)
    response = await clinic.client.post("/api/admin/users", json=body, headers=admin.headers)
    assert response.status_code == status, response.text
    assert response.json().get("code") == code
    assert body["password"] not in response.text
    listed = await clinic.client.get("/api/admin/users", headers=admin.headers)
    assert listed.json()["total"] == 2


async def test_get_unknown_user_is_404(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    response = await clinic.client.get(f"/api/admin/users/{uuid4()}", headers=admin.headers)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    malformed = await clinic.client.get("/api/admin/users/not-a-uuid", headers=admin.headers)
    assert malformed.status_code == 422


@pytest.mark.parametrize(("method", "body"), [("PATCH", {"full_name": "Nobody"}), ("DELETE", None)])
async def test_changing_an_unknown_user_is_404(
    clinic: ApiClinic, method: str, body: dict[str, Any] | None
) -> None:
    admin = await clinic.admin()
    response = await clinic.client.request(
        method, f"/api/admin/users/{uuid4()}", json=body, headers=admin.headers
    )
    assert response.status_code == 404, response.text
    assert response.json()["code"] == "not_found"


# --- patch ---------------------------------------------------------------------------


async def test_patch_full_name_and_role(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    user = await create(clinic, admin, new_user("morph", "PATIENT"))
    response = await clinic.client.patch(
        f"/api/admin/users/{user['id']}",
        json={"full_name": "  Morph Renamed ", "role": "DOCTOR"},
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text
    patched = response.json()
    assert (patched["full_name"], patched["role"]) == ("Morph Renamed", "DOCTOR")
    assert {k: v for k, v in patched.items() if k not in ("full_name", "role")} == {
        k: v for k, v in user.items() if k not in ("full_name", "role")
    }
    assert await get_user(clinic, admin, user["id"]) == patched
    token = await clinic.login("morph")
    me = (await clinic.client.get("/api/auth/me", headers=bearer(token))).json()
    assert me["role"] == "DOCTOR"


async def test_role_change_takes_effect_on_existing_tokens(clinic: ApiClinic) -> None:
    """The token is only a key: the role is read from the user row on every request."""
    admin = await clinic.admin()
    patient = await clinic.patient()
    assert (await clinic.client.get("/api/admin/users", headers=patient.headers)).status_code == 403
    response = await clinic.client.patch(
        f"/api/admin/users/{patient.user['id']}", json={"role": "ADMIN"}, headers=admin.headers
    )
    assert response.status_code == 200, response.text
    assert (await clinic.client.get("/api/admin/users", headers=patient.headers)).status_code == 200


async def test_patch_password_replaces_it_and_revokes_tokens(
    clinic: ApiClinic, clock: FixedClock
) -> None:
    admin = await clinic.admin()
    patient = await clinic.patient()
    clock.advance(timedelta(seconds=1))
    response = await clinic.client.patch(
        f"/api/admin/users/{patient.user['id']}",
        json={"password": NEW_PASSWORD},
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text
    assert set(response.json()) == USER_FIELDS
    assert await me_status(clinic, patient.token) == 401
    assert await login_status(clinic, patient.user["username"]) == 401
    assert await login_status(clinic, patient.user["username"], NEW_PASSWORD) == 200


BAD_PATCHES: list[dict[str, Any]] = [
    {"full_name": None},
    {"role": None},
    {"is_active": None},
    {"password": None},
    {"is_active": "no"},
    {"role": "ROOT"},
    {"password": "Zq7#xW1"},
    {"password": "Zq7#" * 32 + "x"},
    {"full_name": ""},
    {"email": "changed@example.com"},
]


async def test_patch_rejects_bad_bodies_and_changes_nothing(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    user = await create(clinic, admin, new_user("steady"))
    for body in BAD_PATCHES:
        response = await clinic.client.patch(
            f"/api/admin/users/{user['id']}", json=body, headers=admin.headers
        )
        assert response.status_code == 422, (body, response.text)
        assert not [v for v in body.values() if isinstance(v, str) and v and v in response.text]
    assert await get_user(clinic, admin, user["id"]) == user
    assert await login_status(clinic, "steady") == 200


async def _deactivate_by_patch(clinic: ApiClinic, admin: Party, user_id: str) -> httpx.Response:
    return await clinic.client.patch(
        f"/api/admin/users/{user_id}", json={"is_active": False}, headers=admin.headers
    )


async def _deactivate_by_delete(clinic: ApiClinic, admin: Party, user_id: str) -> httpx.Response:
    return await clinic.client.delete(f"/api/admin/users/{user_id}", headers=admin.headers)


Deactivate = Callable[[ApiClinic, Party, str], Awaitable[httpx.Response]]
DEACTIVATIONS = [
    pytest.param(_deactivate_by_patch, 200, id="patch"),
    pytest.param(_deactivate_by_delete, 204, id="delete"),
]


@pytest.mark.parametrize(("deactivate", "status"), DEACTIVATIONS)
async def test_deactivation_revokes_tokens_and_keeps_the_user(
    clinic: ApiClinic, clock: FixedClock, deactivate: Deactivate, status: int
) -> None:
    admin = await clinic.admin()
    patient = await clinic.patient()
    clock.advance(timedelta(seconds=1))

    response = await deactivate(clinic, admin, patient.user["id"])
    assert response.status_code == status, response.text
    assert await me_status(clinic, patient.token) == 401
    assert await login_status(clinic, patient.user["username"]) == 401
    kept = await get_user(clinic, admin, patient.user["id"])
    assert kept["is_active"] is False
    assert kept["username"] == patient.user["username"]
    record = await clinic.client.get(f"/api/patients/{patient.patient_id}", headers=admin.headers)
    assert record.status_code == 200  # history is kept

    again = await clinic.client.patch(
        f"/api/admin/users/{patient.user['id']}", json={"is_active": True}, headers=admin.headers
    )
    assert again.status_code == 200
    assert again.json()["is_active"] is True
    assert await login_status(clinic, patient.user["username"]) == 200
    assert await me_status(clinic, patient.token) == 401  # revoked tokens stay revoked


@pytest.mark.parametrize(
    ("method", "body"),
    [
        pytest.param("PATCH", {"is_active": False}, id="patch-deactivate"),
        pytest.param("PATCH", {"role": "DOCTOR"}, id="patch-demote-doctor"),
        pytest.param("PATCH", {"role": "PATIENT", "full_name": "X"}, id="patch-demote-patient"),
        pytest.param("DELETE", None, id="delete"),
    ],
)
async def test_the_last_active_admin_cannot_be_removed(
    clinic: ApiClinic, method: str, body: dict[str, Any] | None
) -> None:
    admin = await clinic.admin()
    # An inactive admin does not count.
    spare = await create(clinic, admin, new_user("spare", "ADMIN"))
    assert (await _deactivate_by_delete(clinic, admin, spare["id"])).status_code == 204
    before = await get_user(clinic, admin, admin.user["id"])

    response = await clinic.client.request(
        method, f"/api/admin/users/{admin.user['id']}", json=body, headers=admin.headers
    )
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "last_admin"
    assert await get_user(clinic, admin, admin.user["id"]) == before
    assert await me_status(clinic, admin.token) == 200


@pytest.mark.parametrize(("deactivate", "status"), DEACTIVATIONS)
async def test_an_admin_can_be_removed_while_another_remains(
    clinic: ApiClinic, deactivate: Deactivate, status: int
) -> None:
    first = await clinic.admin()
    second = await clinic.admin()
    response = await deactivate(clinic, first, second.user["id"])
    assert response.status_code == status, response.text
    last = await deactivate(clinic, first, first.user["id"])
    assert last.status_code == 409
    assert last.json()["code"] == "last_admin"


async def test_demoting_an_admin_while_another_remains(clinic: ApiClinic) -> None:
    first = await clinic.admin()
    second = await clinic.admin()
    response = await clinic.client.patch(
        f"/api/admin/users/{first.user['id']}", json={"role": "DOCTOR"}, headers=second.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["role"] == "DOCTOR"
    assert (await clinic.client.get("/api/admin/users", headers=first.headers)).status_code == 403


# --- dashboard -----------------------------------------------------------------------


async def test_dashboard_counts_what_exists(clinic: ApiClinic, clock: FixedClock) -> None:
    clock.at = clinic.next_working_day(at=time(8))  # 08:00 UTC, before the working day
    admin = await clinic.admin()
    empty = await clinic.client.get("/api/admin/dashboard/stats", headers=admin.headers)
    assert empty.status_code == 200, empty.text
    assert empty.json() == {
        "users": {"total": 1, "active": 1, "by_role": {"ADMIN": 1, "DOCTOR": 0, "PATIENT": 0}},
        "departments": 0,
        "doctors": 0,
        "patients": 0,
        "appointments": {
            "total": 0,
            "by_status": {s.value: 0 for s in Status},
            "today": 0,
            "upcoming_7_days": 0,
            "late_cancellations_30d": 0,
            "no_shows_30d": 0,
        },
    }

    doctor = await clinic.doctor(admin)
    await clinic.department(admin)
    first, second = await clinic.patient(), await clinic.patient()
    bare = await create(clinic, admin, new_user("bare_doctor", "DOCTOR"))
    assert (await _deactivate_by_delete(clinic, admin, bare["id"])).status_code == 204

    today_10 = clinic.next_working_day(at=time(10), days_ahead=0)
    soon = clinic.next_working_day(at=time(10), days_ahead=1)
    later = clinic.next_working_day(at=time(10), days_ahead=10)
    booked = [
        await clinic.book(first, doctor, today_10),  # today, scheduled
        await clinic.book(second, doctor, today_10 + timedelta(hours=1)),  # today, cancelled
        await clinic.book(first, doctor, soon),  # within 7 days, confirmed
        await clinic.book(second, doctor, later),  # beyond 7 days
    ]
    assert [b.status_code for b in booked] == [201] * 4, [b.text for b in booked]
    ids = [b.json()["id"] for b in booked]
    for action, appointment_id in [("cancel", ids[1]), ("confirm", ids[2])]:
        moved = await clinic.client.post(
            f"/api/appointments/{appointment_id}/{action}", headers=admin.headers
        )
        assert moved.status_code == 200, moved.text

    response = await clinic.client.get("/api/admin/dashboard/stats", headers=admin.headers)
    assert response.status_code == 200, response.text
    by_status = {s.value: 0 for s in Status} | {"scheduled": 2, "cancelled": 1, "confirmed": 1}
    assert response.json() == {
        "users": {"total": 5, "active": 4, "by_role": {"ADMIN": 1, "DOCTOR": 2, "PATIENT": 2}},
        "departments": 2,
        "doctors": 1,
        "patients": 2,
        "appointments": {
            "total": 4,
            "by_status": by_status,
            "today": 1,
            "upcoming_7_days": 2,
            "late_cancellations_30d": 0,  # an admin cancelled, and there is no cut-off
            "no_shows_30d": 0,
        },
    }


async def test_dashboard_today_is_the_clinic_local_day(
    database_url: str, engine: AsyncEngine, clock: FixedClock
) -> None:
    """Honolulu is UTC-10: 16:00 there is already tomorrow in UTC, but still 'today'."""
    zone = "Pacific/Honolulu"
    container = make_container(database_url, engine, clock, clinic_timezone=zone)
    async with client_for(create_app(container)) as client:
        forbid_secrets_in_responses(client)
        clinic = ApiClinic(client, container, clock)
        clock.at = clinic.next_working_day(at=time(8), zone=zone)
        admin = await clinic.admin()
        doctor = await clinic.doctor(admin)
        patient = await clinic.patient()
        for hour in (10, 16):
            starts = clinic.next_working_day(at=time(hour), zone=zone, days_ahead=0)
            response = await clinic.book(patient, doctor, starts)
            assert response.status_code == 201, response.text
        stats = await client.get("/api/admin/dashboard/stats", headers=admin.headers)
        assert stats.status_code == 200, stats.text
        assert stats.json()["appointments"]["today"] == 2
        assert stats.json()["appointments"]["upcoming_7_days"] == 2
