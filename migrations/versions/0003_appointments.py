"""Appointments, with overlap forbidden by the database on PostgreSQL.

Two btree_gist exclusion constraints make a second active appointment overlapping the
same doctor's (or patient's) time impossible, whatever number of workers race: the
application's own checks only make the error friendly. SQLite, the single-process embedded
default, serialises write transactions instead (BEGIN IMMEDIATE, see the engine).

Revision ID: 0003_appointments
Revises: 0002_clinic
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from appointments.adapters.sqlalchemy.types import UTCDateTime

revision: str = "0003_appointments"
down_revision: str | None = "0002_clinic"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = "status IN ('scheduled', 'confirmed', 'checked_in')"


def upgrade() -> None:
    op.create_table(
        "appointments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("doctor_id", sa.Uuid(), nullable=False),
        sa.Column("department_id", sa.Uuid(), nullable=False),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("ends_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("cancellation_reason", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_starts"),
        sa.CheckConstraint(
            "status IN ('scheduled', 'confirmed', 'checked_in', 'completed', 'cancelled', 'no_show')",
            name="status",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name="fk_appointments_patient_id_patients"
        ),
        sa.ForeignKeyConstraint(
            ["doctor_id"], ["doctors.id"], name="fk_appointments_doctor_id_doctors"
        ),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name="fk_appointments_department_id_departments"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_appointments"),
    )
    op.create_index(
        "ix_appointments_doctor_id_starts_at", "appointments", ["doctor_id", "starts_at"]
    )
    op.create_index(
        "ix_appointments_patient_id_starts_at", "appointments", ["patient_id", "starts_at"]
    )
    op.create_index("ix_appointments_starts_at", "appointments", ["starts_at"])

    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        for party in ("doctor", "patient"):
            op.execute(
                f"ALTER TABLE appointments ADD CONSTRAINT ex_appointments_{party}_overlap "
                f"EXCLUDE USING gist ({party}_id WITH =, "
                f"tstzrange(starts_at, ends_at, '[)') WITH &&) WHERE ({ACTIVE})"
            )


def downgrade() -> None:
    op.drop_table("appointments")
