"""In-memory repositories over a MemoryState. Objects are copied in and out so callers
never mutate stored state by accident, as with rows in a database."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from appointments.adapters.memory.unit_of_work import MemoryState
from appointments.application.ports import (
    AppointmentFilter,
    DashboardStats,
    DoctorFilter,
    LoginFailures,
    Page,
    PageRequest,
    PatientFilter,
    Principal,
    UserFilter,
)
from appointments.domain.appointments import (
    ACTIVE_STATUSES,
    CHANGEABLE_STATUSES,
    Appointment,
    Status,
)
from appointments.domain.clinic import Department, Doctor, Patient
from appointments.domain.errors import (
    DepartmentExists,
    DepartmentNotEmpty,
    DoctorUnavailable,
    EmailTaken,
    PatientUnavailable,
    UsernameTaken,
)
from appointments.domain.schedule import Span, TimeOff, WeeklySchedule
from appointments.domain.users import Role, User

T = TypeVar("T")


def _page(items: Iterable[T], key: Callable[[T], Any], page: PageRequest) -> Page[T]:
    ordered = sorted(items, key=key)
    chunk = ordered[page.offset : page.offset + page.limit]
    return Page([copy.copy(i) for i in chunk], len(ordered), page.limit, page.offset)


def _contains(value: str | None, q: str) -> bool:
    return value is not None and q.lower() in value.lower()


class _Repository:
    def __init__(self, state: MemoryState) -> None:
        self._s = state


class MemoryUserRepository(_Repository):
    async def add(self, user: User) -> None:
        await self.email_or_username_taken(user.email, user.username)
        self._s.users[user.id] = copy.copy(user)

    async def get(self, user_id: UUID) -> User | None:
        return copy.copy(self._s.users.get(user_id))

    async def find_by_login(self, login: str) -> User | None:
        key = login.strip().lower()
        for user in self._s.users.values():
            if key in (user.username.lower(), user.email.lower()):
                return copy.copy(user)
        return None

    async def email_or_username_taken(self, email: str, username: str) -> None:
        if any(u.email.lower() == email.lower() for u in self._s.users.values()):
            raise EmailTaken()
        if any(u.username.lower() == username.lower() for u in self._s.users.values()):
            raise UsernameTaken()

    async def save(self, user: User) -> None:
        self._s.users[user.id] = copy.copy(user)

    async def search(self, filters: UserFilter, page: PageRequest) -> Page[User]:
        q = filters.q

        def keep(u: User) -> bool:
            return (
                (filters.role is None or u.role is filters.role)
                and (filters.is_active is None or u.is_active == filters.is_active)
                and (not q or any(_contains(v, q) for v in (u.username, u.email, u.full_name)))
            )

        found = filter(keep, self._s.users.values())
        return _page(found, lambda u: (u.created_at, str(u.id)), page)

    async def active_admin_ids(self, *, lock: bool = False) -> list[UUID]:
        return [u.id for u in self._s.users.values() if u.role is Role.ADMIN and u.is_active]

    async def load_principal(self, user_id: UUID, jti: str) -> Principal | None:
        user = self._s.users.get(user_id)
        if user is None:
            return None
        patient = next((p.id for p in self._s.patients.values() if p.user_id == user_id), None)
        doctor = next((d.id for d in self._s.doctors.values() if d.user_id == user_id), None)
        return Principal(copy.copy(user), patient, doctor, jti in self._s.revoked_tokens)


class MemoryPatientRepository(_Repository):
    async def add(self, patient: Patient) -> None:
        self._s.patients[patient.id] = copy.copy(patient)

    async def get(self, patient_id: UUID, *, lock: bool = False) -> Patient | None:
        return copy.copy(self._s.patients.get(patient_id))

    async def get_by_user(self, user_id: UUID) -> Patient | None:
        found = (p for p in self._s.patients.values() if p.user_id == user_id)
        return copy.copy(next(found, None))

    async def save(self, patient: Patient) -> None:
        self._s.patients[patient.id] = copy.copy(patient)

    async def search(self, filters: PatientFilter, page: PageRequest) -> Page[Patient]:
        q = filters.q

        def keep(p: Patient) -> bool:
            return (
                (filters.only_id is None or p.id == filters.only_id)
                and (
                    filters.with_doctor_id is None or self._treated_by(p.id, filters.with_doctor_id)
                )
                and (not q or any(_contains(v, q) for v in (p.full_name, p.email, p.phone)))
            )

        found = filter(keep, self._s.patients.values())
        return _page(found, lambda p: (p.full_name, str(p.id)), page)

    def _treated_by(self, patient_id: UUID, doctor_id: UUID) -> bool:
        return any(
            a.patient_id == patient_id and a.doctor_id == doctor_id
            for a in self._s.appointments.values()
        )

    async def has_appointment_with(self, patient_id: UUID, doctor_id: UUID) -> bool:
        return self._treated_by(patient_id, doctor_id)


class MemoryDepartmentRepository(_Repository):
    async def add(self, department: Department) -> None:
        if await self.name_taken(department.name):
            raise DepartmentExists()
        self._s.departments[department.id] = copy.copy(department)

    async def get(self, department_id: UUID) -> Department | None:
        return copy.copy(self._s.departments.get(department_id))

    async def save(self, department: Department) -> None:
        if await self.name_taken(department.name, except_id=department.id):
            raise DepartmentExists()
        self._s.departments[department.id] = copy.copy(department)

    async def delete(self, department_id: UUID) -> None:
        if await self.has_doctors(department_id):
            raise DepartmentNotEmpty()
        self._s.departments.pop(department_id, None)

    async def search(self, page: PageRequest) -> Page[Department]:
        return _page(self._s.departments.values(), lambda d: (d.name.lower(), str(d.id)), page)

    async def name_taken(self, name: str, *, except_id: UUID | None = None) -> bool:
        return any(
            d.name.lower() == name.lower() and d.id != except_id
            for d in self._s.departments.values()
        )

    async def has_doctors(self, department_id: UUID) -> bool:
        return any(d.department_id == department_id for d in self._s.doctors.values())


class MemoryDoctorRepository(_Repository):
    async def add(self, doctor: Doctor, schedule: WeeklySchedule) -> None:
        self._s.doctors[doctor.id] = copy.copy(doctor)
        self._s.schedules[doctor.id] = schedule

    def _with_user(self, doctor: Doctor | None) -> Doctor | None:
        if doctor is None:
            return None
        user = self._s.users[doctor.user_id]
        result = copy.copy(doctor)
        result.full_name, result.email = user.full_name, user.email
        return result

    async def get(self, doctor_id: UUID, *, lock: bool = False) -> Doctor | None:
        return self._with_user(self._s.doctors.get(doctor_id))

    async def get_by_user(self, user_id: UUID) -> Doctor | None:
        found = (d for d in self._s.doctors.values() if d.user_id == user_id)
        return self._with_user(next(found, None))

    async def save(self, doctor: Doctor) -> None:
        self._s.doctors[doctor.id] = copy.copy(doctor)

    async def search(self, filters: DoctorFilter, page: PageRequest) -> Page[Doctor]:
        q = filters.q
        doctors = [self._with_user(d) for d in self._s.doctors.values()]

        def keep(d: Doctor) -> bool:
            return (
                (filters.department_id is None or d.department_id == filters.department_id)
                and (filters.is_active is None or d.is_active == filters.is_active)
                and (
                    not q or any(_contains(v, q) for v in (d.full_name, d.specialization, d.email))
                )
            )

        found = [d for d in doctors if d is not None and keep(d)]
        return _page(found, lambda d: (d.full_name, str(d.id)), page)

    async def get_schedule(self, doctor_id: UUID) -> WeeklySchedule:
        return self._s.schedules.get(doctor_id, WeeklySchedule(()))

    async def set_schedule(self, doctor_id: UUID, schedule: WeeklySchedule) -> None:
        self._s.schedules[doctor_id] = schedule

    async def add_time_off(self, time_off: TimeOff) -> None:
        self._s.time_off[time_off.id] = time_off

    async def get_time_off(self, time_off_id: UUID) -> TimeOff | None:
        return self._s.time_off.get(time_off_id)

    async def delete_time_off(self, time_off_id: UUID) -> None:
        self._s.time_off.pop(time_off_id, None)

    async def list_time_off(self, doctor_id: UUID, within: Span | None = None) -> list[TimeOff]:
        found = [
            t
            for t in self._s.time_off.values()
            if t.doctor_id == doctor_id and (within is None or t.span.overlaps(within))
        ]
        return sorted(found, key=lambda t: (t.starts_at, str(t.id)))


class MemoryAppointmentRepository(_Repository):
    """Refuses overlaps on write, like the PostgreSQL exclusion constraints."""

    def _check_overlaps(self, appointment: Appointment) -> None:
        if not appointment.is_active:
            return
        for other in self._s.appointments.values():
            if other.id == appointment.id or not other.is_active:
                continue
            if other.span.overlaps(appointment.span):
                if other.doctor_id == appointment.doctor_id:
                    raise DoctorUnavailable()
                if other.patient_id == appointment.patient_id:
                    raise PatientUnavailable()

    async def add(self, appointment: Appointment) -> None:
        self._check_overlaps(appointment)
        self._s.appointments[appointment.id] = copy.copy(appointment)

    async def get(self, appointment_id: UUID, *, lock: bool = False) -> Appointment | None:
        return copy.copy(self._s.appointments.get(appointment_id))

    async def save(self, appointment: Appointment) -> None:
        self._check_overlaps(appointment)
        self._s.appointments[appointment.id] = copy.copy(appointment)

    async def search(self, filters: AppointmentFilter, page: PageRequest) -> Page[Appointment]:
        def keep(a: Appointment) -> bool:
            return (
                (filters.doctor_id is None or a.doctor_id == filters.doctor_id)
                and (filters.patient_id is None or a.patient_id == filters.patient_id)
                and (filters.status is None or a.status is filters.status)
                and (filters.starts_from is None or a.starts_at >= filters.starts_from)
                and (filters.starts_before is None or a.starts_at < filters.starts_before)
            )

        found = filter(keep, self._s.appointments.values())
        return _page(found, lambda a: (a.starts_at, str(a.id)), page)

    async def busy_spans(
        self,
        *,
        within: Span,
        doctor_id: UUID | None = None,
        patient_id: UUID | None = None,
        exclude_id: UUID | None = None,
    ) -> list[Span]:
        return sorted(
            a.span
            for a in self._s.appointments.values()
            if a.is_active
            and a.id != exclude_id
            and a.span.overlaps(within)
            and (doctor_id is None or a.doctor_id == doctor_id)
            and (patient_id is None or a.patient_id == patient_id)
        )

    async def future_active(
        self, *, now: datetime, doctor_id: UUID | None = None, patient_id: UUID | None = None
    ) -> list[Appointment]:
        found = [
            copy.copy(a)
            for a in self._s.appointments.values()
            if a.status in CHANGEABLE_STATUSES
            and a.starts_at > now
            and (doctor_id is None or a.doctor_id == doctor_id)
            and (patient_id is None or a.patient_id == patient_id)
        ]
        return sorted(found, key=lambda a: a.starts_at)


class MemoryRevokedTokenRepository(_Repository):
    async def add(self, jti: str, expires_at: datetime) -> None:
        self._s.revoked_tokens[jti] = expires_at

    async def purge_expired(self, now: datetime) -> None:
        for jti in [j for j, exp in self._s.revoked_tokens.items() if exp < now]:
            del self._s.revoked_tokens[jti]


class MemoryLoginFailureRepository(_Repository):
    async def get(self, key: str) -> LoginFailures | None:
        found = self._s.login_failures.get(key)
        return LoginFailures(*found) if found else None

    async def record(
        self, key: str, now: datetime, window_started_after: datetime
    ) -> LoginFailures:
        for stale in [
            k for k, (_, f) in self._s.login_failures.items() if f <= window_started_after
        ]:
            del self._s.login_failures[stale]
        count, first = self._s.login_failures.get(key, (0, now))
        self._s.login_failures[key] = (count + 1, first)
        return LoginFailures(count + 1, first)

    async def clear(self, key: str) -> None:
        self._s.login_failures.pop(key, None)


class MemoryStatsQueries(_Repository):
    async def dashboard(self, today: Span, next_7_days: Span) -> DashboardStats:
        users = list(self._s.users.values())
        appointments = list(self._s.appointments.values())
        return DashboardStats(
            users_total=len(users),
            users_active=sum(u.is_active for u in users),
            users_by_role={r: sum(u.role is r for u in users) for r in Role},
            departments=len(self._s.departments),
            doctors=len(self._s.doctors),
            patients=len(self._s.patients),
            appointments_total=len(appointments),
            appointments_by_status={s: sum(a.status is s for a in appointments) for s in Status},
            appointments_today=sum(
                today.start <= a.starts_at < today.end and a.status is not Status.CANCELLED
                for a in appointments
            ),
            appointments_next_7_days=sum(
                next_7_days.start <= a.starts_at < next_7_days.end and a.status in ACTIVE_STATUSES
                for a in appointments
            ),
        )
