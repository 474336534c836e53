"""The booking policy: the single stored one (key 1, as the SQL row), or the defaults."""

from __future__ import annotations

from appointments.adapters.memory.repositories.base import MemoryRepository
from appointments.domain.booking import BookingPolicy

POLICY_ROW = 1


class MemoryPolicyRepository(MemoryRepository):
    async def get(self) -> BookingPolicy:
        return self._s.booking_policy.get(POLICY_ROW, BookingPolicy())

    async def save(self, policy: BookingPolicy) -> None:
        self._s.booking_policy[POLICY_ROW] = policy
