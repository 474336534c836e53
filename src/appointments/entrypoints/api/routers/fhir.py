"""FHIR R4 read API (API.md, "Calendar feeds and FHIR"): the same use-cases, tokens and
visibility as /api, answered as FHIR resources. A patient asking for another patient's
Appointment gets the 404 OperationOutcome an unknown id gets."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from pydantic import StringConstraints

from appointments.application import appointments as appointments_uc
from appointments.application import doctors as doctors_uc
from appointments.application import patients as patients_uc
from appointments.application import schedules
from appointments.application.errors import RangeTooLong
from appointments.application.ports.queries import MAX_PAGE_SIZE, PageRequest
from appointments.container import Container
from appointments.domain.errors import InvalidValue, NotFound
from appointments.entrypoints.api import fhir, fhir_search
from appointments.entrypoints.api.capability import capability_statement
from appointments.entrypoints.api.dependencies import CurrentActor, use
from appointments.entrypoints.api.schemas.common import errors
from appointments.entrypoints.api.schemas.fhir import BundleOut, FhirResourceOut

# Errors are named as in /api; the OpenAPI documents them as OperationOutcomes carrying
# the code (schemas.fhir.as_outcomes). 401, 422 and 503 are added by openapi.py where they
# apply (not to /metadata, which needs no token and no database).
router = APIRouter(prefix=fhir.FHIR_BASE, tags=["fhir"], default_response_class=fhir.FhirResponse)
DateValue = Annotated[str, StringConstraints(pattern=fhir_search.DATE_PATTERN)]
DateParam = Annotated[
    list[DateValue] | None,
    Query(
        description="Repeatable; prefixes `ge`, `gt`, `le`, `lt`, `eq` (default). A date is a "
        "clinic-local day; a dateTime needs an offset.",
    ),
]
Reference = Annotated[str | None, Query(pattern=fhir_search.REFERENCE_PATTERN)]


def _base(request: Request) -> str:
    configured: str = request.app.state.container.settings().public_base_url
    return configured or str(request.base_url).rstrip("/")


def _zone(request: Request) -> ZoneInfo:
    return ZoneInfo(request.app.state.container.clinic().timezone)


def _url(request: Request, **replace: str) -> str:
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in replace]
    params += list(replace.items())
    query = "&".join(f"{k}={v}" for k, v in params)
    return f"{_base(request)}{request.url.path}" + (f"?{query}" if query else "")


@router.get("/metadata", response_model=FhirResourceOut)
async def read_fhir_capabilities(request: Request) -> fhir.FhirResponse:
    """Read the CapabilityStatement

    What this FHIR R4 server answers: the resources, their interactions and search
    parameters.

    Who: anyone, no token needed.
    """
    return fhir.FhirResponse(capability_statement(_base(request)))


@router.get(
    "/Appointment/{appointment_id}", response_model=FhirResourceOut, responses=errors(NotFound)
)
async def read_fhir_appointment(
    appointment_id: UUID,
    actor: CurrentActor,
    get: Annotated[appointments_uc.GetAppointment, Depends(use(Container.get_appointment))],
) -> fhir.FhirResponse:
    """Read an Appointment

    GET /api/appointments/{appointment_id} as a FHIR Appointment.

    Who: ADMIN; the appointment's doctor and patient. Anyone else gets `not_found`.
    """
    return fhir.FhirResponse(fhir.appointment(await get(actor, appointment_id)))


@router.get("/Appointment", response_model=BundleOut, responses=errors(InvalidValue))
async def search_fhir_appointments(
    request: Request,
    actor: CurrentActor,
    search: Annotated[appointments_uc.ListAppointments, Depends(use(Container.list_appointments))],
    patient: Reference = None,
    practitioner: Reference = None,
    date: DateParam = None,
    status: Annotated[list[str] | None, Query(description="Comma-separated codes.")] = None,
    count: Annotated[int, Query(alias="_count", ge=1, le=MAX_PAGE_SIZE)] = 20,
    offset: Annotated[int, Query(alias="_offset", ge=0, le=2**62)] = 0,
) -> fhir.FhirResponse:
    """Search Appointments

    A searchset Bundle ordered by start, by `patient`, `practitioner`, `date` and `status`;
    a malformed parameter is `invalid_value`.

    Who: any role, within what the caller sees in GET /api/appointments (ADMIN all; a
    DOCTOR and a PATIENT only their own).
    """
    bounds = fhir_search.date_bounds(date or [], _zone(request))
    query = appointments_uc.AppointmentQuery(
        doctor_id=fhir_search.reference_id(practitioner, "Practitioner"),
        patient_id=fhir_search.reference_id(patient, "Patient"),
        starts_from=bounds.starts_from,
        starts_before=bounds.starts_before,
        statuses=fhir_search.statuses(status or []),
    )
    page = await search(actor, query, PageRequest(limit=count, offset=offset))
    following = offset + count
    next_url = _url(request, _offset=str(following)) if following < page.total else None
    resources = [fhir.appointment(a) for a in page.items]
    body = fhir.bundle(_base(request), resources, page.total, _url(request), next_url)
    return fhir.FhirResponse(body)


@router.get("/Patient/{patient_id}", response_model=FhirResourceOut, responses=errors(NotFound))
async def read_fhir_patient(
    patient_id: UUID,
    actor: CurrentActor,
    get: Annotated[patients_uc.GetPatient, Depends(use(Container.get_patient))],
) -> fhir.FhirResponse:
    """Read a Patient

    GET /api/patients/{patient_id} as a FHIR Patient.

    Who: as GET /api/patients/{patient_id}: ADMIN all; a DOCTOR the patients with an
    appointment with them; a PATIENT themself. Anyone else gets `not_found`.
    """
    return fhir.FhirResponse(fhir.patient(await get(actor, patient_id)))


@router.get(
    "/Practitioner/{practitioner_id}", response_model=FhirResourceOut, responses=errors(NotFound)
)
async def read_fhir_practitioner(
    practitioner_id: UUID,
    actor: CurrentActor,
    get: Annotated[doctors_uc.GetDoctor, Depends(use(Container.get_doctor))],
) -> fhir.FhirResponse:
    """Read a Practitioner

    GET /api/doctors/{doctor_id} as a FHIR Practitioner.

    Who: any role.
    """
    return fhir.FhirResponse(fhir.practitioner(await get(actor, practitioner_id)))


@router.get("/Schedule", response_model=BundleOut, responses=errors(NotFound, InvalidValue))
async def search_fhir_schedules(
    request: Request,
    actor: CurrentActor,
    get: Annotated[doctors_uc.GetDoctor, Depends(use(Container.get_doctor))],
    practitioner: Annotated[str, Query(alias="actor", pattern=fhir_search.REFERENCE_PATTERN)],
) -> fhir.FhirResponse:
    """Search Schedules

    The doctor's one Schedule (its id is the doctor's), by `actor=Practitioner/{id}`.

    Who: any role.
    """
    doctor_id = fhir_search.reference_id(practitioner, "Practitioner")
    assert doctor_id is not None
    doctor = await get(actor, doctor_id)
    resource = fhir.schedule(doctor, request.app.state.container.clinic().timezone)
    return fhir.FhirResponse(fhir.bundle(_base(request), [resource], 1, _url(request)))


@router.get(
    "/Slot", response_model=BundleOut, responses=errors(NotFound, InvalidValue, RangeTooLong)
)
async def search_fhir_slots(
    request: Request,
    actor: CurrentActor,
    availability: Annotated[schedules.GetAvailability, Depends(use(Container.get_availability))],
    schedule: Annotated[str, Query(pattern=fhir_search.REFERENCE_PATTERN)],
    start: Annotated[list[DateValue], Query(description="ge<date> and lt/le<date>.")],
) -> fhir.FhirResponse:
    """Search free Slots

    The free slots of GET /api/doctors/{doctor_id}/availability (the same code) that
    start in the `start` range, by `schedule=Schedule/{id}`; at most 31 days
    (`range_too_long`).

    Who: any role; as in availability, a PATIENT sees only slots the booking policy lets
    them book.
    """
    doctor_id = fhir_search.reference_id(schedule, "Schedule")
    assert doctor_id is not None
    zone = _zone(request)
    bounds = fhir_search.date_bounds(start, zone)
    first, last = fhir_search.local_dates(bounds, zone)
    found = await availability(actor, doctor_id, first, last)
    spans = [
        s
        for s in found.slots
        if (bounds.starts_from is None or s.starts_at >= bounds.starts_from)
        and (bounds.starts_before is None or s.starts_at < bounds.starts_before)
    ]
    resources = [fhir.slot(doctor_id, s) for s in spans]
    return fhir.FhirResponse(fhir.bundle(_base(request), resources, len(spans), _url(request)))
