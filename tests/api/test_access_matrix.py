"""Who may call what: every endpoint of Departments, Doctors, Patients, Appointments,
Services, Rooms, holds, the waitlist, the booking policy, the audit trail and webhook
endpoints against every kind of caller, with the exact status.

The table is role x endpoint. Each endpoint is one test (per database) that runs every
caller against a world of: an admin, the doctor, another doctor, the patient (who has an
appointment with the doctor), another patient, and no one at all. After every refused
call the database, read back as admin, is exactly as before (the audit trail included:
a refused request records nothing); after every allowed write it is not. A hidden object
answers exactly like an id that does not exist.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
import pytest

from tests.api.support import PASSWORD, ApiClinic, Party, at, next_monday, relogin

CALLERS = ("admin", "doctor", "other_doctor", "patient", "other_patient", "anonymous")
_names = itertools.count(1)


@dataclass
class World:
    clinic: ApiClinic
    monday: date
    parties: dict[str, Party]
    ids: dict[str, str] = field(default_factory=dict)

    @property
    def admin(self) -> Party:
        return self.parties["admin"]

    def headers(self, caller: str) -> dict[str, str]:
        return {} if caller == "anonymous" else self.parties[caller].headers

    async def snapshot(self) -> list[Any]:
        """Everything these endpoints can change, read as admin."""
        paths = [
            ("/api/departments", {}),
            (f"/api/doctors/{self.ids['doctor']}", {}),
            (f"/api/doctors/{self.ids['doctor']}/schedule", {}),
            ("/api/patients", {}),
            ("/api/appointments", {}),
            ("/api/admin/users", {}),
            ("/api/services", {}),
            ("/api/rooms", {}),
            ("/api/policy", {}),
            ("/api/admin/audit", {}),
            ("/api/admin/webhooks", {}),
            ("/api/waitlist", {}),
            ("/api/calendar-feeds", {}),
        ]
        found = []
        for path, params in paths:
            response = await self.clinic.client.get(
                path, params={"limit": 100, **params}, headers=self.admin.headers
            )
            assert response.status_code == 200, response.text
            found.append(response.json())
        return found


async def build_world(clinic: ApiClinic) -> World:
    admin = await clinic.admin()
    department = await clinic.department(admin)
    doctor = await clinic.doctor(admin, department)
    other_doctor = await clinic.doctor(admin, department)
    patient = await clinic.patient()
    other_patient = await clinic.patient()
    monday = next_monday(clinic.clock)
    world = World(
        clinic,
        monday,
        {
            "admin": admin,
            "doctor": doctor,
            "other_doctor": other_doctor,
            "patient": patient,
            "other_patient": other_patient,
        },
    )
    booked = await clinic.book(patient, doctor, at(monday, 9))
    assert booked.status_code == 201, booked.text
    time_off = await clinic.client.post(
        f"/api/doctors/{doctor.doctor_id}/time-off",
        json={"starts_at": at(monday, 15).isoformat(), "ends_at": at(monday, 16).isoformat()},
        headers=admin.headers,
    )
    assert time_off.status_code == 201, time_off.text
    service = await clinic.client.post(
        "/api/services",
        json={
            "name": f"Service {next(_names)}",
            "department_id": department,
            "duration_minutes": 30,
        },
        headers=admin.headers,
    )
    assert service.status_code == 201, service.text
    room = await clinic.client.post(
        "/api/rooms", json={"name": f"Room {next(_names)}"}, headers=admin.headers
    )
    assert room.status_code == 201, room.text
    webhook = await clinic.client.post(
        "/api/admin/webhooks", json={"url": "https://8.8.8.8/hooks"}, headers=admin.headers
    )
    assert webhook.status_code == 201, webhook.text
    hold = await clinic.client.post(
        "/api/holds",
        json={"doctor_id": doctor.doctor_id, "starts_at": at(monday, 16).isoformat()},
        headers=patient.headers,
    )
    assert hold.status_code == 201, hold.text
    entry = await clinic.client.post(
        "/api/waitlist",
        json={"doctor_id": doctor.doctor_id, "date_from": str(monday), "date_to": str(monday)},
        headers=patient.headers,
    )
    assert entry.status_code == 201, entry.text
    feed = await clinic.client.post("/api/calendar-feeds", headers=patient.headers)
    assert feed.status_code == 201, feed.text
    series = await clinic.client.post(
        "/api/appointments/series",
        json={**_series_body(monday, doctor, patient, 10), "reason": "Series"},
        headers=admin.headers,
    )
    assert series.status_code == 201, series.text
    world.ids = {
        "hold": str(hold.json()["id"]),
        "entry": str(entry.json()["id"]),
        "department": department,
        "empty_department": await clinic.department(admin),
        "doctor": str(doctor.doctor_id),
        "patient": str(patient.patient_id),
        "appointment": str(booked.json()["id"]),
        "time_off": str(time_off.json()["id"]),
        "service": str(service.json()["id"]),
        "room": str(room.json()["id"]),
        "webhook": str(webhook.json()["id"]),
        "calendar_feed": str(feed.json()["id"]),
        "feed_token": str(feed.json()["url"]).rsplit("/", 1)[1].removesuffix(".ics"),
        "practitioner": str(doctor.doctor_id),
        "series": str(series.json()["id"]),
    }
    return world


def _series_body(monday: date, doctor: Party, patient: Party, hour: int) -> dict[str, Any]:
    """Two weekly occurrences from `monday` at `hour`."""
    return {
        "doctor_id": str(doctor.doctor_id),
        "patient_id": str(patient.patient_id),
        "starts_at": at(monday, hour).isoformat(),
        "recurrence": {"frequency": "weekly", "count": 2},
    }


async def checked_in(world: World) -> None:
    response = await world.clinic.client.post(
        f"/api/appointments/{world.ids['appointment']}/check-in", headers=world.admin.headers
    )
    assert response.status_code == 200, response.text


async def started(world: World) -> None:
    """Move time past the appointment's start (no-show needs it); tokens are renewed."""
    world.clinic.clock.at = at(world.monday, 9, 5)
    for party in world.parties.values():
        await relogin(world.clinic, party)


