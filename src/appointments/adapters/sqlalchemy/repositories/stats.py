"""The admin dashboard's figures, counted by the database."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, Interval, ScalarSelect, Table, false, func, literal, select

from appointments.adapters.sqlalchemy.repositories.appointments import ACTIVE
from appointments.adapters.sqlalchemy.repositories.base import SqlRepository
from appointments.adapters.sqlalchemy.tables import (
    appointments,
    departments,
    doctors,
    patients,
    users,
)
from appointments.application.ports.queries import DashboardStats, StatsPeriods
from appointments.domain.appointments import CancelledBy, Status
from appointments.domain.users import Role


def _count(table: Table, *where: Any) -> ScalarSelect[int]:
    return select(func.count()).select_from(table).where(*where).scalar_subquery()


class SqlStatsQueries(SqlRepository):
    async def dashboard(self, periods: StatsPeriods) -> DashboardStats:
        today, next_7_days, since = periods.today, periods.next_7_days, periods.thirty_days_ago
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
        totals = (
            await self._db.execute(
                select(
                    _count(users, users.c.is_active.is_(True)).label("users_active"),
                    _count(departments).label("departments"),
                    _count(doctors).label("doctors"),
                    _count(patients).label("patients"),
                    _count(
                        appointments,
                        starts >= today.starts_at,
                        starts < today.ends_at,
                        appointments.c.status != Status.CANCELLED.value,
                    ).label("today"),
                    _count(
                        appointments,
                        starts >= next_7_days.starts_at,
                        starts < next_7_days.ends_at,
                        appointments.c.status.in_(ACTIVE),
                    ).label("upcoming"),
                    _count(
                        appointments,
                        appointments.c.cancelled_by == CancelledBy.PATIENT.value,
                        appointments.c.cancelled_at >= since,
                        self._late(periods.cancellation_cutoff),
                    ).label("late_cancellations"),
                    _count(
                        appointments,
                        appointments.c.status == Status.NO_SHOW.value,
                        starts >= since,
                    ).label("no_shows"),
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
            late_cancellations_30d=totals.late_cancellations,
            no_shows_30d=totals.no_shows,
        )

    def _late(self, cutoff: timedelta) -> ColumnElement[bool]:
        """Cancelled less than `cutoff` before the start. Date arithmetic is not portable:
        an interval on PostgreSQL, Julian days on SQLite (which stores UTC text)."""
        if not cutoff:
            return false()
        starts, cancelled = appointments.c.starts_at, appointments.c.cancelled_at
        if self._db.dialect_name == "postgresql":
            return cancelled > starts - literal(cutoff, Interval())
        days = cutoff / timedelta(days=1)
        return func.julianday(starts) - func.julianday(cancelled) < days
