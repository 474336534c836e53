"""Fixtures for the schemathesis contract run: one seeded SQLite clinic, served in-process.

The app under test runs inside schemathesis' ASGI transport, which drives it from its own
event-loop thread. SQLAlchemy's async pool binds connections to the loop that opened them,
so the app gets an engine of its own (never shared with the pytest loop), and everything
after the first admin is seeded through the HTTP API on that same transport.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from dependency_injector import providers
from fastapi import FastAPI
from schemathesis.python import asgi

from appointments.adapters.clock import FixedClock
from appointments.application.users import NewUser
from appointments.container import Container
from appointments.entrypoints import migrations
from appointments.entrypoints.api.app import create_app
from tests.conftest import test_settings as settings_for
from tests.contract import hooks

PASSWORD = "contract-horse-battery"
SEED = 20270301


@dataclass
class Identity:
    """A logged-in user the fuzzer acts as."""

    name: str
    role: str
    username: str
    token: str
    user_id: str
    patient_id: str | None = None
    doctor_id: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class World:
    """The seeded clinic: who logs in, and ids of real objects for path parameters."""

    app: FastAPI
    client: requests.Session
    identities: dict[str, Identity]
    # Objects any request may hit, keyed by path parameter name.
    readable: dict[str, list[str]] = field(default_factory=dict)
    # Objects a destructive request may hit without logging an identity out.
    expendable: dict[str, list[str]] = field(default_factory=dict)

    @property
    def protected(self) -> set[str]:
        """Ids that stand for a fuzzing identity (its user, doctor or patient record)."""
        return {
            value
            for i in self.identities.values()
            for value in (i.user_id, i.doctor_id, i.patient_id)
            if value is not None
        }

    def login(self, username: str) -> str:
        response = self.client.post(
            "/api/auth/login", data={"username": username, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def assert_still_logged_in(self, identity: Identity) -> None:
        """Fuzzing must not have revoked or disabled the identity: every later request
        would be a 401, which every check accepts, and the run would test nothing."""
        response = self.client.get("/api/auth/me", headers=identity.headers)
        assert response.status_code == 200, f"{identity.name} lost its login: {response.text}"


@pytest.fixture(scope="module")
async def contract_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated SQLite file of its own with the first admin in it.

    Not the shared `sqlite_url` file: other modules empty its tables per test, and this
    module keeps one seeded clinic for all of its tests.
    """
    path: Path = tmp_path_factory.mktemp("contract") / "contract.db"
    url = f"sqlite+aiosqlite:///{path}"
    await asyncio.to_thread(migrations.upgrade, url)
    seeder = _container(url, FixedClock(datetime.now(UTC)))
    try:
        await seeder.provision_admin()(
            NewUser("admin@example.com", "admin", "Admin Contract", PASSWORD)
        )
    finally:
        await seeder.engine().dispose()
    return url


def _container(url: str, clock: FixedClock) -> Container:
    container = Container()
    container.settings.override(providers.Object(settings_for(url)))
    container.clock.override(providers.Object(clock))
    return container


@pytest.fixture(scope="module")
def world(contract_database: str) -> Iterator[World]:
    clock = FixedClock(datetime.now(UTC).replace(microsecond=0))
    container = _container(contract_database, clock)
    app = create_app(container)
    with asgi.get_client(app) as client:
        seeded = _seed(app, client, clock)
        hooks.KNOWN_IDS[hooks.READABLE] = seeded.readable
        hooks.KNOWN_IDS[hooks.EXPENDABLE] = seeded.expendable
        hooks.PROTECTED_IDS.update(seeded.protected)
        yield seeded
    hooks.KNOWN_IDS[hooks.READABLE] = {}
    hooks.KNOWN_IDS[hooks.EXPENDABLE] = {}
    hooks.PROTECTED_IDS.clear()
    asgi.shutdown_lifespans()  # the app's lifespan disposes its engine on that loop
    container.unwire()


