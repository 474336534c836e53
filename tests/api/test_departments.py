"""Departments over HTTP: shape, pagination, unique names, update and delete rules."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.api.support import ApiClinic, Party


async def _all(client: httpx.AsyncClient, admin: Party) -> list[dict[str, Any]]:
    response = await client.get("/api/departments", params={"limit": 100}, headers=admin.headers)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def test_create_returns_the_department_and_get_reads_it(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    created = await clinic.client.post(
        "/api/departments",
        json={"name": "  Cardiology ", "description": "Hearts"},
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert set(body) == {"id", "name", "description"}
    assert body["name"] == "Cardiology"
    assert body["description"] == "Hearts"
    uuid.UUID(body["id"])

    read = await clinic.client.get(f"/api/departments/{body['id']}", headers=admin.headers)
    assert read.status_code == 200
    assert read.json() == body


async def test_pages_are_disjoint_stable_and_cover_everything(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    names = ["Neurology", "anesthesia", "Cardiology", "dermatology", "Oncology"]
    for name in names:
        await clinic.department(admin, name)

    default = await clinic.client.get("/api/departments", headers=admin.headers)
    assert default.status_code == 200
    assert {k: v for k, v in default.json().items() if k != "items"} == {
        "total": 5,
        "limit": 20,
        "offset": 0,
    }

    seen: list[str] = []
    for offset in (0, 2, 4):
        page = await clinic.client.get(
            "/api/departments", params={"limit": 2, "offset": offset}, headers=admin.headers
        )
        assert page.status_code == 200
        body = page.json()
        assert (body["total"], body["limit"], body["offset"]) == (5, 2, offset)
        assert len(body["items"]) == min(2, 5 - offset)
        seen += [item["name"] for item in body["items"]]
    assert sorted(seen) == sorted(names)
    assert [d["name"] for d in await _all(clinic.client, admin)] == seen  # same order again

    beyond = await clinic.client.get(
        "/api/departments", params={"offset": 10}, headers=admin.headers
    )
    assert beyond.json()["items"] == []
    assert beyond.json()["total"] == 5


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"limit": 0}, 422),
        ({"limit": 101}, 422),
        ({"limit": -1}, 422),
        ({"offset": -1}, 422),
        ({"limit": "ten"}, 422),
        ({"limit": 1}, 200),
        ({"limit": 100}, 200),
        ({"offset": 0}, 200),
    ],
)
async def test_pagination_bounds(clinic: ApiClinic, params: dict[str, Any], status: int) -> None:
    admin = await clinic.admin()
    await clinic.department(admin)
    response = await clinic.client.get("/api/departments", params=params, headers=admin.headers)
    assert response.status_code == status, response.text
    if status == 422:
        assert isinstance(response.json()["detail"], list)
    else:
        assert response.json()["limit"] == params.get("limit", 20)


@pytest.mark.parametrize("duplicate", ["Cardiology", "cardiology", "CARDIOLOGY", " CarDiology "])
async def test_create_refuses_a_name_taken_in_any_case(clinic: ApiClinic, duplicate: str) -> None:
    admin = await clinic.admin()
    await clinic.department(admin, "Cardiology")
    response = await clinic.client.post(
        "/api/departments", json={"name": duplicate}, headers=admin.headers
    )
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "department_exists"
    assert [d["name"] for d in await _all(clinic.client, admin)] == ["Cardiology"]


@pytest.mark.parametrize("new_name", ["Cardiology", "cardiology", "CARDIOLOGY"])
async def test_rename_refuses_a_name_taken_in_any_case(clinic: ApiClinic, new_name: str) -> None:
    admin = await clinic.admin()
    await clinic.department(admin, "Cardiology")
    other = await clinic.department(admin, "Neurology")
    response = await clinic.client.patch(
        f"/api/departments/{other}", json={"name": new_name}, headers=admin.headers
    )
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "department_exists"
    unchanged = await clinic.client.get(f"/api/departments/{other}", headers=admin.headers)
    assert unchanged.json()["name"] == "Neurology"


async def test_rename_to_its_own_name_in_another_case_is_allowed(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    department = await clinic.department(admin, "Cardiology")
    response = await clinic.client.patch(
        f"/api/departments/{department}", json={"name": "CARDIOLOGY"}, headers=admin.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "CARDIOLOGY"


async def test_patch_changes_only_what_is_sent(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    created = await clinic.client.post(
        "/api/departments", json={"name": "Cardiology", "description": "old"}, headers=admin.headers
    )
    department = created.json()["id"]
    path = f"/api/departments/{department}"

    renamed = await clinic.client.patch(path, json={"name": "Heart"}, headers=admin.headers)
    assert renamed.status_code == 200
    assert renamed.json() == {"id": department, "name": "Heart", "description": "old"}

    described = await clinic.client.patch(path, json={"description": "new"}, headers=admin.headers)
    assert described.json() == {"id": department, "name": "Heart", "description": "new"}

    cleared = await clinic.client.patch(path, json={"description": None}, headers=admin.headers)
    assert cleared.json() == {"id": department, "name": "Heart", "description": None}
    read = await clinic.client.get(path, headers=admin.headers)
    assert read.json() == cleared.json()


@pytest.mark.parametrize(
    "body", [{"name": None}, {"name": ""}, {"name": "x" * 101}, {"colour": "red"}]
)
async def test_patch_refuses_invalid_input(clinic: ApiClinic, body: dict[str, Any]) -> None:
    admin = await clinic.admin()
    department = await clinic.department(admin, "Cardiology")
    response = await clinic.client.patch(
        f"/api/departments/{department}", json=body, headers=admin.headers
    )
    assert response.status_code == 422, response.text
    assert [d["name"] for d in await _all(clinic.client, admin)] == ["Cardiology"]


async def test_delete_removes_an_empty_department(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    department = await clinic.department(admin)
    deleted = await clinic.client.delete(f"/api/departments/{department}", headers=admin.headers)
    assert deleted.status_code == 204
    assert deleted.content == b""
    gone = await clinic.client.get(f"/api/departments/{department}", headers=admin.headers)
    assert gone.status_code == 404
    assert gone.json()["code"] == "not_found"
    again = await clinic.client.delete(f"/api/departments/{department}", headers=admin.headers)
    assert again.status_code == 404


async def test_delete_refuses_a_department_with_doctors(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    department = await clinic.department(admin, "Cardiology")
    doctor = await clinic.doctor(admin, department)
    response = await clinic.client.delete(f"/api/departments/{department}", headers=admin.headers)
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "department_not_empty"
    assert [d["id"] for d in await _all(clinic.client, admin)] == [department]

    # Even a deactivated doctor still belongs to it (their history points there).
    await clinic.client.delete(f"/api/doctors/{doctor.doctor_id}", headers=admin.headers)
    still = await clinic.client.delete(f"/api/departments/{department}", headers=admin.headers)
    assert still.status_code == 409
    assert still.json()["code"] == "department_not_empty"


@pytest.mark.parametrize(
    ("method", "body"), [("GET", None), ("PATCH", {"name": "Renamed"}), ("DELETE", None)]
)
async def test_unknown_department_is_404(
    clinic: ApiClinic, method: str, body: dict[str, Any] | None
) -> None:
    admin = await clinic.admin()
    await clinic.department(admin, "Cardiology")
    response = await clinic.client.request(
        method, f"/api/departments/{uuid.uuid4()}", json=body, headers=admin.headers
    )
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert [d["name"] for d in await _all(clinic.client, admin)] == ["Cardiology"]
