"""Schemathesis hooks shared by the pytest contract run and `bench/fuzz.sh`
(`SCHEMATHESIS_HOOKS=tests.contract.hooks`).

- `email`: the API validates addresses with `email-validator`, which refuses special-use
  domains (`.test`, `.local`, `.invalid` ...) that JSON Schema's `format: email` allows,
  while schemathesis' own validator refuses some IDN domains `email-validator` accepts.
  Positive examples are drawn from addresses both agree on; negative ones and every check
  are unchanged.
- Known ids: a random UUID almost never names a real object, so most requests would stop
  at 404. When `KNOWN_IDS` is filled (the pytest fixtures seed a clinic and fill it), path
  and body ids are replaced by ids of real objects about half of the time. Requests that
  deactivate or rewrite a user only get expendable ids, so the identities the fuzzer logs
  in as stay usable. `bench/fuzz.sh` passes its seeded ids in a JSON file named by
  `FUZZ_KNOWN_IDS` (`{"readable": {...}, "expendable": {...}, "protected": [...]}`).
- Domain-rule 422s: API.md binds "422 invalid input or a broken domain rule" (a booking in
  the past, outside the schedule, a wrong current password ...), and no schema can say
  which doctor works when. `positive_data_acceptance` stays on; only its failure for a 422
  whose body carries a domain `code` is dropped (under /fhir/R4 the OperationOutcome
  carries it). A schema-valid request refused by request
  validation (FastAPI's list-shaped `detail`, no `code`) still fails the run.
- Soft deletes: API.md keeps every record ("DELETE deactivates", "records are never
  destroyed"), so after a DELETE the resource still answers 200, marked `is_active: false`
  or `status: cancelled`. `use_after_free` stays on; only its failure for such a marked
  resource is dropped (a DELETE that left the resource active would still fail).
- Null link values: a stateful link from a nullable field (a front-desk patient's
  `user_id` is null) sends `None` as a UUID path parameter and still labels the request
  schema-valid. Its 422 is dropped; nothing else about it is.
- Public catalog: every role may read any doctor, department, service or room by id
  (API.md), including deactivated ones that the default listing leaves out, which the
  CLI's `object_level_authorization` heuristic takes for another patient's object. Its
  failures on /api/doctors, /api/departments, /api/services and /api/rooms are dropped; on
  every other path they stand.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import jsonschema_rs
import schemathesis
from email_validator import EmailNotValidError, validate_email
from hypothesis import strategies as st
from schemathesis.openapi.checks import (
    ObjectLevelAuthorizationViolation,
    RejectedPositiveData,
    UseAfterFree,
)

READABLE = "readable"
EXPENDABLE = "expendable"
# Pools of real ids by parameter / field name, filled by tests/contract/conftest.py.
KNOWN_IDS: dict[str, dict[str, list[str]]] = {READABLE: {}, EXPENDABLE: {}}
# Ids of the users, doctors and patients the fuzzer logs in as.
PROTECTED_IDS: set[str] = set()
# Operations that would log one of the fuzzing identities out if aimed at it.
DESTRUCTIVE = frozenset(
    {
        "PATCH /api/admin/users/{user_id}",
        "DELETE /api/admin/users/{user_id}",
        "DELETE /api/doctors/{doctor_id}",
        "DELETE /api/patients/{patient_id}",
    }
)
BODY_ID_FIELDS = ("department_id", "doctor_id", "patient_id", "service_id", "room_id")
PUBLIC_CATALOG = ("/api/doctors", "/api/departments", "/api/services", "/api/rooms")


_EMAIL_FORMAT = jsonschema_rs.validator_for(
    {"type": "string", "format": "email"}, validate_formats=True
)


def _accepted_email(value: str) -> bool:
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        return False
    return bool(_EMAIL_FORMAT.is_valid(value))


schemathesis.openapi.format("email", st.emails().filter(_accepted_email))


def _is_uuid(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _with_known_ids(
    values: dict[str, Any], names: tuple[str, ...] | None, label: str
) -> st.SearchStrategy[dict[str, Any]]:
    pools = KNOWN_IDS[EXPENDABLE if label in DESTRUCTIVE else READABLE]
    choices: dict[str, st.SearchStrategy[Any]] = {}
    for name, value in values.items():
        pool = pools.get(name)
        if pool and (names is None or name in names) and _is_uuid(value):
            choices[name] = st.one_of(st.just(value), st.sampled_from(pool))
    if not choices:
        return st.just(values)
    return st.fixed_dictionaries({**{k: st.just(v) for k, v in values.items()}, **choices})


def load_known_ids(path: str) -> None:
    data = json.loads(Path(path).read_text())
    KNOWN_IDS[READABLE] = data[READABLE]
    KNOWN_IDS[EXPENDABLE] = data[EXPENDABLE]
    PROTECTED_IDS.update(data["protected"])


if os.environ.get("FUZZ_KNOWN_IDS"):
    load_known_ids(os.environ["FUZZ_KNOWN_IDS"])


def spare_identities(case: schemathesis.Case) -> None:
    """Aim a destructive request that targets a fuzzing identity (say a user id taken from
    an earlier response in a stateful run) at an expendable object of the same kind."""
    if case.operation.label not in DESTRUCTIVE or not case.path_parameters:
        return
    for name, value in case.path_parameters.items():
        spare = KNOWN_IDS[EXPENDABLE].get(name)
        if value in PROTECTED_IDS and spare:
            case.path_parameters[name] = spare[0]


@schemathesis.hook
def before_call(context: schemathesis.HookContext, case: schemathesis.Case, kwargs: Any) -> None:
    spare_identities(case)


@schemathesis.hook
def flatmap_path_parameters(
    context: schemathesis.HookContext, path_parameters: dict[str, Any] | None
) -> st.SearchStrategy[dict[str, Any] | None]:
    if not path_parameters or context.operation is None:
        return st.just(path_parameters)
    return _with_known_ids(path_parameters, None, context.operation.label)


@schemathesis.hook
def flatmap_body(context: schemathesis.HookContext, body: Any) -> st.SearchStrategy[Any]:
    if not isinstance(body, dict) or context.operation is None:
        return st.just(body)
    return _with_known_ids(body, BODY_ID_FIELDS, context.operation.label)


def _json(response: schemathesis.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _domain_code(response: schemathesis.Response) -> str | None:
    """The error `code` of a domain refusal: `{detail, code}`, or under /fhir/R4 the
    same code in an OperationOutcome (`issue[0].details.coding[0].code`), unless it is a
    request validation failure (FastAPI's list, `validation_failed`)."""
    body = _json(response)
    if isinstance(body, dict) and body.get("resourceType") == "OperationOutcome":
        try:
            code = body["issue"][0]["details"]["coding"][0]["code"]
        except (KeyError, IndexError, TypeError):
            return None
        return code if isinstance(code, str) and code != "validation_failed" else None
    if isinstance(body, dict) and isinstance(body.get("detail"), str):
        code = body.get("code")
        return code if isinstance(code, str) else None
    return None


@schemathesis.hook
def filter_failure(
    context: schemathesis.HookContext,
    failure: Exception,
    case: schemathesis.Case,
    response: schemathesis.Response,
) -> bool:
    """Keep every failure except the narrow cases in the module docstring."""
    if isinstance(failure, ObjectLevelAuthorizationViolation):
        return not case.operation.path.startswith(PUBLIC_CATALOG)
    if isinstance(failure, UseAfterFree):
        body = _json(response)
        return not (
            isinstance(body, dict)
            and (body.get("is_active") is False or body.get("status") == "cancelled")
        )
    if not isinstance(failure, RejectedPositiveData) or response.status_code != 422:
        return True
    if _domain_code(response) is not None:
        return False
    values = (case.path_parameters or {}).values()
    return not any(value is None or value == "None" for value in values)
