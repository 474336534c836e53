"""Who may do what: every authorization rule of the application, in one module.

Function-level rules (which roles may use an operation at all) are declared on each
use-case with `Restricted`; object-level rules (which records a caller may see or change)
are the functions and scopes below. A list is filtered by the same scope object that
decides a single read, so the two cannot disagree. Objects a caller may not see are
reported as NotFound, never Forbidden: a 403 would reveal that another patient's record
exists.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar
from uuid import UUID

from appointments.application.errors import FieldNotAllowed, Forbidden
from appointments.application.ports.services import TokenClaims
from appointments.domain.appointments import Appointment, CancelledBy
from appointments.domain.calendar_feeds import CalendarFeed, FeedOwner
from appointments.domain.errors import InvalidValue, NotFound
from appointments.domain.holds import Hold
from appointments.domain.users import Role
from appointments.domain.waitlist import WaitlistEntry

T = TypeVar("T")

ADMIN_ONLY = frozenset({Role.ADMIN})
STAFF = frozenset({Role.ADMIN, Role.DOCTOR})
# API.md: a patient record is changed by an admin or the patient themself; a doctor may
# not use that operation at all.
PATIENT_EDITORS = frozenset({Role.ADMIN, Role.PATIENT})
# What a doctor may change on their own doctor record.
DOCTOR_SELF_FIELDS = frozenset({"phone", "specialization"})


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

    def require(self, roles: Collection[Role]) -> None:
        """Function-level authorization: the role may use this operation at all."""
        if self.role not in roles:
            raise Forbidden()

    def is_doctor(self, doctor_id: UUID | None) -> bool:
        return self.role is Role.DOCTOR and self.doctor_id == doctor_id

    def is_patient(self, patient_id: UUID) -> bool:
        return self.role is Role.PATIENT and self.patient_id == patient_id


class Restricted:
    """A use-case only some roles may call: `class X(Restricted, roles=ADMIN_ONLY)`.

    The roles are declared once, here checked before the use-case runs, and read by the
    HTTP edge to refuse a forbidden role with 403 before it even validates the body (a role
    that may never use an endpoint learns nothing from validation errors). The use-case's
    first argument after `self` must be the Actor."""

    roles: ClassVar[frozenset[Role]]

    def __init_subclass__(cls, *, roles: frozenset[Role], **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.roles = roles
        call: Callable[..., Awaitable[Any]] = cls.__dict__["__call__"]

        @functools.wraps(call)
        async def checked(self: object, actor: Actor, *args: Any, **kw: Any) -> Any:
            actor.require(roles)
            return await call(self, actor, *args, **kw)

        setattr(cls, "__call__", checked)  # noqa: B010 - replacing a dunder on the class


def visible(obj: T | None, allowed: bool = True) -> T:
    """`obj` when it exists and the caller may see it; NotFound otherwise."""
    if obj is None or not allowed:
        raise NotFound()
    return obj


# --- appointments --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AppointmentScope:
    """The appointments a caller may see: all of them, or one doctor's, or one patient's;
    none when no field is set (a login without its record)."""

    everyone: bool = False
    doctor_id: UUID | None = None
    patient_id: UUID | None = None

    @classmethod
    def everything(cls) -> AppointmentScope:
        return cls(everyone=True)

    def admits(self, appointment: Appointment) -> bool:
        return self.admits_parties(appointment.doctor_id, appointment.patient_id)

    def admits_parties(self, doctor_id: UUID, patient_id: UUID) -> bool:
        """Whether it admits what is between this doctor and this patient (an
        appointment, a hold)."""
        if self.everyone:
            return True
        if self.doctor_id is not None:
            return doctor_id == self.doctor_id
        return self.patient_id is not None and patient_id == self.patient_id


def appointment_scope(actor: Actor) -> AppointmentScope:
    """Admins see every appointment; doctors and patients their own."""
    if actor.is_admin:
        return AppointmentScope.everything()
    if actor.role is Role.DOCTOR:
        return AppointmentScope(doctor_id=actor.doctor_id)
    return AppointmentScope(patient_id=actor.patient_id)


def may_see_appointment(actor: Actor, appointment: Appointment) -> bool:
    return appointment_scope(actor).admits(appointment)


def may_see_series(actor: Actor, appointments: Sequence[Appointment]) -> bool:
    """A series is seen by whoever may see its appointments (one doctor and patient)."""
    return bool(appointments) and all(may_see_appointment(actor, a) for a in appointments)


def may_run_appointment(actor: Actor, appointment: Appointment) -> bool:
    """Confirm, check in, complete, no-show and notes: the treating doctor and admins.
    Cancelling and moving are open to every party who may see the appointment."""
    return actor.is_admin or actor.is_doctor(appointment.doctor_id)


def check_may_write_notes(actor: Actor, appointment: Appointment) -> None:
    if not may_run_appointment(actor, appointment):
        raise FieldNotAllowed("Only the doctor or an admin may write notes.")


def policy_applies(actor: Actor) -> bool:
    """The clinic's booking policy (notice, horizon, cut-off, limit) binds patients;
    doctors and admins are exempt."""
    return actor.role is Role.PATIENT


def cancelled_by(actor: Actor) -> CancelledBy:
    return CancelledBy(actor.role.value)


def patient_for_booking(actor: Actor, doctor_id: UUID | None, patient_id: UUID | None) -> UUID:
    """Who books for whom: a patient for themself (another patient id is NotFound), a doctor
    for any patient into their own calendar (`doctor_id` None: no calendar of theirs, so
    not a doctor), an admin anything."""
    if actor.role is Role.PATIENT:
        if actor.patient_id is None:
            raise Forbidden("Your login has no patient record.")
        if patient_id not in (None, actor.patient_id):
            raise NotFound("The patient does not exist.")
        return actor.patient_id
    if actor.role is Role.DOCTOR and not actor.is_doctor(doctor_id):
        raise Forbidden("A doctor books only into their own calendar.")
    if patient_id is None:
        raise InvalidValue("patient_id is required.")
    return patient_id


def may_use_hold(actor: Actor, hold: Hold) -> bool:
    """A hold is seen, booked and released by its parties (the patient, the doctor) and
    admins, like the appointment it is to become."""
    return appointment_scope(actor).admits_parties(hold.doctor_id, hold.patient_id)


# --- the waitlist --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WaitlistScope:
    """The entries a caller may see: all, one patient's, or those one doctor could serve
    (`doctor`: their id and department: their own entries and their department's); none
    when no field is set."""

    everyone: bool = False
    patient_id: UUID | None = None
    doctor: tuple[UUID, UUID] | None = None

    def admits(self, entry: WaitlistEntry) -> bool:
        if self.everyone:
            return True
        if self.doctor is not None:
            doctor_id, department_id = self.doctor
            return entry.doctor_id == doctor_id or (
                entry.doctor_id is None and entry.department_id == department_id
            )
        return self.patient_id is not None and entry.patient_id == self.patient_id


def waitlist_scope(actor: Actor, doctor_department_id: UUID | None) -> WaitlistScope:
    """Patients see their own entries, doctors those they could serve, admins all;
    `doctor_department_id` is the calling doctor's department."""
    if actor.is_admin:
        return WaitlistScope(everyone=True)
    if actor.role is Role.DOCTOR:
        if actor.doctor_id is None or doctor_department_id is None:
            return WaitlistScope()
        return WaitlistScope(doctor=(actor.doctor_id, doctor_department_id))
    return WaitlistScope(patient_id=actor.patient_id)


# --- patients ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PatientScope:
    """The patient records a caller may see: all of them, one patient's own, or those
    with (past or present) appointments with one doctor; none when no field is set."""

    everyone: bool = False
    only_id: UUID | None = None
    treated_by: UUID | None = None


def patient_scope(actor: Actor) -> PatientScope:
    """Admins see all patients, doctors the patients they have (or had) appointments
    with, a patient only themself."""
    if actor.is_admin:
        return PatientScope(everyone=True)
    if actor.role is Role.DOCTOR:
        return PatientScope(treated_by=actor.doctor_id)
    return PatientScope(only_id=actor.patient_id)


def check_may_edit_patient(actor: Actor, patient_id: UUID) -> None:
    if not (actor.is_admin or actor.is_patient(patient_id)):
        raise Forbidden("Only an admin or the patient themself may change a patient.")


# --- doctors -------------------------------------------------------------------------


def may_manage_doctor(actor: Actor, doctor_id: UUID) -> bool:
    """Schedule, time off, the doctor record: admins, and the doctor for themself."""
    return actor.is_admin or actor.is_doctor(doctor_id)


def check_may_manage_doctor(actor: Actor, doctor_id: UUID) -> None:
    if not may_manage_doctor(actor, doctor_id):
        raise Forbidden("Only an admin or the doctor themself may do this.")


def check_doctor_fields(actor: Actor, sent: Collection[str]) -> None:
    """A doctor changes only `phone` and `specialization` of their record; anything else
    is refused, never silently dropped."""
    if not actor.is_admin and (extra := sorted(set(sent) - DOCTOR_SELF_FIELDS)):
        raise FieldNotAllowed(f"A doctor may not change: {', '.join(extra)}.")


def may_see_time_off_reason(actor: Actor, doctor_id: UUID) -> bool:
    """Time-off reasons are private to the doctor and admins; others see the times."""
    return may_manage_doctor(actor, doctor_id)


# --- calendar feeds ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FeedScope:
    """The calendar feeds a caller may see and revoke: all of them, or one owner's."""

    everyone: bool = False
    owner_type: FeedOwner | None = None
    owner_id: UUID | None = None

    def admits(self, feed: CalendarFeed) -> bool:
        if self.everyone:
            return True
        return self.owner_id is not None and (feed.owner_type, feed.owner_id) == (
            self.owner_type,
            self.owner_id,
        )


def calendar_feed_scope(actor: Actor) -> FeedScope:
    """Admins see every feed; a doctor or patient the feeds of their own calendar."""
    if actor.is_admin:
        return FeedScope(everyone=True)
    if actor.role is Role.DOCTOR:
        return FeedScope(owner_type=FeedOwner.DOCTOR, owner_id=actor.doctor_id)
    return FeedScope(owner_type=FeedOwner.PATIENT, owner_id=actor.patient_id)


def feed_owner(
    actor: Actor, doctor_id: UUID | None, patient_id: UUID | None
) -> tuple[FeedOwner, UUID]:
    """Whose calendar a new feed shows: a doctor's or patient's own by default, anyone's
    for an admin. Another patient's id is NotFound (as everywhere), another doctor's a 403
    (doctors are public)."""
    if doctor_id is not None and patient_id is not None:
        raise InvalidValue("Give doctor_id or patient_id, not both.")
    if actor.is_admin:
        if doctor_id is not None:
            return FeedOwner.DOCTOR, doctor_id
        if patient_id is not None:
            return FeedOwner.PATIENT, patient_id
        raise InvalidValue("doctor_id or patient_id is required.")
    if actor.role is Role.PATIENT:
        if actor.patient_id is None:
            raise Forbidden("Your login has no patient record.")
        if doctor_id is not None:
            raise Forbidden("A patient subscribes to their own calendar only.")
        if patient_id not in (None, actor.patient_id):
            raise NotFound("The patient does not exist.")
        return FeedOwner.PATIENT, actor.patient_id
    if (
        actor.doctor_id is None
        or patient_id is not None
        or doctor_id not in (None, actor.doctor_id)
    ):
        raise Forbidden("A doctor subscribes to their own calendar only.")
    return FeedOwner.DOCTOR, actor.doctor_id


def feed_appointments(feed: CalendarFeed) -> AppointmentScope:
    """What a feed shows: exactly what its owner sees in GET /api/appointments."""
    if feed.owner_type is FeedOwner.DOCTOR:
        return appointment_scope(Actor(feed.owner_id, Role.DOCTOR, doctor_id=feed.owner_id))
    return appointment_scope(Actor(feed.owner_id, Role.PATIENT, patient_id=feed.owner_id))


def feed_names_patients(feed: CalendarFeed) -> bool:
    """Patient names appear only in a doctor's own feed; a patient's names the doctor."""
    return feed.owner_type is FeedOwner.DOCTOR
