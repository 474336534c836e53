"""PostgreSQL going away and coming back, seen through the HTTP API.

The app reaches PostgreSQL only through `TcpProxy`; the test cuts it (live connections
reset, new ones refused), makes it refuse like a restarting server (57P03), or makes it
silent. Requests must get a clean 503 `database_unavailable` quickly, `/health` must stay
up, nothing half-done may remain, and the same app must serve again once the database is
back.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import pytest
from dependency_injector import providers
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from appointments.adapters.sqlalchemy.tables import appointments
from appointments.adapters.sqlalchemy.unit_of_work import SqlUnitOfWork
from appointments.container import Container
from appointments.domain.appointments import Appointment
from tests.api.support import PASSWORD, ApiClinic, Party
from tests.faults.proxy import TcpProxy

pytestmark = pytest.mark.postgres

FAST = 4.0  # seconds: a refused or reset connection must fail well before a connect timeout
FAULTS = ["cut", "starting_up"]  # TcpProxy methods that make PostgreSQL unreachable


@dataclass(frozen=True)
class World:
    admin: Party
    doctor: Party
    patient: Party
    slot: datetime


@dataclass(frozen=True)
class Call:
    method: str
    url: str
    ok: int  # the status once the database is back
    who: Party | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)

    async def send(self, client: httpx.AsyncClient) -> httpx.Response:
        headers = self.who.headers if self.who else {}
        return await client.request(self.method, self.url, headers=headers, **self.kwargs)


async def build_world(clinic: ApiClinic) -> World:
    admin = await clinic.admin()
    doctor = await clinic.doctor(admin)
    patient = await clinic.patient()
    return World(admin, doctor, patient, clinic.next_working_day())


def _register(w: World) -> Call:
    body = {
        "email": "newcomer@example.com",
        "username": "newcomer",
        "full_name": "New Comer",
        "password": PASSWORD,
    }
    return Call("POST", "/api/auth/register", 201, kwargs={"json": body})


def _book(w: World) -> Call:
    body = {"doctor_id": w.doctor.doctor_id, "starts_at": w.slot.isoformat()}
    return Call("POST", "/api/appointments", 201, w.patient, {"json": body})


def _availability(w: World) -> Call:
    day = str(w.slot.date())
    params = {"date_from": day, "date_to": day}
    url = f"/api/doctors/{w.doctor.doctor_id}/availability"
    return Call("GET", url, 200, w.patient, {"params": params})


# Writes are repeated after the restore with the same body: a 201 then also proves the
# failed attempt left nothing behind (a leftover row would make it a 409).
CALLS: dict[str, Callable[[World], Call]] = {
    "login": lambda w: Call(
        "POST",
        "/api/auth/login",
        200,
        kwargs={"data": {"username": w.patient.user["username"], "password": PASSWORD}},
    ),
    "register": _register,
    "me (authentication only)": lambda w: Call("GET", "/api/auth/me", 200, w.patient),
    "list departments": lambda w: Call("GET", "/api/departments", 200, w.admin),
    "create department": lambda w: Call(
        "POST", "/api/departments", 201, w.admin, {"json": {"name": "Cardiology"}}
    ),
    "availability": _availability,
    "book": _book,
    "dashboard": lambda w: Call("GET", "/api/admin/dashboard/stats", 200, w.admin),
}


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"detail", "code"}, body
    assert body["code"] == "database_unavailable"
    assert isinstance(body["detail"], str)
    assert body["detail"]
    for leak in ("Traceback", "asyncpg", "sqlalchemy", "127.0.0.1"):
        assert leak not in response.text


async def count_appointments(direct: AsyncEngine) -> int:
    async with direct.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(appointments)))


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("make_call", CALLS.values(), ids=CALLS.keys())
async def test_request_while_database_is_down_is_503_then_served_again(
    clinic: ApiClinic, proxy: TcpProxy, fault: str, make_call: Callable[[World], Call]
) -> None:
    call = make_call(await build_world(clinic))
    getattr(proxy, fault)()

    started = time.monotonic()
    response = await call.send(clinic.client)
    assert time.monotonic() - started < FAST
    assert_unavailable(response)

    proxy.restore()
    again = await call.send(clinic.client)
    assert again.status_code == call.ok, again.text


@pytest.mark.parametrize("fault", FAULTS)
async def test_health_stays_up_while_readiness_follows_the_database(
    client: httpx.AsyncClient, proxy: TcpProxy, fault: str
) -> None:
    assert (await client.get("/health/ready")).status_code == 200
    getattr(proxy, fault)()

    health = await client.get("/health")
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    started = time.monotonic()
    assert_unavailable(await client.get("/health/ready"))
    assert time.monotonic() - started < FAST

    proxy.restore()
    ready = await client.get("/health/ready")
    assert (ready.status_code, ready.json()) == (200, {"status": "ok"})


@pytest.mark.parametrize("request_during_outage", [False, True])
async def test_pooled_connections_killed_by_the_outage_are_replaced(
    clinic: ApiClinic, container: Container, proxy: TcpProxy, request_during_outage: bool
) -> None:
    """The pool holds connections the outage killed; pre-ping must swap each one for a
    fresh connection, so the very first requests after the restore already succeed."""
    world = await build_world(clinic)
    engine = container.engine()
    held = [await engine.connect() for _ in range(3)]
    for connection in held:
        await connection.execute(text("SELECT 1"))
    for connection in held:
        await connection.close()
    pooled = engine.pool.checkedin()  # type: ignore[attr-defined]
    assert pooled >= 3

    proxy.cut()
    if request_during_outage:
        assert_unavailable(await clinic.client.get("/api/auth/me", headers=world.patient.headers))
    proxy.restore()
    accepted_before = proxy.accepted

    for _ in range(pooled + 1):
        me = await clinic.client.get("/api/auth/me", headers=world.patient.headers)
        assert me.status_code == 200, me.text
    assert proxy.accepted > accepted_before  # fresh connections, not the dead ones
    assert (await clinic.client.get("/health/ready")).status_code == 200


async def test_silent_network_gives_up_within_the_connect_timeout(
    clinic: ApiClinic, proxy: TcpProxy
) -> None:
    """Packets dropped, nothing refused: without a connect timeout asyncpg waits 60 s."""
    world = await build_world(clinic)
    proxy.blackhole()
    started = time.monotonic()
    ready = asyncio.create_task(clinic.client.get("/health/ready"))
    me = asyncio.create_task(clinic.client.get("/api/auth/me", headers=world.patient.headers))

    health = await clinic.client.get("/health")
    assert health.status_code == 200
    assert not ready.done()  # still waiting for the database
    assert not me.done()

    responses = await asyncio.wait_for(asyncio.gather(ready, me), timeout=25)
    assert time.monotonic() - started < 15  # the timeout is 5 s; asyncpg default 60 s
    for response in responses:
        assert_unavailable(response)

    proxy.restore()
    again = await clinic.client.get("/api/auth/me", headers=world.patient.headers)
    assert again.status_code == 200, again.text


# --- a booking cut off in the middle of its transaction ------------------------------


@dataclass
class Gate:
    """Where a booking transaction stops until the test has broken the connection."""

    # "before_add" or "after_add": the appointment handed to the unit of work, then only
    # the commit is left (on PostgreSQL it sends the row with its records, then COMMIT).
    point: str
    reached: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    backend_pid: int | None = None


class PausingUnitOfWork(SqlUnitOfWork):
    def __init__(self, engine: AsyncEngine, gate: Gate) -> None:
        super().__init__(engine)
        self._gate = gate

    async def __aenter__(self) -> PausingUnitOfWork:
        await super().__aenter__()
        add = self.appointments.add_at_commit  # what a booking writes with

        async def paused_add(appointment: Appointment) -> None:
            if self._gate.point == "before_add":
                await self._pause()
            await add(appointment)
            if self._gate.point == "after_add":
                await self._pause()

        self.appointments.add_at_commit = paused_add  # type: ignore[method-assign]
        return self

    async def _pause(self) -> None:
        assert self.connection is not None
        raw = await self.connection.get_raw_connection()
        self._gate.backend_pid = raw.driver_connection.get_server_pid()  # type: ignore[union-attr]
        self._gate.reached.set()
        await asyncio.wait_for(self._gate.release.wait(), timeout=10)


async def terminate_backend(direct: AsyncEngine, pid: int) -> None:
    """What a PostgreSQL restart or an operator does to a session; waits until it is gone."""
    async with direct.connect() as connection:
        assert await connection.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    for _ in range(100):
        # A fresh transaction each time: pg_stat_activity is a per-transaction snapshot.
        async with direct.connect() as connection:
            alive = await connection.scalar(
                text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
            )
        if not alive:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"backend {pid} still alive")


@pytest.mark.parametrize("fault", ["proxy_cut", "backend_terminated"])
@pytest.mark.parametrize("point", ["before_add", "after_add"])
async def test_booking_interrupted_mid_transaction_leaves_no_row(
    clinic: ApiClinic,
    container: Container,
    proxy: TcpProxy,
    direct: AsyncEngine,
    point: str,
    fault: str,
) -> None:
    world = await build_world(clinic)
    gate = Gate(point)
    container.uow.override(providers.Factory(PausingUnitOfWork, container.engine, gate))

    booking = asyncio.create_task(clinic.book(world.patient, world.doctor, world.slot))
    await asyncio.wait_for(gate.reached.wait(), timeout=10)
    assert gate.backend_pid is not None
    if fault == "proxy_cut":
        proxy.cut()
    else:
        await terminate_backend(direct, gate.backend_pid)
    gate.release.set()
    response = await asyncio.wait_for(booking, timeout=10)

    assert_unavailable(response)
    proxy.restore()
    assert await count_appointments(direct) == 0

    # The slot is still free: the same booking now goes through, exactly once.
    container.uow.reset_override()
    retried = await clinic.book(world.patient, world.doctor, world.slot)
    assert retried.status_code == 201, retried.text
    assert await count_appointments(direct) == 1
