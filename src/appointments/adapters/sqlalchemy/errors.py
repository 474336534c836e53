"""Database errors translated into the application's language.

Constraint violations are recognised by SQLSTATE (23505 unique, 23P01 exclusion, 23503
foreign key) or SQLite's constraint error, then by constraint name: the exception class
differs between SQLAlchemy versions and drivers, the state and the name do not.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from appointments.application.errors import ConcurrentUpdate, DatabaseUnavailable
from appointments.domain.errors import (
    DepartmentExists,
    DepartmentNotEmpty,
    DoctorUnavailable,
    DomainError,
    EmailTaken,
    PatientUnavailable,
    RoomExists,
    RoomUnavailable,
    ServiceExists,
    UsernameTaken,
)

CONSTRAINT_ERRORS: dict[str, type[DomainError]] = {
    "uq_users_email_lower": EmailTaken,
    "uq_users_username_lower": UsernameTaken,
    "uq_departments_name_lower": DepartmentExists,
    "uq_services_department_id_name_lower": ServiceExists,
    "uq_rooms_name_lower": RoomExists,
    "ex_appointments_doctor_overlap": DoctorUnavailable,
    "ex_appointments_patient_overlap": PatientUnavailable,
    "ex_appointments_room_overlap": RoomUnavailable,
    "fk_doctors_department_id_departments": DepartmentNotEmpty,
}
CONSTRAINT_STATES = {"23505", "23P01", "23503"}
# Besides connection exceptions (class 08): the server shutting down, crashed or still
# starting up (57P01-57P03), and out of connection slots (53300). Drivers report some of
# these as a plain DBAPIError, so the state decides.
UNAVAILABLE_STATES = {"57P01", "57P02", "57P03", "53300"}


# Serialization failure, deadlock: the other transaction won; the client may simply retry.
RETRY_STATES = {"40001", "40P01"}


def sqlstate(error: DBAPIError) -> str | None:
    orig = error.orig
    for source in (orig, getattr(orig, "__cause__", None)):
        state = getattr(source, "sqlstate", None) or getattr(source, "pgcode", None)
        if isinstance(state, str):
            return state
    return None


def translate(error: BaseException) -> BaseException | None:
    """The application error for a database error, or None to let it through."""
    if isinstance(error, DBAPIError):
        state = sqlstate(error)
        is_constraint = state in CONSTRAINT_STATES or (
            state is None and isinstance(error, IntegrityError)
        )
        if is_constraint:
            message = str(error.orig)
            for name, domain_error in CONSTRAINT_ERRORS.items():
                if name in message:
                    return domain_error()
            return None
        if state in RETRY_STATES:
            return ConcurrentUpdate()
        unavailable = state is not None and (state.startswith("08") or state in UNAVAILABLE_STATES)
        if (
            unavailable
            or error.connection_invalidated
            or isinstance(error, OperationalError | InterfaceError)
        ):
            return DatabaseUnavailable()
        return None
    if isinstance(error, OSError | TimeoutError | PoolTimeout):
        return DatabaseUnavailable()
    return None
