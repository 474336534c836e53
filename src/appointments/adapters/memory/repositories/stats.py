"""The admin dashboard's figures."""

from __future__ import annotations

from appointments.adapters.memory.repositories.base import MemoryRepository
from appointments.application.ports.queries import DashboardStats, StatsPeriods
from appointments.domain.appointments import ACTIVE_STATUSES, CancelledBy, Status
from appointments.domain.users import Role


class MemoryStatsQueries(MemoryRepository):
    async def dashboard(self, periods: StatsPeriods) -> DashboardStats:
        today, next_7_days, since = periods.today, periods.next_7_days, periods.thirty_days_ago
        cutoff = periods.cancellation_cutoff
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
                today.starts_at <= a.starts_at < today.ends_at and a.status is not Status.CANCELLED
                for a in appointments
            ),
            appointments_next_7_days=sum(
                next_7_days.starts_at <= a.starts_at < next_7_days.ends_at
                and a.status in ACTIVE_STATUSES
                for a in appointments
            ),
            late_cancellations_30d=sum(
                a.cancelled_by is CancelledBy.PATIENT
                and a.cancelled_at is not None
                and a.cancelled_at >= since
                and a.starts_at - a.cancelled_at < cutoff
                for a in appointments
            ),
            no_shows_30d=sum(
                a.status is Status.NO_SHOW and a.starts_at >= since for a in appointments
            ),
        )
