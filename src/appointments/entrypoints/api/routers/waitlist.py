from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Response, status

from appointments.application import waitlist as uc
from appointments.container import Container
from appointments.domain.waitlist import WaitlistStatus
from appointments.entrypoints.api.dependencies import CurrentActor, Pagination, use
from appointments.entrypoints.api.schemas.appointments import AppointmentOut
from appointments.entrypoints.api.schemas.calendar import WaitlistEntryOut, WaitlistIn
from appointments.entrypoints.api.schemas.common import PageOut, errors, page_out

router = APIRouter(prefix="/api/waitlist", tags=["waitlist"], responses=errors(401, 422, 503))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=WaitlistEntryOut,
    responses=errors(403, 404, 409),
)
async def join_waitlist(
    body: WaitlistIn,
    actor: CurrentActor,
    join: Annotated[uc.JoinWaitlist, Depends(use(Container.join_waitlist))],
) -> WaitlistEntryOut:
    """Wait for time with a doctor, or any doctor of a department, between two days: when
    time that fits frees up, the oldest waiting entry is offered it. Who: a patient for
    themself, a doctor for their own calendar, an admin anyone."""
    request = uc.WaitlistRequest(
        date_from=body.date_from,
        date_to=body.date_to,
        doctor_id=body.doctor_id,
        department_id=body.department_id,
        service_id=body.service_id,
        patient_id=body.patient_id,
        duration_minutes=body.duration_minutes,
    )
    return WaitlistEntryOut.model_validate(await join(actor, request))


@router.get("", response_model=PageOut[WaitlistEntryOut])
async def list_waitlist(
    actor: CurrentActor,
    page: Pagination,
    list_entries: Annotated[uc.ListWaitlist, Depends(use(Container.list_waitlist))],
    status: WaitlistStatus | None = None,
) -> PageOut[WaitlistEntryOut]:
    """Oldest first. Patients see their own entries, doctors those they could serve,
    admins all."""
    return page_out(WaitlistEntryOut, await list_entries(actor, status, page))


@router.get("/{entry_id}", response_model=WaitlistEntryOut, responses=errors(404))
async def get_waitlist_entry(
    entry_id: UUID,
    actor: CurrentActor,
    get: Annotated[uc.GetWaitlistEntry, Depends(use(Container.get_waitlist_entry))],
) -> WaitlistEntryOut:
    """One entry, with its offer if it has one; for whoever may list it."""
    return WaitlistEntryOut.model_validate(await get(actor, entry_id))


@router.delete("/{entry_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(404, 409))
async def cancel_waitlist_entry(
    entry_id: UUID,
    actor: CurrentActor,
    cancel: Annotated[uc.CancelWaitlistEntry, Depends(use(Container.cancel_waitlist_entry))],
) -> Response:
    """Leave the waitlist; an offer the entry holds is released to the next in line.
    Who: whoever may see the entry."""
    await cancel(actor, entry_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{entry_id}/accept",
    status_code=status.HTTP_201_CREATED,
    response_model=AppointmentOut,
    responses=errors(403, 404, 409),
)
async def accept_waitlist_offer(
    entry_id: UUID,
    actor: CurrentActor,
    accept: Annotated[uc.AcceptOffer, Depends(use(Container.accept_offer))],
) -> AppointmentOut:
    """Book the offered time (the entry becomes booked); 409 `hold_expired` once the offer
    has lapsed. Who: whoever may see the entry."""
    return AppointmentOut.model_validate(await accept(actor, entry_id))
