"""The schema, as SQLAlchemy Core tables. Migrations are written from this metadata.

Text lengths and the allowed roles and statuses come from the domain, where each is
declared once. PostgreSQL-only pieces that Core cannot express portably (the btree_gist
exclusion constraints that forbid overlapping active appointments) live in the migrations.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
    Uuid,
    func,
)

from appointments.adapters.sqlalchemy.types import UTCDateTime
from appointments.domain.appointments import CancelledBy, Status
from appointments.domain.contact import EMAIL, FULL_NAME, PHONE
from appointments.domain.deliveries import LAST_ERROR, Channel, DeliveryStatus
from appointments.domain.departments import DEPARTMENT_NAME
from appointments.domain.doctors import SPECIALIZATION
from appointments.domain.rooms import ROOM_NAME
from appointments.domain.schedule import WEEKDAYS
from appointments.domain.services import SERVICE_NAME
from appointments.domain.users import THROTTLE_KEY, USERNAME, Role
from appointments.domain.webhooks import SECRET_LENGTH, WEBHOOK_DESCRIPTION, WEBHOOK_URL


def _one_of(column: str, values: type[StrEnum]) -> str:
    """A CHECK condition: `column` holds one of the enum's values."""
    return f"{column} IN ({', '.join(repr(str(value)) for value in values)})"


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

users = Table(
    "users",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("email", String(EMAIL.max), nullable=False),
    Column("username", String(USERNAME.max), nullable=False),
    Column("full_name", String(FULL_NAME.max), nullable=False),
    Column("role", String(16), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("is_active", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("tokens_valid_after", UTCDateTime, nullable=True),
    CheckConstraint(_one_of("role", Role), name="role"),
)
Index("uq_users_email_lower", func.lower(users.c.email), unique=True)
Index("uq_users_username_lower", func.lower(users.c.username), unique=True)
Index("ix_users_created_at", users.c.created_at)

patients = Table(
    "patients",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id"), nullable=True, unique=True),
    Column("full_name", String(FULL_NAME.max), nullable=False),
    Column("email", String(EMAIL.max), nullable=True),
    Column("phone", String(PHONE.max), nullable=True),
    Column("date_of_birth", Date, nullable=True),
    Column("is_active", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
)
Index("ix_patients_full_name", patients.c.full_name)

revoked_tokens = Table(
    "revoked_tokens",
    metadata,
    Column("jti", String(64), primary_key=True),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
)

login_failures = Table(
    "login_failures",
    metadata,
    Column("key", String(THROTTLE_KEY.max), primary_key=True),
    Column("count", Integer, nullable=False),
    Column("first_failed_at", UTCDateTime, nullable=False, index=True),
)

departments = Table(
    "departments",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(DEPARTMENT_NAME.max), nullable=False),
    Column("description", Text, nullable=True),
)
Index("uq_departments_name_lower", func.lower(departments.c.name), unique=True)

doctors = Table(
    "doctors",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id"), nullable=False, unique=True),
    Column("department_id", Uuid, ForeignKey("departments.id"), nullable=False, index=True),
    Column("specialization", String(SPECIALIZATION.max), nullable=False),
    Column("phone", String(PHONE.max), nullable=True),
    Column("is_active", Boolean, nullable=False, default=True),
    Column("holds_until", UTCDateTime, nullable=True),  # see PlacementParties.holds_until
)

weekly_intervals = Table(
    "weekly_intervals",
    metadata,
    Column("doctor_id", Uuid, ForeignKey("doctors.id"), primary_key=True),
    Column("weekday", SmallInteger, primary_key=True),
    Column("starts", Time, primary_key=True),
    Column("ends", Time, nullable=False),
    CheckConstraint(f"weekday BETWEEN {WEEKDAYS.start} AND {WEEKDAYS.stop - 1}", name="weekday"),
    CheckConstraint("ends > starts", name="ends_after_starts"),
)

time_off = Table(
    "time_off",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("doctor_id", Uuid, ForeignKey("doctors.id"), nullable=False),
    Column("starts_at", UTCDateTime, nullable=False),
    Column("ends_at", UTCDateTime, nullable=False),
    Column("reason", Text, nullable=True),
    CheckConstraint("ends_at > starts_at", name="ends_after_starts"),
)
Index("ix_time_off_doctor_id_starts_at", time_off.c.doctor_id, time_off.c.starts_at)

services = Table(
    "services",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(SERVICE_NAME.max), nullable=False),
    Column("department_id", Uuid, ForeignKey("departments.id"), nullable=False),
    Column("duration_minutes", Integer, nullable=False),
    Column("buffer_before_minutes", Integer, nullable=False),
    Column("buffer_after_minutes", Integer, nullable=False),
    Column("description", Text, nullable=True),
    Column("is_active", Boolean, nullable=False, default=True),
)
Index(
    "uq_services_department_id_name_lower",
    services.c.department_id,
    func.lower(services.c.name),
    unique=True,
)

rooms = Table(
    "rooms",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(ROOM_NAME.max), nullable=False),
    Column("department_id", Uuid, ForeignKey("departments.id"), nullable=True),
    Column("is_active", Boolean, nullable=False, default=True),
)
Index("uq_rooms_name_lower", func.lower(rooms.c.name), unique=True)

