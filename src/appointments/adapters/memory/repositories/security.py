"""The shared security state: revoked tokens and the login throttle's failure counts."""

from __future__ import annotations

from datetime import datetime

from appointments.adapters.memory.repositories.base import MemoryRepository, utc
from appointments.application.ports.queries import LoginFailures


class MemoryRevokedTokenRepository(MemoryRepository):
    async def add(self, jti: str, expires_at: datetime) -> None:
        """Idempotent: the first revocation stays, as with ON CONFLICT DO NOTHING."""
        self._s.revoked_tokens.setdefault(jti, utc(expires_at))

    async def purge_expired(self, now: datetime) -> None:
        for jti in [j for j, expires_at in self._s.revoked_tokens.items() if expires_at < now]:
            del self._s.revoked_tokens[jti]


class MemoryLoginFailureRepository(MemoryRepository):
    async def record(
        self, key: str, now: datetime, window_started_after: datetime
    ) -> LoginFailures:
        failures = self._s.login_failures
        # Expired windows are dropped first, every key's, as in SQL.
        for stale in [k for k, (_, first) in failures.items() if first <= window_started_after]:
            del failures[stale]
        count, first = failures.get(key, (0, utc(now)))
        failures[key] = (count + 1, first)
        return LoginFailures(count + 1, first)

    async def clear(self, key: str) -> None:
        self._s.login_failures.pop(key, None)
