"""Deactivating a doctor or a patient with its cascade (domain/deactivation.py), read and
saved in the caller's transaction."""

from __future__ import annotations

from datetime import datetime

from appointments.application.ports.unit_of_work import UnitOfWork
from appointments.domain.deactivation import deactivate_party
from appointments.domain.doctors import Doctor
from appointments.domain.patients import Patient


async def deactivate(uow: UnitOfWork, party: Doctor | Patient, now: datetime) -> None:
    login = await uow.users.get(party.user_id) if party.user_id is not None else None
    if isinstance(party, Doctor):
        future = await uow.appointments.future_active(now=now, doctor_id=party.id)
    else:
        future = await uow.appointments.future_active(now=now, patient_id=party.id)
    cancelled = deactivate_party(party, login, future, now)
    if isinstance(party, Doctor):
        await uow.doctors.save(party)
    else:
        await uow.patients.save(party)
    if login is not None:
        await uow.users.save(login)
    for appointment in cancelled:
        await uow.appointments.save(appointment)
