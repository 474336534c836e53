"""The benchmark driver (run it through bench/run.sh, which prepares the database).

Phases, each bounded:
 1. seed the clinic and the small appointment set (10,000); start `appointments serve
    --workers 2`; measure the doctor's-week list and the one-week availability; stop it;
 2. seed the full set (>= 500,000); start the server again; measure GET by id, the list,
    availability, booking POST and login; the raw argon2 verify rate; the booking race;
 3. serve bench/ceiling_app.py with 1 and with 2 uvicorn workers; measure both ceilings;
 4. print the JSON (also bench/results/latest.json) and a Markdown table (latest.md).

Load comes from wrk (a separate process, loopback only) replaying pre-built requests
(bench/replay.lua): every booking is a distinct free slot, so anything but 201 is counted.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import multiprocessing
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import seed
import series
import waitlist

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
RESULTS = BENCH / "results"
WORK = RESULTS / "work"
LOGS = RESULTS / "logs"
PIDS = RESULTS / ".server-pids"
LUA = BENCH / "replay.lua"
BIN = REPO / ".venv" / "bin"

ACTIVE = "('scheduled', 'confirmed', 'checked_in')"
RACE_ATTEMPTS, RACE_SLOTS = 200, 10
BOOKING_DAYS_AHEAD = 100  # bookings go past the seeded window (today + 90 days)
SERVICE_DAYS_AHEAD = 200  # bookings with a buffered service, past the plain ones
RACE_DAYS_AHEAD = 95
# The feed scenario fetches a few URLs as fast as it can: its throttle would answer 429.
os.environ.setdefault("CALENDAR_FEED_FETCH_LIMIT", str(10**9))

# The targets: ratios to the raw-asyncpg ceiling (2 workers) of the same run.
TARGETS = {
    "get_by_id": 0.35,
    "list_doctor_week": 0.20,
    "book": 0.15,
    "book_p99_over_p50_below": 5.0,
    "slowdown_500k_vs_10k_at_most": 1.3,
    "login_vs_raw_verify": 0.90,
}
POOL_SIZE = 20  # the application's default DB_POOL_SIZE, which the bench keeps


def log(message: str) -> None:
    sys.stderr.write(f"[bench {time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


# --- servers ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(
    name: str, argv: list[str], port: int, ready_path: str, workers: int = 2
) -> Iterator[str]:
    """Run a server in its own process group; always killed on the way out. Ready once it
    answers and all its workers listen: each has a socket of its own, and the kernel
    spreads connections only over those listening, so an early wrk run would load the
    first worker up alone."""
    LOGS.mkdir(parents=True, exist_ok=True)
    log_file = (LOGS / f"{name}.log").open("ab")
    process = subprocess.Popen(
        argv, cwd=REPO, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
    )
    with PIDS.open("a") as pids:
        pids.write(f"{process.pid}\n")
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}; see {log_file.name}")
            try:
                answered = httpx.get(base + ready_path, timeout=2).status_code == 200
            except httpx.HTTPError:
                answered = False
            listening = socket_holders(port, "listening")
            if answered and (listening is None or len(listening) >= workers):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} not ready after 90 s; see {log_file.name}")
            time.sleep(0.3)
        log(f"{name} ready on {base}")
        yield base
    finally:
        stop(process)
        log_file.close()
        remaining = [p for p in PIDS.read_text().split() if p != str(process.pid)]
        PIDS.write_text("".join(f"{p}\n" for p in remaining))


def stop(process: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            # the supervisor is gone; make sure no worker of its group survives it
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


def app_server(port: int) -> list[str]:
    return [str(BIN / "appointments"), "serve", "--host", "127.0.0.1", "--port", str(port),
            "--workers", "2"]  # fmt: skip


def no_audit_server(port: int) -> list[str]:
    """The same application with event recording (audit and outbox) off (no_audit_app.py),
    served and logging as the app is (bench/serve_asgi.py --app-logging)."""
    return [str(BIN / "python"), str(BENCH / "serve_asgi.py"), "no_audit_app:create_app",
            "--factory", "--app-logging", "--host", "127.0.0.1", "--port", str(port),
            "--workers", "2"]  # fmt: skip


def with_keys(lines: Iterable[Line], prefix: str) -> Iterator[Line]:
    """Each request with its own Idempotency-Key: every one is a first, so each pays the
    claim and the stored response."""
    for n, (method, path, token, ctype, *rest) in enumerate(lines):
        yield (method, path, token, ctype, f"{prefix}-{n}", rest[-1])


def ceiling_server(port: int, workers: int) -> list[str]:
    """bench/ceiling_app.py, served as the app is (bench/serve_asgi.py: with 2 workers, a
    listening socket each), so the ratios to it compare like with like."""
    return [str(BIN / "python"), str(BENCH / "serve_asgi.py"), "ceiling_app:app",
            "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]  # fmt: skip


# --- load ------------------------------------------------------------------------------


# method, path, token, content type, body; or with an Idempotency-Key before the body
Line = tuple[str, str, str, str, str] | tuple[str, str, str, str, str, str]


def write_requests(name: str, lines: Iterable[Line]) -> Path:
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"{name}.tsv"
    count = 0
    with path.open("w") as out:
        for line in lines:
            out.write("\t".join(line) + "\n")
            count += 1
    if count == 0:
        raise RuntimeError(f"no requests for {name}")
    return path


def wrk(
    base: str, requests: Path, expected: int, seconds: float, connections: int
) -> dict[str, Any]:
    threads = int(os.environ.get("BENCH_WRK_THREADS", "1"))
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
            "--timeout", "10s", "-s", str(LUA), base, "--", str(requests), str(expected),
            str(threads)]  # fmt: skip
    sessions_before = pg_sessions()
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(seconds / 2)  # mid-run: every connection is open and busy
        split = connections_per_worker(int(base.rsplit(":", 1)[1]))
        stdout, stderr = process.communicate(timeout=seconds / 2 + 120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    sessions_after = pg_sessions()
    found = [ln for ln in stdout.splitlines() if ln.startswith("WRK_JSON ")]
    if process.returncode != 0 or not found:
        raise RuntimeError(f"wrk failed ({process.returncode}): {stderr or stdout}")
    raw = json.loads(found[-1].removeprefix("WRK_JSON "))
    duration = raw["duration_s"] or seconds
    non_2xx = sum(n for code, n in raw["unexpected_by_status"].items() if not code.startswith("2"))
    return {
        "rps": round(raw["requests"] / duration, 1),
        "p50_ms": round(raw["latency_ms"]["p50"], 2),
        "p99_ms": round(raw["latency_ms"]["p99"], 2),
        "p90_ms": round(raw["latency_ms"]["p90"], 2),
        "max_ms": round(raw["latency_ms"]["max"], 2),
        "requests": raw["requests"],
        "non_2xx": non_2xx,
        "unexpected_status": raw["unexpected"],
        "unexpected_by_status": raw["unexpected_by_status"],
        "socket_errors": raw["socket_errors"],
        "wraps": raw["wraps"],
        "connections": connections,
        "connections_per_worker": split,
        # Sessions PostgreSQL started for the bench database during the run, less the one
        # this count itself opens: connections the servers' pools opened under load.
        "new_pg_sessions": sessions_after - sessions_before - 1,
        "duration_s": round(duration, 2),
    }


def pg_sessions() -> int:
    """Sessions started so far for the bench database (pg_stat_database, PostgreSQL 14+),
    after a moment for the servers' backends to report theirs."""
    time.sleep(0.6)
    query = "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
    return int(asyncio.run(fetch(query))[0]["sessions"])


