"""Recurring appointments. Registered before the appointments router, whose
`/api/appointments/{appointment_id}` routes would otherwise take `series` for an id."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body, Depends, Request, status
from fastapi.responses import JSONResponse

from appointments.application import series as uc
from appointments.application.errors import Forbidden
from appointments.container import Container
from appointments.domain.errors import (
    BookingLimitReached,
    ChangeWindowClosed,
    InvalidRecurrence,
    InvalidTransition,
    NotFound,
    SeriesRefused,
)
from appointments.domain.series import Frequency, Recurrence
from appointments.entrypoints.api import metrics
from appointments.entrypoints.api.dependencies import CurrentActor, use
from appointments.entrypoints.api.errors import method_not_allowed
from appointments.entrypoints.api.routers.appointments import BOOKING_ERRORS
from appointments.entrypoints.api.schemas.appointments import AppointmentOut, CancelIn
from appointments.entrypoints.api.schemas.common import errors
from appointments.entrypoints.api.schemas.series import SeriesIn, SeriesOut, series_errors

router = APIRouter(
    prefix="/api/appointments/series", tags=["appointments"], responses=errors(401, 503)
)


def _out(series: uc.Series) -> SeriesOut:
    return SeriesOut(
        id=series.id, appointments=[AppointmentOut.model_validate(a) for a in series.appointments]
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=SeriesOut,
    responses=series_errors(*BOOKING_ERRORS, BookingLimitReached, InvalidRecurrence),
)
async def book_series(
    body: SeriesIn,
    actor: CurrentActor,
    book: Annotated[uc.BookSeries, Depends(use(Container.book_series))],
) -> SeriesOut:
    """Book a series

    A daily or weekly series (2 to 52 occurrences), all or nothing: every booking rule
    and the patient's policy apply to each occurrence; if any fails nothing is booked and
    the answer is the first failure's status and code, with `conflicts` listing every
    failing occurrence. Occurrences keep the first one's local time in the clinic's zone
    across daylight-saving changes.

    Who: as bookAppointment: a PATIENT for themself; ADMIN for any patient; a DOCTOR into
    their own calendar, for any patient.
    """
    recurrence = body.recurrence
    request = uc.SeriesRequest(
        doctor_id=body.doctor_id,
        starts_at=body.starts_at,
        recurrence=Recurrence(
            frequency=Frequency(recurrence.frequency),
            interval=recurrence.interval,
            count=recurrence.count,
            until=recurrence.until,
        ),
        patient_id=body.patient_id,
        duration_minutes=body.duration_minutes,
        reason=body.reason,
        service_id=body.service_id,
        room_id=body.room_id,
    )
    try:
        series = await book(actor, request)
    except SeriesRefused as refused:
        metrics.BOOKING_CONFLICTS.labels(refused.code).inc()
        raise
    metrics.BOOKINGS.inc(len(series.appointments))
    return _out(series)


@router.api_route(
    "", methods=["GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"], include_in_schema=False
)
async def series_collection_method_not_allowed(request: Request) -> JSONResponse:
    """Only POST: any other method would reach the appointments router's
    /api/appointments/{appointment_id} routes with `series` as the id (a 422, and an
    Allow header naming their methods), not the 405."""
    return method_not_allowed(request, {"POST"})


@router.get("/{series_id}", response_model=SeriesOut, responses=errors(NotFound))
async def get_series(
    series_id: UUID,
    actor: CurrentActor,
    get: Annotated[uc.GetSeries, Depends(use(Container.get_series))],
) -> SeriesOut:
    """Get a series

    Its appointments by start, whatever their status.

    Who: whoever may see its appointments (ADMIN, its patient, its doctor); anyone else
    gets `not_found`.
    """
    return _out(await get(actor, series_id))


@router.post(
    "/{series_id}/cancel",
    response_model=SeriesOut,
    responses=errors(NotFound, Forbidden, InvalidTransition, ChangeWindowClosed),
)
async def cancel_series(
    series_id: UUID,
    actor: CurrentActor,
    cancel: Annotated[uc.CancelSeries, Depends(use(Container.cancel_series))],
    body: Annotated[CancelIn | None, Body()] = None,
) -> SeriesOut:
    """Cancel a series

    Every future scheduled or confirmed occurrence (past and final ones are kept), each
    under the rules of cancelAppointment: a patient within the cancellation cut-off is
    refused (`change_window_closed`) and then nothing is cancelled.

    Who: as cancelAppointment: ADMIN, its patient, its doctor.
    """
    return _out(await cancel(actor, series_id, body.reason if body else None))
