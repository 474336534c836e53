from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Response, status

from appointments.application import patients as uc
from appointments.container import Container
from appointments.entrypoints.api.dependencies import (
    CurrentActor,
    Pagination,
    SearchQuery,
    use,
)
from appointments.entrypoints.api.schemas.clinic import PatientIn, PatientOut, PatientPatchIn
from appointments.entrypoints.api.schemas.common import PageOut, errors, page_out

router = APIRouter(prefix="/api/patients", tags=["patients"], responses=errors(401, 422, 503))


@router.get("", response_model=PageOut[PatientOut])
async def list_patients(
    actor: CurrentActor,
    page: Pagination,
    list_patients: Annotated[uc.ListPatients, Depends(use(Container.list_patients))],
    q: SearchQuery = None,
) -> PageOut[PatientOut]:
    """Admins: all; doctors: their patients; patients: themself."""
    return page_out(PatientOut, await list_patients(actor, q, page))


@router.get("/{patient_id}", response_model=PatientOut, responses=errors(404))
async def get_patient(
    patient_id: UUID,
    actor: CurrentActor,
    get: Annotated[uc.GetPatient, Depends(use(Container.get_patient))],
) -> PatientOut:
    return PatientOut.model_validate(await get(actor, patient_id))


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=PatientOut, responses=errors(403)
)
async def create_patient(
    body: PatientIn,
    actor: CurrentActor,
    create: Annotated[uc.CreatePatient, Depends(use(Container.create_patient))],
) -> PatientOut:
    """A front-desk patient without a login."""
    return PatientOut.model_validate(await create(actor, body.changes(uc.PatientChanges)))


@router.patch("/{patient_id}", response_model=PatientOut, responses=errors(403, 404))
async def update_patient(
    patient_id: UUID,
    body: PatientPatchIn,
    actor: CurrentActor,
    update: Annotated[uc.UpdatePatient, Depends(use(Container.update_patient))],
) -> PatientOut:
    return PatientOut.model_validate(
        await update(actor, patient_id, body.changes(uc.PatientChanges))
    )


@router.delete("/{patient_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(403, 404))
async def deactivate_patient(
    patient_id: UUID,
    actor: CurrentActor,
    deactivate: Annotated[uc.DeactivatePatient, Depends(use(Container.deactivate_patient))],
) -> Response:
    """Deactivate the record and its login; future active appointments are cancelled."""
    await deactivate(actor, patient_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
