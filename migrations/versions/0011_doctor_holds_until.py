"""Doctors' holds_until: no hold of the doctor's is live after it, so a booking reads the
holds table only when one can be. A trigger raises it on every hold written, whoever
writes it (a worker of the previous release during a rolling deploy too); created before
the backfill, whose lock on `holds` waits for holds being placed and holds off new ones
until this migration commits.

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

# Only ever raised: a hold released or expired leaves it where it was.
RAISE = """UPDATE doctors SET holds_until = NEW.expires_at
    WHERE id = NEW.doctor_id AND (holds_until IS NULL OR holds_until < NEW.expires_at)"""
EVENTS = {"insert": "INSERT", "update": "UPDATE OF doctor_id, expires_at"}
POSTGRES = [
    f"""CREATE FUNCTION holds_raise_holds_until() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN {RAISE}; RETURN NULL; END $$""",
    *(
        f"""CREATE TRIGGER holds_raise_holds_until_on_{name} AFTER {event} ON holds
        FOR EACH ROW EXECUTE FUNCTION holds_raise_holds_until()"""
        for name, event in EVENTS.items()
    ),
]
SQLITE = [
    f"""CREATE TRIGGER holds_raise_holds_until_on_{name} AFTER {event} ON holds
    BEGIN {RAISE}; END"""
    for name, event in EVENTS.items()
]


def upgrade() -> None:
    op.add_column("doctors", sa.Column("holds_until", sa.DateTime(timezone=True), nullable=True))
    for statement in POSTGRES if op.get_bind().dialect.name == "postgresql" else SQLITE:
        op.execute(statement)
    op.execute(
        "UPDATE doctors SET holds_until = "
        "(SELECT max(expires_at) FROM holds WHERE holds.doctor_id = doctors.id)"
    )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    table = " ON holds" if postgres else ""  # SQLite's DROP TRIGGER names no table
    for name in EVENTS:
        op.execute(f"DROP TRIGGER holds_raise_holds_until_on_{name}{table}")
    if postgres:
        op.execute("DROP FUNCTION holds_raise_holds_until()")
    with op.batch_alter_table("doctors") as batch:  # SQLite rebuilds the table
        batch.drop_column("holds_until")
