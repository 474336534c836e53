"""The served process logs every request with its request id: the one the client sent,
or the one generated and echoed to it."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx

from tests.api.test_booking_race import _free_port, _server_env, serve_app, stop_server


def _serve(tmp_path: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = _server_env(f"sqlite+aiosqlite:///{tmp_path / 'served.db'}")
    return serve_app(env, tmp_path, port, log)


def _wait_healthy(base: str, deadline_seconds: float = 30) -> None:
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"the server did not answer /health within {deadline_seconds} s")


def test_log_lines_carry_the_request_id(tmp_path: Path) -> None:
    port, log = _free_port(), tmp_path / "server.log"
    process = _serve(tmp_path, port, log)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base)
        given = httpx.get(f"{base}/api/auth/me", headers={"X-Request-ID": "trace-me.7"})
        assert given.status_code == 401
        assert given.headers["X-Request-ID"] == "trace-me.7"
        fresh = httpx.get(f"{base}/api/nowhere")
        generated = fresh.headers["X-Request-ID"]
    finally:
        stop_server(process)
    lines = log.read_text(errors="replace").splitlines()
    me = [line for line in lines if "/api/auth/me" in line]
    nowhere = [line for line in lines if "/api/nowhere" in line]
    assert me, lines
    assert nowhere, lines
    assert all("request_id=trace-me.7" in line for line in me), me
    assert all(f"request_id={generated}" in line for line in nowhere), nowhere
    # Lines outside any request say so rather than borrowing an id.
    assert any("request_id=-" in line for line in lines if "Started server" in line), lines
