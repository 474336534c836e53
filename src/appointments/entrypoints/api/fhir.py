"""FHIR R4 representations of the use-cases' answers (read models, no rules of their
own): Appointment, Patient, Practitioner, Schedule, Slot, searchset Bundles, the
CapabilityStatement and OperationOutcome errors. Plain JSON built here; the tests
validate every resource with `fhir.resources`' R4B models."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

from starlette.responses import JSONResponse, Response

from appointments.domain.appointments import Appointment, Status
from appointments.domain.doctors import Doctor
from appointments.domain.patients import Patient
from appointments.domain.schedule import Span

FHIR_BASE = "/fhir/R4"
FHIR_JSON = "application/fhir+json"
FHIR_VERSION = "4.0.1"
ERROR_CODE_SYSTEM = "urn:appointments:error-code"

# API.md's status mapping.
APPOINTMENT_STATUS = {
    Status.SCHEDULED: "booked",
    Status.CONFIRMED: "booked",
    Status.CHECKED_IN: "checked-in",
    Status.COMPLETED: "fulfilled",
    Status.CANCELLED: "cancelled",
    Status.NO_SHOW: "noshow",
}
# FHIR's AppointmentStatus codes, each with our statuses it stands for (none: never ours).
STATUSES_OF: dict[str, frozenset[Status]] = {
    code: frozenset(s for s, c in APPOINTMENT_STATUS.items() if c == code)
    for code in (
        "proposed",
        "pending",
        "booked",
        "arrived",
        "fulfilled",
        "cancelled",
        "noshow",
        "entered-in-error",
        "checked-in",
        "waitlist",
    )
}
# OperationOutcome issue types by HTTP status.
ISSUE_TYPE = {
    400: "structure",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    409: "conflict",
    413: "too-costly",
    422: "invalid",
    429: "throttled",
    503: "transient",
}


class FhirResponse(JSONResponse):
    media_type = FHIR_JSON


def instant(value: datetime) -> str:
    """FHIR `instant`/`dateTime`: UTC, `Z`."""
    return value.isoformat().replace("+00:00", "Z")


def reference(kind: str, entity_id: UUID) -> dict[str, str]:
    return {"reference": f"{kind}/{entity_id}"}


def appointment(found: Appointment) -> dict[str, Any]:
    participants = [
        {"actor": reference("Patient", found.patient_id), "status": "accepted"},
        {"actor": reference("Practitioner", found.doctor_id), "status": "accepted"},
    ]
    if found.room_id is not None:
        participants.append({"actor": reference("Location", found.room_id), "status": "accepted"})
    resource: dict[str, Any] = {
        "resourceType": "Appointment",
        "id": str(found.id),
        "meta": {"versionId": str(found.revision), "lastUpdated": instant(found.updated_at)},
        "status": APPOINTMENT_STATUS[found.status],
        "start": instant(found.starts_at),
        "end": instant(found.ends_at),
        "minutesDuration": int((found.ends_at - found.starts_at).total_seconds() // 60),
        "created": instant(found.created_at),
        "participant": participants,
    }
    if found.reason:
        resource["description"] = found.reason
    if found.status is Status.CANCELLED and found.cancellation_reason:
        resource["cancelationReason"] = {"text": found.cancellation_reason}
    return resource


def _telecom(email: str | None, phone: str | None) -> list[dict[str, str]]:
    found = [("email", email), ("phone", phone)]
    return [{"system": system, "value": value} for system, value in found if value]


def patient(found: Patient) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(found.id),
        "active": found.is_active,
        "name": [{"text": found.full_name}],
    }
    if telecom := _telecom(found.email, found.phone):
        resource["telecom"] = telecom
    if found.date_of_birth is not None:
        resource["birthDate"] = found.date_of_birth.isoformat()
    return resource


def practitioner(found: Doctor) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Practitioner",
        "id": str(found.id),
        "active": found.is_active,
        "name": [{"text": found.full_name}],
    }
    if telecom := _telecom(found.email, found.phone):
        resource["telecom"] = telecom
    if found.specialization:
        resource["qualification"] = [{"code": {"text": found.specialization}}]
    return resource


def schedule(found: Doctor, timezone: str) -> dict[str, Any]:
    """One Schedule per doctor, with the doctor's id."""
    return {
        "resourceType": "Schedule",
        "id": str(found.id),
        "active": found.is_active,
        "actor": [reference("Practitioner", found.id)],
        "comment": f"Weekly working hours, local to {timezone}.",
    }


def slot(doctor_id: UUID, span: Span) -> dict[str, Any]:
    return {
        "resourceType": "Slot",
        "id": f"{doctor_id}-{int(span.starts_at.timestamp())}",
        "schedule": reference("Schedule", doctor_id),
        "status": "free",
        "start": instant(span.starts_at),
        "end": instant(span.ends_at),
    }


def bundle(
    base: str,
    resources: Iterable[dict[str, Any]],
    total: int,
    self_url: str,
    next_url: str | None = None,
) -> dict[str, Any]:
    links = [{"relation": "self", "url": self_url}]
    if next_url is not None:
        links.append({"relation": "next", "url": next_url})
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": links,
        "entry": [
            {
                "fullUrl": f"{base}{FHIR_BASE}/{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in resources
        ],
    }


def _diagnostics(detail: Any) -> str:
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):  # FastAPI's validation list
        parts = [
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}"
            for e in detail
            if isinstance(e, dict)
        ]
        return "Invalid request. " + "; ".join(parts)
    return "Request refused."


def severity(status: int) -> str:
    return "error" if status < 500 else "fatal"


def issue_type(status: int) -> str:
    return ISSUE_TYPE.get(status, "exception")


def operation_outcome(status: int, code: str, detail: Any) -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": severity(status),
                "code": issue_type(status),
                "details": {
                    "coding": [{"system": ERROR_CODE_SYSTEM, "code": code}],
                    "text": _diagnostics(detail),
                },
                "diagnostics": _diagnostics(detail),
            }
        ],
    }


def as_outcome(response: Response) -> Response:
    """An `{detail, code}` error answer as an OperationOutcome, same status and headers."""
    if response.status_code < 400:
        return response
    try:
        body = json.loads(bytes(response.body))
    except ValueError:
        body = {}
    outcome = operation_outcome(
        response.status_code, str(body.get("code", "http_error")), body.get("detail")
    )
    headers = {
        k: v for k, v in response.headers.items() if k not in ("content-length", "content-type")
    }
    return FhirResponse(outcome, status_code=response.status_code, headers=headers)


def is_fhir(path: str) -> bool:
    return path == FHIR_BASE or path.startswith(FHIR_BASE + "/")
