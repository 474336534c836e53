"""The booking policy: one row (id = 1) once an admin has stored one, the defaults before."""

from __future__ import annotations

from sqlalchemy import select

from appointments.adapters.sqlalchemy.repositories.base import SqlRepository, upsert
from appointments.adapters.sqlalchemy.tables import booking_policy
from appointments.domain.booking import BookingPolicy

POLICY_ROW = 1
_BY_ROW = select(booking_policy).where(booking_policy.c.id == POLICY_ROW)


class SqlPolicyRepository(SqlRepository):
    async def get(self) -> BookingPolicy:
        row = (await self._db.execute(_BY_ROW)).first()
        if row is None:
            return BookingPolicy()
        return BookingPolicy(
            min_notice_minutes=row.min_notice_minutes,
            booking_horizon_days=row.booking_horizon_days,
            cancellation_cutoff_hours=row.cancellation_cutoff_hours,
            max_active_per_patient=row.max_active_per_patient,
            reminder_offsets_minutes=tuple(row.reminder_offsets_minutes),
        )

    async def save(self, policy: BookingPolicy) -> None:
        """An upsert of the single row: two admins storing at once both succeed, the last
        one wins."""
        values = {
            "min_notice_minutes": policy.min_notice_minutes,
            "booking_horizon_days": policy.booking_horizon_days,
            "cancellation_cutoff_hours": policy.cancellation_cutoff_hours,
            "max_active_per_patient": policy.max_active_per_patient,
            "reminder_offsets_minutes": list(policy.reminder_offsets_minutes),
        }
        statement = (
            upsert(self._db, booking_policy)
            .values(id=POLICY_ROW, **values)
            .on_conflict_do_update(index_elements=[booking_policy.c.id], set_=values)
        )
        await self._db.execute(statement)
