"""What each group of operations is for and who uses it: the tag descriptions of the
OpenAPI document (Swagger UI and ReDoc show them as section intros)."""

from __future__ import annotations

from typing import Any

TAGS: list[dict[str, Any]] = [
    {
        "name": "auth",
        "description": "Register as a patient, log in (OAuth2 password form or JSON), see who "
        "you are, log out, change your password. Tokens are bearer JWTs; logout and a "
        "password change revoke them everywhere at once.",
    },
    {
        "name": "appointments",
        "description": "Book, list, move, confirm, check in, complete, mark no-shows and cancel. "
        "Patients see their own, doctors theirs, admins all; anyone else's is a 404. "
        "Every change is in the appointment's history.",
    },
    {
        "name": "holds",
        "description": "Keep a slot for a few minutes while a patient finishes booking; "
        "nobody else can book or hold it meanwhile. Who: as booking.",
    },
    {
        "name": "waitlist",
        "description": "Wait for time with a doctor or a department: freed time is offered to "
        "the oldest fitting entry as a hold, by email and the waitlist.offered webhook. "
        "Patients see their own entries, doctors theirs, admins all.",
    },
    {
        "name": "doctors",
        "description": "Doctors, their weekly schedules, time off and free slots "
        "(availability, correct across daylight-saving changes). Anyone logged in may read.",
    },
    {
        "name": "patients",
        "description": "Patient records: patients see their own, doctors those who have an "
        "appointment with them, admins all (front-desk records without a login included).",
    },
    {"name": "departments", "description": "The clinic's departments. Admins manage them."},
    {
        "name": "services",
        "description": "What a department offers: default lengths and buffers before and after, "
        "applied when booking with a service. Admins manage them.",
    },
    {"name": "rooms", "description": "Rooms a booking may take; never double-booked."},
    {
        "name": "policy",
        "description": "The clinic's booking policy for patients: notice, horizon, cancellation "
        "cut-off, a limit of upcoming appointments and reminder times. Admins set it.",
    },
    {
        "name": "admin",
        "description": "Users, the dashboard and the audit trail. Admins only.",
    },
    {
        "name": "webhooks",
        "description": "Endpoints that receive the clinic's appointment events, signed the "
        "Standard Webhooks way, and their delivery logs. Admins only.",
    },
    {
        "name": "calendar-feeds",
        "description": "Secret iCalendar URLs a calendar app subscribes to: a doctor's or "
        "patient's own appointments (an admin makes them for anyone). The URL is shown once; "
        "revoking a feed makes it answer 404.",
    },
    {
        "name": "fhir",
        "description": "A read-only FHIR R4 view (application/fhir+json) of appointments, "
        "patients, doctors and free slots, with the same tokens and visibility as /api; "
        "errors are OperationOutcomes with the same status codes.",
    },
    {"name": "health", "description": "Liveness and readiness probes for load balancers."},
]
