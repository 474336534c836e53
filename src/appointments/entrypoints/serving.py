"""Serving an ASGI app with uvicorn, with a listening socket of its own for each worker.

uvicorn's `--workers N` binds one socket in the supervisor and hands it to every worker.
A worker's event loop accepts every pending connection at once when it wakes, so with
keep-alive clients one worker can end up holding most of them while the other idles.
Here each worker binds its own socket on host:port with SO_REUSEPORT, and the kernel
spreads new connections across the workers' accept queues (by a hash of the client's
address and port). The rest is uvicorn's own supervisor (`Multiprocess`): dead workers are
replaced, SIGTERM is passed on to every worker, which drains its requests, SIGHUP
replaces the workers one by one, SIGTTIN/SIGTTOU add or remove one.

Where the platform has no SO_REUSEPORT (`REUSE_PORT` is false), the workers share one
socket as uvicorn does by default.
"""

from __future__ import annotations

import logging
import socket
import sys
from collections.abc import Callable
from typing import Any, Final

import uvicorn
from uvicorn.config import LOGGING_CONFIG, STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

REUSE_PORT: Final = hasattr(socket, "SO_REUSEPORT")

logger = logging.getLogger("uvicorn.error")


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to host:port with SO_REUSEADDR and SO_REUSEPORT, not listening
    yet (the worker's event loop listens on it): any number of them, of one user, can be
    bound to the same address, and those listening share its new connections."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    return sock


def worker_socket(host: str, port: int) -> socket.socket:
    """A worker's own socket, made as the worker starts (see `PerWorkerSocket`). A failed
    bind exits with uvicorn's startup-failure code, so the supervisor stops instead of
    restarting a worker that would fail the same way."""
    try:
        return reuse_port_socket(host, port)
    except OSError as error:
        print(f"error: a worker cannot listen on {host}:{port}: {error}", file=sys.stderr)
        raise SystemExit(STARTUP_FAILURE) from error


class PerWorkerSocket(socket.socket):
    """What the supervisor holds and passes to each worker it starts: a socket bound with
    SO_REUSEPORT but never listened on, so it gets no connections. uvicorn starts workers
    with multiprocessing's spawn, which pickles the sockets it passes; this one pickles
    as its address, and unpickles (in the new worker) as a new socket bound to it. So
    every worker, restarted ones too, listens on a socket of its own, while uvicorn's
    supervisor stays as it is. Bound in the supervisor, it also turns port 0 into one
    port for all workers and reports a busy address once."""

    @classmethod
    def bound(cls, host: str, port: int) -> PerWorkerSocket:
        return cls(fileno=reuse_port_socket(host, port).detach())

    def __reduce__(self) -> tuple[Callable[[str, int], socket.socket], tuple[str, int]]:
        host, port = self.getsockname()[:2]
        return worker_socket, (host, port)


def worker_sockets(config: uvicorn.Config, reuse_port: bool = REUSE_PORT) -> list[socket.socket]:
    """The sockets for uvicorn's supervisor to pass to its workers: a `PerWorkerSocket`,
    or without SO_REUSEPORT the one socket they all accept from, as uvicorn binds it."""
    if not reuse_port:
        return [config.bind_socket()]
    try:
        sock = PerWorkerSocket.bound(config.host, config.port)
    except OSError as error:
        logger.error(error)
        sys.exit(STARTUP_FAILURE)
    host, port = sock.getsockname()[:2]
    logger.info("Uvicorn running on http://%s:%d (Press CTRL+C to quit)", host, port)
    logger.info("Each worker listens on a socket of its own (SO_REUSEPORT)")
    return [sock]


def serve_asgi(
    app: str,
    host: str,
    port: int,
    workers: int,
    *,
    factory: bool = False,
    log_config: dict[str, Any] | None = LOGGING_CONFIG,
    access_log: bool = True,
) -> None:
    """Serve the ASGI app at the import string `app` ("module:attribute", a factory with
    `factory`) until SIGTERM or SIGINT, which let in-flight requests finish (30 s at
    most). One worker is served in this process, N > 1 by uvicorn's supervisor, each on
    its own socket (see the module's docstring). A worker that cannot start stops it all,
    with uvicorn's startup-failure exit code (3), whatever N. `appointments serve` serves
    the app so, and the benchmark its reference apps, so that they compare like with
    like."""
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "factory": factory,
        "proxy_headers": True,
        "timeout_graceful_shutdown": 30,
        "log_config": log_config,
        "access_log": access_log,
    }
    if workers <= 1:
        uvicorn.run(app, **options)
        return
    config = uvicorn.Config(app, workers=workers, **options)
    sockets = worker_sockets(config)
    supervisor = Multiprocess(config, sockets=sockets)
    try:
        supervisor.run()
    finally:
        for sock in sockets:
            sock.close()
    # uvicorn's supervisor stops when a worker cannot start (the app, or its socket, is
    # broken) but returns as if asked to: exit as a single worker would, not with 0.
    if any(process.exitcode == STARTUP_FAILURE for process in supervisor.processes):
        sys.exit(STARTUP_FAILURE)