# One row (id = 1) once an admin has stored a policy; the defaults before that.
booking_policy = Table(
    "booking_policy",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("min_notice_minutes", Integer, nullable=False),
    Column("booking_horizon_days", Integer, nullable=False),
    Column("cancellation_cutoff_hours", Integer, nullable=False),
    Column("max_active_per_patient", Integer, nullable=False),
    Column("reminder_offsets_minutes", JSON, nullable=False),
    CheckConstraint("id = 1", name="single_row"),
)

appointments = Table(
    "appointments",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("patient_id", Uuid, ForeignKey("patients.id"), nullable=False),
    Column("doctor_id", Uuid, ForeignKey("doctors.id"), nullable=False),
    Column("department_id", Uuid, ForeignKey("departments.id"), nullable=False),
    Column("starts_at", UTCDateTime, nullable=False),
    Column("ends_at", UTCDateTime, nullable=False),
    Column("status", String(16), nullable=False),
    Column("reason", Text, nullable=True),
    Column("notes", Text, nullable=True),
    Column("cancellation_reason", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("service_id", Uuid, ForeignKey("services.id"), nullable=True),
    Column("room_id", Uuid, ForeignKey("rooms.id"), nullable=True),
    Column("series_id", Uuid, nullable=True),
    Column("cancelled_by", String(16), nullable=True),
    Column("cancelled_at", UTCDateTime, nullable=True),
    # The doctor's time this appointment holds: its own span plus the service's buffers.
    # PostgreSQL's doctor exclusion constraint is on this span (see migration 0004).
    Column("blocked_from", UTCDateTime, nullable=False),
    Column("blocked_until", UTCDateTime, nullable=False),
    Column("revision", Integer, nullable=False, server_default="0"),  # iCalendar SEQUENCE
    CheckConstraint("ends_at > starts_at", name="ends_after_starts"),
    CheckConstraint(_one_of("status", Status), name="status"),
    CheckConstraint(
        "blocked_from <= starts_at AND blocked_until >= ends_at", name="blocked_covers_appointment"
    ),
    CheckConstraint(_one_of("cancelled_by", CancelledBy), name="cancelled_by"),
)
Index("ix_appointments_doctor_id_starts_at", appointments.c.doctor_id, appointments.c.starts_at)
Index("ix_appointments_patient_id_starts_at", appointments.c.patient_id, appointments.c.starts_at)
Index("ix_appointments_starts_at", appointments.c.starts_at)
Index(
    "ix_appointments_doctor_id_blocked_from", appointments.c.doctor_id, appointments.c.blocked_from
)
Index("ix_appointments_room_id_starts_at", appointments.c.room_id, appointments.c.starts_at)

# The audit trail: append-only (migration 0005 adds the triggers that refuse UPDATE and
# DELETE). The id rises with every insert: newest first is `ORDER BY id DESC`, which the
# per-filter indexes below serve directly (keyset-friendly: `id < last seen`).
audit_events = Table(
    "audit_events",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("actor_user_id", Uuid, nullable=True),
    Column("actor_role", String(16), nullable=True),
    Column("action", String(64), nullable=False),
    Column("entity_type", String(32), nullable=False),
    Column("entity_id", Uuid, nullable=True),
    Column("changes", JSON, nullable=False),
    Column("request_id", String(128), nullable=True),
    CheckConstraint(_one_of("actor_role", Role), name="actor_role"),
)
Index(
    "ix_audit_events_entity",
    audit_events.c.entity_type,
    audit_events.c.entity_id,
    audit_events.c.id,
)
Index("ix_audit_events_actor_user_id_id", audit_events.c.actor_user_id, audit_events.c.id)
Index("ix_audit_events_action_id", audit_events.c.action, audit_events.c.id)
Index("ix_audit_events_occurred_at", audit_events.c.occurred_at)

# Idempotency keys (API.md): claimed before the request runs, its response kept after.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("scope", String(64), nullable=False),
    Column("key", String(255), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("claimed_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    # NULL while the first request runs.
    Column("status_code", SmallInteger, nullable=True),
    Column("headers", JSON, nullable=True),
    Column("body", LargeBinary, nullable=True),
    PrimaryKeyConstraint("scope", "key"),
)
Index("ix_idempotency_keys_expires_at", idempotency_keys.c.expires_at)

# Where events are POSTed (API.md, "Webhooks and notifications"). `secret` is kept as
# issued ("whsec_..."): signing needs the key itself, so it cannot be hashed.
webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("url", String(WEBHOOK_URL.max), nullable=False),
    # A JSON list of event names; empty means every event.
    Column("event_types", JSON, nullable=False),
    Column("description", String(WEBHOOK_DESCRIPTION.max), nullable=True),
    Column("is_active", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("secret", String(SECRET_LENGTH), nullable=False),
)

# The transactional outbox: one row per event that leaves the building, written in the
# transaction of its change; `planned_at` is set once it was fanned out to deliveries.
outbox_messages = Table(
    "outbox_messages",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("event_type", String(50), nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("payload", JSON, nullable=False),
    Column("appointment_id", Uuid, nullable=True),
    Column("starts_at", UTCDateTime, nullable=True),
    Column("planned_at", UTCDateTime, nullable=True),
)
Index(
    "ix_outbox_messages_unplanned",
    outbox_messages.c.occurred_at,
    postgresql_where=outbox_messages.c.planned_at.is_(None),
    sqlite_where=outbox_messages.c.planned_at.is_(None),
)

# One attempt series per (message, endpoint) or per patient email. A claim (token and
# lease) marks a delivery being attempted; a dead dispatcher's claim simply runs out.
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("channel", String(10), nullable=False),
    Column("event_id", Uuid, ForeignKey("outbox_messages.id"), nullable=False),
    Column("event_type", String(50), nullable=False),
    Column(
        "endpoint_id", Uuid, ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=True
    ),
    Column("appointment_id", Uuid, nullable=True),
    Column("email_key", String(30), nullable=True),
    Column("starts_at", UTCDateTime, nullable=True),
    Column("status", String(10), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_status_code", Integer, nullable=True),
    Column("last_error", String(LAST_ERROR.max), nullable=True),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("delivered_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("claim_token", Uuid, nullable=True),
    Column("claimed_until", UTCDateTime, nullable=True),
    CheckConstraint(_one_of("channel", Channel), name="channel"),
    CheckConstraint(_one_of("status", DeliveryStatus), name="status"),
    # Each email once per (appointment, message, start): NULLs (webhooks) never collide.
    UniqueConstraint("appointment_id", "email_key", "starts_at", name="uq_deliveries_email"),
)
Index(
    "ix_deliveries_due",
    deliveries.c.next_attempt_at,
    postgresql_where=deliveries.c.status == DeliveryStatus.PENDING.value,
    sqlite_where=deliveries.c.status == DeliveryStatus.PENDING.value,
)
Index("ix_deliveries_endpoint_id_created_at", deliveries.c.endpoint_id, deliveries.c.created_at)
