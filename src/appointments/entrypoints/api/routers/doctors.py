from __future__ import annotations

from datetime import time
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response, status

from appointments.application import doctors as uc
from appointments.application import schedules
from appointments.application.errors import FieldNotAllowed, Forbidden, RangeTooLong
from appointments.application.ports.queries import DoctorFilter
from appointments.application.users import NewUser
from appointments.container import Container
from appointments.domain.errors import (
    EmailTaken,
    InactiveParty,
    InvalidDuration,
    InvalidSchedule,
    InvalidValue,
    NotFound,
    ServiceNotOffered,
    UsernameTaken,
)
from appointments.domain.schedule import WeeklyInterval
from appointments.entrypoints.api.dependencies import (
    CurrentActor,
    Pagination,
    SearchQuery,
    use,
)
from appointments.entrypoints.api.schemas.appointments import DURATION_BOUNDS
from appointments.entrypoints.api.schemas.clinic import (
    AvailabilityOut,
    DoctorIn,
    DoctorOut,
    DoctorPatchIn,
    ScheduleIn,
    ScheduleOut,
    SlotOut,
    TimeOffIn,
    TimeOffOut,
    WeeklyIntervalIO,
)
from appointments.entrypoints.api.schemas.common import IsoDate, PageOut, errors, page_out

router = APIRouter(prefix="/api/doctors", tags=["doctors"], responses=errors(401, 503))


def _schedule_out(found: schedules.DoctorSchedule) -> ScheduleOut:
    return ScheduleOut(
        timezone=found.timezone,
        weekly=[
            WeeklyIntervalIO(weekday=i.weekday, start=f"{i.start:%H:%M}", end=f"{i.end:%H:%M}")
            for i in found.weekly.intervals
        ],
        time_off=[TimeOffOut.model_validate(t) for t in found.time_off],
    )


@router.get("", response_model=PageOut[DoctorOut])
async def list_doctors(
    actor: CurrentActor,
    page: Pagination,
    list_doctors: Annotated[uc.ListDoctors, Depends(use(Container.list_doctors))],
    department_id: UUID | None = None,
    q: SearchQuery = None,
    is_active: bool = True,
) -> PageOut[DoctorOut]:
    """List doctors

    Filtered by department, free text `q` (name, email, specialization) and `is_active`
    (default true).

    Who: any role.
    """
    filters = DoctorFilter(department_id=department_id, q=q, is_active=is_active)
    return page_out(DoctorOut, await list_doctors(actor, filters, page))


@router.get("/{doctor_id}", response_model=DoctorOut, responses=errors(404))
async def get_doctor(
    doctor_id: UUID,
    actor: CurrentActor,
    get: Annotated[uc.GetDoctor, Depends(use(Container.get_doctor))],
) -> DoctorOut:
    """Get a doctor

    Who: any role.
    """
    return DoctorOut.model_validate(await get(actor, doctor_id))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=DoctorOut,
    responses=errors(EmailTaken, UsernameTaken, InvalidValue),
)
async def create_doctor(
    body: DoctorIn,
    actor: CurrentActor,
    create: Annotated[uc.CreateDoctor, Depends(use(Container.create_doctor))],
) -> DoctorOut:
    """Create a doctor

    Creates the DOCTOR login and the doctor in one transaction, in an existing
    department. New doctors work Monday to Friday 09:00-17:00 in the clinic's zone.

    Who: ADMIN.
    """
    doctor = await create(
        actor,
        NewUser(body.email, body.username, body.full_name, body.password),
        body.department_id,
        body.specialization,
        body.phone,
    )
    return DoctorOut.model_validate(doctor)


@router.patch(
    "/{doctor_id}",
    response_model=DoctorOut,
    responses=errors(Forbidden, NotFound, FieldNotAllowed, InvalidValue),
)
async def update_doctor(
    doctor_id: UUID,
    body: DoctorPatchIn,
    actor: CurrentActor,
    update: Annotated[uc.UpdateDoctor, Depends(use(Container.update_doctor))],
) -> DoctorOut:
    """Update a doctor

    Who: ADMIN (any field); the DOCTOR themself for `phone` and `specialization` only.
    """
    return DoctorOut.model_validate(await update(actor, doctor_id, body.changes(uc.DoctorChanges)))


