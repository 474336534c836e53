"""Appointment series: an index on appointments.series_id (a series is read and cancelled
by its id).

Revision ID: 0010_series_index
Revises: 0009_calendar_feeds
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010_series_index"
down_revision: str | None = "0009_calendar_feeds"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_appointments_series_id", "appointments", ["series_id"])


def downgrade() -> None:
    op.drop_index("ix_appointments_series_id", table_name="appointments")
