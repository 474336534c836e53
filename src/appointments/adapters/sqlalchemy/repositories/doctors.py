"""Doctors (named by their user), their weekly schedules and their time off."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import Row, and_, bindparam, delete, insert, or_, select, update

from appointments.adapters.sqlalchemy.repositories.base import (
    SqlRepository,
    entity_from,
    field_names,
    values_of,
)
from appointments.adapters.sqlalchemy.tables import (
    doctors,
    patients,
    time_off,
    users,
    weekly_intervals,
)
from appointments.application.ports.queries import DoctorFilter, Page, PageRequest
from appointments.application.ports.repositories import PlacementParties
from appointments.domain.doctors import Doctor
from appointments.domain.patients import Patient
from appointments.domain.schedule import Span, TimeOff, WeeklyInterval, WeeklySchedule

# Name and email are the user's: read from it, so the two cannot drift apart.
_DOCTOR_COLUMNS = select(doctors, users.c.full_name, users.c.email).join_from(
    doctors, users, doctors.c.user_id == users.c.id
)


# What a booking reads of its doctor, built once.
_BY_ID = _DOCTOR_COLUMNS.where(doctors.c.id == bindparam("id"))
_BY_ID_LOCKED = _BY_ID.with_for_update(key_share=True, of=doctors)  # see base.lock_mode
# The doctor, the weekly schedule and the time off overlapping since..until in one
# statement: a row per (interval, time off) pair, nulls where there is none, the doctor's
# columns repeated (a doctor has a handful of intervals, a booking's span a time off or two).
_CALENDAR = (
    _BY_ID.add_columns(
        weekly_intervals.c.weekday,
        weekly_intervals.c.starts,
        weekly_intervals.c.ends,
        time_off.c.id.label("time_off_id"),
        time_off.c.starts_at.label("time_off_starts_at"),
        time_off.c.ends_at.label("time_off_ends_at"),
        time_off.c.reason.label("time_off_reason"),
    )
    .outerjoin(weekly_intervals, weekly_intervals.c.doctor_id == doctors.c.id)
    .outerjoin(
        time_off,
        and_(
            time_off.c.doctor_id == doctors.c.id,
            time_off.c.starts_at < bindparam("until"),
            time_off.c.ends_at > bindparam("since"),
        ),
    )
)
# A placement's parties: the patient's columns beside the calendar's, both rows locked
# (FOR NO KEY UPDATE, see base.lock_mode) in the order the OF list names them: PostgreSQL's
# executor locks a result row's tables in that order (nodeLockRows.c; not documented, so
# test_a_placement_locks_its_patient_before_its_doctor guards it), so the patient's lock
# comes first, as where `patients.get(lock=True)` runs on its own.
_PATIENT_FIELDS = field_names(Patient)
_FOR_PLACEMENT = (
    _CALENDAR.add_columns(
        doctors.c.holds_until,
        *(patients.c[name].label(f"patient_{name}") for name in _PATIENT_FIELDS),
    )
    .join(patients, patients.c.id == bindparam("patient_id"))
    .with_for_update(key_share=True, of=[patients, doctors])
)
_SCHEDULE = select(weekly_intervals).where(weekly_intervals.c.doctor_id == bindparam("id"))
_TIME_OFF = (
    select(time_off)
    .where(time_off.c.doctor_id == bindparam("id"))
    .order_by(time_off.c.starts_at, time_off.c.id)
)
_TIME_OFF_WITHIN = _TIME_OFF.where(
    time_off.c.starts_at < bindparam("until"), time_off.c.ends_at > bindparam("since")
)


def _doctor(row: Row[Any]) -> Doctor:
    return entity_from(Doctor, row)


def _time_off(row: Row[Any]) -> TimeOff:
    return entity_from(TimeOff, row)


def _calendar(
    doctor_id: UUID, rows: list[Row[Any]]
) -> tuple[Doctor, WeeklySchedule, list[TimeOff]]:
    """The doctor, the schedule and the time off from the rows of `_CALENDAR`."""
    # Each interval comes once per time off, each time off once per interval.
    intervals = dict.fromkeys((r.weekday, r.starts, r.ends) for r in rows if r.weekday is not None)
    absences = {
        r.time_off_id: TimeOff(
            doctor_id=doctor_id,
            starts_at=r.time_off_starts_at,
            ends_at=r.time_off_ends_at,
            reason=r.time_off_reason,
            id=r.time_off_id,
        )
        for r in rows
        if r.time_off_id is not None
    }
    schedule = WeeklySchedule.of(WeeklyInterval(*interval) for interval in intervals)
    by_start = sorted(absences.values(), key=lambda t: (t.starts_at, t.id))
    return _doctor(rows[0]), schedule, by_start


class SqlDoctorRepository(SqlRepository):
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
        query = _BY_ID_LOCKED if lock else _BY_ID
        row = (await self._db.execute(query, {"id": doctor_id})).first()
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
        rows = await self._db.execute(_SCHEDULE, {"id": doctor_id})
        return WeeklySchedule.of(WeeklyInterval(r.weekday, r.starts, r.ends) for r in rows)

    async def lock_for_placement(
        self, patient_id: UUID, doctor_id: UUID, within: Span
    ) -> PlacementParties | None:
        values = {
            "id": doctor_id,
            "patient_id": patient_id,
            "since": within.starts_at,
            "until": within.ends_at,
        }
        rows = list(await self._db.execute(_FOR_PLACEMENT, values))
        if not rows:
            return None
        first = rows[0]._mapping
        patient = Patient(**{name: first[f"patient_{name}"] for name in _PATIENT_FIELDS})
        doctor, schedule, absences = _calendar(doctor_id, rows)
        return PlacementParties(patient, doctor, schedule, absences, first["holds_until"])

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
        await self._db.execute(insert(time_off).values(values_of(item)))

    async def get_time_off(self, time_off_id: UUID) -> TimeOff | None:
        query = select(time_off).where(time_off.c.id == time_off_id)
        row = (await self._db.execute(query)).first()
        return _time_off(row) if row else None

    async def delete_time_off(self, time_off_id: UUID) -> None:
        await self._db.execute(delete(time_off).where(time_off.c.id == time_off_id))

    async def list_time_off(self, doctor_id: UUID, within: Span | None = None) -> list[TimeOff]:
        if within is None:
            rows = await self._db.execute(_TIME_OFF, {"id": doctor_id})
        else:
            rows = await self._db.execute(
                _TIME_OFF_WITHIN,
                {"id": doctor_id, "since": within.starts_at, "until": within.ends_at},
            )
        return [_time_off(r) for r in rows]
