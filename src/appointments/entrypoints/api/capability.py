"""The FHIR CapabilityStatement of GET /fhir/R4/metadata."""

from __future__ import annotations

from typing import Any

from appointments.entrypoints.api.fhir import FHIR_BASE, FHIR_JSON, FHIR_VERSION

RELEASED = "2026-12-02"


def _param(name: str, kind: str, documentation: str) -> dict[str, str]:
    return {"name": name, "type": kind, "documentation": documentation}


def _resource(kind: str, read: bool, search: list[dict[str, str]]) -> dict[str, Any]:
    interactions = ([{"code": "read"}] if read else []) + (
        [{"code": "search-type"}] if search else []
    )
    found: dict[str, Any] = {"type": kind, "interaction": interactions}
    if search:
        found["searchParam"] = search
    return found


RESOURCES = [
    _resource(
        "Appointment",
        True,
        [
            _param("patient", "reference", "Patient/{id} or {id}"),
            _param("practitioner", "reference", "Practitioner/{id} or {id}"),
            _param("date", "date", "The start; repeatable, prefixes ge, gt, le, lt, eq"),
            _param("status", "token", "booked, checked-in, fulfilled, cancelled, noshow"),
            _param("_count", "number", "Page size, 1 to 100 (default 20)"),
            _param("_offset", "number", "Entries to skip"),
        ],
    ),
    _resource("Patient", True, []),
    _resource("Practitioner", True, []),
    _resource("Schedule", False, [_param("actor", "reference", "Practitioner/{id}")]),
    _resource(
        "Slot",
        False,
        [
            _param("schedule", "reference", "Schedule/{id} (a doctor's id)"),
            _param("start", "date", "ge (required) and lt or le; at most 31 days"),
        ],
    ),
]


def capability_statement(base: str) -> dict[str, Any]:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": RELEASED,
        "publisher": "appointments",
        "kind": "instance",
        "software": {"name": "appointments", "version": "0.1.0"},
        "implementation": {
            "description": "Clinic appointments, read-only",
            "url": f"{base}{FHIR_BASE}",
        },
        "fhirVersion": FHIR_VERSION,
        "format": [FHIR_JSON, "json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "description": "Bearer tokens from POST /api/auth/login, with the "
                    "visibility of /api: patients see their own records, doctors theirs."
                },
                "resource": RESOURCES,
            }
        ],
    }
