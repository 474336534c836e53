"""What a commit writes besides the change: its audit rows and its outbox messages.

On PostgreSQL both go in one statement (a data-modifying CTE): a booking has one of each,
and a round trip saved is a tenth of a booking's. SQLite takes no INSERT inside a WITH,
so there they are two statements, each one multi-row INSERT."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert

from appointments.adapters.sqlalchemy.database import Database
from appointments.adapters.sqlalchemy.repositories.outbox import message_row
from appointments.adapters.sqlalchemy.tables import audit_events, outbox_messages
from appointments.application.outbox import OutboxMessage


async def write_records(
    db: Database, audit_rows: Sequence[dict[str, Any]], messages: Sequence[OutboxMessage]
) -> None:
    rows = [message_row(m) for m in messages]
    if db.dialect_name == "postgresql" and audit_rows and rows:
        recorded = insert(audit_events).values(list(audit_rows)).cte("recorded")
        await db.execute(insert(outbox_messages).values(rows).add_cte(recorded))
        return
    if audit_rows:
        await db.execute(insert(audit_events), list(audit_rows))
    if rows:
        await db.execute(insert(outbox_messages), rows)
