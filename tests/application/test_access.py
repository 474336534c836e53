"""One rule, two paths: for every caller, a list shows exactly the records a single read
lets them open (the same scope object decides both), and a person keeps one name."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from uuid import UUID

import pytest

from appointments.application.access import Actor
from appointments.application.appointments import AppointmentQuery
from appointments.application.patients import PatientChanges
from appointments.application.ports.queries import PageRequest
from appointments.application.users import UserChanges
from appointments.domain.errors import NotFound
from tests.application.conftest import Clinic

EVERYTHING = PageRequest(limit=100)


async def _readable(ids: Iterable[UUID], read: Callable[[UUID], Awaitable[object]]) -> set[UUID]:
    """The ids a single read opens (the others are NotFound)."""
    found = set()
    for record_id in ids:
        try:
            await read(record_id)
        except NotFound:
            continue
        found.add(record_id)
    return found


@pytest.fixture
async def people(clinic: Clinic, admin: Actor) -> dict[str, Actor]:
    """Two doctors and three patients; p sees d twice, q sees o, r has no appointment."""
    d, o = await clinic.doctor(admin), await clinic.doctor(admin)
    p, q, r = await clinic.patient(), await clinic.patient(), await clinic.patient()
    await clinic.book(admin, d, clinic.at(1, 9), p)
    await clinic.book(admin, d, clinic.at(2, 9), p)
    await clinic.book(admin, o, clinic.at(1, 10), q)
    # A front-desk patient: only admins see them.
    await clinic.front_desk_patient(admin)
    return {"admin": admin, "d": d, "o": o, "p": p, "q": q, "r": r}


@pytest.mark.parametrize("who", ["admin", "d", "o", "p", "q", "r"])
async def test_appointment_list_and_single_reads_agree(
    clinic: Clinic, people: dict[str, Actor], who: str
) -> None:
    actor = people[who]
    listed = await clinic.c.list_appointments()(actor, AppointmentQuery(), EVERYTHING)
    get = clinic.c.get_appointment()
    readable = await _readable(clinic.state.appointments, lambda i: get(actor, i))
    assert {a.id for a in listed.items} == readable
    assert listed.total == len(readable)
    expected = {"admin": 3, "d": 2, "o": 1, "p": 2, "q": 1, "r": 0}[who]
    assert len(readable) == expected


@pytest.mark.parametrize("who", ["admin", "d", "o", "p", "q", "r"])
async def test_patient_list_and_single_reads_agree(
    clinic: Clinic, people: dict[str, Actor], who: str
) -> None:
    actor = people[who]
    listed = await clinic.c.list_patients()(actor, None, EVERYTHING)
    get = clinic.c.get_patient()
    readable = await _readable(clinic.state.patients, lambda i: get(actor, i))
    assert {p.id for p in listed.items} == readable
    expected = {"admin": 4, "d": 1, "o": 1, "p": 1, "q": 1, "r": 1}[who]
    assert len(readable) == expected


async def test_renaming_a_login_renames_its_patient_record(clinic: Clinic, admin: Actor) -> None:
    patient = await clinic.patient()
    await clinic.c.update_user()(admin, patient.user_id, UserChanges(full_name=" New Name "))
    assert patient.patient_id is not None
    assert clinic.state.patients[patient.patient_id].full_name == "New Name"
    assert clinic.state.users[patient.user_id].full_name == "New Name"


async def test_renaming_a_patient_record_renames_its_login(clinic: Clinic) -> None:
    patient = await clinic.patient()
    assert patient.patient_id is not None
    await clinic.c.update_patient()(
        patient, patient.patient_id, PatientChanges(full_name="Renamed Myself")
    )
    assert clinic.state.users[patient.user_id].full_name == "Renamed Myself"
    assert clinic.state.patients[patient.patient_id].full_name == "Renamed Myself"
