"""`appointments serve | worker | create-admin` (also `python -m appointments`)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging.config
import os
import shutil
import signal
import socket
import sys
import tempfile
from pathlib import Path
from types import FrameType

from appointments.adapters.sqlalchemy.engine import is_sqlite
from appointments.application.users import NewUser
from appointments.container import Container
from appointments.domain.errors import CodedError
from appointments.entrypoints import dispatching, migrations, serving
from appointments.entrypoints.logging import log_config
from appointments.settings import Settings, hash_slots

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # read by prometheus-client in each worker


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="appointments", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="start the API server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)

    commands.add_parser("worker", help="deliver webhooks and email (the outbox) alone")

    admin = commands.add_parser("create-admin", help="create an ADMIN user")
    admin.add_argument("--username")
    admin.add_argument("--email")
    admin.add_argument("--full-name")
    admin.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    return parser


def _terminated(_signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(0)


def _schema_ready(url: str) -> bool:
    """Migrate an embedded SQLite database; check that any other one is migrated, telling
    the operator what to do (on stderr) when it is not."""
    if is_sqlite(url):
        migrations.upgrade(url)  # the embedded database migrates itself
        return True
    try:
        pending = asyncio.run(migrations.pending_heads(url))
    except (OSError, Exception) as error:
        print(f"error: cannot reach the database: {error}", file=sys.stderr)
        return False
    if pending:
        print(
            "error: the database schema is behind this version of the application; "
            "run `alembic upgrade head` from the repository root first.",
            file=sys.stderr,
        )
        return False
    return True


def _address_free(host: str, port: int) -> bool:
    """Whether the address can be bound, so a busy port is one clear line, not a
    traceback from each worker (the check is advisory: the server binds for real)."""
    try:
        with socket.create_server((host, port)):
            return True
    except OSError as error:
        print(
            f"error: cannot listen on {host}:{port} ({error.strerror}); choose another "
            "with --port (make run PORT=8001)",
            file=sys.stderr,
        )
        return False


def _metrics_dir() -> Path | None:
    """The directory where every worker writes its metrics (prometheus-client's
    multiprocess mode), emptied first: values of a previous run's processes would be
    added to this one's. PROMETHEUS_MULTIPROC_DIR if set (only its *.db files are
    removed), else a new temporary directory, returned to be removed after the run."""
    given = os.environ.get(MULTIPROC_ENV)
    path = Path(given) if given else Path(tempfile.mkdtemp(prefix="appointments-metrics-"))
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()
    os.environ[MULTIPROC_ENV] = str(path)  # before uvicorn imports the app, in any worker
    return None if given else path


def _configure_logging(settings: Settings) -> dict[str, object]:
    """Logging as LOG_FORMAT says, from the start (migrations log too); Python warnings
    become log lines, so that in JSON every line is one object."""
    config = log_config(settings.log_format, settings.environment)
    logging.config.dictConfig(config)
    logging.captureWarnings(True)
    return config


def serve(host: str, port: int, workers: int) -> int:
    settings = Container().settings()
    config = _configure_logging(settings)
    if not _address_free(host, port) or not _schema_ready(settings.database_url):
        return 1
    made = _metrics_dir() if settings.metrics_enabled else None
    if settings.password_hash_concurrency is None:  # each worker takes its share
        os.environ["PASSWORD_HASH_CONCURRENCY"] = str(hash_slots(workers))
    # uvicorn drains in-flight requests on SIGTERM, then raises the signal again with the
    # handler it found: with the default one the process would die by the signal (exit
    # 143) after a perfectly graceful shutdown. A stop that was asked for exits 0.
    signal.signal(signal.SIGTERM, _terminated)
    try:
        _run(host, port, workers, config)
    finally:
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)
    return 0


def _run(host: str, port: int, workers: int, config: dict[str, object]) -> None:
    serving.serve_asgi(
        "appointments.entrypoints.api.app:create_app",
        host,
        port,
        workers,
        factory=True,
        log_config=config,
        access_log=False,  # the app writes the access line (entrypoints/api/observe.py)
    )


def worker() -> int:
    """The dispatcher alone: for DISPATCHER=off, any number of them on PostgreSQL."""
    container = Container()
    _configure_logging(container.settings())
    if not _schema_ready(container.settings().database_url):
        return 1
    asyncio.run(dispatching.work(container))
    return 0


def _ask(value: str | None, prompt: str) -> str:
    return value if value is not None else input(prompt).strip()


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Password (again): "):
        raise SystemExit("error: the passwords do not match")
    return first


def create_admin(args: argparse.Namespace) -> int:
    interactive = not args.password_stdin
    if not interactive:
        named = {"--username": args.username, "--email": args.email, "--full-name": args.full_name}
        missing = [flag for flag, value in named.items() if not value]
        if missing:
            # Standard input holds the password: there is nobody to ask for the rest.
            print(f"error: --password-stdin needs {', '.join(missing)} too", file=sys.stderr)
            return 1
    data = NewUser(
        email=_ask(args.email, "Email: ") if interactive or args.email else "",
        username=_ask(args.username, "Username: ") if interactive or args.username else "",
        full_name=_ask(args.full_name, "Full name: ") if interactive or args.full_name else "",
        password=_password(args.password_stdin),
    )
    container = Container()
    if not _schema_ready(container.settings().database_url):
        return 1

    async def run() -> None:
        try:
            await container.provision_admin()(data)
        finally:
            await container.engine().dispose()

    try:
        asyncio.run(run())
    except CodedError as error:
        print(f"error: {error.detail}", file=sys.stderr)
        return 1
    print(f"Created admin {data.username!r}.")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return serve(args.host, args.port, args.workers)
    if args.command == "worker":
        return worker()
    return create_admin(args)


if __name__ == "__main__":
    sys.exit(main())
