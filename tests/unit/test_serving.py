"""The listening sockets `appointments serve --workers N` hands its workers: one of its own
for each (SO_REUSEPORT) where the platform has it, else one they all share."""

from __future__ import annotations

import pickle
import socket
import subprocess
import sys
from collections.abc import Iterator
from multiprocessing.reduction import ForkingPickler

import pytest
import uvicorn
from uvicorn.config import STARTUP_FAILURE

from appointments.entrypoints.serving import (
    REUSE_PORT,
    PerWorkerSocket,
    reuse_port_socket,
    worker_socket,
    worker_sockets,
)

needs_reuse_port = pytest.mark.skipif(not REUSE_PORT, reason="no SO_REUSEPORT here")


@pytest.fixture
def opened() -> Iterator[list[socket.socket]]:
    """Sockets a test opens, closed after it."""
    sockets: list[socket.socket] = []
    yield sockets
    for sock in sockets:
        sock.close()


def _option(sock: socket.socket, name: str) -> int:
    return sock.getsockopt(socket.SOL_SOCKET, getattr(socket, name))


@needs_reuse_port
def test_sockets_with_so_reuseport_listen_on_one_address_together(
    opened: list[socket.socket],
) -> None:
    first = reuse_port_socket("127.0.0.1", 0)
    opened.append(first)
    port = first.getsockname()[1]
    second = reuse_port_socket("127.0.0.1", port)
    opened.append(second)
    for sock in (first, second):
        assert _option(sock, "SO_REUSEPORT")
        assert _option(sock, "SO_REUSEADDR")
        sock.listen()
    with pytest.raises(OSError, match="in use"):  # a socket without it cannot join them
        opened.append(socket.create_server(("127.0.0.1", port)))


@needs_reuse_port
def test_the_supervisors_socket_reaches_a_worker_as_a_new_one_of_its_own(
    opened: list[socket.socket],
) -> None:
    placeholder = PerWorkerSocket.bound("127.0.0.1", 0)
    opened.append(placeholder)
    # What multiprocessing's spawn does with the sockets passed to a worker it starts.
    arrived = pickle.loads(ForkingPickler.dumps(placeholder))  # noqa: S301 (our own bytes)
    opened.append(arrived)
    assert type(arrived) is socket.socket
    assert arrived.fileno() != placeholder.fileno()
    assert arrived.getsockname() == placeholder.getsockname()
    assert _option(arrived, "SO_REUSEPORT")
    # The placeholder never listens, so every connection goes to the worker's socket.
    arrived.listen()
    arrived.settimeout(5)
    with socket.create_connection(placeholder.getsockname(), timeout=5):
        accepted, _ = arrived.accept()
        accepted.close()


@needs_reuse_port
def test_a_worker_that_cannot_bind_stops_as_a_startup_failure(
    opened: list[socket.socket],
) -> None:
    taken = socket.create_server(("127.0.0.1", 0))  # no SO_REUSEPORT: nobody may join it
    opened.append(taken)
    with pytest.raises(SystemExit) as stopped:
        worker_socket("127.0.0.1", taken.getsockname()[1])
    assert stopped.value.code == STARTUP_FAILURE


@needs_reuse_port
def test_with_so_reuseport_the_supervisor_holds_a_per_worker_socket(
    opened: list[socket.socket],
) -> None:
    config = uvicorn.Config("tests:app", host="127.0.0.1", port=0, log_config=None)
    [sock] = worker_sockets(config, reuse_port=True)
    opened.append(sock)
    assert isinstance(sock, PerWorkerSocket)
    assert sock.getsockname()[1] != 0  # port 0 became one port, the same for every worker


def test_without_so_reuseport_the_workers_share_one_socket(opened: list[socket.socket]) -> None:
    config = uvicorn.Config("tests:app", host="127.0.0.1", port=0, log_config=None)
    [sock] = worker_sockets(config, reuse_port=False)
    opened.append(sock)
    assert type(sock) is socket.socket  # passed to every worker as this very socket
    if REUSE_PORT:
        assert not _option(sock, "SO_REUSEPORT")


def test_workers_that_cannot_start_stop_the_server_with_the_startup_failure_code() -> None:
    """uvicorn's supervisor gives up on a worker that fails before serving (here its app
    cannot be imported) and returns; `serve --workers 2` must not then exit 0, which
    a process manager would read as a clean stop."""
    program = (
        "from appointments.entrypoints.serving import serve_asgi; "
        "serve_asgi('appointments.no_such_module:app', '127.0.0.1', 0, 2, log_config=None)"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == STARTUP_FAILURE, done.stderr
