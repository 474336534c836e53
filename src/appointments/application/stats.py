"""The admin dashboard: counts computed by the database, not by loading rows."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from appointments.application.access import ADMIN_ONLY, Actor, Restricted
from appointments.application.config import ClinicConfig
from appointments.application.ports.queries import DashboardStats, StatsPeriods
from appointments.application.ports.services import Clock
from appointments.application.ports.unit_of_work import UnitOfWork
from appointments.domain.schedule import Span, local_days


class GetDashboardStats(Restricted, roles=ADMIN_ONLY):
    """`today` is the clinic's local date; `upcoming_7_days` counts active appointments
    starting from now to seven days ahead; the 30-day figures count back from now."""

    def __init__(self, uow: UnitOfWork, clock: Clock, config: ClinicConfig) -> None:
        self._uow, self._clock, self._zone = uow, clock, ZoneInfo(config.timezone)

    async def __call__(self, actor: Actor) -> DashboardStats:
        now = self._clock.now()
        today = now.astimezone(self._zone).date()
        today_span = local_days(today, today, self._zone)
        async with self._uow as uow:
            policy = await uow.policy.get()
            periods = StatsPeriods(
                today=today_span,
                next_7_days=Span(now, now + timedelta(days=7)),
                thirty_days_ago=now - timedelta(days=30),
                cancellation_cutoff=policy.cancellation_cutoff,
            )
            return await uow.stats.dashboard(periods)
