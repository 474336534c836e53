"""`appointments serve --workers 2` on SQLite: each worker listens on a socket of its own,
so a burst of keep-alive connections (as a load generator opens them) spreads over both
workers, and a worker that dies is replaced by one that listens and serves too.

Which process holds a socket is read from `ss -p` (iproute2), as bench/load.py does.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from http.client import HTTPConnection
from pathlib import Path

import httpx
import pytest

from tests.api.test_booking_race import (
    _free_port,
    _server_env,
    _wait_until_healthy,
    serve_app,
    stop_server,
)

pytestmark = pytest.mark.slow

CONNECTIONS = 24


def holders(port: int, state: str) -> list[set[int]]:
    """For each TCP socket on the server's port in `state` ("listening", "established"),
    the processes holding it."""
    if shutil.which("ss") is None:
        pytest.fail("these tests read sockets with `ss`: install iproute2")
    argv = ["ss", "-Htnp", "state", state, f"( sport = :{port} )"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=True).stdout
    return [{int(pid) for pid in re.findall(r"pid=(\d+)", line)} for line in out.splitlines()]


def parent_of(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def wait_for_listening_workers(
    port: int, supervisor: subprocess.Popen[bytes], gone: int | None = None
) -> set[int]:
    """The pids of the supervisor's two workers once both listen, each on a socket of its
    own (and `gone`, a worker killed, is not one of them)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert supervisor.poll() is None, "the server exited"
        listening = holders(port, "listening")
        workers = {pid for pids in listening for pid in pids}
        if len(listening) == 2 and len(workers) == 2 and gone not in workers:
            assert {parent_of(pid) for pid in workers} == {supervisor.pid}
            return workers
        time.sleep(0.2)
    raise AssertionError(f"not 2 workers on sockets of their own: {holders(port, 'listening')}")


def burst_held(port: int) -> Counter[int]:
    """How many of CONNECTIONS keep-alive connections each process holds, the connections
    all opened before any request (so they wait in the accept queues together, as a load
    generator's do), then each asked for /health; closed again after."""
    connections = [HTTPConnection("127.0.0.1", port, timeout=10) for _ in range(CONNECTIONS)]
    try:
        for connection in connections:
            connection.connect()
        for connection in connections:
            connection.request("GET", "/health")
            response = connection.getresponse()
            response.read()
            assert response.status == 200
        return Counter(pid for pids in holders(port, "established") for pid in pids)
    finally:
        for connection in connections:
            connection.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = _free_port()
    env = _server_env(f"sqlite+aiosqlite:///{tmp_path / 'workers.db'}")
    process = serve_app(env, tmp_path, port, tmp_path / "server.log", workers=2)
    try:
        yield port, process
    finally:
        stop_server(process)
        print((tmp_path / "server.log").read_text(errors="replace")[-3000:])


async def test_connections_spread_over_both_workers_and_a_dead_one_is_replaced(
    served: tuple[int, subprocess.Popen[bytes]],
) -> None:
    port, supervisor = served
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        await _wait_until_healthy(client, deadline_seconds=60)
    workers = wait_for_listening_workers(port, supervisor)

    held = burst_held(port)
    assert set(held) == workers, held
    assert sum(held.values()) == CONNECTIONS
    assert min(held.values()) >= 1, held  # both hold some (all on one: 1 in 8 million)

    dead = min(workers)
    os.kill(dead, signal.SIGKILL)
    replaced = wait_for_listening_workers(port, supervisor, gone=dead)
    assert len(replaced & workers) == 1
    held = burst_held(port)
    assert set(held) == replaced, held
