"""FHIR answers checked the way an integrator's client would: every resource and Bundle
parsed by fhir.resources' R4B models (unknown fields, missing required ones and bad
types are refused), the media type `application/fhir+json`, and for errors an
OperationOutcome carrying the REST error code."""

from __future__ import annotations

from typing import Any

import httpx
from fhir.resources.R4B import get_fhir_model_class

FHIR = "/fhir/R4"
APPOINTMENT_STATUSES = {"booked", "checked-in", "fulfilled", "cancelled", "noshow"}


def resource(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    """The body, validated as the FHIR resource its `resourceType` names."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    body: dict[str, Any] = response.json()
    model = get_fhir_model_class(body["resourceType"]).model_validate(body)
    assert model is not None
    if body["resourceType"] == "Bundle":
        for entry in body.get("entry", []):
            assert entry["fullUrl"].endswith(
                f"{FHIR}/{entry['resource']['resourceType']}/{entry['resource']['id']}"
            )
            check_codes(entry["resource"])
    check_codes(body)
    return body


def check_codes(found: dict[str, Any]) -> None:
    """Code values the R4B models take as plain strings."""
    if found["resourceType"] == "Appointment":
        assert found["status"] in APPOINTMENT_STATUSES
        assert {p["status"] for p in found["participant"]} == {"accepted"}
    if found["resourceType"] == "Slot":
        assert found["status"] == "free"


def outcome(response: httpx.Response, status: int) -> str:
    """An error answer as an OperationOutcome; its REST error code."""
    body = resource(response, status)
    assert body["resourceType"] == "OperationOutcome"
    return str(body["issue"][0]["details"]["coding"][0]["code"])


def entries(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    assert bundle["resourceType"] == "Bundle"
    assert bundle["type"] == "searchset"
    return [e["resource"] for e in bundle.get("entry", [])]


def link(bundle: dict[str, Any], relation: str) -> str | None:
    return next((li["url"] for li in bundle["link"] if li["relation"] == relation), None)
