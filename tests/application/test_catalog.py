"""Services, rooms and the booking policy: every role reads, admins manage. Names are
unique (a service's within its department, a room's in the clinic) case-insensitively,
deleting deactivates, and the policy is replaced as a whole."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID, uuid4

import pytest

from appointments.application.access import Actor
from appointments.application.errors import Forbidden
from appointments.application.ports.queries import CatalogFilter, PageRequest
from appointments.application.rooms import RoomChanges
from appointments.application.services import NewService, ServiceChanges
from appointments.container import Container
from appointments.domain.booking import BookingPolicy
from appointments.domain.errors import (
    DepartmentNotEmpty,
    InvalidValue,
    NotFound,
    RoomExists,
    ServiceExists,
)
from appointments.domain.rooms import Room
from appointments.domain.services import Service
from tests.application.conftest import Clinic

Call = Callable[[Container, Actor, UUID], Awaitable[object]]
ALL = CatalogFilter(is_active=None)


async def new_service(
    clinic: Clinic, admin: Actor, department_id: UUID, name: str = "Check-up", **extra: Any
) -> Service:
    data = NewService(name=name, department_id=department_id, duration_minutes=30, **extra)
    return await clinic.c.create_service()(admin, data)


async def new_room(
    clinic: Clinic, admin: Actor, name: str = "Room 1", department_id: UUID | None = None
) -> Room:
    return await clinic.c.create_room()(admin, name, department_id)


async def others(clinic: Clinic, admin: Actor) -> list[Actor]:
    """A doctor and a patient: the roles that may read but not manage."""
    return [await clinic.doctor(admin), await clinic.patient()]


# --- services ------------------------------------------------------------------------


async def test_create_service(clinic: Clinic, admin: Actor) -> None:
    department = await clinic.department(admin)
    data = NewService(
        name="  Cardiac check ",
        department_id=department.id,
        duration_minutes=45,
        buffer_before_minutes=5,
        buffer_after_minutes=10,
        description="ECG included",
    )
    with clinic.commits_once():
        service = await clinic.c.create_service()(admin, data)

    assert service == Service(
        name="Cardiac check",
        department_id=department.id,
        duration_minutes=45,
        buffer_before_minutes=5,
        buffer_after_minutes=10,
        description="ECG included",
        id=service.id,
    )
    assert service.is_active
    assert clinic.state.services == {service.id: service}


async def test_a_new_service_has_no_buffers_by_default(clinic: Clinic, admin: Actor) -> None:
    service = await new_service(clinic, admin, (await clinic.department(admin)).id)
    assert (service.buffer_before_minutes, service.buffer_after_minutes) == (0, 0)
    assert service.description is None


@pytest.mark.parametrize("name", ["Check-up", "check-up", " CHECK-UP "])
async def test_create_refuses_a_service_name_taken_in_its_department(
    clinic: Clinic, admin: Actor, name: str
) -> None:
    department = await clinic.department(admin)
    await new_service(clinic, admin, department.id, "Check-up")
    with clinic.commits_nothing(), pytest.raises(ServiceExists):
        await new_service(clinic, admin, department.id, name)


async def test_the_same_service_name_is_free_in_another_department(
    clinic: Clinic, admin: Actor
) -> None:
    first, second = await clinic.department(admin), await clinic.department(admin)
    one = await new_service(clinic, admin, first.id, "Check-up")
    other = await new_service(clinic, admin, second.id, "CHECK-UP")
    assert set(clinic.state.services) == {one.id, other.id}


async def test_create_refuses_an_unknown_department(clinic: Clinic, admin: Actor) -> None:
    await clinic.department(admin)
    with clinic.commits_nothing(), pytest.raises(InvalidValue, match="department"):
        await new_service(clinic, admin, uuid4())


@pytest.mark.parametrize(
    "values",
    [
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 101},
        {"duration_minutes": 4},
        {"duration_minutes": 481},
        {"buffer_before_minutes": -1},
        {"buffer_after_minutes": 121},
    ],
)
async def test_create_refuses_bad_values(
    clinic: Clinic, admin: Actor, values: dict[str, Any]
) -> None:
    department = await clinic.department(admin)
    data = {"name": "Check-up", "department_id": department.id, "duration_minutes": 30}
    with clinic.commits_nothing(), pytest.raises(InvalidValue):
        await clinic.c.create_service()(admin, NewService(**{**data, **values}))


async def test_services_are_read_by_every_role(clinic: Clinic, admin: Actor) -> None:
    first, second = await clinic.department(admin), await clinic.department(admin)
    made = [
        await new_service(clinic, admin, first.id, "b-scan"),
        await new_service(clinic, admin, first.id, "A-scan"),
        await new_service(clinic, admin, second.id, "Consult"),
    ]
    retired = await new_service(clinic, admin, first.id, "Retired")
    await clinic.c.delete_service()(admin, retired.id)
    retired.deactivate()

    for actor in [admin, *await others(clinic, admin)]:
        assert await clinic.c.get_service()(actor, made[0].id) == made[0]
        assert await clinic.c.get_service()(actor, retired.id) == retired  # still readable
        search = clinic.c.list_services()

        mine = await search(actor, CatalogFilter(department_id=first.id), PageRequest())
        assert [s.name for s in mine.items] == ["A-scan", "b-scan"]  # by name, any case
        assert mine.total == 2
        active = await search(actor, CatalogFilter(), PageRequest(limit=2, offset=1))
        assert active.total == 3
        assert (active.limit, active.offset, len(active.items)) == (2, 1, 2)
        everything = await search(actor, ALL, PageRequest())
        assert {s.id for s in everything.items} == {*(s.id for s in made), retired.id}
        inactive = await search(actor, CatalogFilter(is_active=False), PageRequest())
        assert inactive.items == [retired]


async def test_update_service_changes_only_what_was_sent(clinic: Clinic, admin: Actor) -> None:
    department = await clinic.department(admin)
    service = await new_service(clinic, admin, department.id, description="old")
    update = clinic.c.update_service()

    with clinic.commits_once():
        changed = await update(
            admin, service.id, ServiceChanges(duration_minutes=60, buffer_after_minutes=15)
        )
    assert (changed.name, changed.duration_minutes, changed.buffer_after_minutes) == (
        "Check-up",
        60,
        15,
    )
    assert (changed.description, changed.buffer_before_minutes) == ("old", 0)
    assert clinic.state.services[service.id] == changed

    renamed = await update(admin, service.id, ServiceChanges(name=" CHECK-UP ", description=None))
    assert (renamed.name, renamed.description, renamed.duration_minutes) == ("CHECK-UP", None, 60)
    assert clinic.state.services[service.id] == renamed


async def test_a_service_moves_to_another_department(clinic: Clinic, admin: Actor) -> None:
    first, second = await clinic.department(admin), await clinic.department(admin)
    service = await new_service(clinic, admin, first.id)
    moved = await clinic.c.update_service()(
        admin, service.id, ServiceChanges(department_id=second.id)
    )
    assert clinic.state.services[service.id].department_id == moved.department_id == second.id


async def test_a_deactivated_service_can_be_reactivated(clinic: Clinic, admin: Actor) -> None:
    service = await new_service(clinic, admin, (await clinic.department(admin)).id)
    await clinic.c.delete_service()(admin, service.id)
    again = await clinic.c.update_service()(admin, service.id, ServiceChanges(is_active=True))
    assert again.is_active
    assert clinic.state.services[service.id].is_active


@pytest.mark.parametrize("name", ["Consult", "consult", " CONSULT "])
async def test_rename_refuses_a_name_taken_in_the_department(
    clinic: Clinic, admin: Actor, name: str
) -> None:
    department = await clinic.department(admin)
    await new_service(clinic, admin, department.id, "Consult")
    service = await new_service(clinic, admin, department.id)
    with clinic.commits_nothing(), pytest.raises(ServiceExists):
        await clinic.c.update_service()(
            admin, service.id, ServiceChanges(name=name, duration_minutes=60)
        )


async def test_moving_refuses_a_name_taken_in_the_new_department(
    clinic: Clinic, admin: Actor
) -> None:
    first, second = await clinic.department(admin), await clinic.department(admin)
    await new_service(clinic, admin, second.id, "check-up")
    service = await new_service(clinic, admin, first.id, "Check-up")
    with clinic.commits_nothing(), pytest.raises(ServiceExists):
        await clinic.c.update_service()(admin, service.id, ServiceChanges(department_id=second.id))


@pytest.mark.parametrize(
    "changes",
    [
        ServiceChanges(name=""),
        ServiceChanges(name="x" * 101),
        ServiceChanges(duration_minutes=0),
        ServiceChanges(duration_minutes=481),
        ServiceChanges(buffer_before_minutes=121),
        ServiceChanges(buffer_after_minutes=-1),
        ServiceChanges(department_id=uuid4()),
    ],
)
async def test_update_refuses_bad_values(
    clinic: Clinic, admin: Actor, changes: ServiceChanges
) -> None:
    service = await new_service(clinic, admin, (await clinic.department(admin)).id)
    with clinic.commits_nothing(), pytest.raises(InvalidValue):
        await clinic.c.update_service()(admin, service.id, changes)


async def test_delete_service_deactivates_it(clinic: Clinic, admin: Actor) -> None:
    service = await new_service(clinic, admin, (await clinic.department(admin)).id)
    with clinic.commits_once():
        await clinic.c.delete_service()(admin, service.id)
    kept = clinic.state.services[service.id]
    assert not kept.is_active
    assert (kept.name, kept.duration_minutes) == (service.name, service.duration_minutes)
    page = await clinic.c.list_services()(admin, CatalogFilter(), PageRequest())
    assert page.items == []


SERVICE_CALLS: dict[str, Call] = {
    "create": lambda c, a, did: c.create_service()(
        a, NewService(name="New", department_id=did, duration_minutes=30)
    ),
    "update": lambda c, a, sid: c.update_service()(a, sid, ServiceChanges(name="Renamed")),
    "delete": lambda c, a, sid: c.delete_service()(a, sid),
}


@pytest.mark.parametrize("call", SERVICE_CALLS.values(), ids=SERVICE_CALLS.keys())
async def test_non_admins_may_not_manage_services(clinic: Clinic, admin: Actor, call: Call) -> None:
    department = await clinic.department(admin)
    service = await new_service(clinic, admin, department.id)
    target = department.id if call is SERVICE_CALLS["create"] else service.id
    for actor in await others(clinic, admin):
        with clinic.commits_nothing(), pytest.raises(Forbidden):
            await call(clinic.c, actor, target)


UNKNOWN_SERVICE: dict[str, Call] = {
    "get": lambda c, a, sid: c.get_service()(a, sid),
    "update": SERVICE_CALLS["update"],
    "delete": SERVICE_CALLS["delete"],
}


@pytest.mark.parametrize("call", UNKNOWN_SERVICE.values(), ids=UNKNOWN_SERVICE.keys())
async def test_unknown_service_is_not_found(clinic: Clinic, admin: Actor, call: Call) -> None:
    await new_service(clinic, admin, (await clinic.department(admin)).id)
    with clinic.commits_nothing(), pytest.raises(NotFound):
        await call(clinic.c, admin, uuid4())


# --- rooms ---------------------------------------------------------------------------


async def test_create_room(clinic: Clinic, admin: Actor) -> None:
    department = await clinic.department(admin)
    with clinic.commits_once():
        room = await clinic.c.create_room()(admin, "  Room 1 ", department.id)
    assert room == Room(name="Room 1", department_id=department.id, id=room.id)
    assert room.is_active
    assert clinic.state.rooms == {room.id: room}

    lobby = await new_room(clinic, admin, "Lobby")
    assert lobby.department_id is None
    assert clinic.state.rooms[lobby.id] == lobby


@pytest.mark.parametrize("name", ["Room 1", "room 1", " ROOM 1 "])
async def test_create_refuses_a_room_name_taken_anywhere(
    clinic: Clinic, admin: Actor, name: str
) -> None:
    await new_room(clinic, admin, "Room 1", (await clinic.department(admin)).id)
    other = await clinic.department(admin)
    with clinic.commits_nothing(), pytest.raises(RoomExists):
        await clinic.c.create_room()(admin, name, other.id)
    with clinic.commits_nothing(), pytest.raises(RoomExists):
        await clinic.c.create_room()(admin, name, None)


@pytest.mark.parametrize(
    ("name", "department"), [("", None), ("   ", None), ("x" * 101, None), ("Room", "unknown")]
)
async def test_create_room_refuses_bad_values(
    clinic: Clinic, admin: Actor, name: str, department: str | None
) -> None:
    await clinic.department(admin)
    with clinic.commits_nothing(), pytest.raises(InvalidValue):
        await clinic.c.create_room()(admin, name, uuid4() if department else None)


async def test_rooms_are_read_by_every_role(clinic: Clinic, admin: Actor) -> None:
    department = await clinic.department(admin)
    lobby = await new_room(clinic, admin, "lobby")
    exam = await new_room(clinic, admin, "Exam", department.id)
    old = await new_room(clinic, admin, "Old wing", department.id)
    await clinic.c.delete_room()(admin, old.id)
    old.deactivate()

    for actor in [admin, *await others(clinic, admin)]:
        assert await clinic.c.get_room()(actor, lobby.id) == lobby
        assert await clinic.c.get_room()(actor, old.id) == old
        search = clinic.c.list_rooms()
        active = await search(actor, CatalogFilter(), PageRequest())
        assert [r.name for r in active.items] == ["Exam", "lobby"]  # by name, any case
        assert active.total == 2
        theirs = await search(actor, CatalogFilter(department_id=department.id), PageRequest())
        assert theirs.items == [exam]
        everything = await search(actor, ALL, PageRequest(limit=1, offset=2))
        assert (everything.items, everything.total) == ([old], 3)


async def test_update_room(clinic: Clinic, admin: Actor) -> None:
    department = await clinic.department(admin)
    room = await new_room(clinic, admin, "Room 1", department.id)
    update = clinic.c.update_room()

    with clinic.commits_once():
        renamed = await update(admin, room.id, RoomChanges(name=" ROOM 1 "))
    assert (renamed.name, renamed.department_id) == ("ROOM 1", department.id)

    detached = await update(admin, room.id, RoomChanges(department_id=None))
    assert (detached.name, detached.department_id) == ("ROOM 1", None)
    assert clinic.state.rooms[room.id] == detached

    await clinic.c.delete_room()(admin, room.id)
    back = await update(admin, room.id, RoomChanges(department_id=department.id, is_active=True))
    assert (back.department_id, back.is_active) == (department.id, True)
    assert clinic.state.rooms[room.id] == back


@pytest.mark.parametrize("name", ["Lobby", "lobby", " LOBBY "])
async def test_rename_room_refuses_a_taken_name(clinic: Clinic, admin: Actor, name: str) -> None:
    await new_room(clinic, admin, "Lobby")
    room = await new_room(clinic, admin, "Room 1")
    with clinic.commits_nothing(), pytest.raises(RoomExists):
        await clinic.c.update_room()(admin, room.id, RoomChanges(name=name, is_active=False))


@pytest.mark.parametrize(
    "changes",
    [RoomChanges(name=""), RoomChanges(name="x" * 101), RoomChanges(department_id=uuid4())],
)
async def test_update_room_refuses_bad_values(
    clinic: Clinic, admin: Actor, changes: RoomChanges
) -> None:
    room = await new_room(clinic, admin)
    with clinic.commits_nothing(), pytest.raises(InvalidValue):
        await clinic.c.update_room()(admin, room.id, changes)


async def test_delete_room_deactivates_it(clinic: Clinic, admin: Actor) -> None:
    room = await new_room(clinic, admin)
    with clinic.commits_once():
        await clinic.c.delete_room()(admin, room.id)
    assert clinic.state.rooms[room.id] == Room(name=room.name, is_active=False, id=room.id)
    assert (await clinic.c.list_rooms()(admin, CatalogFilter(), PageRequest())).items == []


ROOM_CALLS: dict[str, Call] = {
    "create": lambda c, a, _: c.create_room()(a, "New room", None),
    "update": lambda c, a, rid: c.update_room()(a, rid, RoomChanges(name="Renamed")),
    "delete": lambda c, a, rid: c.delete_room()(a, rid),
}


@pytest.mark.parametrize("call", ROOM_CALLS.values(), ids=ROOM_CALLS.keys())
async def test_non_admins_may_not_manage_rooms(clinic: Clinic, admin: Actor, call: Call) -> None:
    room = await new_room(clinic, admin)
    for actor in await others(clinic, admin):
        with clinic.commits_nothing(), pytest.raises(Forbidden):
            await call(clinic.c, actor, room.id)


UNKNOWN_ROOM: dict[str, Call] = {
    "get": lambda c, a, rid: c.get_room()(a, rid),
    "update": ROOM_CALLS["update"],
    "delete": ROOM_CALLS["delete"],
}


@pytest.mark.parametrize("call", UNKNOWN_ROOM.values(), ids=UNKNOWN_ROOM.keys())
async def test_unknown_room_is_not_found(clinic: Clinic, admin: Actor, call: Call) -> None:
    await new_room(clinic, admin)
    with clinic.commits_nothing(), pytest.raises(NotFound):
        await call(clinic.c, admin, uuid4())


# --- departments they belong to ------------------------------------------------------


@pytest.mark.parametrize("referrer", ["service", "room"])
async def test_a_department_with_services_or_rooms_is_not_deleted(
    clinic: Clinic, admin: Actor, referrer: str
) -> None:
    """Even deactivated ones: booked appointments keep pointing at them."""
    department = await clinic.department(admin)
    if referrer == "service":
        service = await new_service(clinic, admin, department.id)
        await clinic.c.delete_service()(admin, service.id)
    else:
        room = await new_room(clinic, admin, department_id=department.id)
        await clinic.c.delete_room()(admin, room.id)
    with clinic.commits_nothing(), pytest.raises(DepartmentNotEmpty):
        await clinic.c.delete_department()(admin, department.id)


# --- the booking policy --------------------------------------------------------------

POLICY = {
    "min_notice_minutes": 120,
    "booking_horizon_days": 60,
    "cancellation_cutoff_hours": 24,
    "max_active_per_patient": 3,
    "reminder_offsets_minutes": [2880, 60],
}


async def test_the_defaults_apply_until_an_admin_stores_a_policy(
    clinic: Clinic, admin: Actor
) -> None:
    for actor in [admin, *await others(clinic, admin)]:
        assert await clinic.c.get_policy()(actor) == BookingPolicy()
    assert clinic.state.booking_policy == {}


async def test_put_policy_replaces_it_for_everyone(clinic: Clinic, admin: Actor) -> None:
    with clinic.commits_once():
        stored = await clinic.c.put_policy()(admin, **POLICY)
    expected = BookingPolicy(**{**POLICY, "reminder_offsets_minutes": (2880, 60)})
    assert stored == expected
    for actor in [admin, *await others(clinic, admin)]:
        assert await clinic.c.get_policy()(actor) == expected

    none = {**POLICY, "reminder_offsets_minutes": []}
    assert (await clinic.c.put_policy()(admin, **none)).reminder_offsets_minutes == ()
    assert (await clinic.c.get_policy()(admin)).reminder_offsets_minutes == ()


@pytest.mark.parametrize(
    "bad",
    [
        {"min_notice_minutes": -1},
        {"min_notice_minutes": 10081},
        {"booking_horizon_days": 0},
        {"booking_horizon_days": 731},
        {"cancellation_cutoff_hours": 337},
        {"max_active_per_patient": 101},
        {"reminder_offsets_minutes": [4]},
        {"reminder_offsets_minutes": [20161]},
        {"reminder_offsets_minutes": [10, 20, 30, 40, 50, 60]},
    ],
)
async def test_put_policy_refuses_values_out_of_range(
    clinic: Clinic, admin: Actor, bad: dict[str, Any]
) -> None:
    await clinic.c.put_policy()(admin, **POLICY)
    with clinic.commits_nothing(), pytest.raises(InvalidValue):
        await clinic.c.put_policy()(admin, **{**POLICY, **bad})


async def test_non_admins_may_not_put_the_policy(clinic: Clinic, admin: Actor) -> None:
    for actor in await others(clinic, admin):
        with clinic.commits_nothing(), pytest.raises(Forbidden):
            await clinic.c.put_policy()(actor, **POLICY)
