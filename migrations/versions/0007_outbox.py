"""The transactional outbox and its deliveries (webhooks and patient email).

Revision ID: 0007_outbox
Revises: 0006_webhook_endpoints
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from appointments.adapters.sqlalchemy.types import UTCDateTime

revision: str = "0007_outbox"
down_revision: str | None = "0006_webhook_endpoints"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNPLANNED = sa.text("planned_at IS NULL")
PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(50), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("appointment_id", sa.Uuid(), nullable=True),
        sa.Column("starts_at", UTCDateTime(), nullable=True),
        sa.Column("planned_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outbox_messages"),
    )
    op.create_index(
        "ix_outbox_messages_unplanned",
        "outbox_messages",
        ["occurred_at"],
        postgresql_where=UNPLANNED,
        sqlite_where=UNPLANNED,
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(50), nullable=False),
        sa.Column("endpoint_id", sa.Uuid(), nullable=True),
        sa.Column("appointment_id", sa.Uuid(), nullable=True),
        sa.Column("email_key", sa.String(30), nullable=True),
        sa.Column("starts_at", UTCDateTime(), nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("claim_token", sa.Uuid(), nullable=True),
        sa.Column("claimed_until", UTCDateTime(), nullable=True),
        sa.CheckConstraint("channel IN ('webhook', 'email')", name="ck_deliveries_channel"),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered', 'failed', 'skipped')", name="ck_deliveries_status"
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["outbox_messages.id"], name="fk_deliveries_event_id_outbox_messages"
        ),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["webhook_endpoints.id"],
            name="fk_deliveries_endpoint_id_webhook_endpoints",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_deliveries"),
        sa.UniqueConstraint("appointment_id", "email_key", "starts_at", name="uq_deliveries_email"),
    )
    op.create_index(
        "ix_deliveries_due",
        "deliveries",
        ["next_attempt_at"],
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )
    op.create_index(
        "ix_deliveries_endpoint_id_created_at", "deliveries", ["endpoint_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_table("deliveries")
    op.drop_table("outbox_messages")
