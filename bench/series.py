"""The series booking scenario: POST /api/appointments/series with 12 weekly occurrences,
every request a distinct free lane (so anything but 201 is counted by wrk).

Series i: doctor i % D, patient i % P, the (i // D)-th lane of that doctor's first week
from SERIES_DAYS_AHEAD on (a working day and a 30-minute slot), repeated weekly 12 times.
5 days x SLOTS_PER_DAY slots make 80 lanes per doctor, 16,000 series with 200 doctors;
the region (days 250 to about 335) lies past every other booking scenario's."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import seed

SERIES_DAYS_AHEAD = 250
OCCURRENCES = 12
WORKING_DAYS = 5

Line = tuple[str, str, str, str, str]


def lanes_per_doctor() -> int:
    return WORKING_DAYS * seed.SLOTS_PER_DAY


def series_lines(
    token: str, data: seed.Clinic, zone: ZoneInfo, today: date, first: int, count: int
) -> Iterator[Line]:
    doctors, patients = len(data.doctor_ids), len(data.patient_ids)
    if (first + count) > doctors * lanes_per_doctor():
        raise ValueError(f"only {doctors * lanes_per_doctor()} distinct series lanes")
    monday = today + timedelta(days=SERIES_DAYS_AHEAD)
    monday += timedelta(days=(7 - monday.weekday()) % 7)
    for i in range(first, first + count):
        day, slot = divmod(i // doctors, seed.SLOTS_PER_DAY)
        local = datetime.combine(monday + timedelta(days=day), seed.DAY_START, tzinfo=zone)
        body = {
            "doctor_id": str(data.doctor_ids[i % doctors]),
            "patient_id": str(data.patient_ids[i % patients]),
            "starts_at": (local + slot * seed.SLOT).isoformat(),
            "duration_minutes": 30,
            "reason": "bench series",
            "recurrence": {"frequency": "weekly", "count": OCCURRENCES},
        }
        yield ("POST", "/api/appointments/series", token, "application/json", json.dumps(body))
