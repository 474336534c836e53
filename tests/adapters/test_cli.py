"""The `appointments` console script and `python -m appointments`."""

from __future__ import annotations

import asyncio
import io
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from dependency_injector import providers

from appointments.adapters.sqlalchemy.engine import create_engine
from appointments.application.errors import InvalidCredentials
from appointments.container import Container
from appointments.domain.users import Role
from appointments.entrypoints import cli, migrations
from tests.adapters.conftest import VENV_BIN, count_rows, run, run_env
from tests.conftest import test_settings as settings_for

PASSWORD = "s3cret-Passw0rd"
CONSOLE = [str(VENV_BIN / "appointments")]
MODULE = [sys.executable, "-m", "appointments"]


def create_admin(username: str, email: str, full_name: str = "Root Admin") -> list[str]:
    return [
        "create-admin",
        "--username",
        username,
        "--email",
        email,
        "--full-name",
        full_name,
        "--password-stdin",
    ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def migrated_postgres_url(empty_postgres_url: str) -> str:
    await asyncio.to_thread(migrations.upgrade, empty_postgres_url)
    return empty_postgres_url


@pytest.fixture(params=["sqlite", "postgres"])
def cli_database_url(request: pytest.FixtureRequest) -> str:
    """An empty SQLite file (create-admin migrates it itself) or a migrated, empty PostgreSQL
    database (there the operator runs `alembic upgrade head`)."""
    name = "empty_sqlite_url" if request.param == "sqlite" else "migrated_postgres_url"
    return str(request.getfixturevalue(name))


@pytest.fixture
def in_process(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], isolated_cwd: Path
) -> Callable[[list[str], str, str], Awaitable[tuple[int, str, str]]]:
    """`appointments ARGS` run in this process (off the event loop): fast, for the cases
    whose subprocess twins are covered above."""
    monkeypatch.chdir(isolated_cwd)

    async def main(argv: list[str], database_url: str, stdin: str) -> tuple[int, str, str]:
        for name, value in run_env(database_url).items():
            monkeypatch.setenv(name, value)
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = await asyncio.to_thread(cli.main, argv)
        out, err = capsys.readouterr()
        return code, out, err

    return main


@pytest.fixture
async def app_container(cli_database_url: str) -> AsyncIterator[Container]:
    """The application, as configured for the database the CLI wrote to."""
    container = Container()
    container.settings.override(providers.Object(settings_for(cli_database_url)))
    yield container
    await container.engine().dispose()


async def test_create_admin_then_log_in_and_refuse_a_duplicate(
    cli_database_url: str, app_container: Container, isolated_cwd: Path
) -> None:
    """Both entry points, on both databases: one creates, the other refuses a duplicate."""
    first, second = (CONSOLE, MODULE) if "sqlite" in cli_database_url else (MODULE, CONSOLE)
    env = run_env(cli_database_url)
    stdin = f"{PASSWORD}\n"

    created = await run(
        [*first, *create_admin("root.admin", "Root@Example.com")],
        env=env,
        cwd=isolated_cwd,
        stdin=stdin,
    )
    assert created.returncode == 0, created.stderr
    assert "root.admin" in created.stdout

    for login in ("root.admin", "ROOT.ADMIN", "root@example.com"):
        issued = await app_container.login()(login, PASSWORD)
        actor = await app_container.authenticate()(issued.token)
        assert actor.role is Role.ADMIN
    with pytest.raises(InvalidCredentials):
        await app_container.login()("root.admin", stdin)  # the newline is not the password

    again = await run(
        [*second, *create_admin("ROOT.admin", "other@example.com")],
        env=env,
        cwd=isolated_cwd,
        stdin=stdin,
    )
    assert again.returncode != 0, again.stdout
    assert again.stderr.startswith("error: "), again.stderr
    assert "username already exists" in again.stderr
    assert "Traceback" not in again.stderr
    engine = app_container.engine()
    assert await count_rows(engine, "SELECT count(*) FROM users WHERE role = 'ADMIN'") == 1
    assert await count_rows(engine, "SELECT count(*) FROM users") == 1


InProcess = Callable[[list[str], str, str], Awaitable[tuple[int, str, str]]]


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (create_admin("taken.admin", "new@example.com"), PASSWORD, "username already exists"),
        (create_admin("new.admin", "TAKEN@example.com"), PASSWORD, "email already exists"),
        (create_admin("new.admin", "new@example.com"), "short\n", "password is 8 to 128"),
        (create_admin("x", "new@example.com"), PASSWORD, "username is 3 to 50"),
        (create_admin("new.admin", "not-an-email"), PASSWORD, "email address is not valid"),
        (create_admin("new.admin", "new@example.com", "  "), PASSWORD, "full name is 1 to 200"),
        (
            ["create-admin", "--email", "new@example.com", "--password-stdin"],
            PASSWORD,
            "--password-stdin needs --username, --full-name too",
        ),
    ],
    ids=[
        "username-taken",
        "email-taken",
        "password",
        "username",
        "email",
        "full-name",
        "stdin-without-names",
    ],
)
async def test_create_admin_refusals_are_one_clear_line(
    empty_sqlite_url: str, in_process: InProcess, args: list[str], stdin: str, message: str
) -> None:
    code, _, err = await in_process(
        create_admin("taken.admin", "taken@example.com"), empty_sqlite_url, PASSWORD
    )
    assert code == 0, err

    code, out, err = await in_process(args, empty_sqlite_url, stdin)

    assert code == 1
    assert out == ""
    assert err.startswith("error: ")
    assert message in err
    assert err.count("\n") == 1
    engine = create_engine(empty_sqlite_url)
    try:
        assert await count_rows(engine, "SELECT count(*) FROM users") == 1
    finally:
        await engine.dispose()


async def test_commands_refuse_a_postgres_database_without_schema(
    empty_postgres_url: str, isolated_cwd: Path, in_process: InProcess
) -> None:
    """`serve` neither starts nor hangs on an unmigrated database; it says what to run."""
    serve = await run(
        [*CONSOLE, "serve", "--port", str(free_port())],
        env=run_env(empty_postgres_url),
        cwd=isolated_cwd,
        timeout=60,
    )
    assert serve.returncode != 0
    assert "run `alembic upgrade head`" in serve.stderr
    assert "Traceback" not in serve.stderr

    code, _, err = await in_process(
        create_admin("root.admin", "root@example.com"), empty_postgres_url, PASSWORD
    )
    assert code == 1
    assert "run `alembic upgrade head`" in err
    assert await migrations.pending_heads(empty_postgres_url)  # nothing was migrated


async def test_create_admin_reports_an_unreachable_database(in_process: InProcess) -> None:
    nowhere = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/appt_adapters_absent"
    code, out, err = await in_process(
        create_admin("root.admin", "root@example.com"), nowhere, PASSWORD
    )
    assert code == 1
    assert "Created" not in out
    assert err.startswith("error: cannot reach the database")


async def test_serve_on_a_busy_port_says_so(empty_sqlite_url: str, isolated_cwd: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        serve = await run(
            [*CONSOLE, "serve", "--port", str(port)],
            env=run_env(empty_sqlite_url),
            cwd=isolated_cwd,
            timeout=60,
        )
    assert serve.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in serve.stderr
    assert "--port" in serve.stderr
    assert "Traceback" not in serve.stderr
