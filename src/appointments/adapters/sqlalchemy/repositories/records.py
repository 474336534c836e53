"""What a commit writes besides the change: its audit rows and its outbox messages.

On PostgreSQL both go in one statement (a data-modifying CTE), with the change's own row
when it was left for the commit (Database.insert_later): a booking has one of each, and
every round trip saved is a tenth of a booking's. SQLite takes no INSERT inside a WITH,
so there they are separate statements, each one multi-row INSERT."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Insert, Table, bindparam, insert

from appointments.adapters.sqlalchemy.database import Database
from appointments.adapters.sqlalchemy.repositories.outbox import message_row
from appointments.adapters.sqlalchemy.tables import audit_events, outbox_messages
from appointments.application.outbox import OutboxMessage


def _row_of(table: Table, columns: tuple[str, ...], prefix: str) -> Insert:
    """INSERT of one row into `table`, each column bound as `prefix` + its name."""
    return insert(table).values({c: bindparam(prefix + c, type_=table.c[c].type) for c in columns})


@functools.cache
def _one_of_each(
    audit_columns: tuple[str, ...],
    message_columns: tuple[str, ...],
    written: tuple[Table, tuple[str, ...]] | None,
) -> Insert:
    """One audit row and one outbox message, and the change's row if `written`, in one
    statement, built once: the usual change (a booking) is exactly that, and compiling
    the statement anew each time cost more than running it."""
    statement = _row_of(outbox_messages, message_columns, "message_").add_cte(
        _row_of(audit_events, audit_columns, "audit_").cte("recorded")
    )
    if written is not None:
        table, columns = written
        statement = statement.add_cte(_row_of(table, columns, "written_").cte("written"))
    return statement


async def write_records(
    db: Database, audit_rows: Sequence[dict[str, Any]], messages: Sequence[OutboxMessage]
) -> None:
    rows = [message_row(m) for m in messages]
    if db.dialect_name == "postgresql" and len(audit_rows) == len(rows) == 1:
        [audit], [message] = audit_rows, rows
        values = {f"audit_{c}": v for c, v in audit.items()}
        values.update((f"message_{c}", v) for c, v in message.items())
        later = db.take_later()
        written = None
        if later is not None:
            table, row = later
            written = (table, tuple(row))
            values.update((f"written_{c}", v) for c, v in row.items())
        await db.execute(_one_of_each(tuple(audit), tuple(message), written), values)
        return
    if db.dialect_name == "postgresql" and audit_rows and rows:
        recorded = insert(audit_events).values(list(audit_rows)).cte("recorded")
        await db.execute(insert(outbox_messages).values(rows).add_cte(recorded))
        return
    if audit_rows:
        await db.execute(insert(audit_events), list(audit_rows))
    if rows:
        await db.execute(insert(outbox_messages), rows)
