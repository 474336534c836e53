"""Many patients race for one slot: exactly one wins, every other gets doctor_unavailable,
and the database holds exactly one active appointment. In-process on both databases, then
against a real multi-worker server on PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from appointments.adapters.sqlalchemy.engine import create_engine
from appointments.adapters.sqlalchemy.tables import appointments
from appointments.domain.appointments import ACTIVE_STATUSES
from tests.api.support import PASSWORD, ApiClinic, bearer

REPOSITORY = Path(__file__).resolve().parents[2]
APP = REPOSITORY / ".venv" / "bin" / "appointments"
ACTIVE = [s.value for s in ACTIVE_STATUSES]


async def _active_rows(engine: AsyncEngine, doctor_id: str) -> int:
    query = (
        select(func.count())
        .select_from(appointments)
        .where(appointments.c.doctor_id == uuid.UUID(doctor_id), appointments.c.status.in_(ACTIVE))
    )
    async with engine.connect() as connection:
        return int((await connection.execute(query)).scalar_one())


def _outcomes(responses: list[httpx.Response]) -> Counter[tuple[int, str | None]]:
    return Counter(
        (r.status_code, None if r.status_code == 201 else r.json().get("code")) for r in responses
    )


async def test_concurrent_bookings_in_process(clinic: ApiClinic, engine: AsyncEngine) -> None:
    admin = await clinic.admin()
    doctor = await clinic.doctor(admin)
    patients = [await clinic.patient() for _ in range(30)]
    slot = clinic.next_working_day()

    responses = await asyncio.gather(*(clinic.book(p, doctor, slot) for p in patients))

    assert _outcomes(list(responses)) == {(201, None): 1, (409, "doctor_unavailable"): 29}
    assert await _active_rows(engine, str(doctor.doctor_id)) == 1
    winner = next(r for r in responses if r.status_code == 201).json()
    listed = await clinic.client.get(
        "/api/appointments", params={"doctor_id": doctor.doctor_id}, headers=admin.headers
    )
    assert [a["id"] for a in listed.json()["items"]] == [winner["id"]]


# --- a real server with two workers on PostgreSQL -----------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _server_env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CLINIC_TIMEZONE", "ENVIRONMENT")}
    env.update(
        DATABASE_URL=database_url,
        SECRET_KEY="race-test-secret-" + "x" * 40,
        PASSWORD_HASH_MEMORY_KIB="1024",
        PASSWORD_HASH_TIME_COST="1",
    )
    return env


def stop_server(process: subprocess.Popen[bytes]) -> None:
    """Graceful stop (SIGTERM), then the whole process group killed if it lingers."""
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def serve_app(
    env: dict[str, str], cwd: Path, port: int, log: Path, workers: int = 1
) -> subprocess.Popen[bytes]:
    """`appointments serve` on 127.0.0.1:`port` in a process group of its own (so
    stop_server can kill it whole), its output in `log`."""
    with log.open("wb") as out:  # the child keeps its own copy of the file
        return subprocess.Popen(
            [str(APP), "serve", "--host", "127.0.0.1", "--port", str(port),
             "--workers", str(workers)],
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip


@pytest.fixture
def server(postgres_url: str, tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """`appointments serve --workers 2` on a free loopback port; always stopped."""
    port = _free_port()
    env = _server_env(postgres_url)
    process = serve_app(env, tmp_path, port, tmp_path / "server.log", workers=2)
    try:
        yield f"http://127.0.0.1:{port}", env
    finally:
        stop_server(process)
        print((tmp_path / "server.log").read_text(errors="replace")[-2000:])


async def _wait_until_healthy(client: httpx.AsyncClient, deadline_seconds: float = 30) -> None:
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        try:
            if (await client.get("/health")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    pytest.fail(f"the server did not answer /health within {deadline_seconds} s")


async def create_admin(env: dict[str, str], username: str) -> None:
    """`appointments create-admin` for the served database, as an operator would."""
    created = await asyncio.to_thread(
        subprocess.run,
        [str(APP), "create-admin", "--username", username, "--email",
         f"{username}@example.com", "--full-name", "Race Admin", "--password-stdin"],
        input=PASSWORD + "\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr


async def _created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


@pytest.mark.slow
@pytest.mark.postgres
async def test_fifty_concurrent_bookings_against_two_workers(
    server: tuple[str, dict[str, str]], postgres_url: str
) -> None:
    base_url, env = server
    tag = uuid.uuid4().hex[:8]
    admin_name = f"raceadmin{tag}"
    await create_admin(env, admin_name)

    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as client:
        await _wait_until_healthy(client)

        async def login(username: str) -> dict[str, str]:
            token = await _created(
                await client.post(
                    "/api/auth/login", data={"username": username, "password": PASSWORD}
                )
            )
            return bearer(str(token["access_token"]))

        admin = await login(admin_name)
        department = await _created(
            await client.post("/api/departments", json={"name": f"Race {tag}"}, headers=admin)
        )
        doctor = await _created(
            await client.post(
                "/api/doctors",
                json={
                    "email": f"racedoc{tag}@example.com",
                    "username": f"racedoc{tag}",
                    "full_name": "Dr Race",
                    "password": PASSWORD,
                    "department_id": department["id"],
                    "specialization": "Racing",
                },
                headers=admin,
            )
        )

        async def patient(n: int) -> dict[str, str]:
            username = f"racer{tag}n{n}"
            await _created(
                await client.post(
                    "/api/auth/register",
                    json={
                        "email": f"{username}@example.com",
                        "username": username,
                        "full_name": f"Racer {n}",
                        "password": PASSWORD,
                    },
                )
            )
            return await login(username)

        patients = []
        for batch in range(5):
            patients += await asyncio.gather(*(patient(batch * 10 + i) for i in range(10)))

        day = datetime.now(UTC).date() + timedelta(days=2)
        while day.weekday() >= 5:
            day += timedelta(days=1)
        slot = datetime(day.year, day.month, day.day, 10, tzinfo=UTC).isoformat()
        started = time.monotonic()
        responses = await asyncio.gather(
            *(
                client.post(
                    "/api/appointments",
                    json={"doctor_id": doctor["id"], "starts_at": slot},
                    headers=headers,
                )
                for headers in patients
            )
        )
        elapsed = time.monotonic() - started

    engine = create_engine(postgres_url)
    try:
        rows = await _active_rows(engine, doctor["id"])
    finally:
        await engine.dispose()
    outcomes = _outcomes(list(responses))
    successes = outcomes[(201, None)]
    print(
        f"\nbooking race on 2 workers: attempts={len(responses)} successes={successes} "
        f"rows={rows} outcomes={dict(outcomes)} in {elapsed:.2f}s"
    )
    assert len(responses) == 50
    assert outcomes == {(201, None): 1, (409, "doctor_unavailable"): 49}
    assert rows == 1
