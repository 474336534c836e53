"""Who is calling, and the object-level rules for what they may see and change.

Every check lives here rather than in routers, so the use-case tests cover them all.
Objects a caller may not see are reported as NotFound, never Forbidden: a 403 would reveal
that another patient's record exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar
from uuid import UUID

from appointments.application.errors import Forbidden
from appointments.application.ports import TokenClaims
from appointments.domain.appointments import Appointment
from appointments.domain.errors import NotFound
from appointments.domain.users import Role

T = TypeVar("T")

# Function-level authorization: use-cases declare which roles may use them at all as a
# class attribute `roles`, checked before anything else (the HTTP edge checks it even
# before validating the request body, so a forbidden role gets 403, not 422).
ADMIN_ONLY = frozenset({Role.ADMIN})
STAFF = frozenset({Role.ADMIN, Role.DOCTOR})


@dataclass(frozen=True, slots=True)
class Actor:
    user_id: UUID
    role: Role
    patient_id: UUID | None = None
    doctor_id: UUID | None = None
    claims: TokenClaims | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def require(self, *roles: Role) -> None:
        """Function-level authorization: the role may use this operation at all."""
        if self.role not in roles:
            raise Forbidden()

    def is_doctor(self, doctor_id: UUID) -> bool:
        return self.role is Role.DOCTOR and self.doctor_id == doctor_id

    def is_patient(self, patient_id: UUID) -> bool:
        return self.role is Role.PATIENT and self.patient_id == patient_id

    def may_manage_doctor(self, doctor_id: UUID) -> bool:
        """Schedule and time off: admins, and the doctor for themself."""
        return self.is_admin or self.is_doctor(doctor_id)

    def may_see_appointment(self, appointment: Appointment) -> bool:
        return (
            self.is_admin
            or self.is_doctor(appointment.doctor_id)
            or self.is_patient(appointment.patient_id)
        )

    def may_run_appointment(self, appointment: Appointment) -> bool:
        """Confirm, check in, complete, no-show, notes: the treating doctor and admins."""
        return self.is_admin or self.is_doctor(appointment.doctor_id)


def visible_or_404(obj: T | None, visible: bool = True) -> T:
    """Return `obj` when it exists and the caller may see it; NotFound otherwise."""
    if obj is None or not visible:
        raise NotFound()
    return obj
