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
        self, who: Party, doctor: Party, starts_at: datetime, patient_id: str | None = None,
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

    def next_working_day(self, at: time = time(10), zone: str = "UTC", days_ahead: int = 1) -> datetime:
        """`at` local time on the first Monday-Friday at least `days_ahead` after now."""
        tz = ZoneInfo(zone)
        day: date = self.clock.now().astimezone(tz).date() + timedelta(days=days_ahead)
        while day.weekday() >= 5:
            day += timedelta(days=1)
        return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)
