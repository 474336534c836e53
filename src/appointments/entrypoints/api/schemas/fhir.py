"""What the OpenAPI document says of FHIR answers: JSON objects named by `resourceType`
(their full shape is FHIR R4's, validated in the tests with fhir.resources), errors as
OperationOutcomes carrying the operation's code enum."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from appointments.entrypoints.api import fhir


class FhirResourceOut(BaseModel):
    """A FHIR R4 resource (`application/fhir+json`)."""

    model_config = ConfigDict(extra="allow")

    resourceType: str


class BundleOut(FhirResourceOut):
    """A `searchset` Bundle: `total`, `self` and `next` links, one entry per match."""

    resourceType: Literal["Bundle"]
    type: Literal["searchset"]
    total: int
    link: list[dict[str, Any]]
    entry: list[dict[str, Any]]


def _one(value: str) -> dict[str, str | list[str]]:
    return {"type": "string", "enum": [value]}


def outcome_schema(name: str, status: int, code: dict[str, Any]) -> dict[str, Any]:
    """The OperationOutcome a FHIR operation answers with `status` (fhir.operation_outcome):
    `code` (the enum of the operation's codes) is `issue[0].details.coding[0].code`."""
    text = {"type": "string"}
    coding = {
        "type": "object",
        "required": ["system", "code"],
        "properties": {"system": _one(fhir.ERROR_CODE_SYSTEM), "code": code},
    }
    details = {
        "type": "object",
        "required": ["coding", "text"],
        "properties": {
            "coding": {"type": "array", "items": coding, "minItems": 1, "maxItems": 1},
            "text": text,
        },
    }
    issue = {
        "type": "object",
        "required": ["severity", "code", "details", "diagnostics"],
        "properties": {
            "severity": _one(fhir.severity(status)),
            "code": _one(fhir.issue_type(status)),
            "details": details,
            "diagnostics": text,
        },
    }
    return {
        "title": name,
        "type": "object",
        "description": "A FHIR R4 OperationOutcome: `issue[0].details.coding[0].code` is "
        "the error `code`.",
        "required": ["resourceType", "issue"],
        "properties": {
            "resourceType": _one("OperationOutcome"),
            "issue": {"type": "array", "items": issue, "minItems": 1, "maxItems": 1},
        },
    }


def as_outcomes(schema: dict[str, Any]) -> None:
    """Under /fhir/R4 every error is answered as an OperationOutcome (errors._fhir_aware):
    each error response of a FHIR path, typed by openapi.py as `{detail, code}` with its
    code enum, is documented as the OperationOutcome carrying the same enum."""
    components = schema.get("components", {}).get("schemas", {})
    for path, item in schema["paths"].items():
        if not fhir.is_fhir(path):
            continue
        for operation in item.values():
            for status, response in operation["responses"].items():
                typed = response.get("content", {}).get("application/json")
                if not status.isdigit() or int(status) < 400 or typed is None:
                    continue
                name = typed["schema"]["$ref"].rsplit("/", 1)[-1]
                code = components[name]["properties"]["code"]
                components[name] = outcome_schema(name, int(status), code)
                response["content"] = {fhir.FHIR_JSON: typed}
