"""Calendar feeds (a token hash per doctor or patient feed, and its fetch throttle), and
the appointments' revision counter (the feeds' SEQUENCE).

Revision ID: 0009_calendar_feeds
Revises: 0007_outbox
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from appointments.adapters.sqlalchemy.types import UTCDateTime

revision: str = "0009_calendar_feeds"
down_revision: str | None = "0008_holds_waitlist"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing appointments start at 0: their next change makes 1.
    op.add_column(
        "appointments", sa.Column("revision", sa.Integer(), nullable=False, server_default="0")
    )
    op.create_table(
        "calendar_feeds",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_type", sa.String(16), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("window_started_at", UTCDateTime(), nullable=True),
        sa.Column("window_fetches", sa.Integer(), nullable=False, server_default="0"),
        sa.CheckConstraint(
            "owner_type IN ('doctor', 'patient')", name="ck_calendar_feeds_owner_type"
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name="fk_calendar_feeds_created_by_users"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_calendar_feeds"),
        sa.UniqueConstraint("token_hash", name="uq_calendar_feeds_token_hash"),
    )
    op.create_index("ix_calendar_feeds_owner", "calendar_feeds", ["owner_type", "owner_id"])


def downgrade() -> None:
    op.drop_table("calendar_feeds")
    with op.batch_alter_table("appointments") as batch:
        batch.drop_column("revision")
