"""A served process: JSON log lines (LOG_FORMAT=json) that carry the request's fields and
no password, token or patient name; /metrics adding up the counts of two workers."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.support import PASSWORD, bearer
from tests.api.test_booking_race import (
    _created,
    _free_port,
    _server_env,
    _wait_until_healthy,
    create_admin,
    serve_app,
    stop_server,
)
from tests.api.test_metrics import parse, value


def _slot() -> str:
    day = datetime.now(UTC).date() + timedelta(days=2)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, 10, tzinfo=UTC).isoformat()


async def _login(client: httpx.AsyncClient, username: str) -> str:
    form = {"username": username, "password": PASSWORD}
    return str((await _created(await client.post("/api/auth/login", data=form)))["access_token"])


async def _flow(client: httpx.AsyncClient, env: dict[str, str], tag: str) -> dict[str, Any]:
    """Log in, create a doctor, register a patient, book, lose a race, search by name."""
    await create_admin(env, f"admin{tag}")
    admin = bearer(await _login(client, f"admin{tag}"))
    department = await _created(
        await client.post("/api/departments", json={"name": f"Dept {tag}"}, headers=admin)
    )
    doctor = await _created(
        await client.post(
            "/api/doctors",
            json={
                "email": f"doc{tag}@example.com",
                "username": f"doc{tag}",
                "full_name": "Dr Quillfeather",
                "password": PASSWORD,
                "department_id": department["id"],
                "specialization": "General practice",
            },
            headers=admin,
        )
    )
    tokens = []
    for n in (1, 2):
        username = f"pat{tag}n{n}"
        body = {
            "email": f"{username}@example.com",
            "username": username,
            "full_name": f"Zebulon Marchbanks{n}",
            "password": PASSWORD,
        }
        await _created(await client.post("/api/auth/register", json=body))
        tokens.append(await _login(client, username))
    booking = {"doctor_id": doctor["id"], "starts_at": _slot(), "duration_minutes": 30}
    booked = await client.post("/api/appointments", json=booking, headers=bearer(tokens[0]))
    assert booked.status_code == 201, booked.text
    lost = await client.post("/api/appointments", json=booking, headers=bearer(tokens[1]))
    assert lost.status_code == 409, lost.text
    found = await client.get("/api/patients", params={"q": "Zebulon"}, headers=admin)
    assert found.status_code == 200, found.text
    me = (await client.get("/api/auth/me", headers=bearer(tokens[0]))).json()
    return {"tokens": [*tokens, admin["Authorization"].split()[1]], "user_id": me["id"]}


async def test_json_log_lines_carry_the_fields_and_no_secret(tmp_path: Path) -> None:
    env = _server_env(f"sqlite+aiosqlite:///{tmp_path / 'served.db'}")
    env.update(ENVIRONMENT="production", DISPATCHER="off")  # json by default in production
    env.pop("LOG_FORMAT", None)
    port, log = _free_port(), tmp_path / "server.log"
    process = serve_app(env, tmp_path, port, log)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            await _wait_until_healthy(client)
            seen = await _flow(client, env, uuid.uuid4().hex[:8])
            metrics = parse((await client.get("/metrics")).text)
    finally:
        stop_server(process)
    text = log.read_text(errors="replace")
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert all({"time", "level", "message", "request_id"} <= set(line) for line in lines)
    access = [line for line in lines if line.get("logger") == "appointments.access"]
    fields = {"method", "route", "status", "duration_ms", "request_id", "path"}
    assert access, lines
    assert all(fields <= set(line) for line in access), access
    booked = [line for line in access if line["route"] == "/api/appointments"]
    assert sorted(line["status"] for line in booked) == [201, 409], booked
    me = [line for line in access if line["route"] == "/api/auth/me"]
    assert me, access
    assert me[0]["user_id"] == seen["user_id"]
    assert all(line["request_id"] != "-" for line in access)
    for secret in [PASSWORD, "Zebulon", "Marchbanks", "Quillfeather", *seen["tokens"]]:
        assert secret not in text, secret
    # The single worker writes its metrics to the directory `serve` made, too.
    assert value(metrics, "appointments_bookings_total") == 1


@pytest.mark.slow
@pytest.mark.postgres
async def test_two_workers_add_up_in_metrics(postgres_url: str, tmp_path: Path) -> None:
    directory = tmp_path / "metrics"
    directory.mkdir()
    (directory / "counter_999999.db").write_bytes(b"from a previous run")
    env = _server_env(postgres_url)
    env.update(PROMETHEUS_MULTIPROC_DIR=str(directory), DISPATCHER="off")
    port, log = _free_port(), tmp_path / "server.log"
    process = serve_app(env, tmp_path, port, log, workers=2)
    base, requests = f"http://127.0.0.1:{port}", 60
    labels = {"route": "/health", "method": "GET", "status": "200"}
    name = "appointments_http_requests_total"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            await _wait_until_healthy(client)
            before = value(parse((await client.get("/metrics")).text), name, **labels)
        # A new connection each: the kernel hands them to both workers.
        for _ in range(requests):
            async with httpx.AsyncClient(base_url=base, timeout=30) as fresh:
                assert (await fresh.get("/health")).status_code == 200
        writers = {p.name for p in directory.glob("counter_*.db")}
        totals = set()
        for _ in range(4):  # whichever worker answers the scrape, the sum is the same
            async with httpx.AsyncClient(base_url=base, timeout=30) as fresh:
                totals.add(value(parse((await fresh.get("/metrics")).text), name, **labels))
    finally:
        stop_server(process)
        print(log.read_text(errors="replace")[-2000:])
    assert "counter_999999.db" not in writers  # the stale file was cleared first
    assert len(writers) == 2, writers  # both workers counted requests
    assert totals == {before + requests}
