"""Departments: everyone reads, admins manage; names unique case-insensitively."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from uuid import UUID, uuid4

import pytest

from appointments.application.access import Actor
from appointments.application.departments import DepartmentChanges
from appointments.application.doctors import DoctorChanges
from appointments.application.errors import Forbidden
from appointments.application.ports.queries import PageRequest
from appointments.container import Container
from appointments.domain.errors import (
    DepartmentExists,
    DepartmentNotEmpty,
    InvalidValue,
    NotFound,
)
from tests.application.conftest import Clinic

Call = Callable[[Container, Actor, UUID], Awaitable[object]]

MANAGE: dict[str, Call] = {
    "create": lambda c, a, _: c.create_department()(a, "Radiology", None),
    "update": lambda c, a, did: c.update_department()(a, did, DepartmentChanges(name="Renamed")),
    "delete": lambda c, a, did: c.delete_department()(a, did),
}


async def test_create_department(clinic: Clinic, admin: Actor) -> None:
    with clinic.commits_once():
        department = await clinic.c.create_department()(admin, "  Cardiology ", "Hearts")

    assert (department.name, department.description) == ("Cardiology", "Hearts")
    assert clinic.state.departments == {department.id: department}


@pytest.mark.parametrize("name", ["Cardiology", "cardiology", " CARDIOLOGY  "])
async def test_create_refuses_existing_name_case_insensitively(
    clinic: Clinic, admin: Actor, name: str
) -> None:
    await clinic.department(admin, "Cardiology")
    with clinic.commits_nothing(), pytest.raises(DepartmentExists):
        await clinic.c.create_department()(admin, name, None)


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
async def test_create_refuses_bad_names(clinic: Clinic, admin: Actor, name: str) -> None:
    with clinic.commits_nothing(), pytest.raises(InvalidValue):
        await clinic.c.create_department()(admin, name, None)


async def test_get_and_list_for_every_role(clinic: Clinic, admin: Actor) -> None:
    names = ["neurology", "Cardiology", "Oncology"]
    created = [await clinic.department(admin, n) for n in names]
    doctor, patient = await clinic.doctor(admin, created[0].id), await clinic.patient()

    for actor in (admin, doctor, patient):
        assert await clinic.c.get_department()(actor, created[1].id) == created[1]
        page = await clinic.c.list_departments()(actor, PageRequest(limit=2, offset=1))
        assert [d.name for d in page.items] == ["neurology", "Oncology"]  # by name, no case
        assert (page.total, page.limit, page.offset) == (3, 2, 1)


async def test_update_department(clinic: Clinic, admin: Actor) -> None:
    department = await clinic.c.create_department()(admin, "Cardiology", "Hearts")
    update = clinic.c.update_department()

    with clinic.commits_once():
        renamed = await update(admin, department.id, DepartmentChanges(name="Cardiac Care"))
    assert (renamed.name, renamed.description) == ("Cardiac Care", "Hearts")

    cleared = await update(admin, department.id, DepartmentChanges(description=None))
    assert (cleared.name, cleared.description) == ("Cardiac Care", None)
    described = await update(admin, department.id, DepartmentChanges(description="New"))
    assert clinic.state.departments[department.id] == described
    assert (described.name, described.description) == ("Cardiac Care", "New")


async def test_rename_to_own_name_in_other_case_is_allowed(clinic: Clinic, admin: Actor) -> None:
    department = await clinic.department(admin, "Cardiology")
    renamed = await clinic.c.update_department()(
        admin, department.id, DepartmentChanges(name="CARDIOLOGY")
    )
    assert clinic.state.departments[department.id].name == renamed.name == "CARDIOLOGY"


@pytest.mark.parametrize("name", ["Oncology", "oncology", " ONCOLOGY "])
async def test_rename_refuses_existing_name_case_insensitively(
    clinic: Clinic, admin: Actor, name: str
) -> None:
    await clinic.department(admin, "Oncology")
    department = await clinic.department(admin, "Cardiology")
    with clinic.commits_nothing(), pytest.raises(DepartmentExists):
        await clinic.c.update_department()(
            admin, department.id, DepartmentChanges(name=name, description="changed")
        )


async def test_delete_department(clinic: Clinic, admin: Actor) -> None:
    keep, gone = await clinic.department(admin), await clinic.department(admin)
    with clinic.commits_once():
        await clinic.c.delete_department()(admin, gone.id)
    assert list(clinic.state.departments) == [keep.id]


async def test_delete_refuses_while_a_doctor_belongs(clinic: Clinic, admin: Actor) -> None:
    department, other = await clinic.department(admin), await clinic.department(admin)
    doctor = await clinic.doctor(admin, department.id)
    assert doctor.doctor_id is not None

    with clinic.commits_nothing(), pytest.raises(DepartmentNotEmpty):
        await clinic.c.delete_department()(admin, department.id)

    # Deactivating the doctor keeps them in the department (history is kept).
    await clinic.c.deactivate_doctor()(admin, doctor.doctor_id)
    with clinic.commits_nothing(), pytest.raises(DepartmentNotEmpty):
        await clinic.c.delete_department()(admin, department.id)

    await clinic.c.update_doctor()(
        admin, doctor.doctor_id, DoctorChanges(**{"department_id": other.id})
    )
    await clinic.c.delete_department()(admin, department.id)
    assert department.id not in clinic.state.departments


@pytest.mark.parametrize("call", MANAGE.values(), ids=MANAGE.keys())
@pytest.mark.parametrize("kind", ["doctor", "patient"])
async def test_non_admins_may_not_manage(
    clinic: Clinic, admin: Actor, call: Call, kind: str
) -> None:
    department = await clinic.department(admin)
    actor = await clinic.doctor(admin) if kind == "doctor" else await clinic.patient()

    with clinic.commits_nothing(), pytest.raises(Forbidden):
        await call(clinic.c, actor, department.id)


UNKNOWN: dict[str, Call] = {
    "get": lambda c, a, did: c.get_department()(a, did),
    "update": MANAGE["update"],
    "delete": MANAGE["delete"],
}


@pytest.mark.parametrize("call", UNKNOWN.values(), ids=UNKNOWN.keys())
async def test_unknown_department_is_not_found(clinic: Clinic, admin: Actor, call: Call) -> None:
    await clinic.department(admin)
    with clinic.commits_nothing(), pytest.raises(NotFound):
        await call(clinic.c, admin, uuid4())
