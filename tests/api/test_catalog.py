"""Services, rooms and the booking policy over HTTP, on SQLite and PostgreSQL: shapes,
status and error codes, filters, unique names, deactivation, and a policy that lives in
the database."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from appointments.entrypoints.api.app import create_app
from tests.api.support import ApiClinic, Party, client_for

SERVICE_FIELDS = {
    "id",
    "name",
    "department_id",
    "duration_minutes",
    "buffer_before_minutes",
    "buffer_after_minutes",
    "description",
    "is_active",
}
ROOM_FIELDS = {"id", "name", "department_id", "is_active"}
POLICY_FIELDS = {
    "min_notice_minutes",
    "booking_horizon_days",
    "cancellation_cutoff_hours",
    "max_active_per_patient",
    "reminder_offsets_minutes",
}
DEFAULT_POLICY = {
    "min_notice_minutes": 0,
    "booking_horizon_days": 365,
    "cancellation_cutoff_hours": 0,
    "max_active_per_patient": 0,
    "reminder_offsets_minutes": [1440],
}
POLICY = {
    "min_notice_minutes": 120,
    "booking_horizon_days": 60,
    "cancellation_cutoff_hours": 24,
    "max_active_per_patient": 3,
    "reminder_offsets_minutes": [2880, 60],
}


async def create_service(
    clinic: ApiClinic, admin: Party, department_id: str, name: str = "Check-up", **extra: Any
) -> dict[str, Any]:
    body = {"name": name, "department_id": department_id, "duration_minutes": 30, **extra}
    response = await clinic.client.post("/api/services", json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def create_room(
    clinic: ApiClinic, admin: Party, name: str = "Room 1", department_id: str | None = None
) -> dict[str, Any]:
    body = {"name": name, "department_id": department_id}
    response = await clinic.client.post("/api/rooms", json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def listed(clinic: ApiClinic, path: str, party: Party, **params: Any) -> list[dict[str, Any]]:
    response = await clinic.client.get(path, params={"limit": 100, **params}, headers=party.headers)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


# --- services ------------------------------------------------------------------------


async def test_create_and_read_a_service(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    department = await clinic.department(admin)
    created = await clinic.client.post(
        "/api/services",
        json={
            "name": "  Cardiac check ",
            "department_id": department,
            "duration_minutes": 45,
            "buffer_before_minutes": 5,
            "buffer_after_minutes": 10,
            "description": "ECG included",
        },
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert set(body) == SERVICE_FIELDS
    uuid.UUID(body["id"])
    assert {k: v for k, v in body.items() if k != "id"} == {
        "name": "Cardiac check",
        "department_id": department,
        "duration_minutes": 45,
        "buffer_before_minutes": 5,
        "buffer_after_minutes": 10,
        "description": "ECG included",
        "is_active": True,
    }
    for party in (admin, await clinic.doctor(admin), await clinic.patient()):
        read = await clinic.client.get(f"/api/services/{body['id']}", headers=party.headers)
        assert read.status_code == 200
        assert read.json() == body


async def test_a_service_needs_only_name_department_and_duration(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    service = await create_service(clinic, admin, await clinic.department(admin))
    assert (service["buffer_before_minutes"], service["buffer_after_minutes"]) == (0, 0)
    assert service["description"] is None


async def test_service_lists_filter_by_department_and_activity(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    first, second = await clinic.department(admin), await clinic.department(admin)
    b = await create_service(clinic, admin, first, "b-scan")
    a = await create_service(clinic, admin, first, "A-scan")
    other = await create_service(clinic, admin, second, "Consult")
    retired = await create_service(clinic, admin, first, "Retired")
    deleted = await clinic.client.delete(f"/api/services/{retired['id']}", headers=admin.headers)
    assert deleted.status_code == 204

    patient = await clinic.patient()
    page = await clinic.client.get("/api/services", headers=patient.headers)
    assert page.status_code == 200
    body = page.json()
    assert set(body) == {"items", "total", "limit", "offset"}
    assert (body["total"], body["limit"], body["offset"]) == (3, 20, 0)
    assert {s["id"] for s in body["items"]} == {a["id"], b["id"], other["id"]}
    assert all(set(s) == SERVICE_FIELDS for s in body["items"])

    mine = await listed(clinic, "/api/services", patient, department_id=first)
    assert [s["name"] for s in mine] == ["A-scan", "b-scan"]  # by name, any case
    inactive = await listed(clinic, "/api/services", patient, is_active="false")
    assert [s["id"] for s in inactive] == [retired["id"]]
    assert inactive[0]["is_active"] is False
    paged = await clinic.client.get(
        "/api/services", params={"limit": 1, "offset": 1}, headers=patient.headers
    )
    assert (paged.json()["total"], len(paged.json()["items"])) == (3, 1)


@pytest.mark.parametrize(
    "params", [{"department_id": "nope"}, {"is_active": "maybe"}, {"limit": 0}, {"offset": -1}]
)
async def test_bad_list_filters_are_422(clinic: ApiClinic, params: dict[str, Any]) -> None:
    admin = await clinic.admin()
    for path in ("/api/services", "/api/rooms"):
        response = await clinic.client.get(path, params=params, headers=admin.headers)
        assert response.status_code == 422, response.text
        assert isinstance(response.json()["detail"], list)


@pytest.mark.parametrize("duplicate", ["Check-up", "check-up", " CHECK-UP "])
async def test_a_service_name_is_unique_within_its_department(
    clinic: ApiClinic, duplicate: str
) -> None:
    admin = await clinic.admin()
    department, other = await clinic.department(admin), await clinic.department(admin)
    await create_service(clinic, admin, department, "Check-up")
    refused = await clinic.client.post(
        "/api/services",
        json={"name": duplicate, "department_id": department, "duration_minutes": 20},
        headers=admin.headers,
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "service_exists"
    elsewhere = await create_service(clinic, admin, other, duplicate)
    assert elsewhere["name"] == duplicate.strip()

    moved = await clinic.client.patch(
        f"/api/services/{elsewhere['id']}",
        json={"department_id": department},
        headers=admin.headers,
    )
    assert moved.status_code == 409, moved.text
    assert moved.json()["code"] == "service_exists"
    assert len(await listed(clinic, "/api/services", admin)) == 2


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"department_id": "unknown"}, "invalid_value"),
        ({"duration_minutes": 4}, "invalid_value"),
        ({"duration_minutes": 481}, "invalid_value"),
        ({"duration_minutes": 10**12}, "invalid_value"),
        ({"buffer_before_minutes": -1}, "invalid_value"),
        ({"buffer_after_minutes": 121}, "invalid_value"),
        ({"name": ""}, None),
        ({"name": "   "}, None),
        ({"name": "x" * 101}, None),
        ({"name": None}, None),
        ({"duration_minutes": "30"}, None),
        ({"duration_minutes": 30.5}, None),
        ({"duration_minutes": None}, None),
        ({"department_id": None}, None),
        ({"description": "x" * 5001}, None),
        ({"colour": "red"}, None),
        ({"is_active": False}, None),  # not a create field
    ],
)
async def test_create_service_refuses_bad_input(
    clinic: ApiClinic, change: dict[str, Any], code: str | None
) -> None:
    admin = await clinic.admin()
    department = await clinic.department(admin)
    if change.get("department_id") == "unknown":
        change = {"department_id": str(uuid.uuid4())}
    body = {"name": "Check-up", "department_id": department, "duration_minutes": 30, **change}
    response = await clinic.client.post("/api/services", json=body, headers=admin.headers)
    assert response.status_code == 422, response.text
    if code is None:
        assert isinstance(response.json()["detail"], list)
    else:
        assert response.json()["code"] == code
    assert await listed(clinic, "/api/services", admin, is_active="false") == []
    assert await listed(clinic, "/api/services", admin) == []


@pytest.mark.parametrize("missing", ["name", "department_id", "duration_minutes"])
async def test_create_service_needs_its_required_fields(clinic: ApiClinic, missing: str) -> None:
    admin = await clinic.admin()
    body: dict[str, Any] = {
        "name": "Check-up",
        "department_id": await clinic.department(admin),
        "duration_minutes": 30,
    }
    del body[missing]
    response = await clinic.client.post("/api/services", json=body, headers=admin.headers)
    assert response.status_code == 422, response.text
    assert isinstance(response.json()["detail"], list)


async def test_patch_service_changes_only_what_is_sent(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    department, other = await clinic.department(admin), await clinic.department(admin)
    service = await create_service(clinic, admin, department, description="old")
    path = f"/api/services/{service['id']}"

    changed = await clinic.client.patch(
        path, json={"duration_minutes": 60, "buffer_after_minutes": 15}, headers=admin.headers
    )
    assert changed.status_code == 200, changed.text
    assert changed.json() == {**service, "duration_minutes": 60, "buffer_after_minutes": 15}

    cleared = await clinic.client.patch(
        path,
        json={"description": None, "name": " CHECK-UP ", "department_id": other},
        headers=admin.headers,
    )
    assert cleared.status_code == 200, cleared.text
    expected = {
        **changed.json(),
        "description": None,
        "name": "CHECK-UP",
        "department_id": other,
    }
    assert cleared.json() == expected
    assert (await clinic.client.get(path, headers=admin.headers)).json() == expected


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"name": None}, None),
        ({"name": ""}, None),
        ({"duration_minutes": None}, None),
        ({"buffer_before_minutes": None}, None),
        ({"is_active": None}, None),
        ({"is_active": "yes"}, None),
        ({"department_id": None}, None),
        ({"id": str(uuid.uuid4())}, None),
        ({"duration_minutes": 1}, "invalid_value"),
        ({"buffer_after_minutes": 500}, "invalid_value"),
        ({"department_id": str(uuid.uuid4())}, "invalid_value"),
    ],
)
async def test_patch_service_refuses_bad_input(
    clinic: ApiClinic, body: dict[str, Any], code: str | None
) -> None:
    admin = await clinic.admin()
    service = await create_service(clinic, admin, await clinic.department(admin))
    path = f"/api/services/{service['id']}"
    response = await clinic.client.patch(path, json=body, headers=admin.headers)
    assert response.status_code == 422, response.text
    if code is None:
        assert isinstance(response.json()["detail"], list)
    else:
        assert response.json()["code"] == code
    assert (await clinic.client.get(path, headers=admin.headers)).json() == service


async def test_delete_service_deactivates_and_patch_reactivates(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    service = await create_service(clinic, admin, await clinic.department(admin))
    path = f"/api/services/{service['id']}"

    deleted = await clinic.client.delete(path, headers=admin.headers)
    assert deleted.status_code == 204
    assert deleted.content == b""
    read = await clinic.client.get(path, headers=admin.headers)
    assert read.status_code == 200
    assert read.json() == {**service, "is_active": False}
    assert await listed(clinic, "/api/services", admin) == []
    assert (await clinic.client.delete(path, headers=admin.headers)).status_code == 204

    back = await clinic.client.patch(path, json={"is_active": True}, headers=admin.headers)
    assert back.status_code == 200
    assert back.json() == service
    assert [s["id"] for s in await listed(clinic, "/api/services", admin)] == [service["id"]]


# --- rooms ---------------------------------------------------------------------------


async def test_create_and_read_rooms(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    department = await clinic.department(admin)
    created = await clinic.client.post(
        "/api/rooms", json={"name": "  Exam 1 ", "department_id": department}, headers=admin.headers
    )
    assert created.status_code == 201, created.text
    exam = created.json()
    assert set(exam) == ROOM_FIELDS
    assert {k: v for k, v in exam.items() if k != "id"} == {
        "name": "Exam 1",
        "department_id": department,
        "is_active": True,
    }
    lobby = await clinic.client.post("/api/rooms", json={"name": "lobby"}, headers=admin.headers)
    assert lobby.status_code == 201, lobby.text
    assert lobby.json()["department_id"] is None

    doctor = await clinic.doctor(admin)
    read = await clinic.client.get(f"/api/rooms/{exam['id']}", headers=doctor.headers)
    assert (read.status_code, read.json()) == (200, exam)
    assert [r["name"] for r in await listed(clinic, "/api/rooms", doctor)] == ["Exam 1", "lobby"]
    theirs = await listed(clinic, "/api/rooms", doctor, department_id=department)
    assert theirs == [exam]


@pytest.mark.parametrize("duplicate", ["Exam 1", "exam 1", " EXAM 1 "])
async def test_a_room_name_is_unique_in_the_clinic(clinic: ApiClinic, duplicate: str) -> None:
    admin = await clinic.admin()
    await create_room(clinic, admin, "Exam 1", await clinic.department(admin))
    for department in (None, await clinic.department(admin)):
        refused = await clinic.client.post(
            "/api/rooms",
            json={"name": duplicate, "department_id": department},
            headers=admin.headers,
        )
        assert refused.status_code == 409, refused.text
        assert refused.json()["code"] == "room_exists"
    other = await create_room(clinic, admin, "Other")
    renamed = await clinic.client.patch(
        f"/api/rooms/{other['id']}", json={"name": duplicate}, headers=admin.headers
    )
    assert renamed.status_code == 409
    assert renamed.json()["code"] == "room_exists"
    assert len(await listed(clinic, "/api/rooms", admin)) == 2


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"name": ""}, None),
        ({"name": "x" * 101}, None),
        ({"name": None}, None),
        ({}, None),
        ({"name": "Room", "department_id": "not-a-uuid"}, None),
        ({"name": "Room", "is_active": False}, None),
        ({"name": "Room", "department_id": str(uuid.uuid4())}, "invalid_value"),
    ],
)
async def test_create_room_refuses_bad_input(
    clinic: ApiClinic, body: dict[str, Any], code: str | None
) -> None:
    admin = await clinic.admin()
    response = await clinic.client.post("/api/rooms", json=body, headers=admin.headers)
    assert response.status_code == 422, response.text
    if code is None:
        assert isinstance(response.json()["detail"], list)
    else:
        assert response.json()["code"] == code
    assert await listed(clinic, "/api/rooms", admin, is_active="false") == []
    assert await listed(clinic, "/api/rooms", admin) == []


async def test_patch_and_delete_a_room(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    department = await clinic.department(admin)
    room = await create_room(clinic, admin, "Exam 1", department)
    path = f"/api/rooms/{room['id']}"

    renamed = await clinic.client.patch(path, json={"name": "EXAM 1"}, headers=admin.headers)
    assert renamed.status_code == 200, renamed.text
    assert renamed.json() == {**room, "name": "EXAM 1"}
    detached = await clinic.client.patch(path, json={"department_id": None}, headers=admin.headers)
    assert detached.json() == {**room, "name": "EXAM 1", "department_id": None}
    for body in ({"name": None}, {"is_active": None}, {"name": ""}, {"colour": "red"}):
        refused = await clinic.client.patch(path, json=body, headers=admin.headers)
        assert refused.status_code == 422, (body, refused.text)
    unknown = await clinic.client.patch(
        path, json={"department_id": str(uuid.uuid4())}, headers=admin.headers
    )
    assert (unknown.status_code, unknown.json()["code"]) == (422, "invalid_value")

    deleted = await clinic.client.delete(path, headers=admin.headers)
    assert deleted.status_code == 204
    read = await clinic.client.get(path, headers=admin.headers)
    assert read.json() == {**detached.json(), "is_active": False}
    assert await listed(clinic, "/api/rooms", admin) == []
    assert await listed(clinic, "/api/rooms", admin, is_active="false") == [read.json()]


async def test_a_department_with_services_or_rooms_is_not_deleted(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    with_service, with_room = await clinic.department(admin), await clinic.department(admin)
    await create_service(clinic, admin, with_service)
    await create_room(clinic, admin, "Exam", with_room)
    for department in (with_service, with_room):
        refused = await clinic.client.delete(
            f"/api/departments/{department}", headers=admin.headers
        )
        assert refused.status_code == 409, refused.text
        assert refused.json()["code"] == "department_not_empty"


# --- every resource: 401, 403 before validation, 404 ---------------------------------

WRITES = [
    ("POST", "/api/services"),
    ("PATCH", "/api/services/{service}"),
    ("DELETE", "/api/services/{service}"),
    ("POST", "/api/rooms"),
    ("PATCH", "/api/rooms/{room}"),
    ("DELETE", "/api/rooms/{room}"),
    ("PUT", "/api/policy"),
]


@pytest.mark.parametrize(("method", "path"), WRITES)
@pytest.mark.parametrize("body", [None, {"colour": "red", "name": ""}])
async def test_non_admins_get_403_before_their_body_is_validated(
    clinic: ApiClinic, method: str, path: str, body: dict[str, Any] | None
) -> None:
    admin = await clinic.admin()
    service = await create_service(clinic, admin, await clinic.department(admin))
    room = await create_room(clinic, admin)
    url = path.format(service=service["id"], room=room["id"])
    before = [await listed(clinic, p, admin) for p in ("/api/services", "/api/rooms")]
    for party in (await clinic.doctor(admin), await clinic.patient()):
        response = await clinic.client.request(method, url, json=body, headers=party.headers)
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "forbidden"
        anonymous = await clinic.client.request(method, url, json=body)
        assert anonymous.status_code == 401
        assert anonymous.headers["www-authenticate"] == "Bearer"
    assert [await listed(clinic, p, admin) for p in ("/api/services", "/api/rooms")] == before
    policy = await clinic.client.get("/api/policy", headers=admin.headers)
    assert policy.json() == DEFAULT_POLICY


@pytest.mark.parametrize(
    ("method", "body"), [("GET", None), ("PATCH", {"name": "Renamed"}), ("DELETE", None)]
)
@pytest.mark.parametrize("resource", ["services", "rooms"])
async def test_unknown_ids_are_404(
    clinic: ApiClinic, method: str, body: dict[str, Any] | None, resource: str
) -> None:
    admin = await clinic.admin()
    await create_service(clinic, admin, await clinic.department(admin))
    await create_room(clinic, admin)
    response = await clinic.client.request(
        method, f"/api/{resource}/{uuid.uuid4()}", json=body, headers=admin.headers
    )
    assert response.status_code == 404, response.text
    assert response.json()["code"] == "not_found"
    assert [s["name"] for s in await listed(clinic, f"/api/{resource}", admin)] != ["Renamed"]


@pytest.mark.parametrize("resource", ["services", "rooms"])
async def test_reads_need_a_login(clinic: ApiClinic, resource: str) -> None:
    for path in (f"/api/{resource}", f"/api/{resource}/{uuid.uuid4()}", "/api/policy"):
        response = await clinic.client.get(path)
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"


# --- the booking policy --------------------------------------------------------------


async def test_the_policy_starts_with_the_defaults(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    for party in (admin, await clinic.doctor(admin), await clinic.patient()):
        response = await clinic.client.get("/api/policy", headers=party.headers)
        assert response.status_code == 200
        assert response.json() == DEFAULT_POLICY


async def test_put_policy_persists_for_everyone(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    stored = await clinic.client.put("/api/policy", json=POLICY, headers=admin.headers)
    assert stored.status_code == 200, stored.text
    assert stored.json() == POLICY
    assert set(stored.json()) == POLICY_FIELDS

    patient = await clinic.patient()
    assert (await clinic.client.get("/api/policy", headers=patient.headers)).json() == POLICY
    # Another app (another worker) on the same database reads the same policy.
    async with client_for(create_app(clinic.container)) as other:
        read = await other.get("/api/policy", headers=patient.headers)
    assert (read.status_code, read.json()) == (200, POLICY)

    replaced = {**DEFAULT_POLICY, "reminder_offsets_minutes": []}
    again = await clinic.client.put("/api/policy", json=replaced, headers=admin.headers)
    assert again.json() == replaced
    assert (await clinic.client.get("/api/policy", headers=admin.headers)).json() == replaced


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"min_notice_minutes": -1}, "invalid_value"),
        ({"min_notice_minutes": 10081}, "invalid_value"),
        ({"booking_horizon_days": 0}, "invalid_value"),
        ({"booking_horizon_days": 731}, "invalid_value"),
        ({"cancellation_cutoff_hours": 337}, "invalid_value"),
        ({"max_active_per_patient": 101}, "invalid_value"),
        ({"max_active_per_patient": 10**30}, "invalid_value"),
        ({"reminder_offsets_minutes": [4]}, "invalid_value"),
        ({"reminder_offsets_minutes": [20161]}, "invalid_value"),
        ({"reminder_offsets_minutes": [10, 20, 30, 40, 50, 60]}, "invalid_value"),
        ({"reminder_offsets_minutes": ["60"]}, None),
        ({"reminder_offsets_minutes": 60}, None),
        ({"reminder_offsets_minutes": None}, None),
        ({"min_notice_minutes": "10"}, None),
        ({"min_notice_minutes": True}, None),
        ({"min_notice_minutes": None}, None),
        ({"colour": "red"}, None),
    ],
)
async def test_put_policy_refuses_bad_input(
    clinic: ApiClinic, change: dict[str, Any], code: str | None
) -> None:
    admin = await clinic.admin()
    await clinic.client.put("/api/policy", json=POLICY, headers=admin.headers)
    response = await clinic.client.put(
        "/api/policy", json={**POLICY, **change}, headers=admin.headers
    )
    assert response.status_code == 422, response.text
    if code is None:
        assert isinstance(response.json()["detail"], list)
    else:
        assert response.json()["code"] == code
        assert next(iter(change)) in response.json()["detail"]
    assert (await clinic.client.get("/api/policy", headers=admin.headers)).json() == POLICY


@pytest.mark.parametrize("missing", sorted(POLICY_FIELDS))
async def test_put_policy_takes_the_whole_policy(clinic: ApiClinic, missing: str) -> None:
    admin = await clinic.admin()
    body = {k: v for k, v in POLICY.items() if k != missing}
    response = await clinic.client.put("/api/policy", json=body, headers=admin.headers)
    assert response.status_code == 422, response.text
    assert (await clinic.client.get("/api/policy", headers=admin.headers)).json() == DEFAULT_POLICY


async def test_the_documented_bounds_are_the_domain_ones(clinic: ApiClinic) -> None:
    schemas = (await clinic.client.get("/openapi.json")).json()["components"]["schemas"]
    service = schemas["ServiceIn"]["properties"]
    assert (service["duration_minutes"]["minimum"], service["duration_minutes"]["maximum"]) == (
        5,
        480,
    )
    assert service["buffer_after_minutes"]["maximum"] == 120
    assert service["name"]["maxLength"] == 100
    policy = schemas["PolicyIn"]
    assert set(policy["required"]) == POLICY_FIELDS
    offsets = policy["properties"]["reminder_offsets_minutes"]
    assert offsets["maxItems"] == 5
    assert (offsets["items"]["minimum"], offsets["items"]["maximum"]) == (5, 20160)
    assert policy["properties"]["booking_horizon_days"]["minimum"] == 1
