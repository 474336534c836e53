from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body, Depends, Response, status

from appointments.application import appointments as uc
from appointments.application.booking import BookingRequest
from appointments.application.errors import FieldNotAllowed, Forbidden
from appointments.container import Container
from appointments.domain.appointments import Status
from appointments.domain.errors import (
    BeyondHorizon,
    BookingLimitReached,
    ChangeWindowClosed,
    Conflict,
    DoctorUnavailable,
    HoldExpired,
    InactiveParty,
    InThePast,
    InvalidDuration,
    InvalidTransition,
    InvalidValue,
    NotFound,
    OutsideSchedule,
    PatientUnavailable,
    RoomUnavailable,
    ServiceNotOffered,
    TooShortNotice,
)
from appointments.entrypoints.api import metrics
from appointments.entrypoints.api.dependencies import CurrentActor, Pagination, use
from appointments.entrypoints.api.schemas.appointments import (
    AppointmentIn,
    AppointmentOut,
    AppointmentPatchIn,
    CancelIn,
)
from appointments.entrypoints.api.schemas.audit import AuditEventOut
from appointments.entrypoints.api.schemas.common import IsoDate, PageOut, errors, page_out

router = APIRouter(prefix="/api/appointments", tags=["appointments"], responses=errors(401, 503))
# What booking and moving refuse (API.md "Booking rules", "Services, rooms and policy").
BOOKING_ERRORS = (
    NotFound,
    Forbidden,
    InvalidValue,
    InvalidDuration,
    InThePast,
    OutsideSchedule,
    InactiveParty,
    ServiceNotOffered,
    TooShortNotice,
    BeyondHorizon,
    DoctorUnavailable,
    PatientUnavailable,
    RoomUnavailable,
)
STATUS_ERRORS = (NotFound, Forbidden, InvalidTransition)
ChangeStatus = Annotated[uc.ChangeStatus, Depends(use(Container.change_status))]


@router.get("", response_model=PageOut[AppointmentOut], responses=errors(InvalidValue))
async def list_appointments(
    actor: CurrentActor,
    page: Pagination,
    list_appointments: Annotated[uc.ListAppointments, Depends(use(Container.list_appointments))],
    doctor_id: UUID | None = None,
    patient_id: UUID | None = None,
    status: Status | None = None,
    date_from: IsoDate | None = None,
    date_to: IsoDate | None = None,
) -> PageOut[AppointmentOut]:
    """List appointments

    A page ordered by `starts_at`, filtered by doctor, patient, status and local dates
    (`date_from` inclusive, `date_to` inclusive).

    Who: any role. ADMIN sees all; a DOCTOR and a PATIENT only their own.
    """
    query = uc.AppointmentQuery(doctor_id, patient_id, status, date_from, date_to)
    return page_out(AppointmentOut, await list_appointments(actor, query, page))


@router.get("/{appointment_id}", response_model=AppointmentOut, responses=errors(404))
async def get_appointment(
    appointment_id: UUID,
    actor: CurrentActor,
    get: Annotated[uc.GetAppointment, Depends(use(Container.get_appointment))],
) -> AppointmentOut:
    """Get an appointment

    Who: ADMIN; the appointment's doctor and patient. Anyone else gets `not_found`.
    """
    return AppointmentOut.model_validate(await get(actor, appointment_id))


@router.get(
    "/{appointment_id}/history", response_model=PageOut[AuditEventOut], responses=errors(404)
)
async def get_appointment_history(
    appointment_id: UUID,
    actor: CurrentActor,
    page: Pagination,
    history: Annotated[uc.GetAppointmentHistory, Depends(use(Container.appointment_history))],
) -> PageOut[AuditEventOut]:
    """The appointment's history

    Its audit events, oldest first.

    Who: whoever may read the appointment (ADMIN, its doctor, its patient).
    """
    return page_out(AuditEventOut, await history(actor, appointment_id, page))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=AppointmentOut,
    responses=errors(*BOOKING_ERRORS, BookingLimitReached, HoldExpired),
)
async def book_appointment(
    body: AppointmentIn,
    actor: CurrentActor,
    book: Annotated[uc.BookAppointment, Depends(use(Container.book_appointment))],
) -> AppointmentOut:
    """Book an appointment

    Give `ends_at` or `duration_minutes` (default 30, or the service's duration), or
    `hold_id` to book what a hold keeps (placeHold). Every booking rule applies; the
    answer is `scheduled`.

    Who: a PATIENT for themself (`patient_id` omitted or their own); ADMIN for any
    patient; a DOCTOR into their own calendar, for any patient.
    """
    request = BookingRequest(
        doctor_id=body.doctor_id,
        starts_at=body.starts_at,
        patient_id=body.patient_id,
        ends_at=body.ends_at,
        duration_minutes=body.duration_minutes,
        reason=body.reason,
        service_id=body.service_id,
        room_id=body.room_id,
        hold_id=body.hold_id,
    )
    try:
        booked = await book(actor, request)
    except Conflict as conflict:  # a lost race too: the database's refusal is translated
        metrics.BOOKING_CONFLICTS.labels(conflict.code).inc()
        raise
    metrics.BOOKINGS.inc()
    return AppointmentOut.model_validate(booked)


