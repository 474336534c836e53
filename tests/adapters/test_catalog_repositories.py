"""The repository contract for services, rooms and the booking policy, on every backend
(memory, SQLite, PostgreSQL): what goes in comes out, searches order, filter and page,
names are unique case-insensitively (refused by the storage itself, not only by the
use-cases' pre-checks), and the policy is one row that an upsert replaces."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from collections.abc import Awaitable, Sequence
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from appointments.adapters.sqlalchemy.errors import translate
from appointments.application.access import Actor
from appointments.application.ports.queries import CatalogFilter, PageRequest
from appointments.application.services import NewService
from appointments.container import Container
from appointments.domain.booking import BookingPolicy
from appointments.domain.departments import Department
from appointments.domain.errors import (
    DepartmentNotEmpty,
    DomainError,
    RoomExists,
    RoomUnavailable,
    ServiceExists,
)
from appointments.domain.rooms import Room
from appointments.domain.services import Service
from appointments.domain.users import Role
from tests.adapters.conftest import Backend, Seed, commit_with, count_rows, on

ALL = CatalogFilter(is_active=None)
ADMIN = Actor(user_id=uuid4(), role=Role.ADMIN)


def new_service(department: Department, name: str = "Check-up", **extra: Any) -> Service:
    return Service(name=name, department_id=department.id, duration_minutes=30, **extra)


async def add_all(backend: Backend, *entities: Service | Room) -> None:
    async with backend.uow() as uow:
        for entity in entities:
            if isinstance(entity, Service):
                await uow.services.add(entity)
            else:
                await uow.rooms.add(entity)
        await uow.commit()


# --- services ------------------------------------------------------------------------


async def test_service_round_trip_and_save(backend: Backend, seed: Seed) -> None:
    department, other = await seed.department(), await seed.department()
    service = new_service(
        department,
        buffer_before_minutes=5,
        buffer_after_minutes=120,
        description="with ECG",
    )
    await add_all(backend, service)
    async with backend.uow() as uow:
        assert await uow.services.get(service.id) == service
        assert await uow.services.get(uuid4()) is None

    changed = dataclasses.replace(
        service,
        name="Renamed",
        department_id=other.id,
        duration_minutes=480,
        buffer_before_minutes=0,
        buffer_after_minutes=0,
        description=None,
        is_active=False,
    )
    await commit_with(backend, lambda uow: uow.services.save(changed))
    async with backend.uow() as uow:
        assert await uow.services.get(service.id) == changed
    assert await backend.stored("services") == 1


async def test_saving_a_service_or_room_never_added_stores_nothing(
    backend: Backend, seed: Seed
) -> None:
    department = await seed.department()
    service, room = new_service(department), Room("Never added")
    async with backend.uow() as uow:
        await uow.services.save(service)
        await uow.rooms.save(room)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.services.get(service.id) is None
        assert await uow.rooms.get(room.id) is None
    assert (await backend.stored("services"), await backend.stored("rooms")) == (0, 0)


async def test_service_search_orders_filters_and_pages(backend: Backend, seed: Seed) -> None:
    first, second = await seed.department(), await seed.department()
    made = [
        new_service(first, "b-scan"),
        new_service(first, "A-scan"),
        new_service(first, "Consult", is_active=False),
        new_service(second, "ZZ"),
        new_service(second, "aa"),
    ]
    await add_all(backend, *made)
    by_name = {s.name: s for s in made}

    def key(s: Service) -> tuple[str, str]:
        return (str(s.department_id), s.name.lower())

    async with backend.uow() as uow:
        active = await uow.services.search(CatalogFilter(), PageRequest())
        everything = await uow.services.search(ALL, PageRequest(limit=2, offset=1))
        inactive = await uow.services.search(CatalogFilter(is_active=False), PageRequest())
        in_first = await uow.services.search(CatalogFilter(department_id=first.id), PageRequest())
        all_in_first = await uow.services.search(
            CatalogFilter(department_id=first.id, is_active=None), PageRequest()
        )
        none = await uow.services.search(CatalogFilter(department_id=uuid4()), PageRequest())

    expected = sorted((s for s in made if s.is_active), key=key)
    assert active.items == expected  # by department, then name in any case
    assert (active.total, active.limit, active.offset) == (4, 20, 0)
    assert everything.items == sorted(made, key=key)[1:3]
    assert everything.total == 5
    assert inactive.items == [by_name["Consult"]]
    assert in_first.items == [by_name["A-scan"], by_name["b-scan"]]
    assert [s.name for s in all_in_first.items] == ["A-scan", "b-scan", "Consult"]
    assert (none.items, none.total) == ([], 0)


async def test_service_names_are_taken_within_their_department(
    backend: Backend, seed: Seed
) -> None:
    first, second = await seed.department(), await seed.department()
    service = new_service(first, "Check-up")
    await add_all(backend, service)
    async with backend.uow() as uow:
        taken = uow.services.name_taken
        assert await taken(first.id, "CHECK-UP") is True
        assert await taken(first.id, "check-up", except_id=service.id) is False
        assert await taken(first.id, "Check") is False
        assert await taken(second.id, "Check-up") is False


@pytest.mark.parametrize("name", ["Check-up", "CHECK-UP", "check-up"])
async def test_a_duplicate_service_name_is_refused_by_the_storage(
    backend: Backend, seed: Seed, name: str
) -> None:
    department, other = await seed.department(), await seed.department()
    kept = new_service(department, "Check-up")
    elsewhere = new_service(other, name)
    await add_all(backend, kept, elsewhere)  # the same name in another department is fine

    with pytest.raises(ServiceExists):
        await commit_with(backend, lambda uow: uow.services.add(new_service(department, name)))
    moved = dataclasses.replace(elsewhere, department_id=department.id)
    with pytest.raises(ServiceExists):
        await commit_with(backend, lambda uow: uow.services.save(moved))
    async with backend.uow() as uow:
        assert await uow.services.get(elsewhere.id) == elsewhere
    assert await backend.stored("services") == 2


async def test_renaming_a_service_to_its_own_name_in_another_case_is_allowed(
    backend: Backend, seed: Seed
) -> None:
    service = new_service(await seed.department(), "Check-up")
    await add_all(backend, service)
    renamed = dataclasses.replace(service, name="CHECK-UP")
    await commit_with(backend, lambda uow: uow.services.save(renamed))
    async with backend.uow() as uow:
        assert await uow.services.get(service.id) == renamed


# --- rooms ---------------------------------------------------------------------------


async def test_room_round_trip_and_save(backend: Backend, seed: Seed) -> None:
    department = await seed.department()
    lobby, exam = Room("Lobby"), Room("Exam 1", department.id)
    await add_all(backend, lobby, exam)
    async with backend.uow() as uow:
        assert await uow.rooms.get(lobby.id) == lobby
        assert await uow.rooms.get(exam.id, lock=True) == exam
        assert await uow.rooms.get(uuid4()) is None

    changed = dataclasses.replace(exam, name="Exam A", department_id=None, is_active=False)
    await commit_with(backend, lambda uow: uow.rooms.save(changed))
    async with backend.uow() as uow:
        assert await uow.rooms.get(exam.id) == changed
        assert await uow.rooms.get(lobby.id) == lobby


async def test_room_search_orders_filters_and_pages(backend: Backend, seed: Seed) -> None:
    department = await seed.department()
    made = [
        Room("lobby"),
        Room("Exam 2", department.id),
        Room("exam 1", department.id),
        Room("Attic", is_active=False),
    ]
    await add_all(backend, *made)
    async with backend.uow() as uow:
        active = await uow.rooms.search(CatalogFilter(), PageRequest())
        second_page = await uow.rooms.search(ALL, PageRequest(limit=2, offset=2))
        theirs = await uow.rooms.search(CatalogFilter(department_id=department.id), PageRequest())
        inactive = await uow.rooms.search(CatalogFilter(is_active=False), PageRequest())
    assert [r.name for r in active.items] == ["exam 1", "Exam 2", "lobby"]  # any case
    assert active.total == 3
    assert [r.name for r in second_page.items] == ["Exam 2", "lobby"]
    assert second_page.total == 4
    assert [r.name for r in theirs.items] == ["exam 1", "Exam 2"]
    assert inactive.items == [made[3]]


@pytest.mark.parametrize("name", ["Lobby", "LOBBY", "lobby"])
async def test_a_duplicate_room_name_is_refused_by_the_storage(
    backend: Backend, seed: Seed, name: str
) -> None:
    department = await seed.department()
    lobby, other = Room("Lobby"), Room("Other", department.id)
    await add_all(backend, lobby, other)
    async with backend.uow() as uow:
        assert await uow.rooms.name_taken(name) is True
        assert await uow.rooms.name_taken(name, except_id=lobby.id) is False
        assert await uow.rooms.name_taken("Lobb") is False

    with pytest.raises(RoomExists):
        await commit_with(backend, lambda uow: uow.rooms.add(Room(name, department.id)))
    with pytest.raises(RoomExists):
        await commit_with(
            backend, lambda uow: uow.rooms.save(dataclasses.replace(other, name=name))
        )
    async with backend.uow() as uow:
        assert await uow.rooms.get(other.id) == other
    assert await backend.stored("rooms") == 2


# --- departments they refer to -------------------------------------------------------


@pytest.mark.parametrize("referrer", ["service", "room"])
async def test_deleting_a_department_its_services_or_rooms_name_is_refused(
    backend: Backend, seed: Seed, referrer: str
) -> None:
    department = await seed.department()
    entity = (
        new_service(department, is_active=False)
        if referrer == "service"
        else Room("Exam", department.id, is_active=False)
    )
    await add_all(backend, entity)
    with pytest.raises(DepartmentNotEmpty):
        await commit_with(backend, lambda uow: uow.departments.delete(department.id))
    async with backend.uow() as uow:
        assert await uow.departments.get(department.id) == department


# --- the booking policy --------------------------------------------------------------


async def test_the_policy_is_the_defaults_until_one_is_saved(backend: Backend) -> None:
    async with backend.uow(read_only=True) as uow:
        assert await uow.policy.get() == BookingPolicy()
    assert await backend.stored("booking_policy") == 0


async def test_saving_the_policy_replaces_its_single_row(backend: Backend) -> None:
    first = BookingPolicy(
        min_notice_minutes=90,
        booking_horizon_days=30,
        cancellation_cutoff_hours=48,
        max_active_per_patient=2,
        reminder_offsets_minutes=(2880, 60, 15),
    )
    second = BookingPolicy(booking_horizon_days=730, reminder_offsets_minutes=())
    await commit_with(backend, lambda uow: uow.policy.save(first))
    async with backend.uow() as uow:
        assert await uow.policy.get() == first
        assert isinstance((await uow.policy.get()).reminder_offsets_minutes, tuple)

    await commit_with(backend, lambda uow: uow.policy.save(second))
    async with backend.uow() as uow:
        assert await uow.policy.get() == second
    assert await backend.stored("booking_policy") == 1


async def test_an_uncommitted_policy_is_not_kept(backend: Backend) -> None:
    async with backend.uow() as uow:
        await uow.policy.save(BookingPolicy(min_notice_minutes=5))
        assert (await uow.policy.get()).min_notice_minutes == 5  # its own transaction sees it
    async with backend.uow() as uow:
        assert await uow.policy.get() == BookingPolicy()


# --- the constraints behind the friendly checks --------------------------------------


@pytest.mark.parametrize(
    ("constraint", "error"),
    [
        ("uq_services_department_id_name_lower", ServiceExists),
        ("uq_rooms_name_lower", RoomExists),
        ("ex_appointments_room_overlap", RoomUnavailable),
    ],
)
def test_constraint_names_map_to_domain_errors(constraint: str, error: type[DomainError]) -> None:
    violation = IntegrityError("INSERT ...", {}, Exception(f'violates "{constraint}"'))
    assert type(translate(violation)) is error


async def _race(calls: Sequence[Awaitable[object]]) -> tuple[list[object], list[BaseException]]:
    results = await asyncio.gather(*calls, return_exceptions=True)
    won = [r for r in results if not isinstance(r, BaseException)]
    lost = [r for r in results if isinstance(r, BaseException)]
    return won, lost


ATTEMPTS = 20


@on("sqlite", "postgres")
async def test_concurrent_creations_of_one_name_make_one(
    container: Container, engine: AsyncEngine, seed: Seed
) -> None:
    """Every attempt may pass the use-case's pre-check; the unique index keeps one."""
    department = await seed.department()
    names = [("Check-up" if i % 2 else "CHECK-UP") for i in range(ATTEMPTS)]
    services = [container.create_service()(ADMIN, NewService(n, department.id, 30)) for n in names]
    rooms = [container.create_room()(ADMIN, n, None) for n in names]

    for calls, error, table in (
        (services, ServiceExists, "services"),
        (rooms, RoomExists, "rooms"),
    ):
        won, lost = await _race(calls)
        kinds = Counter(type(e).__name__ for e in lost)
        by_database = sum(isinstance(e.__cause__, DBAPIError) for e in lost)
        print(f"\n[{engine.dialect.name}] {table}: won={len(won)} lost={kinds} db={by_database}")
        assert len(won) == 1
        assert all(isinstance(e, error) for e in lost), lost
        assert await count_rows(engine, f"SELECT count(*) FROM {table}") == 1
