"""Builders for API tests: create people and objects through the real HTTP API."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from appointments.adapters.clock import FixedClock
from appointments.application.users import NewUser
from appointments.container import Container

PASSWORD = "correct-horse-battery"
_counter = itertools.count(1)


# The response shapes of API.md: exactly these fields, never more (no hash, no secrets).
USER_FIELDS = {"id", "email", "username", "full_name", "role", "is_active", "created_at"}
ME_FIELDS = USER_FIELDS | {"patient_id", "doctor_id"}
DOCTOR_FIELDS = {
    "id",
    "user_id",
    "full_name",
    "email",
    "department_id",
    "specialization",
    "phone",
    "is_active",
}
PATIENT_FIELDS = {"id", "user_id", "full_name", "email", "phone", "date_of_birth", "is_active"}
APPOINTMENT_FIELDS = {
    "id",
    "patient_id",
    "doctor_id",
    "department_id",
    "starts_at",
    "ends_at",
    "status",
    "reason",
    "notes",
    "cancellation_reason",
    "created_at",
    "updated_at",
    "service_id",
    "room_id",
    "series_id",
    "cancelled_by",
    "cancelled_at",
}


@dataclass
class Party:
    """Someone logged in: their headers and what the API told about them."""

    headers: dict[str, str]
    user: dict[str, Any]
    token: str
    patient_id: str | None = None
    doctor_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class ApiClinic:
    def __init__(self, client: httpx.AsyncClient, container: Container, clock: FixedClock):
        self.client, self.container, self.clock = client, container, clock

    async def login(self, username: str, password: str = PASSWORD) -> str:
        response = await self.client.post(
            "/api/auth/login", data={"username": username, "password": password}
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    async def _party(self, username: str, password: str = PASSWORD) -> Party:
        token = await self.login(username, password)
        me = (await self.client.get("/api/auth/me", headers=bearer(token))).json()
        return Party(bearer(token), me, token, me.get("patient_id"), me.get("doctor_id"))

    async def admin(self, name: str | None = None) -> Party:
        username = name or f"admin{next(_counter)}"
        await self.container.provision_admin()(
            NewUser(f"{username}@example.com", username, f"Admin {username}", PASSWORD)
        )
        return await self._party(username)

    async def patient(self, name: str | None = None) -> Party:
        username = name or f"patient{next(_counter)}"
        response = await self.client.post(
            "/api/auth/register",
            json={
                "email": f"{username}@example.com",
                "username": username,
                "full_name": f"Patient {username}",
                "password": PASSWORD,
            },
        )
        assert response.status_code == 201, response.text
        return await self._party(username)

    async def department(self, admin: Party, name: str | None = None) -> str:
        response = await self.client.post(
            "/api/departments",
            json={"name": name or f"Department {next(_counter)}"},
            headers=admin.headers,
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def doctor(
        self, admin: Party, department_id: str | None = None, name: str | None = None
    ) -> Party:
        username = name or f"doctor{next(_counter)}"
        response = await self.client.post(
            "/api/doctors",
            json={
                "email": f"{username}@example.com",
                "username": username,
                "full_name": f"Dr {username}",
                "password": PASSWORD,
                "department_id": department_id or await self.department(admin),
                "specialization": "General practice",
            },
            headers=admin.headers,
        )
        assert response.status_code == 201, response.text
        return await self._party(username)

    async def book(
        self,
        who: Party,
        doctor: Party,
        starts_at: datetime,
        patient_id: str | None = None,
        minutes: int = 30,
    ) -> httpx.Response:
        body: dict[str, Any] = {
            "doctor_id": doctor.doctor_id,
            "starts_at": starts_at.isoformat(),
            "duration_minutes": minutes,
        }
        if patient_id is not None:
            body["patient_id"] = patient_id
        return await self.client.post("/api/appointments", json=body, headers=who.headers)

    def next_working_day(
        self, at: time = time(10), zone: str = "UTC", days_ahead: int = 1
    ) -> datetime:
        """`at` local time on the first Monday-Friday at least `days_ahead` after now."""
        tz = ZoneInfo(zone)
        day: date = self.clock.now().astimezone(tz).date() + timedelta(days=days_ahead)
        while day.weekday() >= 5:
            day += timedelta(days=1)
        return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


# --- clinic-section helpers (departments, doctors, schedule, patients, appointments) ----


async def relogin(clinic: ApiClinic, party: Party) -> Party:
    """A fresh token for `party`: needed after moving `clock` past the token lifetime."""
    fresh = await clinic._party(str(party.user["username"]))
    party.headers, party.token, party.user = fresh.headers, fresh.token, fresh.user
    return party


def next_monday(clock: FixedClock, weeks_ahead: int = 0) -> date:
    """The first Monday at least two days after now (so its whole week is in the future)."""
    day = clock.now().date() + timedelta(days=2)
    while day.weekday() != 0:
        day += timedelta(days=1)
    return day + timedelta(weeks=weeks_ahead)


def at(day: date, hour: int, minute: int = 0, zone: str = "UTC") -> datetime:
    """Local wall-clock time on `day` in `zone`, as an aware UTC datetime."""
    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(zone)).astimezone(UTC)


def parse_utc(value: str) -> datetime:
    """A response datetime, checked to be given in UTC (`Z` or `+00:00`)."""
    assert value.endswith(("Z", "+00:00")), f"not UTC: {value}"
    parsed = datetime.fromisoformat(value)
    assert parsed.utcoffset() == timedelta(0)
    return parsed


# --- helpers appended for the auth/admin/edge suites --------------------------------

# What a password hash looks like in any scheme the hasher knows (argon2, bcrypt).
HASH_MARKERS = ("$argon2", "$2b$", "$2a$", "$2y$", "password_hash")


def forbid_secrets_in_responses(client: httpx.AsyncClient, *secrets: str) -> None:
    """Fail the test on any response whose body holds a hash or one of `secrets`."""
    forbidden = (*HASH_MARKERS, PASSWORD, *secrets)

    async def check(response: httpx.Response) -> None:
        body = (await response.aread()).decode(errors="replace")
        leaked = [s for s in forbidden if s in body]
        assert not leaked, f"{response.request.method} {response.request.url}: {leaked}"

    client.event_hooks["response"].append(check)


def make_container(
    database_url: str, engine: Any, clock: FixedClock, **settings: object
) -> Container:
    """A container built like the `container` fixture, with extra settings."""
    from dependency_injector import providers

    from tests import conftest

    container = Container()
    container.settings.override(providers.Object(conftest.test_settings(database_url, **settings)))
    container.engine.override(providers.Object(engine))
    container.clock.override(providers.Object(clock))
    return container


def client_for(app: Any) -> httpx.AsyncClient:
    """An httpx client for another app instance (use with `async with`)."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