def socket_holders(port: int, state: str) -> list[set[str]] | None:
    """For each TCP socket on the server's port in `state` ("listening", "established"),
    the pids of the processes that hold it (`ss`, from iproute2); None if `ss` fails."""
    argv = ["ss", "-Htnp", "state", state, f"( sport = :{port} )"]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return [set(re.findall(r"pid=(\d+)", line)) for line in done.stdout.splitlines()]


def connections_per_worker(port: int) -> list[int]:
    """The established connections on the server's port, counted per process that holds
    them (the worker that accepted each), most first: how evenly the kernel spread wrk's
    connections over the workers. Empty if `ss` fails."""
    per_pid: dict[str, int] = {}
    for pids in socket_holders(port, "established") or []:
        for pid in pids:
            per_pid[pid] = per_pid.get(pid, 0) + 1
    return sorted(per_pid.values(), reverse=True)


def measure(
    label: str,
    base: str,
    requests: Path,
    expected: int,
    cfg: argparse.Namespace,
    warmup: Path | None = None,
) -> dict[str, Any]:
    """Warm-up (discarded), then the timed run. wrk abandons its in-flight requests when it
    stops, but the server still finishes them: let it drain so the timed run starts clean."""
    if cfg.warmup > 0:
        warm = wrk(base, warmup or requests, expected, cfg.warmup, cfg.connections)
        time.sleep(min(15.0, max(0.5, 1.5 * warm["p99_ms"] / 1000)))
    result = wrk(base, requests, expected, cfg.duration, cfg.connections)
    log(
        f"{label:<34} {result['rps']:>8.1f} req/s  p50 {result['p50_ms']:>7.2f} ms  "
        f"p99 {result['p99_ms']:>7.2f} ms  non-2xx {result['non_2xx']}"
    )
    return result


# --- the application's side --------------------------------------------------------------


