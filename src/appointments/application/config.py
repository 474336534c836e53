"""The clinic's settings that use-cases read (the container builds it from Settings)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from appointments.domain.holds import DEFAULT_HOLD_MINUTES, DEFAULT_OFFER_MINUTES


@dataclass(frozen=True, slots=True)
class ClinicConfig:
    timezone: str = "UTC"
    login_max_failures: int = 5
    login_window_seconds: int = 900
    availability_max_days: int = 31
    hold_minutes: float = DEFAULT_HOLD_MINUTES
    waitlist_offer_minutes: float = DEFAULT_OFFER_MINUTES

    @property
    def hold_lasts(self) -> timedelta:
        return timedelta(minutes=self.hold_minutes)

    @property
    def offer_lasts(self) -> timedelta:
        return timedelta(minutes=self.waitlist_offer_minutes)