Body = Callable[[World], Any]


def _doctor_body(world: World) -> dict[str, Any]:
    name = f"newdoc{next(_names)}"
    return {
        "email": f"{name}@example.com",
        "username": name,
        "full_name": f"Dr {name}",
        "password": PASSWORD,
        "department_id": world.ids["department"],
        "specialization": "Surgery",
    }


def _booking(world: World) -> dict[str, Any]:
    return {
        "doctor_id": world.ids["doctor"],
        "patient_id": world.ids["patient"],
        "starts_at": at(world.monday, 11).isoformat(),
    }


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # placeholders: the keys of World.ids
    expect: tuple[int, ...]  # one status per caller, in CALLERS order
    body: Body | None = None
    prepare: Callable[[World], Any] | None = None

    def status_for(self, caller: str) -> int:
        return self.expect[CALLERS.index(caller)]


def everyone(ok: int = 200) -> tuple[int, ...]:
    return (ok, ok, ok, ok, ok, 401)


def admin_only(ok: int) -> tuple[int, ...]:
    return (ok, 403, 403, 403, 403, 401)


def admin_and_doctor(ok: int) -> tuple[int, ...]:
    return (ok, ok, 403, 403, 403, 401)


#                 admin doctor other_doctor patient other_patient anonymous
PARTIES_ONLY = (200, 200, 404, 200, 404, 401)
# Patients may never run appointment actions and doctors never edit patients: 403 for any
# id (it reveals nothing), rather than 404 for the objects they cannot see.
RUNNERS_ONLY = (200, 200, 404, 403, 403, 401)
APPOINTMENT = "/api/appointments/{appointment}"
FHIR = "/fhir/R4"


def error_code(body: Any) -> str | None:
    """The `code` of an error body, or of a FHIR OperationOutcome's first issue."""
    if isinstance(body, dict) and body.get("resourceType") == "OperationOutcome":
        return str(body["issue"][0]["details"]["coding"][0]["code"])
    return body.get("code") if isinstance(body, dict) else None


