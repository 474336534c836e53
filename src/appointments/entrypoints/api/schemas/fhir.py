"""What the OpenAPI document says of FHIR answers: JSON objects named by `resourceType`
(their full shape is FHIR R4's, validated in the tests with fhir.resources), errors as
OperationOutcomes."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


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


class OperationOutcomeOut(FhirResourceOut):
    """An error: `issue[0].details.coding[0].code` is the API's error `code`."""

    resourceType: Literal["OperationOutcome"]
    issue: list[dict[str, Any]]


def outcomes(*status_codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for FHIR errors (as `errors(...)` for the rest of the API)."""
    retry = {"Retry-After": {"schema": {"type": "integer"}}}
    return {
        code: {"model": OperationOutcomeOut, **({"headers": retry} if code == 429 else {})}
        for code in status_codes
    }
