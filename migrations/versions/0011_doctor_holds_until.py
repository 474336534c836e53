"""Doctors' holds_until: no hold of the doctor's is live after it, so a booking reads the
holds table only when one can be; set from the holds there are.

Revision ID: 0011_doctor_holds_until
Revises: 0010_series_index
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_doctor_holds_until"
down_revision: str | None = "0010_series_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("doctors", sa.Column("holds_until", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE doctors SET holds_until = "
        "(SELECT max(expires_at) FROM holds WHERE holds.doctor_id = doctors.id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("doctors") as batch:  # SQLite rebuilds the table
        batch.drop_column("holds_until")
