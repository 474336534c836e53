"""Seed the benchmark database with a realistic clinic, in bulk (COPY through asyncpg).

    python bench/seed.py clinic                    # users, departments, doctors, patients
    python bench/seed.py appointments --target N   # N appointments (default: the full window)

Connection: BENCH_DSN (an asyncpg DSN; default the appointments_bench database on
127.0.0.1). Refuses any database whose name does not end in "_bench".

Every seeded user has the same password (PASSWORD below). Its argon2id hash is computed ONCE
with the application's own hasher (container.hasher(), so the configured cost) and reused
for all 20,201 users: hashing each one separately would take minutes and measure nothing.

Appointments are generated per (local date, doctor) from RNGs seeded by the date, so a
smaller --target is an exact subset of the full set. Units are taken in this order: the
probe doctors' probe weeks (the week before today, which the list benchmark reads, and the
week after, which the availability benchmark reads), then every other day by distance from
today. The probe weeks therefore hold identical rows in the 10,000 and the 500,000 variants,
and only the size of the table differs between them.

No overlaps: every appointment is one 30-minute slot on the doctors' shared 09:00-17:00
grid, a doctor gets at most one appointment per slot, and the patients of one slot are
drawn without replacement, so no patient is in two rooms at once either. Statuses follow
time: past ones are completed, cancelled or no-show; a running one is checked in; future
ones are scheduled, confirmed or cancelled.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time as clock
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/appointments_bench"
PASSWORD = "bench-password-1"
ADMIN_USERNAME = "bench_admin"

DEPARTMENTS = 20
DOCTORS = 200
PATIENTS = 20_000
PROBE_DOCTORS = 20  # doctors 0..19: their weeks are what the list/availability runs read

SLOT = timedelta(minutes=30)
DAY_START, DAY_END = time(9), time(17)
SLOTS_PER_DAY = 16
PAST_DAYS, FUTURE_DAYS = 700, 90  # the full window: about two years, mostly past
FILL = 0.30  # share of a doctor's slots that hold an appointment (any status)
SEED = 20_261_124

DEPARTMENT_NAMES = [
    "Cardiology", "Dermatology", "Endocrinology", "Gastroenterology", "General Practice",
    "Gynaecology", "Haematology", "Nephrology", "Neurology", "Oncology", "Ophthalmology",
    "Orthopaedics", "Otolaryngology", "Paediatrics", "Psychiatry", "Pulmonology",
    "Radiology", "Rheumatology", "Urology", "Physiotherapy",
]  # fmt: skip
FIRST_NAMES = [
    "Anna", "Ben", "Carla", "David", "Elena", "Felix", "Greta", "Hugo", "Ines", "Jonas",
    "Klara", "Leon", "Mia", "Noah", "Olga", "Paul", "Rosa", "Samir", "Tara", "Umar",
    "Vera", "Wim", "Yara", "Zoe",
]  # fmt: skip
LAST_NAMES = [
    "Adler", "Becker", "Costa", "Dumont", "Eriksen", "Fischer", "Garcia", "Hansen",
    "Ivanova", "Jansen", "Kowalski", "Lehmann", "Moreau", "Nowak", "Okafor", "Petrov",
    "Quinn", "Rossi", "Schmidt", "Tanaka", "Umarov", "Varga", "Weber", "Yilmaz",
]  # fmt: skip
REASONS = [
    "Check-up", "Follow-up", "Test results", "Prescription renewal", "Back pain",
    "Headache", "Vaccination", "Consultation", None,
]  # fmt: skip
CANCEL_REASONS = ["patient request", "doctor unavailable", "rescheduled", None]

APPOINTMENT_COLUMNS = (
    "id", "patient_id", "doctor_id", "department_id", "starts_at", "ends_at", "status",
    "reason", "notes", "cancellation_reason", "created_at", "updated_at",
    "blocked_from", "blocked_until",
)  # fmt: skip


def dsn() -> str:
    value = os.environ.get("BENCH_DSN", DEFAULT_DSN)
    name = value.rsplit("/", 1)[-1].split("?", 1)[0]
    if not name.endswith("_bench"):
        raise SystemExit(f"refusing to seed {name!r}: the database name must end in _bench")
    return value


def clinic_zone() -> ZoneInfo:
    return ZoneInfo(os.environ.get("CLINIC_TIMEZONE", "UTC"))


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def doctor_username(index: int) -> str:
    return f"doctor{index:04d}"


def patient_username(index: int) -> str:
    return f"patient{index:05d}"


class Progress:
    """A one-line progress bar on stderr."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.done = label, max(total, 1), 0
        self.started = clock.monotonic()

    def advance(self, count: int) -> None:
        self.done += count
        share = min(self.done / self.total, 1.0)
        bar = "#" * int(share * 30)
        elapsed = clock.monotonic() - self.started
        sys.stderr.write(
            f"\r  {self.label:<13} [{bar:<30}] {self.done:>9,}/{self.total:,} {elapsed:6.1f}s"
        )
        sys.stderr.flush()

    def close(self) -> float:
        sys.stderr.write("\n")
        return clock.monotonic() - self.started