def login_token(base: str, username: str) -> str:
    response = httpx.post(
        base + "/api/auth/login",
        data={"username": username, "password": seed.PASSWORD},
        timeout=30,
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


async def fetch(query: str, *args: Any) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(seed.dsn())
    try:
        return list(await connection.fetch(query, *args))
    finally:
        await connection.close()


def clinic() -> seed.Clinic:
    async def load() -> seed.Clinic:
        connection = await asyncpg.connect(seed.dsn())
        try:
            return await seed.load_clinic(connection)
        finally:
            await connection.close()

    return asyncio.run(load())


def probe_lines(base: str, today: date, data: seed.Clinic) -> dict[str, list[Line]]:
    """Requests for the probe doctors, each with that doctor's own token."""
    before, after = seed.probe_days(today)
    probes = range(min(seed.PROBE_DOCTORS, len(data.doctor_ids)))
    tokens = {d: login_token(base, seed.doctor_username(d)) for d in probes}
    week = {"date_from": before[0].isoformat(), "date_to": before[-1].isoformat(), "limit": 100}
    ahead = {"date_from": after[0].isoformat(), "date_to": after[-1].isoformat()}
    lists, availability = [], []
    for d in probes:
        doctor = data.doctor_ids[d]
        query = urlencode({"doctor_id": str(doctor), **week})
        lists.append(("GET", f"/api/appointments?{query}", tokens[d], "-", "-"))
        path = f"/api/doctors/{doctor}/availability?{urlencode(ahead)}"
        availability.append(("GET", path, tokens[d], "-", "-"))
    rows = asyncio.run(
        fetch(
            "SELECT id, doctor_id FROM appointments WHERE doctor_id = ANY($1::uuid[]) "
            "ORDER BY md5(id::text) LIMIT 5000",
            [data.doctor_ids[d] for d in probes],
        )
    )
    index = {data.doctor_ids[d]: d for d in probes}
    by_id = [
        ("GET", f"/api/appointments/{r['id']}", tokens[index[r["doctor_id"]]], "-", "-")
        for r in rows
    ]
    return {
        "list": lists,
        "availability": availability,
        "get_by_id": by_id,
        "fhir_search": fhir_search_lines(tokens, data, before),
        "feed": feed_lines(base, tokens),
    }


def fhir_search_lines(tokens: dict[int, str], data: seed.Clinic, week: list[date]) -> list[Line]:
    """FHIR Appointment search: each probe doctor's past week, one page of up to 100."""
    lines: list[Line] = []
    for d, token in tokens.items():
        query = urlencode(
            [
                ("practitioner", f"Practitioner/{data.doctor_ids[d]}"),
                ("date", f"ge{week[0].isoformat()}"),
                ("date", f"le{week[-1].isoformat()}"),
                ("_count", "100"),
            ]
        )
        lines.append(("GET", f"/fhir/R4/Appointment?{query}", token, "-", "-"))
    return lines


def feed_lines(base: str, tokens: dict[int, str]) -> list[Line]:
    """A doctor's calendar feed (about 120 days of their appointments: 30 back, the seeded
    90 ahead), fetched by its URL alone, for each probe doctor."""
    lines: list[Line] = []
    for token in tokens.values():
        response = httpx.post(
            base + "/api/calendar-feeds", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        response.raise_for_status()
        path = "/calendar/" + str(response.json()["url"]).rsplit("/calendar/", 1)[1]
        lines.append(("GET", path, "-", "-", "-"))
    return lines


def booking_lines(
    token: str,
    data: seed.Clinic,
    zone: ZoneInfo,
    today: date,
    first: int,
    count: int,
    services: dict[uuid.UUID, str] | None = None,
) -> Iterator[Line]:
    """Booking i: doctor i % D, the (i // D)-th working slot from BOOKING_DAYS_AHEAD on,
    patient i % P; the D bookings of one slot have D distinct patients. With `services`
    (department id -> a service with a 30-minute buffer after), every other slot from
    SERVICE_DAYS_AHEAD on, with the doctor's department's service: buffered spans touch."""
    doctors, patients = len(data.doctor_ids), len(data.patient_ids)
    days: list[date] = []
    stride = 1 if services is None else 2
    day = today + timedelta(days=BOOKING_DAYS_AHEAD if services is None else SERVICE_DAYS_AHEAD)
    for i in range(first, first + count):
        k = i // doctors
        day_index, slot = divmod(k, seed.SLOTS_PER_DAY // stride)
        slot *= stride
        while len(days) <= day_index:
            if day.weekday() < 5:
                days.append(day)
            day += timedelta(days=1)
        starts = datetime.combine(days[day_index], seed.DAY_START, tzinfo=zone) + slot * seed.SLOT
        body = {
            "doctor_id": str(data.doctor_ids[i % doctors]),
            "patient_id": str(data.patient_ids[i % patients]),
            "starts_at": starts.isoformat(),
            "duration_minutes": 30,
            "reason": "bench booking",
        }
        if services is not None:
            body["service_id"] = services[data.department_ids[i % doctors]]
        yield ("POST", "/api/appointments", token, "application/json", json.dumps(body))


def _post_json(base: str, token: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(
        f"{base}{path}", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    response.raise_for_status()
    return dict(response.json())


def create_services(base: str, token: str, data: seed.Clinic) -> dict[uuid.UUID, str]:
    """One 30-minute service with a 30-minute buffer after, per department."""
    return {
        department: str(
            _post_json(
                base,
                token,
                "/api/services",
                {
                    "name": "Bench consultation",
                    "department_id": str(department),
                    "duration_minutes": 30,
                    "buffer_after_minutes": 30,
                },
            )["id"]
        )
        for department in sorted(set(data.department_ids))
    }


def create_room(base: str, token: str) -> str:
    return str(_post_json(base, token, "/api/rooms", {"name": "Bench room"})["id"])


def availability_with(
    lines: list[Line], data: seed.Clinic, services: dict[uuid.UUID, str], room: str
) -> Iterator[Line]:
    """The availability probes again, asking for each doctor's service and one room."""
    departments = dict(zip(data.doctor_ids, data.department_ids, strict=True))
    for method, path, token, content_type, body in lines:
        doctor = uuid.UUID(path.split("/")[3])
        query = urlencode({"service_id": services[departments[doctor]], "room_id": room})
        yield (method, f"{path}&{query}", token, content_type, body)


def login_lines(patients: int) -> Iterator[Line]:
    for i in range(patients):
        form = urlencode({"username": seed.patient_username(i), "password": seed.PASSWORD})
        yield ("POST", "/api/auth/login", "-", "application/x-www-form-urlencoded", form)


def _verify_loop(seconds: float, memory_kib: int, time_cost: int) -> tuple[int, float]:
    from passlib.context import CryptContext

    context = CryptContext(
        schemes=["argon2"],
        argon2__type="ID",
        argon2__memory_cost=memory_kib,
        argon2__time_cost=time_cost,
        argon2__parallelism=1,
    )
    hashed = context.hash(seed.PASSWORD)
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        context.verify(seed.PASSWORD, hashed)
        count += 1
    return count, elapsed


def raw_verify_rate(seconds: float, processes: int = 2) -> dict[str, Any]:
    """argon2id verifies/s of the configured cost, one loop per process."""
    from appointments.settings import Settings

    settings = Settings()
    memory, cost = settings.password_hash_memory_kib, settings.password_hash_time_cost
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(processes, mp_context=spawn) as pool:
        futures = [pool.submit(_verify_loop, seconds, memory, cost) for _ in range(processes)]
        done = [f.result(timeout=seconds + 120) for f in futures]
    rate = sum(count / elapsed for count, elapsed in done)
    log(f"{'raw argon2id verify (2 processes)':<34} {rate:>8.1f} verifies/s")
    return {
        "verifies_per_s": round(rate, 1),
        "processes": processes,
        "hash": f"argon2id m={memory} KiB t={cost} p=1 (passlib CryptContext)",
        "seconds": seconds,
    }


async def _race(
    base: str, token: str, data: seed.Clinic, zone: ZoneInfo, day: date
) -> dict[str, Any]:
    doctor = data.doctor_ids[-1]
    starts = [
        datetime.combine(day, seed.DAY_START, tzinfo=zone) + n * seed.SLOT
        for n in range(RACE_SLOTS)
    ]
    limits = httpx.Limits(max_connections=RACE_ATTEMPTS, max_keepalive_connections=RACE_ATTEMPTS)
    gate = asyncio.Event()
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:

        async def attempt(n: int) -> tuple[int, str | None]:
            body = {
                "doctor_id": str(doctor),
                "patient_id": str(data.patient_ids[n]),  # all distinct: only the doctor clashes
                "starts_at": starts[n % RACE_SLOTS].isoformat(),
                "duration_minutes": 30,
                "reason": "bench race",
            }
            await gate.wait()
            response = await client.post(
                "/api/appointments", json=body, headers={"Authorization": f"Bearer {token}"}
            )
            code = response.json().get("code") if response.status_code >= 400 else None
            return response.status_code, code

        tasks = [asyncio.create_task(attempt(n)) for n in range(RACE_ATTEMPTS)]
        await asyncio.sleep(0.2)
        started = time.perf_counter()
        gate.set()
        outcomes = await asyncio.wait_for(asyncio.gather(*tasks), timeout=120)
        elapsed = time.perf_counter() - started
    statuses: dict[str, int] = {}
    for status, code in outcomes:
        key = f"{status} {code}" if code else str(status)
        statuses[key] = statuses.get(key, 0) + 1
    connection = await asyncpg.connect(seed.dsn())
    try:
        overlaps = {}
        for party in ("doctor", "patient"):
            overlaps[party] = await connection.fetchval(
                f"SELECT count(*) FROM appointments a JOIN appointments b "  # noqa: S608
                f"ON a.{party}_id = b.{party}_id AND a.id < b.id "
                f"AND tstzrange(a.starts_at, a.ends_at, '[)') && "
                f"tstzrange(b.starts_at, b.ends_at, '[)') "
                f"WHERE a.status IN {ACTIVE} AND b.status IN {ACTIVE}"
            )
        per_slot = await connection.fetch(
            f"SELECT starts_at, count(*) AS n FROM appointments "  # noqa: S608
            f"WHERE doctor_id = $1 AND starts_at = ANY($2::timestamptz[]) "
            f"AND status IN {ACTIVE} GROUP BY starts_at",
            doctor,
            starts,
        )
    finally:
        await connection.close()
    successes = sum(1 for status, _ in outcomes if status == 201)
    rows_per_slot = sorted(r["n"] for r in per_slot)
    ok = (
        successes == RACE_SLOTS
        and rows_per_slot == [1] * RACE_SLOTS
        and overlaps["doctor"] == 0
        and overlaps["patient"] == 0
    )
    return {
        "workers": 2,
        "attempts": RACE_ATTEMPTS,
        "slots": RACE_SLOTS,
        "successes": successes,
        "statuses": statuses,
        "active_rows_per_slot": rows_per_slot,
        "overlapping_active_pairs": overlaps,
        "seconds": round(elapsed, 2),
        "ok": ok,
    }


def race(base: str, token: str, data: seed.Clinic, zone: ZoneInfo, today: date) -> dict[str, Any]:
    day = today + timedelta(days=RACE_DAYS_AHEAD)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    result = asyncio.run(_race(base, token, data, zone, day))
    log(
        f"race: {result['successes']}/{RACE_ATTEMPTS} succeeded on {RACE_SLOTS} slots, "
        f"overlaps {result['overlapping_active_pairs']}, ok={result['ok']}"
    )
    return result


def audit_trail_size() -> dict[str, Any]:
    """What the audit trail holds after the booking runs: rows, and bytes per booking
    event (heap and indexes together, as an operator provisions disk)."""
    [row] = asyncio.run(
        fetch(
            "SELECT count(*) AS events, "
            "count(*) FILTER (WHERE action = 'appointment.booked') AS booked, "
            "pg_total_relation_size('audit_events') AS total_bytes, "
            "avg(pg_column_size(a.*)) FILTER (WHERE action = 'appointment.booked') AS row_bytes "
            "FROM audit_events a"
        )
    )
    events = int(row["events"])
    return {
        "events": events,
        "booked_events": int(row["booked"]),
        "total_bytes": int(row["total_bytes"]),
        "bytes_per_event_incl_indexes": round(int(row["total_bytes"]) / events) if events else None,
        "booked_row_bytes": round(float(row["row_bytes"] or 0)),
    }


def bookings_in_db() -> int:
    rows = asyncio.run(
        fetch("SELECT count(*) AS n FROM appointments WHERE reason = 'bench booking'")
    )
    return int(rows[0]["n"])


# --- phases ----------------------------------------------------------------------------


def phase_small(cfg: argparse.Namespace, now: datetime, zone: ZoneInfo) -> dict[str, Any]:
    log(f"seeding {cfg.small:,} appointments")
    seeded = asyncio.run(seed.seed_appointments(seed.dsn(), cfg.small, now))
    today = now.astimezone(zone).date()
    port = free_port()
    with server("app-small", app_server(port), port, "/health/ready") as base:
        lines = probe_lines(base, today, clinic())
        results = {
            "list_doctor_week": measure(
                "small: list doctor's week", base, write_requests("s_list", lines["list"]),
                200, cfg),
            "availability_week": measure(
                "small: availability one week", base,
                write_requests("s_avail", lines["availability"]), 200, cfg),
        }  # fmt: skip
    return {"seed": seeded, "results": results}


def phase_big(cfg: argparse.Namespace, now: datetime, zone: ZoneInfo) -> dict[str, Any]:
    log(f"seeding {'the full window' if cfg.big is None else f'{cfg.big:,}'} appointments")
    seeded = asyncio.run(seed.seed_appointments(seed.dsn(), cfg.big, now))
    if cfg.big is None and seeded["appointments"] < 500_000:
        raise RuntimeError(f"the full seed made only {seeded['appointments']} appointments")
    today = now.astimezone(zone).date()
    data = clinic()
    port = free_port()
    results: dict[str, Any] = {}
    ceiling_port = free_port()
    with (
        server("app-big", app_server(port), port, "/health/ready") as base,
        server(
            "ceiling-adjacent", ceiling_server(ceiling_port, 2), ceiling_port, "/json", 2
        ) as ceiling,
    ):
        lines = probe_lines(base, today, data)
        admin = login_token(base, seed.ADMIN_USERNAME)
        adjacent = functools.partial(next_to_ceiling, cfg, ceiling, ceiling_requests())
        results["get_by_id"] = adjacent(
            "GET /api/appointments/{id}", base, write_requests("get", lines["get_by_id"]), 200
        )
        results["list_doctor_week"] = adjacent(
            "GET /api/appointments (week)", base, write_requests("list", lines["list"]), 200
        )
        results["availability_week"] = measure(
            "GET availability (one week)", base,
            write_requests("avail", lines["availability"]), 200, cfg,
        )  # fmt: skip
        results["fhir_appointment_search"] = measure(
            "GET /fhir/R4/Appointment (week)", base,
            write_requests("fhir_search", lines["fhir_search"]), 200, cfg,
        )  # fmt: skip
        results["doctor_feed"] = measure(
            "GET /calendar/{token}.ics (doctor)", base,
            write_requests("feed", lines["feed"]), 200, cfg,
        )  # fmt: skip
        warm_count, timed_count = 8_000, 60_000
        warm = write_requests("book_warm", booking_lines(admin, data, zone, today, 0, warm_count))
        timed = write_requests(
            "book", booking_lines(admin, data, zone, today, warm_count, timed_count)
        )
        before = bookings_in_db()
        results["book"] = adjacent("POST /api/appointments", base, timed, 201, warm)
        results["book"]["rows_created_incl_warmup"] = bookings_in_db() - before
        results["book_with_key"] = book_keyed(cfg, base, admin, data, zone, today)
        services = create_services(base, admin, data)
        warm = write_requests(
            "book_service_warm",
            booking_lines(admin, data, zone, today, 0, warm_count, services),
        )
        timed = write_requests(
            "book_service",
            booking_lines(admin, data, zone, today, warm_count, timed_count // 2, services),
        )
        before = bookings_in_db()
        results["book_service"] = measure(
            "POST /api/appointments with a buffered service", base, timed, 201, cfg, warmup=warm
        )
        results["book_service"]["rows_created_incl_warmup"] = bookings_in_db() - before
        warm = write_requests(
            "book_series_warm", series.series_lines(admin, data, zone, today, 0, 400)
        )
        timed = write_requests(
            "book_series", series.series_lines(admin, data, zone, today, 400, 8_000)
        )
        before = bookings_in_db()
        results["book_series"] = measure(
            "POST /api/appointments/series (12 weekly)", base, timed, 201, cfg, warmup=warm
        )
        results["book_series"]["occurrences_per_s"] = round(
            results["book_series"]["rps"] * series.OCCURRENCES, 1
        )
        results["book_series"]["rows_created_incl_warmup"] = bookings_in_db() - before
        results["availability_service_room"] = measure(
            "GET availability (one week, service and room)", base,
            write_requests(
                "avail_service_room",
                availability_with(lines["availability"], data, services, create_room(base, admin)),
            ),
            200, cfg,
        )  # fmt: skip
        verify = raw_verify_rate(cfg.duration)
        results["login"] = measure(
            "POST /api/auth/login", base,
            write_requests("login", login_lines(len(data.patient_ids))), 200, cfg,
        )  # fmt: skip
        race_result = race(base, admin, data, zone, today)
        offers = waitlist.offer_latency(base, admin, data, zone, today)
        log(f"waitlist: {offers['offered']}/{offers['rounds']} offered, p50 {offers['p50_s']} s")
        trail = audit_trail_size()
    recording = recording_cost(cfg, admin, data, zone, today)
    results["book_without_audit"] = recording["runs"]["without"][-1]
    return {
        "recording": recording,
        "seed": seeded,
        "results": results,
        "raw_verify": verify,
        "race": race_result,
        "waitlist_offer": offers,
        "audit_trail": trail,
    }


# Booking indices (slots) used by the keyed and the recording runs, after the plain ones.
KEYED_BOOKINGS = (68_000, 102_000)
RECORDING_ROUNDS = 3
RECORDING_FIRST = 136_000
# Slots per run: RECORDING_WARM for its warm-up, the rest timed; enough that neither
# wraps around at 1,000 bookings/s (a wrapped request books a taken slot: a 409).
RECORDING_BLOCK, RECORDING_WARM = 13_000, 3_000


def recording_cost(
    cfg: argparse.Namespace, admin: str, data: seed.Clinic, zone: ZoneInfo, today: date
) -> dict[str, Any]:
    """Booking on the real app and on one with recording off (no audit row, no outbox
    row), both served at once and measured in turns, ROUNDS each, the order alternating:
    whatever the machine drifts by hits both alike. The cost is from the medians."""
    ports = free_port(), free_port()
    runs: dict[str, list[dict[str, Any]]] = {"with": [], "without": []}
    with (
        server("app-recording", app_server(ports[0]), ports[0], "/health/ready") as real,
        server("app-no-audit", no_audit_server(ports[1]), ports[1], "/health/ready") as bare,
    ):
        block = RECORDING_FIRST
        for round_ in range(RECORDING_ROUNDS):
            pair = [("with", real), ("without", bare)]
            for name, base in pair if round_ % 2 == 0 else reversed(pair):
                lines = booking_lines(admin, data, zone, today, block, RECORDING_BLOCK)
                listed = list(lines)
                warm = write_requests(f"rec_{name}_{round_}_warm", listed[:RECORDING_WARM])
                timed = write_requests(f"rec_{name}_{round_}", listed[RECORDING_WARM:])
                block += RECORDING_BLOCK
                label = f"POST /api/appointments, recording {name} ({round_ + 1})"
                runs[name].append(measure(label, base, timed, 201, cfg, warmup=warm))
    median = {name: statistics.median(r["rps"] for r in done) for name, done in runs.items()}
    return {
        "runs": runs,
        "median_rps_with": median["with"],
        "median_rps_without": median["without"],
        "cost_pct": round(100 * (1 - median["with"] / median["without"]), 1),
    }


def book_keyed(
    cfg: argparse.Namespace,
    base: str,
    admin: str,
    data: seed.Clinic,
    zone: ZoneInfo,
    today: date,
) -> dict[str, Any]:
    first = KEYED_BOOKINGS[0]
    warm = write_requests(
        "book_key_warm",
        with_keys(booking_lines(admin, data, zone, today, first, 4_000), f"w{uuid.uuid4()}"),
    )
    timed = write_requests(
        "book_key",
        with_keys(
            booking_lines(admin, data, zone, today, first + 4_000, 30_000), f"t{uuid.uuid4()}"
        ),
    )
    return measure("POST /api/appointments + key", base, timed, 201, cfg, warmup=warm)


def ceiling_requests() -> Path:
    """The raw asyncpg ceiling's requests: primary-key reads of 5,000 appointments."""
    ids = asyncio.run(fetch("SELECT id FROM appointments ORDER BY md5(id::text) LIMIT 5000"))
    return write_requests(
        "ceiling_pk", (("GET", f"/appointments/{r['id']}", "-", "-", "-") for r in ids)
    )


def next_to_ceiling(
    cfg: argparse.Namespace,
    ceiling: str,
    pk: Path,
    label: str,
    base: str,
    requests: Path,
    expected: int,
    warmup: Path | None = None,
) -> dict[str, Any]:
    """An app figure with the 2-worker raw asyncpg ceiling measured just before and just
    after it (that server runs beside the app, idle while the app is measured): this
    machine's speed drifts by more than the targets' margins over the minutes between a
    figure and the end-of-run ceilings, so the targets use the mean of these two."""
    before = measure("  ceiling raw asyncpg PK, before", ceiling, pk, 200, cfg)
    result = measure(label, base, requests, expected, cfg, warmup)
    after = measure("  ceiling raw asyncpg PK, after", ceiling, pk, 200, cfg)
    result["adjacent_raw_asyncpg_rps"] = round((before["rps"] + after["rps"]) / 2, 1)
    result["adjacent_raw_asyncpg_runs"] = [before, after]
    return result


def phase_ceilings(cfg: argparse.Namespace) -> dict[str, Any]:
    pk = ceiling_requests()
    bare = write_requests("ceiling_json", [("GET", "/json", "-", "-", "-")])
    out: dict[str, Any] = {"bare_json": {}, "raw_asyncpg_pk": {}}
    for workers in (1, 2):
        port = free_port()
        key = f"{workers}_worker" + ("s" if workers > 1 else "")
        argv = ceiling_server(port, workers)
        with server(f"ceiling-{workers}w", argv, port, "/json", workers) as base:
            out["bare_json"][key] = measure(f"ceiling bare JSON ({workers}w)", base, bare, 200, cfg)
            out["raw_asyncpg_pk"][key] = measure(
                f"ceiling raw asyncpg PK ({workers}w)", base, pk, 200, cfg
            )
    return out


# --- report ----------------------------------------------------------------------------


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b else None


def assemble(
    meta: dict[str, Any],
    small: dict[str, Any],
    big: dict[str, Any],
    ceilings: dict[str, Any],
) -> dict[str, Any]:
    raw = ceilings["raw_asyncpg_pk"]["2_workers"]["rps"]
    bare = ceilings["bare_json"]["2_workers"]["rps"]
    app = big["results"]
    for result in [*app.values(), *small["results"].values()]:
        result["ratio_to_raw_asyncpg"] = _ratio(result["rps"], raw)
        result["ratio_to_bare_json"] = _ratio(result["rps"], bare)
        if "adjacent_raw_asyncpg_rps" in result:
            result["ratio_to_adjacent_raw_asyncpg"] = _ratio(
                result["rps"], result["adjacent_raw_asyncpg_rps"]
            )
    for group in ceilings.values():
        for result in group.values():
            result["ratio_to_raw_asyncpg"] = _ratio(result["rps"], raw)
            result["ratio_to_bare_json"] = _ratio(result["rps"], bare)
    verify = big["raw_verify"]["verifies_per_s"]
    app["login"]["ratio_to_raw_verify"] = _ratio(app["login"]["rps"], verify)

    scale = {}
    for name in ("list_doctor_week", "availability_week"):
        s, b = small["results"][name], app[name]
        scale[name] = {
            "appointments_small": small["seed"]["appointments"],
            "appointments_big": big["seed"]["appointments"],
            "rps_small": s["rps"],
            "rps_big": b["rps"],
            "slowdown_rps": _ratio(s["rps"], b["rps"]),
            "slowdown_p50": _ratio(b["p50_ms"], s["p50_ms"]),
        }

    def target(value: float | None, goal: float, at_least: bool = True) -> dict[str, Any]:
        met = value is not None and (value >= goal if at_least else value <= goal)
        return {"value": value, "target": (">= " if at_least else "<= ") + str(goal), "met": met}

    book = app["book"]
    sessions = [r["new_pg_sessions"] for r in app.values() if "new_pg_sessions" in r]
    targets = {
        "get_by_id_vs_raw_asyncpg": target(
            app["get_by_id"]["ratio_to_adjacent_raw_asyncpg"], TARGETS["get_by_id"]
        ),
        "list_doctor_week_vs_raw_asyncpg": target(
            app["list_doctor_week"]["ratio_to_adjacent_raw_asyncpg"], TARGETS["list_doctor_week"]
        ),
        "book_vs_raw_asyncpg": target(book["ratio_to_adjacent_raw_asyncpg"], TARGETS["book"]),
        "book_p99_over_p50": {
            "value": _ratio(book["p99_ms"], book["p50_ms"]),
            "target": f"< {TARGETS['book_p99_over_p50_below']}",
            "met": bool(book["p50_ms"])
            and book["p99_ms"] < TARGETS["book_p99_over_p50_below"] * book["p50_ms"],
        },
        "book_all_201": {
            "value": book["unexpected_status"],
            "target": "0 non-201",
            "met": book["unexpected_status"] == 0 and not any(book["socket_errors"].values()),
        },
        "list_500k_vs_10k_slowdown": target(
            scale["list_doctor_week"]["slowdown_rps"],
            TARGETS["slowdown_500k_vs_10k_at_most"],
            at_least=False,
        ),
        "availability_500k_vs_10k_slowdown": target(
            scale["availability_week"]["slowdown_rps"],
            TARGETS["slowdown_500k_vs_10k_at_most"],
            at_least=False,
        ),
        "login_vs_raw_verify": target(
            app["login"]["ratio_to_raw_verify"], TARGETS["login_vs_raw_verify"]
        ),
        "new_pg_sessions_per_run": {
            "value": max(sessions),
            "target": f"<= {2 * POOL_SIZE} (2 x DB_POOL_SIZE), in every timed run of the app",
            "met": max(sessions) <= 2 * POOL_SIZE,
        },
        "race_exactly_10_no_overlap": {
            "value": big["race"]["successes"],
            "target": "10 successes, 0 overlapping active pairs",
            "met": big["race"]["ok"],
        },
    }

    key_cost = round(100 * (1 - app["book_with_key"]["rps"] / app["book"]["rps"]), 1)
    recording = big["recording"]
    audit_cost = {
        "booking_throughput_cost_pct": recording["cost_pct"],
        "median_rps_with": recording["median_rps_with"],
        "median_rps_without": recording["median_rps_without"],
        "idempotency_key_cost_pct": key_cost,
        "target_pct_at_most": 15,
    }
    targets["audit_cost_at_most_15pct"] = {
        "value": audit_cost["booking_throughput_cost_pct"],
        "target": "<= 15",
        "met": (audit_cost["booking_throughput_cost_pct"] or 0) <= 15,
    }
    return {
        "meta": meta,
        "audit_cost": audit_cost,
        "audit_trail": big["audit_trail"],
        "seed": {"clinic": meta.pop("clinic_seed"), "small": small["seed"], "big": big["seed"]},
        "app": {"small": small["results"], "big": app},
        "ceilings": ceilings,
        "raw_verify": big["raw_verify"],
        "scale": scale,
        "race": big["race"],
        "waitlist_offer": big["waitlist_offer"],
        "targets": targets,
        "targets_met": sum(t["met"] for t in targets.values()),
        "targets_total": len(targets),
    }


def markdown(report: dict[str, Any]) -> str:
    meta, big, small = report["meta"], report["app"]["big"], report["app"]["small"]
    n_big = report["seed"]["big"]["appointments"]
    n_small = report["seed"]["small"]["appointments"]
    rows = [
        (f"GET /api/appointments/{{id}} ({n_big:,})", big["get_by_id"]),
        (f"GET /api/appointments, doctor's week ({n_small:,})", small["list_doctor_week"]),
        (f"GET /api/appointments, doctor's week ({n_big:,})", big["list_doctor_week"]),
        (f"GET /api/doctors/{{id}}/availability, 1 week ({n_small:,})", small["availability_week"]),
        (f"GET /api/doctors/{{id}}/availability, 1 week ({n_big:,})", big["availability_week"]),
        ("POST /api/appointments (distinct free slots)", big["book"]),
        ("POST /api/appointments with an Idempotency-Key", big["book_with_key"]),
        ("POST /api/appointments, audit + outbox off (bench only)", big["book_without_audit"]),
        ("POST /api/appointments with a buffered service", big["book_service"]),
        ("POST /api/appointments/series (12 weekly occurrences)", big["book_series"]),
        (
            f"GET /api/doctors/{{id}}/availability, 1 week, service + room ({n_big:,})",
            big["availability_service_room"],
        ),
        ("POST /api/auth/login", big["login"]),
        (f"GET /fhir/R4/Appointment, doctor's week ({n_big:,})", big["fhir_appointment_search"]),
        (f"GET /calendar/{{token}}.ics, a doctor's feed ({n_big:,})", big["doctor_feed"]),
    ]
    for name, group in (("bare JSON", "bare_json"), ("raw asyncpg PK SELECT", "raw_asyncpg_pk")):
        for key, label in (("1_worker", "1 worker"), ("2_workers", "2 workers")):
            rows.append((f"ceiling: {name}, {label}", report["ceilings"][group][key]))
    out = [
        f"Benchmark {meta['finished_at']} on {meta['cpus']} cores, app with 2 workers, "
        f"{meta['connections']} connections, {meta['duration_s']:g} s per run "
        f"(load average at start {meta['loadavg_start']}).",
        "",
        "| endpoint | req/s | p50 ms | p99 ms | vs raw asyncpg | vs bare JSON | non-2xx "
        "| conns/worker | new PG sessions |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for label, r in rows:
        out.append(
            f"| {label} | {r['rps']:.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | "
            f"{r['ratio_to_raw_asyncpg']:.2f} | {r['ratio_to_bare_json']:.2f} | {r['non_2xx']} | "
            f"{'/'.join(map(str, r['connections_per_worker'])) or '-'} | "
            f"{r.get('new_pg_sessions', '-')} |"
        )
    audit = report["audit_cost"]
    out += [
        "",
        f"Recording (the audit row and the outbox row) costs "
        f"{audit['booking_throughput_cost_pct']}% of booking throughput (medians of "
        f"{RECORDING_ROUNDS} interleaved rounds: {audit['median_rps_with']:.0f} req/s with it, "
        f"{audit['median_rps_without']:.0f} without); an Idempotency-Key costs "
        f"{audit['idempotency_key_cost_pct']}%. "
        f"The trail held {report['audit_trail']['events']:,} events, "
        f"{report['audit_trail']['bytes_per_event_incl_indexes']} bytes each with its indexes "
        f"(a booking's row alone: {report['audit_trail']['booked_row_bytes']} bytes).",
    ]
    verify = report["raw_verify"]
    race_result = report["race"]
    overlaps = race_result["overlapping_active_pairs"]
    adjacent = [
        f"{label} {big[key]['rps']:.0f} req/s against {big[key]['adjacent_raw_asyncpg_rps']:.0f}"
        f" ({big[key]['ratio_to_adjacent_raw_asyncpg']:.3f})"
        for key, label in (
            ("get_by_id", "GET by id"),
            ("list_doctor_week", "the doctor's week"),
            ("book", "booking"),
        )
    ]
    out += [
        "",
        "The ratio targets use the 2-worker raw asyncpg ceiling measured just before and "
        "after each figure (mean of the two; the end-of-run ceilings are in the table): "
        + "; ".join(adjacent)
        + ".",
        "",
        f"Raw argon2id verify rate ({verify['hash']}, 2 processes): "
        f"{verify['verifies_per_s']:.0f}/s; login reaches "
        f"{big['login']['ratio_to_raw_verify']:.2f} of it.",
        f"Booking race through 2 workers: {race_result['successes']} of "
        f"{race_result['attempts']} attempts on {race_result['slots']} slots succeeded; "
        f"overlapping active pairs afterwards: doctor {overlaps['doctor']}, "
        f"patient {overlaps['patient']}.",
        f"Waitlist: a cancellation's time shows as an offer to the waiting patient after "
        f"{report['waitlist_offer']['p50_s']} s (median, max {report['waitlist_offer']['max_s']} "
        f"s, {report['waitlist_offer']['offered']}/{report['waitlist_offer']['rounds']} "
        f"offered; the dispatcher polls every DISPATCH_POLL_SECONDS).",
        "",
        "| target | value | goal | met |",
        "|---|---:|---|---|",
    ]
    for name, t in report["targets"].items():
        out.append(f"| {name} | {t['value']} | {t['target']} | {'yes' if t['met'] else 'NO'} |")
    return "\n".join(out) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--duration", type=float, default=float(os.environ.get("BENCH_DURATION", 10))
    )
    parser.add_argument("--warmup", type=float, default=float(os.environ.get("BENCH_WARMUP", 3)))
    parser.add_argument(
        "--connections", type=int, default=int(os.environ.get("BENCH_CONNECTIONS", 32))
    )
    parser.add_argument("--small", type=int, default=int(os.environ.get("BENCH_SMALL", 10_000)))
    parser.add_argument(
        "--big",
        type=lambda v: None if v == "full" else int(v),
        default=os.environ.get("BENCH_BIG", "full"),
        help="appointments in the big variant, or 'full' (the two-year window, >= 500,000)",
    )
    parser.add_argument(
        "--patients", type=int, default=int(os.environ.get("BENCH_PATIENTS", seed.PATIENTS))
    )
    cfg = parser.parse_args()
    if isinstance(cfg.big, str):
        cfg.big = None if cfg.big == "full" else int(cfg.big)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    RESULTS.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    zone = seed.clinic_zone()
    now = datetime.now(UTC)
    meta: dict[str, Any] = {
        "started_at": now.isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        "duration_s": cfg.duration,
        "warmup_s": cfg.warmup,
        "connections": cfg.connections,
        "wrk_threads": int(os.environ.get("BENCH_WRK_THREADS", "1")),
        "clinic_timezone": str(zone),
        "app": "appointments serve --workers 2 (ENVIRONMENT=production)",
        "ratios_against": "the 2-worker ceilings of the same run",
        "booking_actor": "ADMIN (for any patient)",
        "get_and_list_actor": "the owning DOCTOR",
    }
    log("seeding the clinic")
    hashed = asyncio.run(seed.password_hash())
    meta["clinic_seed"] = asyncio.run(
        seed.seed_clinic(seed.dsn(), hashed, seed.DOCTORS, cfg.patients)
    )
    small = phase_small(cfg, now, zone)
    big = phase_big(cfg, now, zone)
    ceilings = phase_ceilings(cfg)
    meta["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    meta["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    meta["total_seconds"] = round(time.monotonic() - started, 1)
    report = assemble(meta, small, big, ceilings)
    (RESULTS / "latest.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / "latest.md").write_text(markdown(report))
    print(json.dumps(report, indent=2))
    shutil.rmtree(WORK, ignore_errors=True)  # tens of MB of request files
    log(
        f"targets met: {report['targets_met']}/{report['targets_total']}; "
        f"took {meta['total_seconds']:.0f} s; wrote {RESULTS / 'latest.json'} and latest.md"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
