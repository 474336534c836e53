from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Response, status

from appointments.application import holds as uc
from appointments.container import Container
from appointments.domain.errors import BookingLimitReached, NotFound
from appointments.entrypoints.api.dependencies import CurrentActor, use
from appointments.entrypoints.api.routers.appointments import BOOKING_ERRORS
from appointments.entrypoints.api.schemas.calendar import HoldIn, HoldOut
from appointments.entrypoints.api.schemas.common import errors

router = APIRouter(prefix="/api/holds", tags=["holds"], responses=errors(401, 503))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=HoldOut,
    responses=errors(*BOOKING_ERRORS, BookingLimitReached),
)
async def place_hold(
    body: HoldIn,
    actor: CurrentActor,
    place: Annotated[uc.PlaceHold, Depends(use(Container.place_hold))],
) -> HoldOut:
    """Hold a slot

    Keep a slot for HOLD_MINUTES while the patient finishes booking: nobody else can book
    or hold it meanwhile, and availability leaves it out. Every booking rule applies, and
    a patient's booking policy. Book it with `hold_id` (bookAppointment); it runs out by
    itself at `expires_at`.

    Who: as booking: a PATIENT for themself; ADMIN for any patient; a DOCTOR into their
    own calendar, for any patient.
    """
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


@router.get("/{hold_id}", response_model=HoldOut, responses=errors(NotFound))
async def get_hold(
    hold_id: UUID,
    actor: CurrentActor,
    get: Annotated[uc.GetHold, Depends(use(Container.get_hold))],
) -> HoldOut:
    """Get a hold

    A live hold; one that has run out is `not_found`.

    Who: ADMIN; the hold's patient and doctor. Anyone else gets `not_found`.
    """
    return HoldOut.model_validate(await get(actor, hold_id))


@router.delete("/{hold_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(NotFound))
async def release_hold(
    hold_id: UUID,
    actor: CurrentActor,
    release: Annotated[uc.ReleaseHold, Depends(use(Container.release_hold))],
) -> Response:
    """Release a hold

    Give the held time back at once. The hold of a waitlist offer: the offer is declined
    (the entry waits again in its place; the time goes to the next in line).

    Who: ADMIN; the hold's patient and doctor. Anyone else gets `not_found`.
    """
    await release(actor, hold_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
