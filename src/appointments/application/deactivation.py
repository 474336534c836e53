"""Deactivating a doctor or a patient with its cascade (domain/deactivation.py), read,
saved and recorded in the caller's transaction: the party and its login by the caller,
the cancellations by the system (a cascade, not a choice anyone made)."""

from __future__ import annotations

from datetime import datetime

from appointments.application.access import Actor
from appointments.application.events import Tracked
from appointments.application.ports.unit_of_work import UnitOfWork
from appointments.domain.deactivation import deactivate_party
from appointments.domain.doctors import Doctor
from appointments.domain.patients import Patient


async def deactivate(uow: UnitOfWork, actor: Actor, party: Doctor | Patient, now: datetime) -> None:
    login = await uow.users.get(party.user_id) if party.user_id is not None else None
    if isinstance(party, Doctor):
        future = await uow.appointments.future_active(now=now, doctor_id=party.id)
    else:
        future = await uow.appointments.future_active(now=now, patient_id=party.id)
    tracked = [Tracked(party), *(Tracked(a) for a in future)]
    tracked_login = Tracked(login) if login is not None and login.is_active else None
    cancelled = deactivate_party(party, login, future, now)
    if isinstance(party, Doctor):
        await uow.doctors.save(party)
        uow.record(tracked[0].event("doctor.deactivated", actor))
    else:
        await uow.patients.save(party)
        uow.record(tracked[0].event("patient.deactivated", actor))
    if login is not None:
        await uow.users.save(login)
        if tracked_login is not None:
            uow.record(tracked_login.event("user.deactivated", actor))
    for appointment, watched in zip(cancelled, tracked[1:], strict=True):
        await uow.appointments.save(appointment)
        uow.record(watched.event("appointment.cancelled", None))