ENDPOINTS: dict[str, Endpoint] = {
    # departments
    "departments.list": Endpoint("GET", "/api/departments", everyone()),
    "departments.get": Endpoint("GET", "/api/departments/{department}", everyone()),
    "departments.create": Endpoint(
        "POST",
        "/api/departments",
        admin_only(201),
        lambda w: {"name": f"New department {next(_names)}"},
    ),
    "departments.update": Endpoint(
        "PATCH",
        "/api/departments/{empty_department}",
        admin_only(200),
        lambda w: {"description": "x"},
    ),
    "departments.delete": Endpoint(
        "DELETE", "/api/departments/{empty_department}", admin_only(204)
    ),
    # doctors
    "doctors.list": Endpoint("GET", "/api/doctors", everyone()),
    "doctors.get": Endpoint("GET", "/api/doctors/{doctor}", everyone()),
    "doctors.create": Endpoint("POST", "/api/doctors", admin_only(201), _doctor_body),
    "doctors.update": Endpoint(
        "PATCH", "/api/doctors/{doctor}", admin_and_doctor(200), lambda w: {"phone": "+1 555 0199"}
    ),
    "doctors.delete": Endpoint("DELETE", "/api/doctors/{doctor}", admin_only(204)),
    "doctors.schedule.get": Endpoint("GET", "/api/doctors/{doctor}/schedule", everyone()),
    "doctors.schedule.put": Endpoint(
        "PUT",
        "/api/doctors/{doctor}/schedule",
        admin_and_doctor(200),
        lambda w: {"weekly": [{"weekday": 0, "start": "08:00", "end": "18:00"}]},
    ),
    "doctors.time_off.create": Endpoint(
        "POST",
        "/api/doctors/{doctor}/time-off",
        admin_and_doctor(201),
        lambda w: {
            "starts_at": at(w.monday, 13).isoformat(),
            "ends_at": at(w.monday, 14).isoformat(),
        },
    ),
    "doctors.time_off.delete": Endpoint(
        "DELETE", "/api/doctors/{doctor}/time-off/{time_off}", admin_and_doctor(204)
    ),
    "doctors.availability": Endpoint(
        "GET", "/api/doctors/{doctor}/availability?date_from={monday}&date_to={monday}", everyone()
    ),
    # patients
    "patients.list": Endpoint("GET", "/api/patients", everyone()),
    "patients.get": Endpoint("GET", "/api/patients/{patient}", PARTIES_ONLY),
    "patients.create": Endpoint(
        "POST", "/api/patients", admin_only(201), lambda w: {"full_name": "Front Desk"}
    ),
    "patients.update": Endpoint(
        "PATCH",
        "/api/patients/{patient}",
        (200, 403, 403, 200, 404, 401),
        lambda w: {"phone": "+1 555 0123"},
    ),
    "patients.delete": Endpoint("DELETE", "/api/patients/{patient}", admin_only(204)),
    # appointments
    "appointments.list": Endpoint("GET", "/api/appointments", everyone()),
    "appointments.get": Endpoint("GET", APPOINTMENT, PARTIES_ONLY),
    "appointments.history": Endpoint("GET", APPOINTMENT + "/history", PARTIES_ONLY),
    "appointments.create": Endpoint(
        "POST", "/api/appointments", (201, 201, 403, 201, 404, 401), _booking
    ),
    "appointments.update": Endpoint(
        "PATCH", APPOINTMENT, PARTIES_ONLY, lambda w: {"reason": "Changed reason"}
    ),
    "appointments.confirm": Endpoint("POST", APPOINTMENT + "/confirm", RUNNERS_ONLY),
    "appointments.check_in": Endpoint("POST", APPOINTMENT + "/check-in", RUNNERS_ONLY),
    "appointments.complete": Endpoint(
        "POST", APPOINTMENT + "/complete", RUNNERS_ONLY, prepare=checked_in
    ),
    "appointments.no_show": Endpoint(
        "POST", APPOINTMENT + "/no-show", RUNNERS_ONLY, prepare=started
    ),
    "appointments.cancel": Endpoint(
        "POST", APPOINTMENT + "/cancel", PARTIES_ONLY, lambda w: {"reason": "Cannot come"}
    ),
    "appointments.delete": Endpoint("DELETE", APPOINTMENT, (204, 204, 404, 204, 404, 401)),
    # series
    "series.create": Endpoint(
        "POST",
        "/api/appointments/series",
        (201, 201, 403, 201, 404, 401),
        lambda w: _series_body(w.monday, w.parties["doctor"], w.parties["patient"], 12),
    ),
    "series.get": Endpoint("GET", "/api/appointments/series/{series}", PARTIES_ONLY),
    "series.cancel": Endpoint(
        "POST",
        "/api/appointments/series/{series}/cancel",
        PARTIES_ONLY,
        lambda w: {"reason": "Cannot come"},
    ),
    # services
    "services.list": Endpoint("GET", "/api/services", everyone()),
    "services.get": Endpoint("GET", "/api/services/{service}", everyone()),
    "services.create": Endpoint(
        "POST",
        "/api/services",
        admin_only(201),
        lambda w: {
            "name": f"New service {next(_names)}",
            "department_id": w.ids["department"],
            "duration_minutes": 45,
        },
    ),
    "services.update": Endpoint(
        "PATCH", "/api/services/{service}", admin_only(200), lambda w: {"duration_minutes": 50}
    ),
    "services.delete": Endpoint("DELETE", "/api/services/{service}", admin_only(204)),
    # rooms
    "rooms.list": Endpoint("GET", "/api/rooms", everyone()),
    "rooms.get": Endpoint("GET", "/api/rooms/{room}", everyone()),
    "rooms.create": Endpoint(
        "POST", "/api/rooms", admin_only(201), lambda w: {"name": f"New room {next(_names)}"}
    ),
    "rooms.update": Endpoint(
        "PATCH",
        "/api/rooms/{room}",
        admin_only(200),
        lambda w: {"department_id": w.ids["department"]},
    ),
    "rooms.delete": Endpoint("DELETE", "/api/rooms/{room}", admin_only(204)),
    # the audit trail
    "admin.audit": Endpoint("GET", "/api/admin/audit", admin_only(200)),
    # webhook endpoints
    "webhooks.list": Endpoint("GET", "/api/admin/webhooks", admin_only(200)),
    "webhooks.get": Endpoint("GET", "/api/admin/webhooks/{webhook}", admin_only(200)),
    "webhooks.create": Endpoint(
        "POST",
        "/api/admin/webhooks",
        admin_only(201),
        lambda w: {"url": "https://1.1.1.1/hooks", "event_types": ["appointment.booked"]},
    ),
    "webhooks.update": Endpoint(
        "PATCH", "/api/admin/webhooks/{webhook}", admin_only(200), lambda w: {"is_active": False}
    ),
    "webhooks.delete": Endpoint("DELETE", "/api/admin/webhooks/{webhook}", admin_only(204)),
    "webhooks.deliveries": Endpoint(
        "GET", "/api/admin/webhooks/{webhook}/deliveries", admin_only(200)
    ),
    # holds
    "holds.create": Endpoint(
        "POST",
        "/api/holds",
        (201, 201, 403, 201, 404, 401),
        lambda w: {**_booking(w), "starts_at": at(w.monday, 13).isoformat()},
    ),
    "holds.get": Endpoint("GET", "/api/holds/{hold}", PARTIES_ONLY),
    "holds.delete": Endpoint("DELETE", "/api/holds/{hold}", (204, 204, 404, 204, 404, 401)),
    # the waitlist
    "waitlist.list": Endpoint("GET", "/api/waitlist", everyone()),
    "waitlist.create": Endpoint(
        "POST",
        "/api/waitlist",
        (201, 201, 403, 201, 404, 401),
        lambda w: {
            "doctor_id": w.ids["doctor"],
            "patient_id": w.ids["patient"],
            "date_from": str(w.monday),
            "date_to": str(w.monday),
        },
    ),
    "waitlist.get": Endpoint("GET", "/api/waitlist/{entry}", PARTIES_ONLY),
    "waitlist.delete": Endpoint("DELETE", "/api/waitlist/{entry}", (204, 204, 404, 204, 404, 401)),
    # No offer to accept: those who see the entry are told so, the others it is not there.
    "waitlist.accept": Endpoint(
        "POST", "/api/waitlist/{entry}/accept", (409, 409, 404, 409, 404, 401)
    ),
    # calendar feeds: made and revoked by their owner (or an admin); the URL needs no
    # other credential, so every caller reads it alike
    "calendar_feeds.create": Endpoint(
        "POST",
        "/api/calendar-feeds",
        (201, 403, 403, 201, 404, 401),
        lambda w: {"patient_id": w.ids["patient"]},
    ),
    "calendar_feeds.list": Endpoint("GET", "/api/calendar-feeds", everyone()),
    "calendar_feeds.revoke": Endpoint(
        "DELETE", "/api/calendar-feeds/{calendar_feed}", (204, 404, 404, 204, 404, 401)
    ),
    "calendar_feeds.read": Endpoint("GET", "/calendar/{feed_token}.ics", (200,) * 6),
    # FHIR R4: the same tokens and visibility as /api, errors as OperationOutcomes
    "fhir.metadata": Endpoint("GET", FHIR + "/metadata", (200,) * 6),
    "fhir.appointment.read": Endpoint("GET", FHIR + "/Appointment/{appointment}", PARTIES_ONLY),
    "fhir.appointment.search": Endpoint(
        "GET", FHIR + "/Appointment?patient=Patient/{patient}", everyone()
    ),
    "fhir.patient.read": Endpoint("GET", FHIR + "/Patient/{patient}", PARTIES_ONLY),
    "fhir.practitioner.read": Endpoint("GET", FHIR + "/Practitioner/{practitioner}", everyone()),
    "fhir.schedule.search": Endpoint(
        "GET", FHIR + "/Schedule?actor=Practitioner/{doctor}", everyone()
    ),
    "fhir.slot.search": Endpoint(
        "GET",
        FHIR + "/Slot?schedule=Schedule/{doctor}&start=ge{monday}&start=le{monday}",
        everyone(),
    ),
    # the booking policy
    "policy.get": Endpoint("GET", "/api/policy", everyone()),
    "policy.put": Endpoint(
        "PUT",
        "/api/policy",
        admin_only(200),
        lambda w: {
            "min_notice_minutes": 60,
            "booking_horizon_days": 90,
            "cancellation_cutoff_hours": 12,
            "max_active_per_patient": 5,
            "reminder_offsets_minutes": [120],
        },
    ),
}