async def _copy(
    connection: asyncpg.Connection,
    table: str,
    columns: Sequence[str],
    records: Sequence[tuple[Any, ...]],
    progress: Progress | None = None,
    chunk: int = 50_000,
) -> None:
    for offset in range(0, len(records), chunk):
        part = records[offset : offset + chunk]
        await connection.copy_records_to_table(table, records=part, columns=list(columns))
        if progress:
            progress.advance(len(part))


async def password_hash() -> str:
    """One hash from the application's configured hasher, reused for every seeded user."""
    from appointments.container import Container

    return str(await Container().hasher().hash(PASSWORD))


async def seed_clinic(
    target_dsn: str, hashed: str, doctors: int = DOCTORS, patients: int = PATIENTS
) -> dict[str, Any]:
    """Replace every clinic row: 1 admin, departments, doctors (users + Mon-Fri 09-17
    schedules), patients (users + records)."""
    rng = random.Random(SEED)
    now = datetime.now(UTC)
    started = clock.monotonic()
    users: list[tuple[Any, ...]] = []
    users.append(
        (_uuid(rng), "admin@bench.example", ADMIN_USERNAME, "Bench Admin", "ADMIN", hashed,
         True, now - timedelta(days=800), None)
    )  # fmt: skip
    department_rows = [
        (_uuid(rng), name, f"The {name} department.") for name in DEPARTMENT_NAMES[:DEPARTMENTS]
    ]
    doctor_rows, schedule_rows = [], []
    for index in range(doctors):
        user_id, doctor_id = _uuid(rng), _uuid(rng)
        name = f"Dr {rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        username = doctor_username(index)
        users.append(
            (user_id, f"{username}@bench.example", username, name, "DOCTOR", hashed, True,
             now - timedelta(days=rng.randint(750, 3000)), None)
        )  # fmt: skip
        department = department_rows[index % len(department_rows)]
        doctor_rows.append(
            (doctor_id, user_id, department[0], department[1], f"+49 30 {index:07d}", True)
        )
        schedule_rows.extend((doctor_id, day, DAY_START, DAY_END) for day in range(5))
    patient_rows = []
    for index in range(patients):
        user_id, patient_id = _uuid(rng), _uuid(rng)
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        username = patient_username(index)
        created = now - timedelta(days=rng.randint(1, 1500), seconds=rng.randint(0, 86_399))
        users.append(
            (user_id, f"{username}@bench.example", username, name, "PATIENT", hashed, True,
             created, None)
        )  # fmt: skip
        birth = date(1940, 1, 1) + timedelta(days=rng.randint(0, 80 * 365))
        patient_rows.append(
            (patient_id, user_id, name, f"{username}@bench.example",
             f"+49 170 {index:07d}", birth, True, created)
        )  # fmt: skip

    connection = await asyncpg.connect(target_dsn)
    try:
        progress = Progress("clinic", len(users) + len(patient_rows) + len(doctor_rows))
        async with connection.transaction():
            await connection.execute(
                "TRUNCATE appointments, services, rooms, booking_policy, time_off, "
                "weekly_intervals, doctors, departments, patients, revoked_tokens, "
                "login_failures, users CASCADE"  # and what refers to them (holds, feeds)
            )
            user_columns = (
                "id", "email", "username", "full_name", "role", "password_hash", "is_active",
                "created_at", "tokens_valid_after",
            )  # fmt: skip
            await _copy(connection, "users", user_columns, users, progress)
            await _copy(connection, "departments", ("id", "name", "description"), department_rows)
            await _copy(
                connection,
                "doctors",
                ("id", "user_id", "department_id", "specialization", "phone", "is_active"),
                doctor_rows,
                progress,
            )
            await _copy(
                connection,
                "weekly_intervals",
                ("doctor_id", "weekday", "starts", "ends"),
                schedule_rows,
            )
            await _copy(
                connection,
                "patients",
                ("id", "user_id", "full_name", "email", "phone", "date_of_birth",
                 "is_active", "created_at"),
                patient_rows,
                progress,
            )  # fmt: skip
        progress.close()
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
    return {
        "users": len(users),
        "departments": len(department_rows),
        "doctors": len(doctor_rows),
        "patients": len(patient_rows),
        "seconds": round(clock.monotonic() - started, 2),
    }


