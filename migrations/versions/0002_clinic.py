"""Clinic catalog: departments, doctors, weekly schedules, time off.

Revision ID: 0002_clinic
Revises: 0001_identity
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from appointments.adapters.sqlalchemy.types import UTCDateTime

revision: str = "0002_clinic"
down_revision: str | None = "0001_identity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "departments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_departments"),
    )
    op.create_index(
        "uq_departments_name_lower", "departments", [sa.text("lower(name)")], unique=True
    )

    op.create_table(
        "doctors",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("department_id", sa.Uuid(), nullable=False),
        sa.Column("specialization", sa.String(200), nullable=False),
        sa.Column("phone", sa.String(50), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_doctors_user_id_users"),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name="fk_doctors_department_id_departments"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_doctors"),
        sa.UniqueConstraint("user_id", name="uq_doctors_user_id"),
    )
    op.create_index("ix_doctors_department_id", "doctors", ["department_id"])

    op.create_table(
        "weekly_intervals",
        sa.Column("doctor_id", sa.Uuid(), nullable=False),
        sa.Column("weekday", sa.SmallInteger(), nullable=False),
        sa.Column("starts", sa.Time(), nullable=False),
        sa.Column("ends", sa.Time(), nullable=False),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        sa.CheckConstraint("ends > starts", name="ends_after_starts"),
        sa.ForeignKeyConstraint(
            ["doctor_id"], ["doctors.id"], name="fk_weekly_intervals_doctor_id_doctors"
        ),
        sa.PrimaryKeyConstraint("doctor_id", "weekday", "starts", name="pk_weekly_intervals"),
    )

    op.create_table(
        "time_off",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("doctor_id", sa.Uuid(), nullable=False),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("ends_at", UTCDateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_starts"),
        sa.ForeignKeyConstraint(
            ["doctor_id"], ["doctors.id"], name="fk_time_off_doctor_id_doctors"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_time_off"),
    )
    op.create_index("ix_time_off_doctor_id_starts_at", "time_off", ["doctor_id", "starts_at"])


def downgrade() -> None:
    op.drop_table("time_off")
    op.drop_table("weekly_intervals")
    op.drop_table("doctors")
    op.drop_table("departments")
