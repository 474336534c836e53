"""What a commit writes besides the change: its audit rows and its outbox messages.

On PostgreSQL both go in one statement (a data-modifying CTE): a booking has one of each,
and a round trip saved is a tenth of a booking's. SQLite takes no INSERT inside a WITH,
so there they are two statements, each one multi-row INSERT."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Insert, bindparam, insert

from appointments.adapters.sqlalchemy.database import Database
from appointments.adapters.sqlalchemy.repositories.outbox import message_row
from appointments.adapters.sqlalchemy.tables import audit_events, outbox_messages
from appointments.application.outbox import OutboxMessage


@functools.cache
def _one_of_each(audit_columns: tuple[str, ...], message_columns: tuple[str, ...]) -> Insert:
    """One audit row and one outbox message in one statement, built once: the usual
    change (a booking) records exactly that, and compiling the statement anew each time
    cost more than running it."""
    recorded = (
        insert(audit_events)
        .values({c: bindparam(f"audit_{c}", type_=audit_events.c[c].type) for c in audit_columns})
        .cte("recorded")
    )
    message = {
        c: bindparam(f"message_{c}", type_=outbox_messages.c[c].type) for c in message_columns
    }
    return insert(outbox_messages).values(message).add_cte(recorded)


async def write_records(
    db: Database, audit_rows: Sequence[dict[str, Any]], messages: Sequence[OutboxMessage]
) -> None:
    rows = [message_row(m) for m in messages]
    if db.dialect_name == "postgresql" and len(audit_rows) == len(rows) == 1:
        [audit], [message] = audit_rows, rows
        statement = _one_of_each(tuple(audit), tuple(message))
        values = {f"audit_{c}": v for c, v in audit.items()}
        values.update((f"message_{c}", v) for c, v in message.items())
        await db.execute(statement, values)
        return
    if db.dialect_name == "postgresql" and audit_rows and rows:
        recorded = insert(audit_events).values(list(audit_rows)).cte("recorded")
        await db.execute(insert(outbox_messages).values(rows).add_cte(recorded))
        return
    if audit_rows:
        await db.execute(insert(audit_events), list(audit_rows))
    if rows:
        await db.execute(insert(outbox_messages), rows)
