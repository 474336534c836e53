"""Waitlist offer latency through the served app: from a cancellation's answer to the
waiting patient's entry showing the offer, with the dispatcher inline in the 2 workers
(its poll, DISPATCH_POLL_SECONDS, bounds how soon it looks)."""

from __future__ import annotations

import statistics
import time
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import seed

ROUNDS = 20
# Past every other bench booking (the series' region ends near day 337), inside the
# policy's 365-day horizon. Day 300 lay inside the series' weeks: when it fell on a
# Monday, the series' first lane there refused this scenario's booking.
DAYS_AHEAD = 345
WAIT_SECONDS = 30.0


def _ok(response: httpx.Response) -> dict[str, Any]:
    response.raise_for_status()
    return dict(response.json())


def offer_latency(
    base: str, token: str, data: seed.Clinic, zone: ZoneInfo, today: date
) -> dict[str, Any]:
    """ROUNDS cancellations, each of a different doctor's slot with one patient waiting;
    seconds until each offer shows, polled every 20 ms."""
    day = today + timedelta(days=DAYS_AHEAD)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    starts = datetime.combine(day, seed.DAY_START, tzinfo=zone)
    headers = {"Authorization": f"Bearer {token}"}
    latencies: list[float] = []
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        for n in range(ROUNDS):
            doctor = str(data.doctor_ids[n])
            booked = _ok(
                client.post(
                    "/api/appointments",
                    json={
                        "doctor_id": doctor,
                        "patient_id": str(data.patient_ids[2 * n]),
                        "starts_at": starts.isoformat(),
                    },
                )
            )
            entry = _ok(
                client.post(
                    "/api/waitlist",
                    json={
                        "doctor_id": doctor,
                        "patient_id": str(data.patient_ids[2 * n + 1]),
                        "date_from": str(day),
                        "date_to": str(day),
                    },
                )
            )
            _ok(client.post(f"/api/appointments/{booked['id']}/cancel", json={}))
            cancelled = time.monotonic()
            deadline = cancelled + WAIT_SECONDS
            while time.monotonic() < deadline:
                if _ok(client.get(f"/api/waitlist/{entry['id']}"))["status"] == "offered":
                    latencies.append(time.monotonic() - cancelled)
                    break
                time.sleep(0.02)
    latencies.sort()
    return {
        "rounds": ROUNDS,
        "offered": len(latencies),
        "p50_s": round(statistics.median(latencies), 3) if latencies else None,
        "max_s": round(latencies[-1], 3) if latencies else None,
    }