# Objects whose very existence is private: a caller who may not see them must get the
# same answer as for an id that does not exist.
PRIVATE = ("patient", "appointment", "hold", "entry", "calendar_feed", "series")


async def _call(
    world: World, endpoint: Endpoint, caller: str, body: Any, replace: str | None = None
) -> httpx.Response:
    ids = {**world.ids, "monday": str(world.monday)}
    if replace is not None:
        ids[replace] = str(uuid.uuid4())
        if isinstance(body, dict) and f"{replace}_id" in body:
            body = {**body, f"{replace}_id": ids[replace]}
    return await world.clinic.client.request(
        endpoint.method,
        endpoint.path.format(**ids),
        json=body,
        headers=world.headers(caller),
    )


def _hides(endpoint: Endpoint, caller: str, body: Any) -> list[str]:
    """The private objects this call names, for a caller that may not see them."""
    if caller not in ("other_doctor", "other_patient"):
        return []
    named = [k for k in PRIVATE if "{" + k + "}" in endpoint.path]
    if isinstance(body, dict):
        named += [k for k in PRIVATE if f"{k}_id" in body]
    return named


@pytest.mark.parametrize("name", ENDPOINTS)
async def test_access(clinic: ApiClinic, name: str) -> None:
    endpoint = ENDPOINTS[name]
    reads = endpoint.method == "GET"
    problems: list[str] = []
    world: World | None = None
    before: list[Any] = []
    # Refused callers first: they share one world; each allowed write then needs a new one.
    for caller in sorted(CALLERS, key=lambda c: endpoint.status_for(c) < 300):
        if world is None:
            world = await build_world(clinic)
            if endpoint.prepare is not None:
                await endpoint.prepare(world)
            before = await world.snapshot()
        expected = endpoint.status_for(caller)
        body = endpoint.body(world) if endpoint.body else None

        response = await _call(world, endpoint, caller, body)
        # Reads are checked once at the end: that keeps the suite fast.
        after = before if reads else await world.snapshot()
        label = f"{caller} {endpoint.method} {endpoint.path}"
        if response.status_code != expected:
            problems.append(f"{label}: {response.status_code} != {expected} ({response.text})")
            world = None
            continue
        if expected == 401 and response.headers.get("www-authenticate") != "Bearer":
            problems.append(f"{label}: 401 without WWW-Authenticate: Bearer")
        if expected >= 400:
            if error_code(response.json()) is None:
                problems.append(f"{label}: error without a code")
            if after != before:
                problems.append(f"{label}: refused but the database changed")
            if expected in (403, 404):
                for hidden in _hides(endpoint, caller, body):
                    unknown = await _call(world, endpoint, caller, body, replace=hidden)
                    if (unknown.status_code, unknown.json()) != (expected, response.json()):
                        problems.append(
                            f"{label}: a hidden {hidden} answers {response.status_code} "
                            f"{response.json()}, an unknown one {unknown.status_code} "
                            f"{unknown.json()}"
                        )
        elif not reads:
            if after == before:
                problems.append(f"{label}: {expected} but nothing changed")
            world = None  # the next caller gets an untouched world
        before = after
    if reads and world is not None and await world.snapshot() != before:
        problems.append(f"{endpoint.method} {endpoint.path}: a read changed the database")
    assert not problems, "\n".join(problems)