@router.patch(
    "/{appointment_id}",
    response_model=AppointmentOut,
    responses=errors(*BOOKING_ERRORS, InvalidTransition, ChangeWindowClosed, FieldNotAllowed),
)
async def update_appointment(
    appointment_id: UUID,
    body: AppointmentPatchIn,
    actor: CurrentActor,
    update: Annotated[uc.UpdateAppointment, Depends(use(Container.update_appointment))],
) -> AppointmentOut:
    """Reschedule or annotate an appointment

    Reschedule with `starts_at` (optional `ends_at`; only while scheduled or confirmed,
    back to `scheduled`, every booking rule again), or change `reason` or `notes`.

    Who: ADMIN and the appointment's doctor and patient; `notes` only ADMIN and DOCTOR.
    """
    changes = body.changes(uc.AppointmentChanges)
    return AppointmentOut.model_validate(await update(actor, appointment_id, changes))


def _status_route(action: uc.Action) -> None:
    async def move(
        appointment_id: UUID, actor: CurrentActor, change: ChangeStatus
    ) -> AppointmentOut:
        return AppointmentOut.model_validate(await change(actor, appointment_id, action))

    # confirm_appointment, check_in_appointment, ...: the operation ids
    move.__name__ = action.value.replace("-", "_") + "_appointment"
    move.__doc__ = f"""{action.value.replace("-", " ").capitalize()} an appointment

    {STATUS_MOVES[action]}

    Who: ADMIN and the appointment's DOCTOR.
    """
    router.post(
        f"/{{appointment_id}}/{action.value}",
        response_model=AppointmentOut,
        responses=errors(*STATUS_ERRORS),
    )(move)


STATUS_MOVES = {
    uc.Action.CONFIRM: "`scheduled` to `confirmed`.",
    uc.Action.CHECK_IN: "`scheduled` or `confirmed` to `checked_in` (a walk-in confirms).",
    uc.Action.COMPLETE: "`checked_in` to `completed`.",
    uc.Action.NO_SHOW: "`scheduled` or `confirmed` to `no_show`, only after `starts_at`.",
}


for _action in (uc.Action.CONFIRM, uc.Action.CHECK_IN, uc.Action.COMPLETE, uc.Action.NO_SHOW):
    _status_route(_action)


@router.post(
    "/{appointment_id}/cancel",
    response_model=AppointmentOut,
    responses=errors(*STATUS_ERRORS, ChangeWindowClosed),
)
async def cancel_appointment(
    appointment_id: UUID,
    actor: CurrentActor,
    change: ChangeStatus,
    body: Annotated[CancelIn | None, Body()] = None,
) -> AppointmentOut:
    """Cancel an appointment

    A scheduled or confirmed appointment becomes `cancelled`, with the caller's role as
    `cancelled_by`; a patient may not within the policy's cancellation cutoff.

    Who: ADMIN, the appointment's PATIENT and its DOCTOR.
    """
    reason = body.reason if body else None
    return AppointmentOut.model_validate(
        await change(actor, appointment_id, uc.Action.CANCEL, reason)
    )


@router.delete(
    "/{appointment_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=errors(*STATUS_ERRORS, ChangeWindowClosed),
)
async def delete_appointment(
    appointment_id: UUID, actor: CurrentActor, change: ChangeStatus
) -> Response:
    """Cancel an appointment (DELETE)

    The same as cancel, answering 204: records are never destroyed.

    Who: ADMIN, the appointment's PATIENT and its DOCTOR.
    """
    await change(actor, appointment_id, uc.Action.CANCEL)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