@dataclass(frozen=True, slots=True)
class Clinic:
    doctor_ids: list[uuid.UUID]  # by doctor index (username order)
    department_ids: list[uuid.UUID]
    patient_ids: list[uuid.UUID]  # by patient index (username order)


async def load_clinic(connection: asyncpg.Connection) -> Clinic:
    doctors = await connection.fetch(
        "SELECT d.id, d.department_id FROM doctors d JOIN users u ON u.id = d.user_id "
        "ORDER BY u.username"
    )
    patients = await connection.fetch(
        "SELECT p.id FROM patients p JOIN users u ON u.id = p.user_id ORDER BY u.username"
    )
    return Clinic(
        [r["id"] for r in doctors],
        [r["department_id"] for r in doctors],
        [r["id"] for r in patients],
    )


def probe_days(today: date) -> tuple[list[date], list[date]]:
    """(the week before today, the week after today): what list/availability read."""
    before = [today - timedelta(days=n) for n in range(7, 0, -1)]
    after = [today + timedelta(days=n) for n in range(1, 8)]
    return before, after


def _unit_order(today: date, doctors: int) -> Iterator[tuple[date, int]]:
    """(local date, doctor index) units: probe units first, then by distance from today."""
    before, after = probe_days(today)
    probe = {(day, d) for day in before + after for d in range(min(PROBE_DOCTORS, doctors))}
    yield from sorted(probe)
    days = [today + timedelta(days=n) for n in range(-PAST_DAYS, FUTURE_DAYS + 1)]
    days.sort(key=lambda day: (abs((day - today).days), day > today))
    for day in days:
        for d in range(doctors):
            if (day, d) not in probe:
                yield day, d


def _status(
    rng: random.Random, starts: datetime, ends: datetime, now: datetime
) -> tuple[str, str | None]:
    roll = rng.random()
    if ends <= now:
        if roll < 0.82:
            return "completed", None
        if roll < 0.92:
            return "cancelled", rng.choice(CANCEL_REASONS)
        return "no_show", None
    if starts <= now:
        return "checked_in", None
    if roll < 0.55:
        return "scheduled", None
    if roll < 0.90:
        return "confirmed", None
    return "cancelled", rng.choice(CANCEL_REASONS)


