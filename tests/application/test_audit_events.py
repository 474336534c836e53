"""The audit trail: every write use-case records what it changed (field by field), on
which entity, by whom (None: the system or the console) and when, in the change's own
transaction; a refused request records nothing but a failed login; no secret leaks."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, time, timedelta
from typing import NamedTuple
from uuid import UUID, uuid4

import pytest

from appointments.adapters.memory.state import MemoryStore
from appointments.application.access import Actor
from appointments.application.appointments import Action, AppointmentChanges, BookingRequest
from appointments.application.departments import DepartmentChanges
from appointments.application.doctors import DoctorChanges
from appointments.application.errors import Forbidden, InvalidCredentials, TooManyAttempts
from appointments.application.events import REQUEST_ID, AuditEvent, EventActor
from appointments.application.patients import PatientChanges
from appointments.application.rooms import RoomChanges
from appointments.application.services import NewService, ServiceChanges
from appointments.application.users import NewUser, UserChanges
from appointments.domain.audit import REDACTED, Changes, Json
from appointments.domain.errors import DepartmentExists, DoctorUnavailable, NotFound
from appointments.domain.schedule import WeeklyInterval
from appointments.domain.users import Role, User
from tests.application.conftest import NOW, PASSWORD, Clinic, did, pid

NEW_PASSWORD = "another-horse-staple"
T0 = NOW.isoformat()


# --- helpers --------------------------------------------------------------------------


@contextmanager
def recording(store: MemoryStore) -> Iterator[list[AuditEvent]]:
    """The events committed inside the block, in order."""
    start, got = len(store.state.audit_events), list[AuditEvent]()
    yield got
    got.extend(store.state.audit_events[start:])


def events(store: MemoryStore, action: str | None = None) -> list[AuditEvent]:
    return [e for e in store.state.audit_events if action in (None, e.action)]


def last(store: MemoryStore) -> AuditEvent:
    return store.state.audit_events[-1]


def check(
    event: AuditEvent,
    action: str,
    entity_id: UUID | None,
    actor: Actor | User | None,
    *,
    entity_type: str | None = None,
    at: datetime = NOW,
) -> Changes:
    """Asserts who did what to which entity and when; returns the changes."""
    who = None
    if actor is not None:
        who = EventActor(actor.id if isinstance(actor, User) else actor.user_id, actor.role)
    actual = (event.action, event.entity_type, event.entity_id, event.actor, event.occurred_at)
    assert actual == (action, entity_type or action.partition(".")[0], entity_id, who, at)
    return event.changes


def born(changes: Changes) -> dict[str, Json]:
    """A created entity's fields: each one's `old` is None."""
    assert all(change["old"] is None for change in changes.values()), changes
    return {name: change["new"] for name, change in changes.items()}


def ch(**fields: tuple[Json, Json]) -> Changes:
    return {name: {"old": old, "new": new} for name, (old, new) in fields.items()}


def dumped(recorded: list[AuditEvent]) -> str:
    return json.dumps([dataclasses.asdict(e) for e in recorded], default=str)


def user_fields(user: User, role: Role) -> dict[str, Json]:
    return {
        "email": user.email,
        "username": user.username,
        "full_name": user.full_name,
        "role": role.value,
        "password": REDACTED,
        "created_at": T0,
        "is_active": True,
        "id": str(user.id),
    }


# --- users and authentication ---------------------------------------------------------


async def test_registration_is_recorded_as_done_by_the_new_user(
    clinic: Clinic, store: MemoryStore
) -> None:
    with recording(store) as got:
        user = await clinic.register("alice")
    registered, record = got
    (patient,) = clinic.state.patients.values()
    assert born(check(registered, "user.registered", user.id, user)) == user_fields(
        user, Role.PATIENT
    )
    assert born(check(record, "patient.created", patient.id, user)) == {
        "full_name": "Patient alice",
        "created_at": T0,
        "user_id": str(user.id),
        "email": "alice@example.com",
        "is_active": True,
        "id": str(patient.id),
    }


@pytest.mark.parametrize("role", list(Role))
async def test_admin_creates_a_user(
    clinic: Clinic, store: MemoryStore, admin: Actor, role: Role
) -> None:
    with recording(store) as got:
        user = await clinic.c.create_user()(
            admin, NewUser("u@example.com", "user1", "U", PASSWORD), role
        )
    assert born(check(got[0], "user.created", user.id, admin)) == user_fields(user, role)
    if role is Role.PATIENT:
        (patient,) = [p for p in clinic.state.patients.values() if p.user_id == user.id]
        assert born(check(got[1], "patient.created", patient.id, admin))["user_id"] == str(user.id)
    assert len(got) == (2 if role is Role.PATIENT else 1)


async def test_the_console_provisions_an_admin_as_nobody(
    clinic: Clinic, store: MemoryStore
) -> None:
    with recording(store) as got:
        user = await clinic.c.provision_admin()(NewUser("r@example.com", "root", "R", PASSWORD))
    (event,) = got
    assert born(check(event, "user.created", user.id, None)) == user_fields(user, Role.ADMIN)


async def test_admin_updates_a_user_and_the_password_stays_secret(
    clinic: Clinic, store: MemoryStore, admin: Actor
) -> None:
    user = await clinic.register("bob")
    changes = UserChanges(full_name="Robert", password=NEW_PASSWORD)
    with recording(store) as got:
        await clinic.c.update_user()(admin, user.id, changes)
    renamed, updated = got
    (patient,) = clinic.state.patients.values()
    assert check(renamed, "patient.updated", patient.id, admin) == ch(
        full_name=("Patient bob", "Robert")
    )
    assert check(updated, "user.updated", user.id, admin) == ch(
        full_name=("Patient bob", "Robert"),
        password=(REDACTED, REDACTED),
        tokens_valid_after=(None, T0),
    )
    text = dumped(got)
    for secret in (NEW_PASSWORD, user.password_hash, clinic.state.users[user.id].password_hash):
        assert secret not in text


async def test_deactivating_a_user(clinic: Clinic, store: MemoryStore, admin: Actor) -> None:
    user = await clinic.register()
    with recording(store) as got:
        await clinic.c.deactivate_user()(admin, user.id)
    (event,) = got
    assert check(event, "user.deactivated", user.id, admin) == ch(
        is_active=(True, False), tokens_valid_after=(None, T0)
    )


async def test_changing_ones_password(clinic: Clinic, store: MemoryStore) -> None:
    me = await clinic.patient()
    with recording(store) as got:
        await clinic.c.change_password()(me, PASSWORD, NEW_PASSWORD)
    (event,) = got
    assert check(event, "user.password_changed", me.user_id, me) == ch(
        password=(REDACTED, REDACTED), tokens_valid_after=(None, T0)
    )


async def test_login_and_logout(clinic: Clinic, store: MemoryStore) -> None:
    user = await clinic.register("carol")
    with recording(store) as got:
        me = await clinic.actor("carol")
        await clinic.c.logout()(me)
    login, logout = got
    assert check(login, "auth.login", user.id, user, entity_type="user") == {}
    assert check(logout, "auth.logout", user.id, user, entity_type="user") == {}


@pytest.mark.parametrize(("typed", "known"), [("Dave", True), ("ghost-login", False)])
async def test_a_failed_login_is_recorded_without_what_was_typed(
    clinic: Clinic, store: MemoryStore, typed: str, known: bool
) -> None:
    user = await clinic.register("dave")
    with recording(store) as got, pytest.raises(InvalidCredentials):
        await clinic.c.login()(typed, "typed-guess-123")
    (event,) = got
    entity_id = user.id if known else None
    assert check(event, "auth.login_failed", entity_id, None, entity_type="user") == {}
    text = dumped(got).lower()
    assert typed.lower() not in text
    assert "typed-guess-123" not in text


async def test_a_throttled_login_is_recorded_as_failed(clinic: Clinic, store: MemoryStore) -> None:
    user = await clinic.register("gail")
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            await clinic.c.login()("gail", "wrong-guess")
    with recording(store) as got, pytest.raises(TooManyAttempts):
        await clinic.c.login()("gail", PASSWORD)  # the right password, but too late
    (event,) = got
    assert check(event, "auth.login_failed", user.id, None, entity_type="user") == {}
    assert len(events(store, "auth.login_failed")) == 6


# --- catalog and policy ---------------------------------------------------------------


async def test_department_created_renamed_deleted(
    clinic: Clinic, store: MemoryStore, admin: Actor
) -> None:
    with recording(store) as got:
        department = await clinic.c.create_department()(admin, "A", None)
        await clinic.c.update_department()(admin, department.id, DepartmentChanges(name="B"))
        await clinic.c.delete_department()(admin, department.id)
    created, updated, deleted = got
    dep_id = str(department.id)
    assert born(check(created, "department.created", department.id, admin)) == {
        "name": "A",
        "id": dep_id,
    }
    assert check(updated, "department.updated", department.id, admin) == ch(name=("A", "B"))
    assert check(deleted, "department.deleted", department.id, admin) == ch(
        name=("B", None), id=(dep_id, None)
    )


async def test_service_created_updated_deleted(
    clinic: Clinic, store: MemoryStore, admin: Actor
) -> None:
    department = await clinic.department(admin)
    with recording(store) as got:
        service = await clinic.c.create_service()(
            admin, NewService("Checkup", department.id, 30, buffer_before_minutes=5)
        )
        changes = ServiceChanges(name="Long checkup", duration_minutes=45)
        await clinic.c.update_service()(admin, service.id, changes)
        await clinic.c.delete_service()(admin, service.id)
    created, updated, deleted = got
    assert born(check(created, "service.created", service.id, admin)) == {
        "name": "Checkup",
        "department_id": str(department.id),
        "duration_minutes": 30,
        "buffer_before_minutes": 5,
        "buffer_after_minutes": 0,
        "is_active": True,
        "id": str(service.id),
    }
    assert check(updated, "service.updated", service.id, admin) == ch(
        name=("Checkup", "Long checkup"), duration_minutes=(30, 45)
    )
    assert check(deleted, "service.deleted", service.id, admin) == ch(is_active=(True, False))


async def test_room_created_updated_deleted(
    clinic: Clinic, store: MemoryStore, admin: Actor
) -> None:
    department = await clinic.department(admin)
    with recording(store) as got:
        room = await clinic.c.create_room()(admin, "Room 1", department.id)
        changes = RoomChanges(name="Room 2", department_id=None)
        await clinic.c.update_room()(admin, room.id, changes)
        await clinic.c.delete_room()(admin, room.id)
    created, updated, deleted = got
    assert born(check(created, "room.created", room.id, admin)) == {
        "name": "Room 1",
        "department_id": str(department.id),
        "is_active": True,
        "id": str(room.id),
    }
    assert check(updated, "room.updated", room.id, admin) == ch(
        name=("Room 1", "Room 2"), department_id=(str(department.id), None)
    )
    assert check(deleted, "room.deleted", room.id, admin) == ch(is_active=(True, False))


async def test_policy_replaced(clinic: Clinic, store: MemoryStore, admin: Actor) -> None:
    with recording(store) as got:
        await clinic.c.put_policy()(
            admin,
            min_notice_minutes=60,
            booking_horizon_days=365,
            cancellation_cutoff_hours=0,
            max_active_per_patient=3,
            reminder_offsets_minutes=[60, 1440],
        )
    (event,) = got
    assert check(event, "policy.updated", None, admin) == ch(
        min_notice_minutes=(0, 60),
        max_active_per_patient=(0, 3),
        reminder_offsets_minutes=([1440], [60, 1440]),
    )


# --- doctors and their time -----------------------------------------------------------


async def test_doctor_created_with_its_login(
    clinic: Clinic, store: MemoryStore, admin: Actor
) -> None:
    department = await clinic.department(admin)
    data = NewUser("doc@example.com", "doc", "Dr Who", PASSWORD)
    with recording(store) as got:
        doctor = await clinic.c.create_doctor()(admin, data, department.id, "GP", "555-0100")
    login, record = got
    user = clinic.state.users[doctor.user_id]
    assert born(check(login, "user.created", user.id, admin)) == user_fields(user, Role.DOCTOR)
    assert born(check(record, "doctor.created", doctor.id, admin)) == {
        "user_id": str(user.id),
        "full_name": "Dr Who",
        "email": "doc@example.com",
        "department_id": str(department.id),
        "specialization": "GP",
        "phone": "555-0100",
        "is_active": True,
        "id": str(doctor.id),
    }


async def test_doctor_updated_by_admin_and_by_themself(
    clinic: Clinic, store: MemoryStore, admin: Actor
) -> None:
    doctor = await clinic.doctor(admin)
    old_name = clinic.state.users[doctor.user_id].full_name
    with recording(store) as got:
        changes = DoctorChanges(full_name="Dr New", specialization="Cardiology")
        await clinic.c.update_doctor()(admin, did(doctor), changes)
        await clinic.c.update_doctor()(doctor, did(doctor), DoctorChanges(phone="555-0199"))
    login, by_admin, by_self = got
    assert check(login, "user.updated", doctor.user_id, admin) == ch(full_name=(old_name, "Dr New"))
    assert check(by_admin, "doctor.updated", did(doctor), admin) == ch(
        full_name=(old_name, "Dr New"), specialization=("General practice", "Cardiology")
    )
    assert check(by_self, "doctor.updated", did(doctor), doctor) == ch(phone=(None, "555-0199"))


async def test_schedule_replaced_and_time_off_added_and_removed(
    clinic: Clinic, store: MemoryStore, admin: Actor
) -> None:
    doctor = await clinic.doctor(admin)
    start, end = clinic.at(1, 12), clinic.at(1, 13)
    with recording(store) as got:
        week = [WeeklyInterval(0, time(8), time(12))]
        await clinic.c.set_schedule()(doctor, did(doctor), week)
        off = await clinic.c.add_time_off()(doctor, did(doctor), start, end, "Dentist")
        await clinic.c.delete_time_off()(admin, did(doctor), off.id)
    schedule, added, removed = got
    default: list[Json] = [{"weekday": d, "start": "09:00:00", "end": "17:00:00"} for d in range(5)]
    new: list[Json] = [{"weekday": 0, "start": "08:00:00", "end": "12:00:00"}]
    assert check(schedule, "schedule.updated", did(doctor), doctor) == ch(intervals=(default, new))
    fields: dict[str, Json] = {
        "doctor_id": str(did(doctor)),
        "starts_at": start.isoformat(),
        "ends_at": end.isoformat(),
        "reason": "Dentist",
        "id": str(off.id),
    }
    assert born(check(added, "time_off.created", off.id, doctor)) == fields
    assert check(removed, "time_off.deleted", off.id, admin) == ch(
        **{name: (value, None) for name, value in fields.items()}
    )


def cascaded(reason: str) -> Changes:
    return ch(
        status=("scheduled", "cancelled"),
        cancellation_reason=(None, reason),
        cancelled_by=(None, "SYSTEM"),
        cancelled_at=(None, T0),
    )


async def test_doctor_deactivation_cascades_as_the_system(
    clinic: Clinic, store: MemoryStore, admin: Actor
) -> None:
    doctor, patient = await clinic.doctor(admin), await clinic.patient()
    booked = [await clinic.book(patient, doctor, clinic.at(day, 10)) for day in (1, 2)]
    with recording(store) as got:
        await clinic.c.deactivate_doctor()(admin, did(doctor))
    record, login, *cancelled = got
    assert check(record, "doctor.deactivated", did(doctor), admin) == ch(is_active=(True, False))
    assert check(login, "user.deactivated", doctor.user_id, admin) == ch(
        is_active=(True, False), tokens_valid_after=(None, T0)
    )
    assert sorted(str(e.entity_id) for e in cancelled) == sorted(str(a.id) for a in booked)
    for event in cancelled:
        changes = check(event, "appointment.cancelled", event.entity_id, None)
        assert changes == cascaded("doctor_deactivated")


# --- patients -------------------------------------------------------------------------


async def test_front_desk_patient_created_and_updated(
    clinic: Clinic, store: MemoryStore, admin: Actor
) -> None:
    with recording(store) as got:
        patient = await clinic.c.create_patient()(admin, PatientChanges("Walk In", phone="1"))
        await clinic.c.update_patient()(admin, patient.id, PatientChanges(phone="2"))
    created, updated = got
    assert born(check(created, "patient.created", patient.id, admin)) == {
        "full_name": "Walk In",
        "created_at": T0,
        "phone": "1",
        "is_active": True,
        "id": str(patient.id),
    }
    assert check(updated, "patient.updated", patient.id, admin) == ch(phone=("1", "2"))


async def test_patient_renames_themself_and_their_login(clinic: Clinic, store: MemoryStore) -> None:
    me = await clinic.patient()
    old = clinic.state.users[me.user_id].full_name
    with recording(store) as got:
        await clinic.c.update_patient()(me, pid(me), PatientChanges(full_name="New Name"))
    record, login = got
    assert check(record, "patient.updated", pid(me), me) == ch(full_name=(old, "New Name"))
    assert check(login, "user.updated", me.user_id, me) == ch(full_name=(old, "New Name"))


async def test_patient_deactivation_cascades_as_the_system(
    clinic: Clinic, store: MemoryStore, admin: Actor
) -> None:
    doctor, patient = await clinic.doctor(admin), await clinic.patient()
    booked = await clinic.book(patient, doctor, clinic.at(1, 10))
    with recording(store) as got:
        await clinic.c.deactivate_patient()(admin, pid(patient))
    record, login, cancelled = got
    assert check(record, "patient.deactivated", pid(patient), admin) == ch(is_active=(True, False))
    assert check(login, "user.deactivated", patient.user_id, admin) == ch(
        is_active=(True, False), tokens_valid_after=(None, T0)
    )
    changes = check(cancelled, "appointment.cancelled", booked.id, None)
    assert changes == cascaded("patient_deactivated")


# --- appointments ---------------------------------------------------------------------


class Cast(NamedTuple):
    admin: Actor
    doctor: Actor
    patient: Actor


@pytest.fixture
async def cast(clinic: Clinic, admin: Actor) -> Cast:
    return Cast(admin, await clinic.doctor(admin), await clinic.patient())


async def test_booking_records_every_field_as_new(
    clinic: Clinic, store: MemoryStore, cast: Cast
) -> None:
    start = clinic.at(1, 10)
    with recording(store) as got:
        booked = await clinic.c.book_appointment()(
            cast.patient,
            BookingRequest(did(cast.doctor), start, duration_minutes=45, reason="Checkup"),
        )
    (event,) = got
    assert born(check(event, "appointment.booked", booked.id, cast.patient)) == {
        "patient_id": str(pid(cast.patient)),
        "doctor_id": str(did(cast.doctor)),
        "department_id": str(booked.department_id),
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(minutes=45)).isoformat(),
        "created_at": T0,
        "status": "scheduled",
        "reason": "Checkup",
        "buffer_before": 0.0,
        "buffer_after": 0.0,
        "id": str(booked.id),
    }


async def test_an_appointment_from_booking_to_completion(
    clinic: Clinic, store: MemoryStore, cast: Cast
) -> None:
    booked = await clinic.book(cast.patient, cast.doctor, clinic.at(1, 10))
    change, update = clinic.c.change_status(), clinic.c.update_appointment()
    moved_to = clinic.at(1, 14)
    with recording(store) as got:
        await change(cast.doctor, booked.id, Action.CONFIRM)
        await update(cast.patient, booked.id, AppointmentChanges(reason="Headache"))
        await update(cast.admin, booked.id, AppointmentChanges(starts_at=moved_to))
        clinic.clock.at = moved_to - timedelta(minutes=10)
        await change(cast.doctor, booked.id, Action.CHECK_IN)
        clinic.clock.advance(timedelta(minutes=40))
        await change(cast.doctor, booked.id, Action.COMPLETE)
    confirmed, updated, moved, checked_in, completed = got
    a = booked.id
    assert check(confirmed, "appointment.confirmed", a, cast.doctor) == ch(
        status=("scheduled", "confirmed")
    )
    assert check(updated, "appointment.updated", a, cast.patient) == ch(reason=(None, "Headache"))
    assert check(moved, "appointment.rescheduled", a, cast.admin) == ch(
        starts_at=(booked.starts_at.isoformat(), moved_to.isoformat()),
        ends_at=(booked.ends_at.isoformat(), (moved_to + timedelta(minutes=30)).isoformat()),
        status=("confirmed", "scheduled"),
    )
    at = moved_to - timedelta(minutes=10)
    assert check(checked_in, "appointment.checked_in", a, cast.doctor, at=at) == ch(
        status=("scheduled", "checked_in")
    )
    at += timedelta(minutes=40)
    assert check(completed, "appointment.completed", a, cast.doctor, at=at) == ch(
        status=("checked_in", "completed")
    )


async def test_no_show_and_cancellation(clinic: Clinic, store: MemoryStore, cast: Cast) -> None:
    missed = await clinic.book(cast.patient, cast.doctor, clinic.at(1, 10))
    kept = await clinic.book(cast.patient, cast.doctor, clinic.at(2, 10))
    with recording(store) as got:
        await clinic.c.change_status()(cast.patient, kept.id, Action.CANCEL, "Feeling better")
        clinic.clock.at = missed.starts_at + timedelta(minutes=15)
        await clinic.c.change_status()(cast.doctor, missed.id, Action.NO_SHOW)
    cancelled, no_show = got
    assert check(cancelled, "appointment.cancelled", kept.id, cast.patient) == ch(
        status=("scheduled", "cancelled"),
        cancellation_reason=(None, "Feeling better"),
        cancelled_by=(None, "PATIENT"),
        cancelled_at=(None, T0),
    )
    at = clinic.clock.now()
    assert check(no_show, "appointment.no_show", missed.id, cast.doctor, at=at) == ch(
        status=("scheduled", "no_show")
    )


# --- what is not recorded, and what each record carries -------------------------------


async def test_a_refused_request_records_nothing(
    clinic: Clinic, store: MemoryStore, cast: Cast
) -> None:
    booked = await clinic.book(cast.patient, cast.doctor, clinic.at(1, 10))
    other = await clinic.patient()
    await clinic.department(cast.admin, "Taken")
    before = events(store)
    with clinic.commits_nothing(), pytest.raises(DoctorUnavailable):
        await clinic.book(other, cast.doctor, clinic.at(1, 10))
    with clinic.commits_nothing(), pytest.raises(Forbidden):
        await clinic.c.change_status()(cast.patient, booked.id, Action.CONFIRM)
    with clinic.commits_nothing(), pytest.raises(DepartmentExists):
        await clinic.c.create_department()(cast.admin, "taken", None)
    with clinic.commits_nothing(), pytest.raises(NotFound):
        await clinic.c.update_department()(cast.admin, uuid4(), DepartmentChanges(name="X"))
    with clinic.commits_nothing(), pytest.raises(NotFound):
        await clinic.c.update_patient()(cast.admin, uuid4(), PatientChanges(phone="1"))
    assert events(store) == before


async def test_the_request_id_is_recorded(clinic: Clinic, store: MemoryStore, admin: Actor) -> None:
    token = REQUEST_ID.set("req-1")
    try:
        await clinic.department(admin)
    finally:
        REQUEST_ID.reset(token)
    assert (last(store).action, last(store).request_id) == ("department.created", "req-1")
    await clinic.department(admin)
    assert last(store).request_id is None


async def test_no_event_holds_a_password_or_a_hash(
    clinic: Clinic, store: MemoryStore, cast: Cast
) -> None:
    user = await clinic.register("erin")
    await clinic.c.update_user()(cast.admin, user.id, UserChanges(password=NEW_PASSWORD))
    erin = await clinic.actor("erin", NEW_PASSWORD)
    await clinic.c.change_password()(erin, NEW_PASSWORD, PASSWORD)
    with pytest.raises(InvalidCredentials):
        await clinic.c.login()("erin", NEW_PASSWORD)
    await clinic.c.create_user()(
        cast.admin, NewUser("f@example.com", "frank", "Frank", PASSWORD), Role.PATIENT
    )
    booked = await clinic.book(cast.patient, cast.doctor, clinic.at(1, 10))
    await clinic.c.change_status()(cast.patient, booked.id, Action.CANCEL)
    await clinic.c.deactivate_doctor()(cast.admin, did(cast.doctor))
    await clinic.c.logout()(erin)

    text = dumped(events(store))
    assert REDACTED in text  # the scan does see the password changes
    assert {e.action for e in events(store)} >= {
        "user.registered", "user.created", "user.updated", "user.password_changed",
        "auth.login", "auth.login_failed", "auth.logout", "doctor.deactivated",
    }  # fmt: skip
    hashes = [u.password_hash for u in clinic.state.users.values()]
    for secret in (PASSWORD, NEW_PASSWORD, "$argon2", "password_hash", *hashes):
        assert secret not in text


async def test_a_non_change_records_nothing(
    clinic: Clinic, store: MemoryStore, admin: Actor
) -> None:
    """An empty PATCH, a rename to the same name, a second deactivation: nothing changed,
    so nothing is recorded (the trail lists changes, not requests)."""
    department = await clinic.c.create_department()(admin, "Same", None)
    doctor = await clinic.doctor(admin)
    await clinic.c.deactivate_doctor()(admin, did(doctor))
    with recording(store) as got:
        await clinic.c.update_department()(admin, department.id, DepartmentChanges())
        await clinic.c.update_department()(admin, department.id, DepartmentChanges(name="Same"))
        await clinic.c.deactivate_doctor()(admin, did(doctor))
    assert got == []


async def test_deactivating_through_a_patch_is_a_deactivation(
    clinic: Clinic, store: MemoryStore, admin: Actor
) -> None:
    user = await clinic.register()
    with recording(store) as got:
        await clinic.c.update_user()(admin, user.id, UserChanges(is_active=False))
    (event,) = got
    assert check(event, "user.deactivated", user.id, admin) == ch(
        is_active=(True, False), tokens_valid_after=(None, T0)
    )


async def test_recorded_values_are_plain_json(clinic: Clinic, store: MemoryStore) -> None:
    """Enum members (a StrEnum is a str) are stored as their plain values."""
    await clinic.register()
    (registered,) = events(store, "user.registered")
    assert type(registered.changes["role"]["new"]) is str
    recorded = [v for e in store.state.audit_events for c in e.changes.values() for v in c.values()]
    assert all(type(v) in (str, int, float, bool, list, dict, type(None)) for v in recorded)
