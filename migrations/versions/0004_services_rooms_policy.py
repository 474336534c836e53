"""Services, rooms and the booking policy; appointments gain their service, room, series,
who cancelled them and when, and the span they block (with the service's buffers).

On PostgreSQL the doctor's exclusion constraint moves to the blocked span (buffers
included) and a third one forbids overlapping active appointments in one room. Existing
appointments block exactly their own time.

Revision ID: 0004_services_rooms_policy
Revises: 0003_appointments
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from appointments.adapters.sqlalchemy.types import UTCDateTime

revision: str = "0004_services_rooms_policy"
down_revision: str | None = "0003_appointments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = "status IN ('scheduled', 'confirmed', 'checked_in')"


def _exclusion(name: str, party: str, start: str, end: str, where: str = ACTIVE) -> str:
    return (
        f"ALTER TABLE appointments ADD CONSTRAINT {name} EXCLUDE USING gist ({party} WITH =, "
        f"tstzrange({start}, {end}, '[)') WITH &&) WHERE ({where})"
    )


def upgrade() -> None:
    op.create_table(
        "services",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("department_id", sa.Uuid(), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("buffer_before_minutes", sa.Integer(), nullable=False),
        sa.Column("buffer_after_minutes", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name="fk_services_department_id_departments"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_services"),
    )
    op.create_index(
        "uq_services_department_id_name_lower",
        "services",
        ["department_id", sa.text("lower(name)")],
        unique=True,
    )
    op.create_table(
        "rooms",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("department_id", sa.Uuid(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name="fk_rooms_department_id_departments"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_rooms"),
    )
    op.create_index("uq_rooms_name_lower", "rooms", [sa.text("lower(name)")], unique=True)
    op.create_table(
        "booking_policy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("min_notice_minutes", sa.Integer(), nullable=False),
        sa.Column("booking_horizon_days", sa.Integer(), nullable=False),
        sa.Column("cancellation_cutoff_hours", sa.Integer(), nullable=False),
        sa.Column("max_active_per_patient", sa.Integer(), nullable=False),
        sa.Column("reminder_offsets_minutes", sa.JSON(), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_booking_policy_single_row"),
        sa.PrimaryKeyConstraint("id", name="pk_booking_policy"),
    )

    with op.batch_alter_table("appointments") as batch:
        batch.add_column(sa.Column("service_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("room_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("series_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("cancelled_by", sa.String(16), nullable=True))
        batch.add_column(sa.Column("cancelled_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("blocked_from", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("blocked_until", UTCDateTime(), nullable=True))
    op.execute("UPDATE appointments SET blocked_from = starts_at, blocked_until = ends_at")
    with op.batch_alter_table("appointments") as batch:
        batch.alter_column("blocked_from", existing_type=UTCDateTime(), nullable=False)
        batch.alter_column("blocked_until", existing_type=UTCDateTime(), nullable=False)
        batch.create_foreign_key(
            "fk_appointments_service_id_services", "services", ["service_id"], ["id"]
        )
        batch.create_foreign_key("fk_appointments_room_id_rooms", "rooms", ["room_id"], ["id"])
        batch.create_check_constraint(
            "ck_appointments_blocked_covers_appointment",
            "blocked_from <= starts_at AND blocked_until >= ends_at",
        )
        batch.create_check_constraint(
            "ck_appointments_cancelled_by",
            "cancelled_by IN ('PATIENT', 'DOCTOR', 'ADMIN', 'SYSTEM')",
        )
    op.create_index(
        "ix_appointments_doctor_id_blocked_from", "appointments", ["doctor_id", "blocked_from"]
    )
    op.create_index("ix_appointments_room_id_starts_at", "appointments", ["room_id", "starts_at"])

    if op.get_bind().dialect.name == "postgresql":
        # PostgreSQL checks the constraints in creation order; recreating both keeps the
        # doctor's first, so a clash with both parties is reported as doctor_unavailable.
        for party in ("doctor", "patient"):
            op.execute(f"ALTER TABLE appointments DROP CONSTRAINT ex_appointments_{party}_overlap")
        op.execute(
            _exclusion(
                "ex_appointments_doctor_overlap", "doctor_id", "blocked_from", "blocked_until"
            )
        )
        op.execute(
            _exclusion("ex_appointments_patient_overlap", "patient_id", "starts_at", "ends_at")
        )
        op.execute(
            _exclusion(
                "ex_appointments_room_overlap",
                "room_id",
                "starts_at",
                "ends_at",
                f"{ACTIVE} AND room_id IS NOT NULL",
            )
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for party in ("room", "doctor", "patient"):
            op.execute(f"ALTER TABLE appointments DROP CONSTRAINT ex_appointments_{party}_overlap")
        for party in ("doctor", "patient"):
            op.execute(
                _exclusion(
                    f"ex_appointments_{party}_overlap", f"{party}_id", "starts_at", "ends_at"
                )
            )
    op.drop_index("ix_appointments_room_id_starts_at", table_name="appointments")
    op.drop_index("ix_appointments_doctor_id_blocked_from", table_name="appointments")
    with op.batch_alter_table("appointments") as batch:
        batch.drop_constraint("ck_appointments_cancelled_by", type_="check")
        batch.drop_constraint("ck_appointments_blocked_covers_appointment", type_="check")
        batch.drop_constraint("fk_appointments_room_id_rooms", type_="foreignkey")
        batch.drop_constraint("fk_appointments_service_id_services", type_="foreignkey")
        for column in (
            "blocked_until",
            "blocked_from",
            "cancelled_at",
            "cancelled_by",
            "series_id",
            "room_id",
            "service_id",
        ):
            batch.drop_column(column)
    op.drop_table("booking_policy")
    op.drop_index("uq_rooms_name_lower", table_name="rooms")
    op.drop_table("rooms")
    op.drop_index("uq_services_department_id_name_lower", table_name="services")
    op.drop_table("services")
