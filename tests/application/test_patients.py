"""Patient records: the visibility matrix, creation, updates and deactivation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from uuid import UUID, uuid4

import pytest

from appointments.application.access import Actor
from appointments.application.appointments import Action
from appointments.application.errors import Forbidden, InvalidCredentials, NotAuthenticated
from appointments.application.patients import PatientChanges
from appointments.application.ports.queries import PageRequest
from appointments.domain.appointments import Status
from appointments.domain.errors import InvalidValue, NotFound
from appointments.domain.users import Role
from tests.application.conftest import Clinic


@dataclass
class Cast:
    actors: dict[str, Actor]
    patients: dict[str, UUID]


async def _cast(clinic: Clinic) -> Cast:
    """Doctor `a` treated patient `p` (the appointment is cancelled: had still counts);
    doctor `b` treated nobody; `q` is another patient; `f` a front-desk patient."""
    admin = await clinic.admin()
    a, b = await clinic.doctor(admin), await clinic.doctor(admin)
    p, q = await clinic.patient(), await clinic.patient()
    f = await clinic.front_desk_patient(admin, "Walk In Wendy")
    treated = await clinic.book(p, a, clinic.at(1, 10))
    await clinic.c.change_status()(p, treated.id, Action.CANCEL)
    assert p.patient_id is not None
    assert q.patient_id is not None
    return Cast(
        {"admin": admin, "a": a, "b": b, "p": p, "q": q},
        {"p": p.patient_id, "q": q.patient_id, "f": f.id},
    )


VISIBLE = {
    "admin": {"p", "q", "f"},
    "a": {"p"},
    "b": set(),
    "p": {"p"},
    "q": {"q"},
}


@pytest.mark.parametrize("viewer", VISIBLE)
async def test_get_patient_visibility(clinic: Clinic, viewer: str) -> None:
    cast = await _cast(clinic)
    get = clinic.c.get_patient()
    for name, patient_id in cast.patients.items():
        if name in VISIBLE[viewer]:
            found = await get(cast.actors[viewer], patient_id)
            assert found == clinic.state.patients[patient_id]
        else:
            with pytest.raises(NotFound):
                await get(cast.actors[viewer], patient_id)


@pytest.mark.parametrize("viewer", VISIBLE)
async def test_list_patients_visibility(clinic: Clinic, viewer: str) -> None:
    cast = await _cast(clinic)

    page = await clinic.c.list_patients()(cast.actors[viewer], None, PageRequest())

    assert {p.id for p in page.items} == {cast.patients[n] for n in VISIBLE[viewer]}
    assert page.total == len(VISIBLE[viewer])


@pytest.mark.parametrize(
    ("viewer", "q", "expected"),
    [("admin", "WENDY", {"f"}), ("admin", "patient", {"p", "q"}), ("a", "wendy", set())],
)
async def test_list_patients_query(clinic: Clinic, viewer: str, q: str, expected: set[str]) -> None:
    cast = await _cast(clinic)
    page = await clinic.c.list_patients()(cast.actors[viewer], q, PageRequest())
    assert {p.id for p in page.items} == {cast.patients[n] for n in expected}


@pytest.mark.parametrize("role", [Role.DOCTOR, Role.PATIENT])
async def test_actor_without_record_sees_no_patient(clinic: Clinic, role: Role) -> None:
    cast = await _cast(clinic)
    orphan = Actor(uuid4(), role)
    assert (await clinic.c.list_patients()(orphan, None, PageRequest())).total == 0
    with pytest.raises(NotFound):
        await clinic.c.get_patient()(orphan, cast.patients["p"])


@pytest.mark.parametrize(
    ("editor", "error"),
    # Doctors may never edit patients (403 whatever the id); another patient: 404.
    [("admin", None), ("p", None), ("a", Forbidden), ("b", Forbidden), ("q", NotFound)],
)
async def test_update_patient_permissions(
    clinic: Clinic, editor: str, error: type[Exception] | None
) -> None:
    cast = await _cast(clinic)
    patient_id = cast.patients["p"]
    data = PatientChanges(
        **{
            "full_name": " Renamed ",
            "email": "New@Example.COM",
            "phone": "555",
            "date_of_birth": date(1980, 2, 29),
        }
    )

    if error is not None:
        with clinic.commits_nothing(), pytest.raises(error):
            await clinic.c.update_patient()(cast.actors[editor], patient_id, data)
        return
    with clinic.commits_once():
        updated = await clinic.c.update_patient()(cast.actors[editor], patient_id, data)
    assert clinic.state.patients[patient_id] == updated
    assert (updated.full_name, updated.email, updated.phone, updated.date_of_birth) == (
        "Renamed",
        "New@example.com",
        "555",
        date(1980, 2, 29),
    )


async def test_update_patient_clears_optional_fields(clinic: Clinic) -> None:
    cast = await _cast(clinic)
    patient_id = cast.patients["p"]
    updated = await clinic.c.update_patient()(
        cast.actors["p"], patient_id, PatientChanges(**{"email": None, "phone": None})
    )
    assert (updated.email, updated.phone) == (None, None)
    assert updated.full_name == clinic.state.patients[patient_id].full_name != ""


@pytest.mark.parametrize(
    "values", [{"email": "not-an-email"}, {"full_name": "   "}, {"phone": "1", "full_name": ""}]
)
async def test_update_patient_refuses_invalid_values(
    clinic: Clinic, values: dict[str, object]
) -> None:
    cast = await _cast(clinic)
    with clinic.commits_nothing(), pytest.raises(InvalidValue):
        await clinic.c.update_patient()(
            cast.actors["admin"], cast.patients["p"], PatientChanges(**values)
        )


async def test_unknown_patient_is_not_found(clinic: Clinic, admin: Actor) -> None:
    with pytest.raises(NotFound):
        await clinic.c.get_patient()(admin, uuid4())
    with clinic.commits_nothing(), pytest.raises(NotFound):
        await clinic.c.update_patient()(admin, uuid4(), PatientChanges(**{"phone": "1"}))
    with clinic.commits_nothing(), pytest.raises(NotFound):
        await clinic.c.deactivate_patient()(admin, uuid4())


async def test_admin_creates_front_desk_patient(clinic: Clinic, admin: Actor) -> None:
    with clinic.commits_once():
        patient = await clinic.c.create_patient()(
            admin,
            PatientChanges(
                **{
                    "full_name": "Walk In",
                    "email": "w@Example.com",
                    "date_of_birth": date(2001, 1, 1),
                }
            ),
        )
    assert clinic.state.patients == {patient.id: patient}
    assert (patient.user_id, patient.full_name, patient.email) == (None, "Walk In", "w@example.com")
    assert (patient.date_of_birth, patient.is_active) == (date(2001, 1, 1), True)
    assert not clinic.state.users.keys() - {admin.user_id}


@pytest.mark.parametrize("kind", ["doctor", "patient"])
async def test_only_admins_create_patients(clinic: Clinic, admin: Actor, kind: str) -> None:
    actor = await clinic.doctor(admin) if kind == "doctor" else await clinic.patient()
    with clinic.commits_nothing(), pytest.raises(Forbidden):
        await clinic.c.create_patient()(actor, PatientChanges(**{"full_name": "Walk In"}))


async def test_create_patient_needs_a_name(clinic: Clinic, admin: Actor) -> None:
    with clinic.commits_nothing(), pytest.raises(InvalidValue):
        await clinic.c.create_patient()(admin, PatientChanges(**{"phone": "555"}))


async def test_deactivate_patient_cancels_future_appointments_and_login(
    clinic: Clinic, admin: Actor
) -> None:
    doctor = await clinic.doctor(admin)
    patient, other = await clinic.patient(), await clinic.patient()
    assert patient.patient_id is not None
    past = await clinic.book(patient, doctor, clinic.at(0, 9))
    scheduled = await clinic.book(patient, doctor, clinic.at(1, 9))
    confirmed = await clinic.book(patient, doctor, clinic.at(2, 9))
    await clinic.c.change_status()(doctor, confirmed.id, Action.CONFIRM)
    someone_else = await clinic.book(other, doctor, clinic.at(1, 10))
    username = clinic.state.users[patient.user_id].username
    token = await clinic.login(username)
    clinic.clock.at = clinic.at(0, 9, 30)
    before = dict(clinic.state.appointments)

    with clinic.commits_once():
        await clinic.c.deactivate_patient()(admin, patient.patient_id)

    after = clinic.state.appointments
    for appointment in (scheduled, confirmed):
        assert (after[appointment.id].status, after[appointment.id].cancellation_reason) == (
            Status.CANCELLED,
            "patient_deactivated",
        )
    assert after[past.id] == before[past.id]
    assert after[someone_else.id] == before[someone_else.id]
    assert not clinic.state.patients[patient.patient_id].is_active
    assert not clinic.state.users[patient.user_id].is_active
    with pytest.raises(NotAuthenticated):
        await clinic.authenticate(token)
    with pytest.raises(InvalidCredentials):
        await clinic.login(username)


async def test_deactivate_front_desk_patient(clinic: Clinic, admin: Actor) -> None:
    patient = await clinic.front_desk_patient(admin)
    doctor = await clinic.doctor(admin)
    booked = await clinic.book(admin, doctor, clinic.at(1, 9), patient.id)
    clinic.clock.advance(timedelta(minutes=1))

    with clinic.commits_once():
        await clinic.c.deactivate_patient()(admin, patient.id)

    assert not clinic.state.patients[patient.id].is_active
    assert clinic.state.appointments[booked.id].status is Status.CANCELLED


@pytest.mark.parametrize("kind", ["doctor", "patient"])
async def test_only_admins_deactivate_patients(clinic: Clinic, admin: Actor, kind: str) -> None:
    patient = await clinic.patient()
    assert patient.patient_id is not None
    actor = await clinic.doctor(admin) if kind == "doctor" else patient
    with clinic.commits_nothing(), pytest.raises(Forbidden):
        await clinic.c.deactivate_patient()(actor, patient.patient_id)
