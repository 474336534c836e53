"""A Python client generated from the served `/openapi.json` with openapi-python-client
(the pinned dev dependency, run offline): the generator reports no warning or error,
every generated module imports with warnings as errors, and the client talks to the real
app, an error answer arriving as its operation's typed model whose `code` is an enum."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.api.support import PASSWORD, ApiClinic

PACKAGE = "appointments_client"
# No formatter or linter run over the output: the test checks what the generator writes.
CONFIG = f"post_hooks: []\npackage_name_override: {PACKAGE}\n"
IMPORT_ALL = f"""
import importlib, pkgutil, {PACKAGE} as package
names = [m.name for m in pkgutil.walk_packages(package.__path__, "{PACKAGE}.")]
for name in names:
    importlib.import_module(name)
print(len(names))
"""


@pytest.fixture(scope="module")
def generated(
    served_spec: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """The generated package's parent folder (on sys.path while the module's tests run)."""
    work = tmp_path_factory.mktemp("client")
    (work / "openapi.json").write_text(json.dumps(served_spec))
    (work / "config.yaml").write_text(CONFIG)
    out = work / "src"
    command = [
        str(Path(sys.executable).with_name("openapi-python-client")),
        "generate",
        "--path", str(work / "openapi.json"),
        "--output-path", str(out / PACKAGE),
        "--meta", "none",
        "--config", str(work / "config.yaml"),
    ]  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    output = (run.stdout + run.stderr).strip()
    assert run.returncode == 0, output
    # Its only line when clean; a warning or error is printed as such, with the cause.
    assert output.splitlines() == [f"Generating {out / PACKAGE}"], output
    sys.path.insert(0, str(out))
    yield out
    sys.path.remove(str(out))
    for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
        del sys.modules[name]


def test_every_generated_module_imports_with_warnings_as_errors(generated: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-W", "error", "-c", IMPORT_ALL],
        capture_output=True,
        text=True,
        cwd=generated,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert int(run.stdout) > 100  # api modules and models for every operation


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.{name}")


def test_operations_are_named_by_operation_id(generated: Path) -> None:
    for name in (
        "api.appointments.book_appointment",
        "api.auth.login",
        "api.auth.login_json",
        "api.doctors.list_doctors",
        "api.admin.list_audit_events",
        "models.book_appointment_error_409_code",
    ):
        assert (generated / PACKAGE / (name.replace(".", "/") + ".py")).exists(), name


async def test_the_client_narrows_an_error_on_its_code(
    generated: Path, clinic: ApiClinic, app: FastAPI
) -> None:
    admin = await clinic.admin()
    doctor = await clinic.doctor(admin)
    first, second = await clinic.patient(), await clinic.patient()
    starts_at = clinic.next_working_day()
    assert (await clinic.book(first, doctor, starts_at)).status_code == 201

    client_module = _module("client")
    models = _module("models")
    transport = httpx.ASGITransport(app=app)
    anonymous = client_module.Client(
        base_url="http://testserver", httpx_args={"transport": transport}
    )
    login = await _module("api.auth.login_json").asyncio(
        client=anonymous,
        body=models.LoginIn(username=second.user["username"], password=PASSWORD),
    )
    assert isinstance(login, models.TokenOut), login
    client = client_module.AuthenticatedClient(
        base_url="http://testserver", token=login.access_token, httpx_args={"transport": transport}
    )
    answer = await _module("api.appointments.book_appointment").asyncio(
        client=client,
        body=models.AppointmentIn(doctor_id=doctor.doctor_id, starts_at=starts_at),
    )
    assert isinstance(answer, models.BookAppointmentError409), answer
    assert answer.code is models.BookAppointmentError409Code.DOCTOR_UNAVAILABLE
    assert isinstance(answer.detail, str)
