"""Booking with services, buffers, rooms and the booking policy, on the memory adapters:
each rule refuses and commits nothing; staff are exempt from the policy."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

import pytest

from appointments.application.access import Actor
from appointments.application.appointments import (
    Action,
    AppointmentChanges,
    BookingRequest,
)
from appointments.application.services import NewService
from appointments.domain.appointments import CancelledBy
from appointments.domain.errors import (
    BeyondHorizon,
    BookingLimitReached,
    ChangeWindowClosed,
    DoctorUnavailable,
    InactiveParty,
    NotFound,
    RoomUnavailable,
    ServiceNotOffered,
    TooShortNotice,
)
from tests.application.conftest import Clinic, did


async def _service(clinic: Clinic, admin: Actor, doctor: Actor, **fields: int) -> UUID:
    department = clinic.state.doctors[did(doctor)].department_id
    data = NewService(
        name=f"Service {uuid4().hex[:6]}",
        department_id=department,
        duration_minutes=fields.pop("duration", 30),
        **fields,
    )
    return (await clinic.c.create_service()(admin, data)).id


def _request(
    clinic: Clinic, who: Actor, doctor: Actor, hour: int, minute: int = 0, **extra: UUID
) -> BookingRequest:
    return BookingRequest(
        doctor_id=did(doctor),
        starts_at=clinic.at(1, hour, minute),
        **extra,
    )


async def test_service_duration_and_buffers(clinic: Clinic, admin: Actor) -> None:
    doctor, p, q = await clinic.doctor(admin), await clinic.patient(), await clinic.patient()
    service = await _service(clinic, admin, doctor, duration=45, buffer_after_minutes=15)
    book = clinic.c.book_appointment()
    first = await book(p, _request(clinic, p, doctor, 10, service_id=service))
    assert first.ends_at - first.starts_at == timedelta(minutes=45)
    assert first.blocked.ends_at == first.ends_at + timedelta(minutes=15)
    with clinic.commits_nothing(), pytest.raises(DoctorUnavailable):
        await book(q, _request(clinic, q, doctor, 10, 50))
    touching = await book(q, _request(clinic, q, doctor, 11))
    assert touching.starts_at == first.blocked.ends_at


async def test_service_of_another_department_is_not_offered(clinic: Clinic, admin: Actor) -> None:
    doctor, other, p = (
        await clinic.doctor(admin),
        await clinic.doctor(admin),
        await clinic.patient(),
    )
    foreign = await _service(clinic, admin, other)
    for service_id in (foreign, uuid4()):
        with clinic.commits_nothing(), pytest.raises(ServiceNotOffered):
            await clinic.c.book_appointment()(
                p, _request(clinic, p, doctor, 10, service_id=service_id)
            )


async def test_rooms(clinic: Clinic, admin: Actor) -> None:
    d, o = await clinic.doctor(admin), await clinic.doctor(admin)
    p, q = await clinic.patient(), await clinic.patient()
    room = await clinic.c.create_room()(admin, "Room A", None)
    book = clinic.c.book_appointment()
    await book(p, _request(clinic, p, d, 10, room_id=room.id))
    with clinic.commits_nothing(), pytest.raises(RoomUnavailable):
        await book(q, _request(clinic, q, o, 10, 15, room_id=room.id))
    with clinic.commits_nothing(), pytest.raises(NotFound):
        await book(q, _request(clinic, q, o, 10, 15, room_id=uuid4()))
    await clinic.c.delete_room()(admin, room.id)
    with clinic.commits_nothing(), pytest.raises(InactiveParty):
        await book(q, _request(clinic, q, o, 12, room_id=room.id))


async def test_policy_binds_patients_and_staff_are_exempt(clinic: Clinic, admin: Actor) -> None:
    doctor, p = await clinic.doctor(admin), await clinic.patient()
    await clinic.c.put_policy()(
        admin,
        min_notice_minutes=60 * 24 * 2,
        booking_horizon_days=7,
        cancellation_cutoff_hours=24,
        max_active_per_patient=1,
        reminder_offsets_minutes=[1440],
    )
    book = clinic.c.book_appointment()
    with clinic.commits_nothing(), pytest.raises(TooShortNotice):
        await book(p, BookingRequest(doctor_id=did(doctor), starts_at=clinic.at(1, 10)))
    with clinic.commits_nothing(), pytest.raises(BeyondHorizon):
        await book(p, BookingRequest(doctor_id=did(doctor), starts_at=clinic.at(10, 10)))
    booked = await book(p, BookingRequest(doctor_id=did(doctor), starts_at=clinic.at(3, 10)))
    with clinic.commits_nothing(), pytest.raises(BookingLimitReached):
        await book(p, BookingRequest(doctor_id=did(doctor), starts_at=clinic.at(4, 10)))
    # Staff book inside the notice, for the same patient, past the limit.
    await book(
        admin,
        BookingRequest(doctor_id=did(doctor), starts_at=clinic.at(1, 10), patient_id=p.patient_id),
    )

    clinic.clock.advance(timedelta(days=2, hours=12))  # now within 24 h of `booked`
    update, change = clinic.c.update_appointment(), clinic.c.change_status()
    with clinic.commits_nothing(), pytest.raises(ChangeWindowClosed):
        await update(p, booked.id, AppointmentChanges(starts_at=clinic.at(4, 11)))
    with clinic.commits_nothing(), pytest.raises(ChangeWindowClosed):
        await change(p, booked.id, Action.CANCEL)
    cancelled = await change(doctor, booked.id, Action.CANCEL)
    assert (cancelled.cancelled_by, cancelled.cancelled_at) == (
        CancelledBy.DOCTOR,
        clinic.clock.now(),
    )