def _day_rows(
    day: date, clinic: Clinic, zone: ZoneInfo, now: datetime
) -> list[list[tuple[Any, ...]]]:
    """Every doctor's appointments on one local date (index = doctor), deterministic."""
    rows: list[list[tuple[Any, ...]]] = [[] for _ in clinic.doctor_ids]
    if day.weekday() >= 5:
        return rows
    rng = random.Random(f"{SEED}:{day.isoformat()}")
    first = datetime.combine(day, DAY_START, tzinfo=zone).astimezone(UTC)
    doctors = len(clinic.doctor_ids)
    for slot in range(SLOTS_PER_DAY):
        starts = first + slot * SLOT
        ends = starts + SLOT
        patients = rng.sample(range(len(clinic.patient_ids)), doctors)  # distinct per slot
        for d in range(doctors):
            if rng.random() >= FILL:
                continue
            status, cancel_reason = _status(rng, starts, ends, now)
            created = min(
                starts - timedelta(days=rng.randint(1, 30), minutes=rng.randint(0, 600)), now
            )
            if status in ("completed", "no_show", "checked_in"):
                updated = min(ends if status != "checked_in" else starts, now)
            elif status == "cancelled":
                updated = min(created + (starts - created) * rng.random(), now)
            else:
                updated = created
            rows[d].append(
                (_uuid(rng), clinic.patient_ids[patients[d]], clinic.doctor_ids[d],
                 clinic.department_ids[d], starts, ends, status, rng.choice(REASONS), None,
                 cancel_reason, created, updated, starts, ends)
            )  # fmt: skip
    return rows


def generate_appointments(
    clinic: Clinic, zone: ZoneInfo, now: datetime, target: int | None
) -> list[tuple[Any, ...]]:
    """The first `target` appointments in unit order (all of the window when None)."""
    today = now.astimezone(zone).date()
    cache: dict[date, list[list[tuple[Any, ...]]]] = {}
    records: list[tuple[Any, ...]] = []
    for day, doctor in _unit_order(today, len(clinic.doctor_ids)):
        if day not in cache:
            cache[day] = _day_rows(day, clinic, zone, now)
        records.extend(cache[day][doctor])
        if target is not None and len(records) >= target:
            return records[:target]
    return records


async def seed_appointments(
    target_dsn: str, target: int | None, now: datetime | None = None
) -> dict[str, Any]:
    """Replace every appointment with the first `target` of the deterministic set; `now`
    decides which are past (give the same one to get the same rows twice)."""
    started = clock.monotonic()
    now = now or datetime.now(UTC)
    connection = await asyncpg.connect(target_dsn)
    try:
        clinic = await load_clinic(connection)
        if not clinic.doctor_ids or len(clinic.patient_ids) < len(clinic.doctor_ids):
            raise SystemExit("seed the clinic first (needs at least as many patients as doctors)")
        sys.stderr.write("  generating appointments...\n")
        records = generate_appointments(clinic, clinic_zone(), now, target)
        generated = clock.monotonic() - started
        progress = Progress("appointments", len(records))
        async with connection.transaction():
            await connection.execute("TRUNCATE appointments")
            await _copy(connection, "appointments", APPOINTMENT_COLUMNS, records, progress)
        copied = progress.close()
        await connection.execute("VACUUM ANALYZE appointments")
        by_status = {
            r["status"]: r["n"]
            for r in await connection.fetch(
                "SELECT status, count(*) AS n FROM appointments GROUP BY status ORDER BY status"
            )
        }
        span = await connection.fetchrow(
            "SELECT min(starts_at) AS first, max(starts_at) AS last, "
            "count(*) FILTER (WHERE starts_at < now()) AS past FROM appointments"
        )
    finally:
        await connection.close()
    return {
        "appointments": len(records),
        "past": span["past"],
        "first": span["first"].isoformat() if span["first"] else None,
        "last": span["last"].isoformat() if span["last"] else None,
        "by_status": by_status,
        "generate_seconds": round(generated, 2),
        "copy_seconds": round(copied, 2),
        "seconds": round(clock.monotonic() - started, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    clinic = commands.add_parser("clinic")
    clinic.add_argument("--doctors", type=int, default=DOCTORS)
    clinic.add_argument("--patients", type=int, default=PATIENTS)
    appointments = commands.add_parser("appointments")
    appointments.add_argument("--target", type=int, default=None, help="default: full window")
    args = parser.parse_args()
    target_dsn = dsn()
    if args.command == "clinic":
        hashed = asyncio.run(password_hash())
        result = asyncio.run(seed_clinic(target_dsn, hashed, args.doctors, args.patients))
    else:
        result = asyncio.run(seed_appointments(target_dsn, args.target))
    print(result)


if __name__ == "__main__":
    main()