def test_the_table_covers_every_route_of_these_sections() -> None:
    """A new route in these sections must be added to the table above."""
    from appointments.entrypoints.api.routers import (
        admin,
        appointments,
        calendar_feeds,
        departments,
        doctors,
        fhir,
        holds,
        patients,
        policy,
        rooms,
        series,
        services,
        waitlist,
        webhooks,
    )

    routes = {
        (method, route.path)  # type: ignore[attr-defined]
        for module in (
            departments,
            doctors,
            patients,
            appointments,
            series,
            services,
            rooms,
            policy,
            webhooks,
            calendar_feeds,
            fhir,
            holds,
            waitlist,
        )
        for route in module.router.routes
        if route.include_in_schema  # type: ignore[attr-defined]
        for method in route.methods  # type: ignore[attr-defined]
    }
    routes |= {
        (method, route.path)  # type: ignore[attr-defined]
        for route in calendar_feeds.feed_router.routes
        for method in route.methods  # type: ignore[attr-defined]
    }
    routes |= {
        (method, route.path)  # type: ignore[attr-defined]
        for route in admin.router.routes
        if route.path == "/api/admin/audit"  # type: ignore[attr-defined]
        for method in route.methods  # type: ignore[attr-defined]
    }
    table = {(e.method, e.path.split("?")[0].format(**_route_names())) for e in ENDPOINTS.values()}
    assert routes == table


def _route_names() -> dict[str, str]:
    return {
        "department": "{department_id}",
        "empty_department": "{department_id}",
        "doctor": "{doctor_id}",
        "patient": "{patient_id}",
        "appointment": "{appointment_id}",
        "time_off": "{time_off_id}",
        "service": "{service_id}",
        "room": "{room_id}",
        "webhook": "{webhook_id}",
        "calendar_feed": "{calendar_feed_id}",
        "feed_token": "{token}",
        "practitioner": "{practitioner_id}",
        "hold": "{hold_id}",
        "entry": "{entry_id}",
        "series": "{series_id}",
    }
