"""Repositories: explicit translation between rows and domain objects (Core, no ORM)."""

from __future__ import annotations

import functools
from dataclasses import fields
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    Table,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from appointments.adapters.sqlalchemy.tables import (
    appointments,
    departments,
    doctors,
    login_failures,
    patients,
    revoked_tokens,
    time_off,
    users,
    weekly_intervals,
)
from appointments.adapters.sqlalchemy.unit_of_work import Database
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
    MAX_DURATION,
    Appointment,
    Status,
)
from appointments.domain.clinic import Department, Doctor, Patient
from appointments.domain.errors import DepartmentNotEmpty, EmailTaken, UsernameTaken
from appointments.domain.schedule import Span, TimeOff, WeeklyInterval, WeeklySchedule
from appointments.domain.users import Role, User

E = TypeVar("E")
ACTIVE = [s.value for s in ACTIVE_STATUSES]


def _values(entity: Any) -> dict[str, Any]:
    """An entity as column values: field names are column names (enums bind as strings)."""
    return {f.name: getattr(entity, f.name) for f in fields(entity)}


def _entity(cls: type[E], row: Row[Any], **converted: Any) -> E:
    """A row as an entity of `cls`, taking the columns named like its fields."""
    mapping = row._mapping
    return cls(
        **{f.name: mapping[f.name] for f in fields(cls) if f.name not in converted}, **converted
    )


class _Repository:
    __slots__ = ("_db",)

    def __init__(self, db: Database) -> None:
        self._db = db

    async def _page(
        self, query: Select[Any], order: list[Any], page: PageRequest
    ) -> tuple[list[Row[Any]], int]:
        """One query for the page, one for the total."""
        total = await self._db.execute(select(func.count()).select_from(query.subquery()))
        rows = await self._db.execute(query.order_by(*order).limit(page.limit).offset(page.offset))
        return list(rows), int(total.scalar_one())


@functools.cache
def _by_id(table: Table) -> Select[Any]:
    """Built once per table: statement construction is a fair share of a small request."""
    return select(table).where(table.c.id == bindparam("id"))


class _EntityRepository(_Repository, Generic[E]):
    """add / get / save for an entity stored as one row of `table` (keyed by `id`)."""

    table: ClassVar[Table]

    @staticmethod
    def _from_row(row: Row[Any]) -> E:
        raise NotImplementedError

    async def add(self, entity: E) -> None:
        await self._db.execute(insert(self.table).values(_values(entity)))

    # Row lock taken by get(lock=True): "share" for rows a transaction relies on,
    # "update" for rows it will change.
    lock_mode: ClassVar[str] = "share"

    async def get(self, entity_id: UUID, *, lock: bool = False) -> E | None:
        query = _by_id(self.table)
        if lock:
            query = query.with_for_update(read=self.lock_mode == "share")
        row = (await self._db.execute(query, {"id": entity_id})).first()
        return self._from_row(row) if row else None

    async def save(self, entity: E) -> None:
        entity_id = getattr(entity, "id")  # noqa: B009 - E is any entity with an id
        await self._db.execute(
            update(self.table).where(self.table.c.id == entity_id).values(_values(entity))
        )


# --- users ---------------------------------------------------------------------------


def _user(row: Row[Any]) -> User:
    return _entity(User, row, role=Role(row.role))


