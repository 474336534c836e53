"""Patient records. Who sees which record is decided by `patient_scope` in access.py, for
lists and single reads alike; anything else is NotFound, on read and on write."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from appointments.application.access import (
    ADMIN_ONLY,
    PATIENT_EDITORS,
    Actor,
    Restricted,
    check_may_edit_patient,
    patient_scope,
    visible,
)
from appointments.application.deactivation import deactivate
from appointments.application.events import Tracked, created
from appointments.application.ports.queries import Page, PageRequest, PatientFilter
from appointments.application.ports.services import Clock
from appointments.application.ports.unit_of_work import UnitOfWork
from appointments.application.users import rename_person
from appointments.domain.changes import UNSET, Maybe
from appointments.domain.contact import check_full_name, normalize_email
from appointments.domain.patients import Patient


async def _visible_patient(uow: UnitOfWork, actor: Actor, patient_id: UUID) -> Patient:
    return visible(await uow.patients.get_in_scope(patient_id, patient_scope(actor)))


class ListPatients:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def __call__(self, actor: Actor, q: str | None, page: PageRequest) -> Page[Patient]:
        async with self._uow as uow:
            return await uow.patients.search(PatientFilter(patient_scope(actor), q), page)


class GetPatient:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def __call__(self, actor: Actor, patient_id: UUID) -> Patient:
        async with self._uow as uow:
            return await _visible_patient(uow, actor, patient_id)


@dataclass(frozen=True, slots=True)
class PatientChanges:
    full_name: Maybe[str] = UNSET
    email: Maybe[str | None] = UNSET
    phone: Maybe[str | None] = UNSET
    date_of_birth: Maybe[date | None] = UNSET


def _apply(patient: Patient, changes: PatientChanges) -> None:
    if changes.full_name is not UNSET:
        patient.full_name = check_full_name(changes.full_name)
    if changes.email is not UNSET:
        patient.email = None if changes.email is None else normalize_email(changes.email)
    if changes.phone is not UNSET:
        patient.phone = changes.phone
    if changes.date_of_birth is not UNSET:
        patient.date_of_birth = changes.date_of_birth


class CreatePatient(Restricted, roles=ADMIN_ONLY):
    """A front-desk patient record, without a login."""

    def __init__(self, uow: UnitOfWork, clock: Clock) -> None:
        self._uow, self._clock = uow, clock

    async def __call__(self, actor: Actor, data: PatientChanges) -> Patient:
        patient = Patient(full_name="", created_at=self._clock.now())
        _apply(patient, data)
        patient.full_name = check_full_name(patient.full_name)  # required, even if not sent
        async with self._uow as uow:
            await uow.patients.add(patient)
            uow.record(created("patient.created", actor, patient))
            await uow.commit()
        return patient


class UpdatePatient(Restricted, roles=PATIENT_EDITORS):
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def __call__(self, actor: Actor, patient_id: UUID, changes: PatientChanges) -> Patient:
        async with self._uow as uow:
            patient = await _visible_patient(uow, actor, patient_id)
            check_may_edit_patient(actor, patient_id)
            tracked = Tracked(patient)
            _apply(patient, changes)
            await uow.patients.save(patient)
            uow.record(tracked.event("patient.updated", actor))
            if changes.full_name is not UNSET and patient.user_id is not None:
                login = await uow.users.get(patient.user_id)
                if login is not None:
                    renamed = Tracked(login)
                    await rename_person(uow, actor, login, patient.full_name)
                    uow.record(renamed.event("user.updated", actor))
            await uow.commit()
        return patient


class DeactivatePatient(Restricted, roles=ADMIN_ONLY):
    """Deactivates the record and its login; cancels future active appointments
    (domain/deactivation.py)."""

    def __init__(self, uow: UnitOfWork, clock: Clock) -> None:
        self._uow, self._clock = uow, clock

    async def __call__(self, actor: Actor, patient_id: UUID) -> None:
        now = self._clock.now()
        async with self._uow as uow:
            # Locked first: a placement under way is waited for, then seen and cancelled.
            await deactivate(
                uow, actor, visible(await uow.patients.get(patient_id, lock=True)), now
            )
            await uow.commit()
