"""The tables of the calendar-filling pieces: holds and the waitlist (registered on the
one `metadata`; adapters/sqlalchemy/schema.py gathers every table module)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Uuid,
)

from appointments.adapters.sqlalchemy.tables import _one_of, appointments, metadata
from appointments.adapters.sqlalchemy.types import UTCDateTime
from appointments.domain.waitlist import WaitlistStatus

# A hold keeps a doctor's (buffered) time and a room's until `expires_at`; readers skip
# expired ones, so the sweep that deletes them only tidies (and tells the waitlist).
holds = Table(
    "holds",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("doctor_id", Uuid, ForeignKey("doctors.id"), nullable=False),
    Column("patient_id", Uuid, ForeignKey("patients.id"), nullable=False),
    Column("service_id", Uuid, ForeignKey("services.id"), nullable=True),
    Column("room_id", Uuid, ForeignKey("rooms.id"), nullable=True),
    Column("starts_at", UTCDateTime, nullable=False),
    Column("ends_at", UTCDateTime, nullable=False),
    Column("blocked_from", UTCDateTime, nullable=False),
    Column("blocked_until", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("waitlist_entry_id", Uuid, nullable=True),
    CheckConstraint("ends_at > starts_at", name="ends_after_starts"),
    CheckConstraint(
        "blocked_from <= starts_at AND blocked_until >= ends_at", name="blocked_covers_hold"
    ),
)
Index("ix_holds_doctor_id_blocked_from", holds.c.doctor_id, holds.c.blocked_from)
Index("ix_holds_room_id_starts_at", holds.c.room_id, holds.c.starts_at)
Index("ix_holds_expires_at", holds.c.expires_at)

waitlist_entries = Table(
    "waitlist_entries",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("patient_id", Uuid, ForeignKey("patients.id"), nullable=False),
    Column("doctor_id", Uuid, ForeignKey("doctors.id"), nullable=True),
    Column("department_id", Uuid, ForeignKey("departments.id"), nullable=False),
    Column("service_id", Uuid, ForeignKey("services.id"), nullable=True),
    Column("date_from", Date, nullable=False),
    Column("date_to", Date, nullable=False),
    Column("duration_minutes", Integer, nullable=True),
    Column("status", String(10), nullable=False),
    # {hold_id, doctor_id, starts_at, ends_at, expires_at} while offered, else null.
    Column("offer", JSON, nullable=True),
    # The times it let lapse: [{doctor_id, starts_at, ends_at}, ...].
    Column("passed", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint(_one_of("status", WaitlistStatus), name="status"),
    CheckConstraint("date_to >= date_from", name="dates_ordered"),
)
# The queue: waiting entries of a doctor (or a department), oldest first.
Index(
    "ix_waitlist_entries_doctor_id_created_at",
    waitlist_entries.c.doctor_id,
    waitlist_entries.c.created_at,
)
Index(
    "ix_waitlist_entries_department_id_created_at",
    waitlist_entries.c.department_id,
    waitlist_entries.c.created_at,
)
Index(
    "ix_waitlist_entries_patient_id_created_at",
    waitlist_entries.c.patient_id,
    waitlist_entries.c.created_at,
)

# A series is read and cancelled by its id (POST /api/appointments/series/{id}/cancel).
Index("ix_appointments_series_id", appointments.c.series_id)