class SqlUserRepository(_EntityRepository[User]):
    table = users
    _from_row = staticmethod(_user)

    async def find_by_login(self, login: str) -> User | None:
        key = login.strip().lower()
        query = select(users).where(
            or_(func.lower(users.c.username) == key, func.lower(users.c.email) == key)
        )
        row = (await self._db.execute(query)).first()
        return _user(row) if row else None

    async def email_or_username_taken(self, email: str, username: str) -> None:
        query = select(
            exists().where(func.lower(users.c.email) == email.lower()).label("email"),
            exists().where(func.lower(users.c.username) == username.lower()).label("username"),
        )
        row = (await self._db.execute(query)).one()
        if row.email:
            raise EmailTaken()
        if row.username:
            raise UsernameTaken()

    async def search(self, filters: UserFilter, page: PageRequest) -> Page[User]:
        query = select(users)
        if filters.role is not None:
            query = query.where(users.c.role == filters.role.value)
        if filters.is_active is not None:
            query = query.where(users.c.is_active == filters.is_active)
        if filters.q:
            query = query.where(
                or_(
                    users.c.username.icontains(filters.q, autoescape=True),
                    users.c.email.icontains(filters.q, autoescape=True),
                    users.c.full_name.icontains(filters.q, autoescape=True),
                )
            )
        rows, total = await self._page(query, [users.c.created_at, users.c.id], page)
        return Page([_user(r) for r in rows], total, page.limit, page.offset)

    async def active_admin_ids(self, *, lock: bool = False) -> list[UUID]:
        query = (
            select(users.c.id)
            .where(users.c.role == Role.ADMIN.value, users.c.is_active.is_(True))
            .order_by(users.c.id)  # one lock order for everyone: no deadlocks
        )
        if lock:
            query = query.with_for_update()
        return list((await self._db.execute(query)).scalars())

    async def load_principal(self, user_id: UUID, jti: str) -> Principal | None:
        query = _PRINCIPAL
        row = (await self._db.execute(query, {"user_id": user_id, "jti": jti})).first()
        if row is None:
            return None
        return Principal(_user(row), row.patient_id, row.doctor_id, bool(row.token_revoked))


# Every authenticated request runs this: built once, with bound parameters.
_PRINCIPAL = (
    select(
        users,
        patients.c.id.label("patient_id"),
        doctors.c.id.label("doctor_id"),
        exists().where(revoked_tokens.c.jti == bindparam("jti")).label("token_revoked"),
    )
    .outerjoin(patients, patients.c.user_id == users.c.id)
    .outerjoin(doctors, doctors.c.user_id == users.c.id)
    .where(users.c.id == bindparam("user_id"))
)


# --- patients ------------------------------------------------------------------------


def _patient(row: Row[Any]) -> Patient:
    return _entity(Patient, row)


def _has_appointment_with(doctor_id: UUID) -> ColumnElement[bool]:
    return exists().where(
        appointments.c.patient_id == patients.c.id, appointments.c.doctor_id == doctor_id
    )


class SqlPatientRepository(_EntityRepository[Patient]):
    table = patients
    _from_row = staticmethod(_patient)

    async def get_by_user(self, user_id: UUID) -> Patient | None:
        query = select(patients).where(patients.c.user_id == user_id)
        row = (await self._db.execute(query)).first()
        return _patient(row) if row else None

    async def search(self, filters: PatientFilter, page: PageRequest) -> Page[Patient]:
        query = select(patients)
        if filters.only_id is not None:
            query = query.where(patients.c.id == filters.only_id)
        if filters.with_doctor_id is not None:
            query = query.where(_has_appointment_with(filters.with_doctor_id))
        if filters.q:
            query = query.where(
                or_(
                    patients.c.full_name.icontains(filters.q, autoescape=True),
                    patients.c.email.icontains(filters.q, autoescape=True),
                    patients.c.phone.icontains(filters.q, autoescape=True),
                )
            )
        rows, total = await self._page(query, [patients.c.full_name, patients.c.id], page)
        return Page([_patient(r) for r in rows], total, page.limit, page.offset)

    async def has_appointment_with(self, patient_id: UUID, doctor_id: UUID) -> bool:
        query = select(_has_appointment_with(doctor_id)).where(patients.c.id == patient_id)
        return bool((await self._db.execute(query)).scalar())


# --- departments ---------------------------------------------------------------------


def _department(row: Row[Any]) -> Department:
    return _entity(Department, row)


