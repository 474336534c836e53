from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body, Depends, Response, status

from appointments.application import appointments as uc
from appointments.application.booking import BookingRequest
from appointments.container import Container
from appointments.domain.appointments import Status
from appointments.domain.errors import Conflict
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

router = APIRouter(
    prefix="/api/appointments", tags=["appointments"], responses=errors(401, 422, 503)
)
ChangeStatus = Annotated[uc.ChangeStatus, Depends(use(Container.change_status))]


@router.get("", response_model=PageOut[AppointmentOut])
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
    """Ordered by start. Admins see all; doctors and patients their own."""
    query = uc.AppointmentQuery(doctor_id, patient_id, status, date_from, date_to)
    return page_out(AppointmentOut, await list_appointments(actor, query, page))


@router.get("/{appointment_id}", response_model=AppointmentOut, responses=errors(404))
async def get_appointment(
    appointment_id: UUID,
    actor: CurrentActor,
    get: Annotated[uc.GetAppointment, Depends(use(Container.get_appointment))],
) -> AppointmentOut:
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
    """The appointment's audit events, oldest first; for whoever may read it."""
    return page_out(AuditEventOut, await history(actor, appointment_id, page))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=AppointmentOut,
    responses=errors(403, 404, 409),
)
async def book_appointment(
    body: AppointmentIn,
    actor: CurrentActor,
    book: Annotated[uc.BookAppointment, Depends(use(Container.book_appointment))],
) -> AppointmentOut:
    """Give `ends_at` or `duration_minutes` (default 30), or `hold_id` to book a hold."""
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


@router.patch("/{appointment_id}", response_model=AppointmentOut, responses=errors(403, 404, 409))
async def update_appointment(
    appointment_id: UUID,
    body: AppointmentPatchIn,
    actor: CurrentActor,
    update: Annotated[uc.UpdateAppointment, Depends(use(Container.update_appointment))],
) -> AppointmentOut:
    """Reschedule (`starts_at`, optional `ends_at`), `reason`, `notes` (doctor, admin)."""
    changes = body.changes(uc.AppointmentChanges)
    return AppointmentOut.model_validate(await update(actor, appointment_id, changes))


def _status_route(action: uc.Action) -> None:
    async def move(
        appointment_id: UUID, actor: CurrentActor, change: ChangeStatus
    ) -> AppointmentOut:
        return AppointmentOut.model_validate(await change(actor, appointment_id, action))

    # confirm_appointment, check_in_appointment, ...: the operation ids
    move.__name__ = action.value.replace("-", "_") + "_appointment"
    router.post(
        f"/{{appointment_id}}/{action.value}",
        response_model=AppointmentOut,
        responses=errors(403, 404, 409),
        summary=action.value.replace("-", " ").capitalize(),
    )(move)


for _action in (uc.Action.CONFIRM, uc.Action.CHECK_IN, uc.Action.COMPLETE, uc.Action.NO_SHOW):
    _status_route(_action)


@router.post("/{appointment_id}/cancel", response_model=AppointmentOut, responses=errors(404, 409))
async def cancel_appointment(
    appointment_id: UUID,
    actor: CurrentActor,
    change: ChangeStatus,
    body: Annotated[CancelIn | None, Body()] = None,
) -> AppointmentOut:
    reason = body.reason if body else None
    return AppointmentOut.model_validate(
        await change(actor, appointment_id, uc.Action.CANCEL, reason)
    )


@router.delete(
    "/{appointment_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(404, 409)
)
async def delete_appointment(
    appointment_id: UUID, actor: CurrentActor, change: ChangeStatus
) -> Response:
    """Same as cancel: records are never destroyed."""
    await change(actor, appointment_id, uc.Action.CANCEL)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
