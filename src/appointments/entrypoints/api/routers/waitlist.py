from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Response, status

from appointments.application import waitlist as uc
from appointments.application.errors import Forbidden
from appointments.container import Container
from appointments.domain.errors import (
    BookingLimitReached,
    HoldExpired,
    InactiveParty,
    InvalidDuration,
    InvalidTransition,
    InvalidValue,
    NotFound,
    ServiceNotOffered,
)
from appointments.domain.waitlist import WaitlistStatus
from appointments.entrypoints.api.dependencies import CurrentActor, Pagination, use
from appointments.entrypoints.api.routers.appointments import BOOKING_ERRORS
from appointments.entrypoints.api.schemas.appointments import AppointmentOut
from appointments.entrypoints.api.schemas.calendar import WaitlistEntryOut, WaitlistIn
from appointments.entrypoints.api.schemas.common import PageOut, errors, page_out

router = APIRouter(prefix="/api/waitlist", tags=["waitlist"], responses=errors(401, 503))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=WaitlistEntryOut,
    responses=errors(
        NotFound, Forbidden, InvalidValue, InvalidDuration, InactiveParty, ServiceNotOffered
    ),
)
async def join_waitlist(
    body: WaitlistIn,
    actor: CurrentActor,
    join: Annotated[uc.JoinWaitlist, Depends(use(Container.join_waitlist))],
) -> WaitlistEntryOut:
    """Join the waitlist

    Wait for time with a doctor, or any doctor of a department (`doctor_id` or
    `department_id`), between two days, optionally for a service or a length. When time
    that fits frees up (a cancellation, a move, a deleted time off, a released or expired
    hold), the oldest waiting entry is offered it: `status: offered` and `offer`, a hold
    in the patient's name for WAITLIST_OFFER_MINUTES, an email and a `waitlist.offered`
    webhook.

    Who: a PATIENT for themself; ADMIN for any patient; a DOCTOR for their own calendar
    (with `doctor_id`), for any patient.
    """
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
    """List waitlist entries

    Oldest first (the order offers follow), optionally by `status`.

    Who: any role. A PATIENT sees their own entries, a DOCTOR those for them or their
    department, ADMIN all.
    """
    return page_out(WaitlistEntryOut, await list_entries(actor, status, page))


@router.get("/{entry_id}", response_model=WaitlistEntryOut, responses=errors(NotFound))
async def get_waitlist_entry(
    entry_id: UUID,
    actor: CurrentActor,
    get: Annotated[uc.GetWaitlistEntry, Depends(use(Container.get_waitlist_entry))],
) -> WaitlistEntryOut:
    """Get a waitlist entry

    With its offer, if it has one.

    Who: whoever may list it (its patient; a DOCTOR it is for; ADMIN). Anyone else gets
    `not_found`.
    """
    return WaitlistEntryOut.model_validate(await get(actor, entry_id))


@router.delete(
    "/{entry_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=errors(NotFound, InvalidTransition),
)
async def cancel_waitlist_entry(
    entry_id: UUID,
    actor: CurrentActor,
    cancel: Annotated[uc.CancelWaitlistEntry, Depends(use(Container.cancel_waitlist_entry))],
) -> Response:
    """Leave the waitlist

    The entry is cancelled; an offer it holds is released to the next in line. An entry
    that is booked, expired or cancelled already is `invalid_transition`.

    Who: whoever may see the entry (its patient; a DOCTOR it is for; ADMIN).
    """
    await cancel(actor, entry_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{entry_id}/accept",
    status_code=status.HTTP_201_CREATED,
    response_model=AppointmentOut,
    responses=errors(*BOOKING_ERRORS, BookingLimitReached, HoldExpired),
)
async def accept_waitlist_offer(
    entry_id: UUID,
    actor: CurrentActor,
    accept: Annotated[uc.AcceptOffer, Depends(use(Container.accept_offer))],
) -> AppointmentOut:
    """Accept a waitlist offer

    Books the offered time for the entry's patient (the entry becomes `booked`), as
    bookAppointment with the offer's `hold_id` would; `hold_expired` once the offer has
    lapsed or when there is none.

    Who: whoever may see the entry (its patient; a DOCTOR it is for; ADMIN).
    """
    return AppointmentOut.model_validate(await accept(actor, entry_id))