@router.delete("/{doctor_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(NotFound))
async def deactivate_doctor(
    doctor_id: UUID,
    actor: CurrentActor,
    deactivate: Annotated[uc.DeactivateDoctor, Depends(use(Container.deactivate_doctor))],
) -> Response:
    """Deactivate a doctor

    Deactivates the doctor and their login; their future active appointments are
    cancelled with reason `doctor_deactivated`.

    Who: ADMIN.
    """
    await deactivate(actor, doctor_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{doctor_id}/schedule", response_model=ScheduleOut, responses=errors(404))
async def get_schedule(
    doctor_id: UUID,
    actor: CurrentActor,
    get: Annotated[schedules.GetSchedule, Depends(use(Container.get_schedule))],
) -> ScheduleOut:
    """Get a doctor's schedule

    Weekly working intervals (weekday 0 = Monday, `HH:MM` local to `timezone`) and time
    off. New doctors work Monday to Friday 09:00-17:00 in the clinic's zone.

    Who: any role.
    """
    return _schedule_out(await get(actor, doctor_id))


@router.put(
    "/{doctor_id}/schedule",
    response_model=ScheduleOut,
    responses=errors(Forbidden, NotFound, InvalidSchedule),
)
async def set_schedule(
    doctor_id: UUID,
    body: ScheduleIn,
    actor: CurrentActor,
    put: Annotated[schedules.SetSchedule, Depends(use(Container.set_schedule))],
) -> ScheduleOut:
    """Set a doctor's weekly schedule

    Replaces the weekly intervals; overlapping intervals or `end <= start` are
    `invalid_schedule`. Booked appointments stay.

    Who: ADMIN; the DOCTOR themself.
    """
    intervals = [
        WeeklyInterval(i.weekday, time.fromisoformat(i.start), time.fromisoformat(i.end))
        for i in body.weekly
    ]
    return _schedule_out(await put(actor, doctor_id, intervals))


@router.post(
    "/{doctor_id}/time-off",
    status_code=status.HTTP_201_CREATED,
    response_model=TimeOffOut,
    responses=errors(Forbidden, NotFound, InvalidValue),
)
async def add_time_off(
    doctor_id: UUID,
    body: TimeOffIn,
    actor: CurrentActor,
    add: Annotated[schedules.AddTimeOff, Depends(use(Container.add_time_off))],
) -> TimeOffOut:
    """Add time off

    A span the doctor cannot be booked in; booked appointments stay.

    Who: ADMIN; the DOCTOR themself.
    """
    found = await add(actor, doctor_id, body.starts_at, body.ends_at, body.reason)
    return TimeOffOut.model_validate(found)


@router.delete(
    "/{doctor_id}/time-off/{time_off_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=errors(Forbidden, NotFound),
)
async def delete_time_off(
    doctor_id: UUID,
    time_off_id: UUID,
    actor: CurrentActor,
    delete: Annotated[schedules.DeleteTimeOff, Depends(use(Container.delete_time_off))],
) -> Response:
    """Delete time off

    Who: ADMIN; the DOCTOR themself.
    """
    await delete(actor, doctor_id, time_off_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{doctor_id}/availability",
    response_model=AvailabilityOut,
    responses=errors(
        NotFound, RangeTooLong, InvalidValue, InvalidDuration, ServiceNotOffered, InactiveParty
    ),
)
async def get_availability(
    doctor_id: UUID,
    actor: CurrentActor,
    get: Annotated[schedules.GetAvailability, Depends(use(Container.get_availability))],
    date_from: IsoDate,
    date_to: IsoDate,
    duration_minutes: Annotated[
        int | None,
        Query(
            json_schema_extra=DURATION_BOUNDS,
            description="Default: the service's duration, else 30.",
        ),
    ] = None,
    service_id: Annotated[
        UUID | None, Query(description="Slots respect its duration and buffers.")
    ] = None,
    room_id: Annotated[UUID | None, Query(description="Slots avoid the room's bookings.")] = None,
) -> AvailabilityOut:
    """A doctor's bookable slots

    Every future start (UTC) on the doctor's schedule, stepping by `duration_minutes`
    from each working interval's start, that overlaps no active appointment, hold or time
    off; `date_from` to `date_to` (local dates) spans at most 31 days. With `service_id`
    and `room_id` the service's duration and buffers and the room's bookings count; a
    PATIENT is offered only starts the booking policy lets them book.

    Who: any role.
    """
    found = await get(
        actor,
        doctor_id,
        date_from,
        date_to,
        duration_minutes,
        service_id=service_id,
        room_id=room_id,
    )
    return AvailabilityOut(
        doctor_id=found.doctor_id,
        timezone=found.timezone,
        slots=[SlotOut(starts_at=s.starts_at, ends_at=s.ends_at) for s in found.slots],
    )
