"""Patient records. Admins see all; doctors see patients they have (or had) appointments
with; a patient sees only themself. Anything else is NotFound, on read and on write."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from uuid import UUID

from appointments.application.actor import ADMIN_ONLY, Actor, visible_or_404
from appointments.application.errors import Forbidden
from appointments.application.ports import (
    Clock,
    Page,
    PageRequest,
    PatientFilter,
    UnitOfWork,
)
from appointments.application.users import retire
from appointments.domain.clinic import Patient
from appointments.domain.users import Role, check_full_name, normalize_email


async def _visible_patient(uow: UnitOfWork, actor: Actor, patient_id: UUID) -> Patient:
    patient = await uow.patients.get(patient_id)
    if patient is None or actor.is_admin or actor.is_patient(patient_id):
        return visible_or_404(patient)
    if actor.role is Role.DOCTOR and actor.doctor_id is not None:
        return visible_or_404(
            patient, await uow.patients.has_appointment_with(patient_id, actor.doctor_id)
        )
    return visible_or_404(None)


class ListPatients:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def __call__(self, actor: Actor, q: str | None, page: PageRequest) -> Page[Patient]:
        if actor.is_admin:
            filters = PatientFilter(q=q)
        elif actor.role is Role.DOCTOR and actor.doctor_id is not None:
            filters = PatientFilter(q=q, with_doctor_id=actor.doctor_id)
        elif actor.role is Role.PATIENT and actor.patient_id is not None:
            filters = PatientFilter(q=q, only_id=actor.patient_id)
        else:
            return Page([], 0, page.limit, page.offset)
        async with self._uow as uow:
            return await uow.patients.search(filters, page)


class GetPatient:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def __call__(self, actor: Actor, patient_id: UUID) -> Patient:
        async with self._uow as uow:
            return await _visible_patient(uow, actor, patient_id)


@dataclass(frozen=True, slots=True)
class PatientData:
    """Only the fields the client sent (PATCH semantics)."""

    values: dict[str, object] = field(default_factory=dict)


def _apply(patient: Patient, values: dict[str, object]) -> None:
    if "full_name" in values:
        patient.full_name = check_full_name(str(values["full_name"]))
    if "email" in values:
        email = values["email"]
        patient.email = None if email is None else normalize_email(str(email))
    if "phone" in values:
        phone = values["phone"]
        patient.phone = None if phone is None else str(phone)
    if "date_of_birth" in values:
        born = values["date_of_birth"]
        assert born is None or isinstance(born, date)
        patient.date_of_birth = born


class CreatePatient:
    """A front-desk patient record, without a login."""

    roles = ADMIN_ONLY

    def __init__(self, uow: UnitOfWork, clock: Clock) -> None:
        self._uow, self._clock = uow, clock

    async def __call__(self, actor: Actor, data: PatientData) -> Patient:
        actor.require(*self.roles)
        patient = Patient(full_name="", created_at=self._clock.now())
        _apply(patient, data.values)
        patient.full_name = check_full_name(patient.full_name)  # required, even if not sent
        async with self._uow as uow:
            await uow.patients.add(patient)
            await uow.commit()
        return patient


class UpdatePatient:
    # API.md: "ADMIN; the patient themself": a doctor may not use this at all (403
    # whatever the id, so it reveals nothing).
    roles = frozenset({Role.ADMIN, Role.PATIENT})

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def __call__(self, actor: Actor, patient_id: UUID, data: PatientData) -> Patient:
        actor.require(*self.roles)
        async with self._uow as uow:
            patient = await _visible_patient(uow, actor, patient_id)
            if not (actor.is_admin or actor.is_patient(patient_id)):
                raise Forbidden("Only an admin or the patient themself may change a patient.")
            _apply(patient, data.values)
            await uow.patients.save(patient)
            await uow.commit()
        return patient


class DeactivatePatient:
    """Deactivates the record and its login; cancels future active appointments."""

    roles = ADMIN_ONLY

    def __init__(self, uow: UnitOfWork, clock: Clock) -> None:
        self._uow, self._clock = uow, clock

    async def __call__(self, actor: Actor, patient_id: UUID) -> None:
        actor.require(*self.roles)
        now = self._clock.now()
        async with self._uow as uow:
            patient = visible_or_404(await uow.patients.get(patient_id))
            patient.is_active = False
            await uow.patients.save(patient)
            await retire(uow, now, patient.user_id, "patient_deactivated", patient_id=patient_id)
            await uow.commit()