class SqlDepartmentRepository(_EntityRepository[Department]):
    table = departments
    _from_row = staticmethod(_department)

    async def delete(self, department_id: UUID) -> None:
        try:
            await self._db.execute(delete(departments).where(departments.c.id == department_id))
        except IntegrityError as error:
            # Still referenced (doctors, or appointment history). SQLite's foreign key
            # errors name no constraint, so the UoW cannot map them by name.
            raise DepartmentNotEmpty() from error

    async def search(self, page: PageRequest) -> Page[Department]:
        order = [func.lower(departments.c.name), departments.c.id]
        rows, total = await self._page(select(departments), order, page)
        return Page([_department(r) for r in rows], total, page.limit, page.offset)

    async def name_taken(self, name: str, *, except_id: UUID | None = None) -> bool:
        condition = func.lower(departments.c.name) == name.lower()
        if except_id is not None:
            condition = and_(condition, departments.c.id != except_id)
        return bool((await self._db.execute(select(exists().where(condition)))).scalar())

    async def has_doctors(self, department_id: UUID) -> bool:
        query = select(exists().where(doctors.c.department_id == department_id))
        return bool((await self._db.execute(query)).scalar())


# --- doctors -------------------------------------------------------------------------

_DOCTOR_COLUMNS = select(doctors, users.c.full_name, users.c.email).join_from(
    doctors, users, doctors.c.user_id == users.c.id
)


def _doctor(row: Row[Any]) -> Doctor:
    return _entity(Doctor, row)


def _time_off(row: Row[Any]) -> TimeOff:
    return _entity(TimeOff, row)


class SqlDoctorRepository(_Repository):
    async def add(self, doctor: Doctor, schedule: WeeklySchedule) -> None:
        await self._db.execute(
            insert(doctors).values(
                id=doctor.id,
                user_id=doctor.user_id,
                department_id=doctor.department_id,
                specialization=doctor.specialization,
                phone=doctor.phone,
                is_active=doctor.is_active,
            )
        )
        await self.set_schedule(doctor.id, schedule)

    async def get(self, doctor_id: UUID, *, lock: bool = False) -> Doctor | None:
        query = _DOCTOR_COLUMNS.where(doctors.c.id == doctor_id)
        if lock:
            query = query.with_for_update(read=True, of=doctors)
        row = (await self._db.execute(query)).first()
        return _doctor(row) if row else None

    async def get_by_user(self, user_id: UUID) -> Doctor | None:
        row = (await self._db.execute(_DOCTOR_COLUMNS.where(doctors.c.user_id == user_id))).first()
        return _doctor(row) if row else None

    async def save(self, doctor: Doctor) -> None:
        await self._db.execute(
            update(doctors)
            .where(doctors.c.id == doctor.id)
            .values(
                department_id=doctor.department_id,
                specialization=doctor.specialization,
                phone=doctor.phone,
                is_active=doctor.is_active,
            )
        )

    async def search(self, filters: DoctorFilter, page: PageRequest) -> Page[Doctor]:
        query = _DOCTOR_COLUMNS
        if filters.department_id is not None:
            query = query.where(doctors.c.department_id == filters.department_id)
        if filters.is_active is not None:
            query = query.where(doctors.c.is_active == filters.is_active)
        if filters.q:
            query = query.where(
                or_(
                    users.c.full_name.icontains(filters.q, autoescape=True),
                    doctors.c.specialization.icontains(filters.q, autoescape=True),
                    users.c.email.icontains(filters.q, autoescape=True),
                )
            )
        rows, total = await self._page(query, [users.c.full_name, doctors.c.id], page)
        return Page([_doctor(r) for r in rows], total, page.limit, page.offset)

    async def get_schedule(self, doctor_id: UUID) -> WeeklySchedule:
        query = select(weekly_intervals).where(weekly_intervals.c.doctor_id == doctor_id)
        rows = await self._db.execute(query)
        return WeeklySchedule.of(WeeklyInterval(r.weekday, r.starts, r.ends) for r in rows)

    async def set_schedule(self, doctor_id: UUID, schedule: WeeklySchedule) -> None:
        await self._db.execute(
            delete(weekly_intervals).where(weekly_intervals.c.doctor_id == doctor_id)
        )
        if schedule.intervals:
            await self._db.execute(
                insert(weekly_intervals),
                [
                    {"doctor_id": doctor_id, "weekday": i.weekday, "starts": i.start, "ends": i.end}
                    for i in schedule.intervals
                ],
            )

    async def add_time_off(self, item: TimeOff) -> None:
        await self._db.execute(insert(time_off).values(_values(item)))

    async def get_time_off(self, time_off_id: UUID) -> TimeOff | None:
        row = (await self._db.execute(select(time_off).where(time_off.c.id == time_off_id))).first()
        return _time_off(row) if row else None

    async def delete_time_off(self, time_off_id: UUID) -> None:
        await self._db.execute(delete(time_off).where(time_off.c.id == time_off_id))

    async def list_time_off(self, doctor_id: UUID, within: Span | None = None) -> list[TimeOff]:
        query = select(time_off).where(time_off.c.doctor_id == doctor_id)
        if within is not None:
            query = query.where(
                time_off.c.starts_at < within.end, time_off.c.ends_at > within.start
            )
        rows = await self._db.execute(query.order_by(time_off.c.starts_at, time_off.c.id))
        return [_time_off(r) for r in rows]