def _ok(response: requests.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def _next_working_day(clock: FixedClock, days_ahead: int) -> date:
    day = clock.now().date() + timedelta(days=days_ahead)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _seed(app: FastAPI, client: requests.Session, clock: FixedClock) -> World:
    world = World(app=app, client=client, identities={})

    def identity(name: str, username: str) -> Identity:
        token = world.login(username)
        me = _ok(client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"}))
        found = Identity(
            name, me["role"], username, token, me["id"], me.get("patient_id"), me.get("doctor_id")
        )
        world.identities[name] = found
        return found

    admin = identity("admin", "admin")
    as_admin = admin.headers

    department = _ok(
        client.post("/api/departments", json={"name": "Cardiology"}, headers=as_admin), 201
    )
    empty_department = _ok(
        client.post("/api/departments", json={"name": "Empty wing"}, headers=as_admin), 201
    )
    service = _ok(
        client.post(
            "/api/services",
            json={"name": "ECG", "department_id": department["id"], "duration_minutes": 20},
            headers=as_admin,
        ),
        201,
    )
    room = _ok(client.post("/api/rooms", json={"name": "Room 1"}, headers=as_admin), 201)
    webhook = _ok(
        client.post("/api/admin/webhooks", json={"url": "https://8.8.8.8/hooks"}, headers=as_admin),
        201,
    )

    def new_doctor(username: str) -> dict[str, Any]:
        body = {
            "email": f"{username}@example.com",
            "username": username,
            "full_name": f"Dr {username}",
            "password": PASSWORD,
            "department_id": department["id"],
            "specialization": "Cardiology",
        }
        return dict(_ok(client.post("/api/doctors", json=body, headers=as_admin), 201))

    def new_patient(username: str) -> None:
        body = {
            "email": f"{username}@example.com",
            "username": username,
            "full_name": f"Patient {username}",
            "password": PASSWORD,
        }
        _ok(client.post("/api/auth/register", json=body), 201)

    new_doctor("doctor1")
    new_doctor("doctor2")
    spare_doctor = new_doctor("doctor3")
    new_patient("patient1")
    new_patient("patient2")
    doctor1 = identity("doctor1", "doctor1")
    doctor2 = identity("doctor2", "doctor2")
    patient1 = identity("patient1", "patient1")
    patient2 = identity("patient2", "patient2")
    walk_in = _ok(
        client.post("/api/patients", json={"full_name": "Walk In"}, headers=as_admin), 201
    )
    spare_user = _ok(
        client.post(
            "/api/admin/users",
            json={
                "email": "spare@example.com",
                "username": "spare",
                "full_name": "Spare User",
                "password": PASSWORD,
                "role": "PATIENT",
            },
            headers=as_admin,
        ),
        201,
    )

    time_off = _ok(
        client.post(
            f"/api/doctors/{doctor1.doctor_id}/time-off",
            json={
                "starts_at": datetime.combine(
                    _next_working_day(clock, 20), time(9), tzinfo=UTC
                ).isoformat(),
                "ends_at": datetime.combine(
                    _next_working_day(clock, 20), time(12), tzinfo=UTC
                ).isoformat(),
                "reason": "conference",
            },
            headers=doctor1.headers,
        ),
        201,
    )

    appointments: list[str] = []
    bookings = [
        (patient1, doctor1, 1, 10),
        (patient1, doctor2, 2, 11),
        (patient2, doctor2, 1, 10),
        (patient2, doctor1, 3, 14),
        (patient1, doctor1, 4, 9),
        (patient2, doctor2, 5, 15),
    ]
    for who, doctor, days, hour in bookings:
        starts_at = datetime.combine(_next_working_day(clock, days), time(hour), tzinfo=UTC)
        body = {"doctor_id": doctor.doctor_id, "starts_at": starts_at.isoformat()}
        appointments.append(
            _ok(client.post("/api/appointments", json=body, headers=who.headers), 201)["id"]
        )

    people = [i.user_id for i in world.identities.values()]
    world.readable = {
        "user_id": [*people, spare_user["id"]],
        "department_id": [department["id"], empty_department["id"]],
        "doctor_id": [doctor1.doctor_id, doctor2.doctor_id, spare_doctor["id"]],  # type: ignore[list-item]
        "practitioner_id": [doctor1.doctor_id, doctor2.doctor_id],  # type: ignore[list-item]
        "patient_id": [patient1.patient_id, patient2.patient_id, walk_in["id"]],  # type: ignore[list-item]
        "appointment_id": appointments,
        "time_off_id": [time_off["id"]],
        "service_id": [service["id"]],
        "room_id": [room["id"]],
        "webhook_id": [webhook["id"]],
    }
    world.expendable = {
        "user_id": [spare_user["id"]],
        "doctor_id": [spare_doctor["id"]],
        "patient_id": [walk_in["id"]],
    }
    return world


# ADMIN last: its stateful run may deactivate or rewrite users reached through links.
@pytest.fixture(scope="module", params=["doctor1", "patient1", "admin"])
def identity(request: pytest.FixtureRequest, world: World) -> Identity:
    return world.identities[request.param]
