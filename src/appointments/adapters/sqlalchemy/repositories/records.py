"""What a commit writes besides the change: its audit rows and its outbox messages.

On PostgreSQL they go in one statement (a data-modifying CTE), with the change's own
write when it was left for the commit (Database.later): a booking has one of each and
its row, and every round trip saved is a tenth of a booking's. SQLite takes no INSERT inside a WITH,
so there they are separate statements, each one multi-row INSERT."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Insert, UpdateBase, insert

from appointments.adapters.sqlalchemy.database import Database
from appointments.adapters.sqlalchemy.repositories.base import one_row
from appointments.adapters.sqlalchemy.repositories.outbox import message_row
from appointments.adapters.sqlalchemy.tables import audit_events, outbox_messages
from appointments.application.outbox import OutboxMessage


@functools.cache
def _one_statement(
    audit_columns: tuple[str, ...],
    message_columns: tuple[str, ...] | None,
    later: UpdateBase | None,
) -> Insert:
    """One audit row, and one outbox message and the change's own write if there are,
    in one statement, built once: the usual change (a booking, a login) is exactly that,
    and compiling the statement anew each time cost more than running it."""
    audit = one_row(audit_events, audit_columns, "audit_")
    statement = audit
    if message_columns is not None:
        statement = one_row(outbox_messages, message_columns, "message_")
        statement = statement.add_cte(audit.cte("recorded"))
    if later is not None:
        statement = statement.add_cte(later.cte("later"))
    return statement


async def write_records(
    db: Database, audit_rows: Sequence[dict[str, Any]], messages: Sequence[OutboxMessage]
) -> None:
    rows = [message_row(m) for m in messages]
    if db.dialect_name == "postgresql" and len(audit_rows) == 1 and len(rows) <= 1:
        [audit] = audit_rows
        values = {f"audit_{c}": v for c, v in audit.items()}
        message_columns = None
        if rows:
            [message] = rows
            message_columns = tuple(message)
            values.update((f"message_{c}", v) for c, v in message.items())
        later = db.take_later()
        if later is not None:
            values.update(later[1])
        statement = _one_statement(tuple(audit), message_columns, later and later[0])
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