# --- appointments --------------------------------------------------------------------


def _appointment(row: Row[Any]) -> Appointment:
    return _entity(Appointment, row, status=Status(row.status))


class SqlAppointmentRepository(_EntityRepository[Appointment]):
    table = appointments
    _from_row = staticmethod(_appointment)
    lock_mode = "update"

    async def search(self, filters: AppointmentFilter, page: PageRequest) -> Page[Appointment]:
        query = select(appointments)
        if filters.doctor_id is not None:
            query = query.where(appointments.c.doctor_id == filters.doctor_id)
        if filters.patient_id is not None:
            query = query.where(appointments.c.patient_id == filters.patient_id)
        if filters.status is not None:
            query = query.where(appointments.c.status == filters.status.value)
        if filters.starts_from is not None:
            query = query.where(appointments.c.starts_at >= filters.starts_from)
        if filters.starts_before is not None:
            query = query.where(appointments.c.starts_at < filters.starts_before)
        order = [appointments.c.starts_at, appointments.c.id]
        rows, total = await self._page(query, order, page)
        return Page([_appointment(r) for r in rows], total, page.limit, page.offset)

    async def busy_spans(
        self,
        *,
        within: Span,
        doctor_id: UUID | None = None,
        patient_id: UUID | None = None,
        exclude_id: UUID | None = None,
    ) -> list[Span]:
        query = select(appointments.c.starts_at, appointments.c.ends_at).where(
            appointments.c.status.in_(ACTIVE),
            appointments.c.starts_at < within.end,
            appointments.c.ends_at > within.start,
            # Redundant but index-friendly: nothing lasts longer than MAX_DURATION, so the
            # (doctor_id, starts_at) index scan gets a lower bound too.
            appointments.c.starts_at > within.start - MAX_DURATION,
        )
        if doctor_id is not None:
            query = query.where(appointments.c.doctor_id == doctor_id)
        if patient_id is not None:
            query = query.where(appointments.c.patient_id == patient_id)
        if exclude_id is not None:
            query = query.where(appointments.c.id != exclude_id)
        rows = await self._db.execute(query.order_by(appointments.c.starts_at))
        return [Span(r.starts_at, r.ends_at) for r in rows]

    async def future_active(
        self, *, now: datetime, doctor_id: UUID | None = None, patient_id: UUID | None = None
    ) -> list[Appointment]:
        query = select(appointments).where(
            appointments.c.status.in_([s.value for s in CHANGEABLE_STATUSES]),
            appointments.c.starts_at > now,
        )
        if doctor_id is not None:
            query = query.where(appointments.c.doctor_id == doctor_id)
        if patient_id is not None:
            query = query.where(appointments.c.patient_id == patient_id)
        rows = await self._db.execute(query.order_by(appointments.c.starts_at))
        return [_appointment(r) for r in rows]


