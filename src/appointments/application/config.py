"""The clinic's settings that use-cases read (the container builds it from Settings)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ClinicConfig:
    timezone: str = "UTC"
    login_max_failures: int = 5
    login_window_seconds: int = 900
    availability_max_days: int = 31
