from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Response, status

from appointments.application import patients as uc
from appointments.application.errors import Forbidden
from appointments.container import Container
from appointments.domain.errors import InvalidValue, NotFound
from appointments.entrypoints.api.dependencies import (
    CurrentActor,
    Pagination,
    SearchQuery,
    use,
)
from appointments.entrypoints.api.schemas.clinic import PatientIn, PatientOut, PatientPatchIn
from appointments.entrypoints.api.schemas.common import PageOut, errors, page_out

router = APIRouter(prefix="/api/patients", tags=["patients"], responses=errors(401, 503))


@router.get("", response_model=PageOut[PatientOut])
async def list_patients(
    actor: CurrentActor,
    page: Pagination,
    list_patients: Annotated[uc.ListPatients, Depends(use(Container.list_patients))],
    q: SearchQuery = None,
) -> PageOut[PatientOut]:
    """List patients

    Filter with free text `q` (name, email, phone).

    Who: any role. ADMIN sees all; a DOCTOR the patients with at least one appointment
    with them; a PATIENT only themself.
    """
    return page_out(PatientOut, await list_patients(actor, q, page))


@router.get("/{patient_id}", response_model=PatientOut, responses=errors(NotFound))
async def get_patient(
    patient_id: UUID,
    actor: CurrentActor,
    get: Annotated[uc.GetPatient, Depends(use(Container.get_patient))],
) -> PatientOut:
    """Get a patient

    Who: as listPatients; a patient the caller may not see is `not_found`.
    """
    return PatientOut.model_validate(await get(actor, patient_id))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=PatientOut,
    responses=errors(InvalidValue),
)
async def create_patient(
    body: PatientIn,
    actor: CurrentActor,
    create: Annotated[uc.CreatePatient, Depends(use(Container.create_patient))],
) -> PatientOut:
    """Create a patient

    A front-desk patient record without a login (`user_id` null).

    Who: ADMIN.
    """
    return PatientOut.model_validate(await create(actor, body.changes(uc.PatientChanges)))


@router.patch(
    "/{patient_id}",
    response_model=PatientOut,
    responses=errors(Forbidden, NotFound, InvalidValue),
)
async def update_patient(
    patient_id: UUID,
    body: PatientPatchIn,
    actor: CurrentActor,
    update: Annotated[uc.UpdatePatient, Depends(use(Container.update_patient))],
) -> PatientOut:
    """Update a patient

    Who: ADMIN; the PATIENT themself.
    """
    return PatientOut.model_validate(
        await update(actor, patient_id, body.changes(uc.PatientChanges))
    )


@router.delete("/{patient_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(NotFound))
async def deactivate_patient(
    patient_id: UUID,
    actor: CurrentActor,
    deactivate: Annotated[uc.DeactivatePatient, Depends(use(Container.deactivate_patient))],
) -> Response:
    """Deactivate a patient

    Deactivates the record and its login; their future active appointments are
    cancelled.

    Who: ADMIN.
    """
    await deactivate(actor, patient_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
