"""The clinic's booking policy: every role reads it, admins replace it as a whole.

It lives in the database, so every worker applies the same one; until an admin stores
one, the defaults of BookingPolicy apply."""

from __future__ import annotations

from collections.abc import Sequence

from appointments.application.access import ADMIN_ONLY, Actor, Restricted
from appointments.application.events import replaced
from appointments.application.ports.unit_of_work import UnitOfWork
from appointments.domain.booking import BookingPolicy


class GetPolicy:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def __call__(self, actor: Actor) -> BookingPolicy:
        async with self._uow as uow:
            return await uow.policy.get()


class PutPolicy(Restricted, roles=ADMIN_ONLY):
    """The full policy (PUT): a field left out is an error at the edge, never a default."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def __call__(
        self,
        actor: Actor,
        *,
        min_notice_minutes: int,
        booking_horizon_days: int,
        cancellation_cutoff_hours: int,
        max_active_per_patient: int,
        reminder_offsets_minutes: Sequence[int],
    ) -> BookingPolicy:
        policy = BookingPolicy(
            min_notice_minutes=min_notice_minutes,
            booking_horizon_days=booking_horizon_days,
            cancellation_cutoff_hours=cancellation_cutoff_hours,
            max_active_per_patient=max_active_per_patient,
            reminder_offsets_minutes=tuple(reminder_offsets_minutes),
        )
        async with self._uow as uow:
            before = await uow.policy.get()
            await uow.policy.save(policy)
            uow.record(replaced("policy.updated", actor, before, policy))
            await uow.commit()
        return policy
