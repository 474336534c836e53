from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Response, status

from appointments.application import holds as uc
from appointments.container import Container
from appointments.entrypoints.api.dependencies import CurrentActor, use
from appointments.entrypoints.api.schemas.calendar import HoldIn, HoldOut
from appointments.entrypoints.api.schemas.common import errors

router = APIRouter(prefix="/api/holds", tags=["holds"], responses=errors(401, 422, 503))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=HoldOut,
    responses=errors(403, 404, 409),
)
async def place_hold(
    body: HoldIn,
    actor: CurrentActor,
    place: Annotated[uc.PlaceHold, Depends(use(Container.place_hold))],
) -> HoldOut:
    """Keep a slot for HOLD_MINUTES while the patient finishes booking: nobody else can
    book or hold it meanwhile. Who: as booking (a patient for themself, a doctor into
    their own calendar, an admin anyone). Book it with `hold_id` on bookAppointment."""
    request = uc.HoldRequest(
        doctor_id=body.doctor_id,
        starts_at=body.starts_at,
        patient_id=body.patient_id,
        ends_at=body.ends_at,
        duration_minutes=body.duration_minutes,
        service_id=body.service_id,
        room_id=body.room_id,
    )
    return HoldOut.model_validate(await place(actor, request))


@router.get("/{hold_id}", response_model=HoldOut, responses=errors(404))
async def get_hold(
    hold_id: UUID,
    actor: CurrentActor,
    get: Annotated[uc.GetHold, Depends(use(Container.get_hold))],
) -> HoldOut:
    """A live hold, for its patient, its doctor and admins (an expired one is a 404)."""
    return HoldOut.model_validate(await get(actor, hold_id))


@router.delete("/{hold_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(404))
async def release_hold(
    hold_id: UUID,
    actor: CurrentActor,
    release: Annotated[uc.ReleaseHold, Depends(use(Container.release_hold))],
) -> Response:
    """Give the held time back at once (a waitlist offer's hold: the offer is declined).
    Who: its patient, its doctor, admins."""
    await release(actor, hold_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
