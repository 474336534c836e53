"""Holds (slots kept while a patient finishes booking, or a waitlist offer) and the
waitlist.

Revision ID: 0008_holds_waitlist
Revises: 0007_outbox
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from appointments.adapters.sqlalchemy.types import UTCDateTime

revision: str = "0008_holds_waitlist"
down_revision: str | None = "0007_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = "status IN ('waiting', 'offered', 'booked', 'expired', 'cancelled')"


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}")


def upgrade() -> None:
    op.create_table(
        "holds",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("doctor_id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("service_id", sa.Uuid(), nullable=True),
        sa.Column("room_id", sa.Uuid(), nullable=True),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("ends_at", UTCDateTime(), nullable=False),
        sa.Column("blocked_from", UTCDateTime(), nullable=False),
        sa.Column("blocked_until", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("waitlist_entry_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint("ends_at > starts_at", name="ck_holds_ends_after_starts"),
        sa.CheckConstraint(
            "blocked_from <= starts_at AND blocked_until >= ends_at",
            name="ck_holds_blocked_covers_hold",
        ),
        _fk("holds", "doctor_id", "doctors"),
        _fk("holds", "patient_id", "patients"),
        _fk("holds", "service_id", "services"),
        _fk("holds", "room_id", "rooms"),
        sa.PrimaryKeyConstraint("id", name="pk_holds"),
    )
    op.create_index("ix_holds_doctor_id_blocked_from", "holds", ["doctor_id", "blocked_from"])
    op.create_index("ix_holds_room_id_starts_at", "holds", ["room_id", "starts_at"])
    op.create_index("ix_holds_expires_at", "holds", ["expires_at"])
    op.create_table(
        "waitlist_entries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("doctor_id", sa.Uuid(), nullable=True),
        sa.Column("department_id", sa.Uuid(), nullable=False),
        sa.Column("service_id", sa.Uuid(), nullable=True),
        sa.Column("date_from", sa.Date(), nullable=False),
        sa.Column("date_to", sa.Date(), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("offer", sa.JSON(), nullable=True),
        sa.Column("passed", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(STATUSES, name="ck_waitlist_entries_status"),
        sa.CheckConstraint("date_to >= date_from", name="ck_waitlist_entries_dates_ordered"),
        _fk("waitlist_entries", "patient_id", "patients"),
        _fk("waitlist_entries", "doctor_id", "doctors"),
        _fk("waitlist_entries", "department_id", "departments"),
        _fk("waitlist_entries", "service_id", "services"),
        sa.PrimaryKeyConstraint("id", name="pk_waitlist_entries"),
    )
    for column in ("doctor_id", "department_id", "patient_id"):
        op.create_index(
            f"ix_waitlist_entries_{column}_created_at",
            "waitlist_entries",
            [column, "created_at"],
        )


def downgrade() -> None:
    op.drop_table("waitlist_entries")
    op.drop_table("holds")