# --- shared security state -----------------------------------------------------------


class SqlRevokedTokenRepository(_Repository):
    async def add(self, jti: str, expires_at: datetime) -> None:
        """Idempotent, also when the same token is logged out twice at once."""
        dialect = self._db.connection.dialect.name  # type: ignore[union-attr]
        statement = (pg_insert if dialect == "postgresql" else sqlite_insert)(revoked_tokens)
        await self._db.execute(
            statement.values(jti=jti, expires_at=expires_at).on_conflict_do_nothing()
        )

    async def purge_expired(self, now: datetime) -> None:
        await self._db.execute(delete(revoked_tokens).where(revoked_tokens.c.expires_at < now))


class SqlLoginFailureRepository(_Repository):
    async def get(self, key: str) -> LoginFailures | None:
        query = select(login_failures).where(login_failures.c.key == key)
        row = (await self._db.execute(query)).first()
        return LoginFailures(row.count, row.first_failed_at) if row else None

    async def record(
        self, key: str, now: datetime, window_started_after: datetime
    ) -> LoginFailures:
        """An atomic upsert: concurrent attempts on several workers all count."""
        # Expired windows are dropped first: failures for random usernames cannot pile up.
        await self._db.execute(
            delete(login_failures).where(login_failures.c.first_failed_at <= window_started_after)
        )
        dialect = self._db.connection.dialect.name
        upsert = (pg_insert if dialect == "postgresql" else sqlite_insert)(login_failures)
        statement = (
            upsert.values(key=key, count=1, first_failed_at=now)
            .on_conflict_do_update(
                index_elements=[login_failures.c.key],
                set_={"count": login_failures.c.count + 1},
            )
            .returning(login_failures.c.count, login_failures.c.first_failed_at)
        )
        row = (await self._db.execute(statement)).one()
        return LoginFailures(row.count, row.first_failed_at)

    async def clear(self, key: str) -> None:
        await self._db.execute(delete(login_failures).where(login_failures.c.key == key))


# --- dashboard -----------------------------------------------------------------------


class SqlStatsQueries(_Repository):
    async def dashboard(self, today: Span, next_7_days: Span) -> DashboardStats:
        by_role = {
            Role(r.role): r.n
            for r in await self._db.execute(
                select(users.c.role, func.count().label("n")).group_by(users.c.role)
            )
        }
        by_status = {
            Status(r.status): r.n
            for r in await self._db.execute(
                select(appointments.c.status, func.count().label("n")).group_by(
                    appointments.c.status
                )
            )
        }
        starts = appointments.c.starts_at

        def count(table: Any, *where: Any) -> Any:
            return select(func.count()).select_from(table).where(*where).scalar_subquery()

        totals = (
            await self._db.execute(
                select(
                    count(users, users.c.is_active.is_(True)).label("users_active"),
                    count(departments).label("departments"),
                    count(doctors).label("doctors"),
                    count(patients).label("patients"),
                    count(
                        appointments,
                        starts >= today.start,
                        starts < today.end,
                        appointments.c.status != Status.CANCELLED.value,
                    ).label("today"),
                    count(
                        appointments,
                        starts >= next_7_days.start,
                        starts < next_7_days.end,
                        appointments.c.status.in_(ACTIVE),
                    ).label("upcoming"),
                )
            )
        ).one()
        return DashboardStats(
            users_total=sum(by_role.values()),
            users_active=totals.users_active,
            users_by_role={role: by_role.get(role, 0) for role in Role},
            departments=totals.departments,
            doctors=totals.doctors,
            patients=totals.patients,
            appointments_total=sum(by_status.values()),
            appointments_by_status={s: by_status.get(s, 0) for s in Status},
            appointments_today=totals.today,
            appointments_next_7_days=totals.upcoming,
        )
