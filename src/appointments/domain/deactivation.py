"""What deactivating a doctor or a patient brings along, in one place.

Records are never destroyed: the party is deactivated, their login too (which revokes its
tokens), and their future scheduled or confirmed appointments are cancelled with a reason
that says why. A checked-in appointment is left alone: it is under way.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from appointments.domain.appointments import Appointment, CancelledBy
from appointments.domain.doctors import Doctor
from appointments.domain.patients import Patient
from appointments.domain.users import User

DOCTOR_DEACTIVATED = "doctor_deactivated"
PATIENT_DEACTIVATED = "patient_deactivated"


def deactivate_party(
    party: Doctor | Patient,
    login: User | None,
    future: Iterable[Appointment],
    now: datetime,
) -> list[Appointment]:
    """Deactivate `party` and `login`; cancel `future` (their upcoming scheduled or
    confirmed appointments). Returns the appointments it cancelled."""
    party.deactivate()
    if login is not None:
        login.deactivate(now)
    reason = DOCTOR_DEACTIVATED if isinstance(party, Doctor) else PATIENT_DEACTIVATED
    cancelled = list(future)
    for appointment in cancelled:
        appointment.cancel(reason, now, by=CancelledBy.SYSTEM)
    return cancelled
