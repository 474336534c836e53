"""Services (appointment types): a duration and the buffers a doctor needs around it.
A service is offered by every doctor of its department."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from uuid import UUID, uuid4

from appointments.domain.booking import MAX_DURATION_MINUTES, MIN_DURATION_MINUTES
from appointments.domain.errors import InvalidValue, ServiceNotOffered
from appointments.domain.text import Length

SERVICE_NAME = Length(1, 100)
SERVICE_DESCRIPTION = Length(0, 5000)
MIN_BUFFER_MINUTES = 0
MAX_BUFFER_MINUTES = 120


def check_service_name(name: str) -> str:
    return SERVICE_NAME.trimmed(name, "A service name")


@dataclass(slots=True)
class Service:
    name: str
    department_id: UUID
    duration_minutes: int
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 0
    description: str | None = None
    is_active: bool = True
    id: UUID = field(default_factory=uuid4)

    def __post_init__(self) -> None:
        self.name = check_service_name(self.name)
        self.check()

    def check(self) -> None:
        """The duration and buffer bounds (called again after a change)."""
        if not MIN_DURATION_MINUTES <= self.duration_minutes <= MAX_DURATION_MINUTES:
            raise InvalidValue(
                f"A service lasts {MIN_DURATION_MINUTES} to {MAX_DURATION_MINUTES} minutes."
            )
        for buffer in (self.buffer_before_minutes, self.buffer_after_minutes):
            if not MIN_BUFFER_MINUTES <= buffer <= MAX_BUFFER_MINUTES:
                raise InvalidValue(
                    f"A buffer is {MIN_BUFFER_MINUTES} to {MAX_BUFFER_MINUTES} minutes."
                )

    @property
    def duration(self) -> timedelta:
        return timedelta(minutes=self.duration_minutes)

    @property
    def buffer_before(self) -> timedelta:
        return timedelta(minutes=self.buffer_before_minutes)

    @property
    def buffer_after(self) -> timedelta:
        return timedelta(minutes=self.buffer_after_minutes)

    def deactivate(self) -> None:
        self.is_active = False

    def check_offered_in(self, department_id: UUID) -> None:
        """Bookable with a doctor of `department_id` only while active and of it."""
        if not self.is_active or self.department_id != department_id:
            raise ServiceNotOffered()
