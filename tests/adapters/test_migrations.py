"""Alembic migrations on empty SQLite and PostgreSQL databases."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

from appointments.adapters.sqlalchemy.engine import create_engine
from appointments.adapters.sqlalchemy.schema import metadata
from appointments.adapters.sqlalchemy.unit_of_work import SqlUnitOfWork
from appointments.domain.appointments import ACTIVE_STATUSES, Status
from appointments.domain.departments import Department
from appointments.entrypoints import migrations
from tests.adapters.conftest import REPOSITORY_ROOT, VENV_BIN, run, run_env

T = TypeVar("T")
SCHEMA_TABLES = set(metadata.tables)
EXCLUSION_CONSTRAINTS = """
    SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
    WHERE contype = 'x' AND conrelid = 'appointments'::regclass
"""


def heads(url: str) -> set[str]:
    return set(ScriptDirectory.from_config(migrations.alembic_config(url)).get_heads())


def revisions(url: str) -> list[str]:
    """Every revision, oldest first."""
    script = ScriptDirectory.from_config(migrations.alembic_config(url))
    return [r.revision for r in reversed(list(script.walk_revisions()))]


async def inspect_db(url: str, look: Callable[[Connection], T]) -> T:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(look)
    finally:
        await engine.dispose()


def table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


def schema_differences(connection: Connection) -> list[Any]:
    with warnings.catch_warnings():  # SQLite cannot reflect expression indexes: it says so
        warnings.simplefilter("ignore")
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


def appointment_columns(connection: Connection) -> set[str]:
    return {c["name"] for c in inspect(connection).get_columns("appointments")}


def appointment_indexes(connection: Connection) -> set[str]:
    return {str(i["name"]) for i in inspect(connection).get_indexes("appointments")}


def doctor_columns(connection: Connection) -> set[str]:
    return {c["name"] for c in inspect(connection).get_columns("doctors")}


# Revisions that add no table, and what each adds instead: the step-by-step walk looks
# for that.
ADDS_NO_TABLE: dict[str, tuple[Callable[[Connection], set[str]], str]] = {
    "0010_series_index": (appointment_indexes, "ix_appointments_series_id"),
    "0011_doctor_holds_until": (doctor_columns, "holds_until"),
}


async def upgrade(url: str) -> None:
    await asyncio.to_thread(migrations.upgrade, url)


async def test_upgrade_head_on_an_empty_database_twice(empty_database_url: str) -> None:
    url = empty_database_url
    assert heads(url)
    assert await migrations.pending_heads(url) == heads(url)
    assert await inspect_db(url, table_names) == set()

    await upgrade(url)
    assert await migrations.pending_heads(url) == set()
    assert await inspect_db(url, table_names) == SCHEMA_TABLES

    engine = create_engine(url)
    department = Department("Kept across upgrades")
    try:
        async with SqlUnitOfWork(engine) as uow:
            await uow.departments.add(department)
            await uow.commit()
        await upgrade(url)  # a no-op: nothing is recreated, nothing lost
        async with SqlUnitOfWork(engine) as uow:
            assert await uow.departments.get(department.id) == department
    finally:
        await engine.dispose()
    assert await migrations.pending_heads(url) == set()


async def test_migrated_schema_matches_the_tables_module(empty_database_url: str) -> None:
    """tables.py (what the code queries) and the migrations (what is deployed) agree."""
    await upgrade(empty_database_url)
    assert await inspect_db(empty_database_url, schema_differences) == []


async def test_downgrade_to_base_and_upgrade_again(empty_database_url: str) -> None:
    url = empty_database_url
    config = migrations.alembic_config(url)
    await upgrade(url)

    await asyncio.to_thread(command.downgrade, config, "base")
    assert await inspect_db(url, table_names) == set()
    assert await migrations.pending_heads(url) == heads(url)

    seen: set[str] = set()
    for revision in revisions(url):  # one step at a time, each adding tables (or an index)
        await asyncio.to_thread(command.upgrade, config, revision)
        now = await inspect_db(url, table_names)
        if revision in ADDS_NO_TABLE:
            look, added = ADDS_NO_TABLE[revision]
            assert added in await inspect_db(url, look), revision
            assert now == seen, revision
        else:
            assert now > seen, revision
        seen = now
    assert seen == SCHEMA_TABLES
    assert await migrations.pending_heads(url) == set()

    # Each downgrade takes away what its revision added.
    await asyncio.to_thread(command.downgrade, config, "0010_series_index")
    assert "holds_until" not in await inspect_db(url, doctor_columns)
    await asyncio.to_thread(command.downgrade, config, "0009_calendar_feeds")
    assert "ix_appointments_series_id" not in await inspect_db(url, appointment_indexes)
    assert "calendar_feeds" in await inspect_db(url, table_names)
    for revision, added in (
        ("0008_holds_waitlist", {"calendar_feeds"}),
        ("0007_outbox", {"holds", "waitlist_entries"}),
        ("0006_webhook_endpoints", {"outbox_messages", "deliveries"}),
        ("0005_audit_idempotency", {"webhook_endpoints"}),
        ("0004_services_rooms_policy", {"audit_events", "idempotency_keys"}),
        ("0003_appointments", {"services", "rooms", "booking_policy"}),
    ):
        await asyncio.to_thread(command.downgrade, config, revision)
        assert added.isdisjoint(await inspect_db(url, table_names)), revision
    assert "blocked_from" not in await inspect_db(url, appointment_columns)
    assert "revision" not in await inspect_db(url, appointment_columns)
    assert await migrations.pending_heads(url) == heads(url)
    await upgrade(url)
    assert await inspect_db(url, table_names) == SCHEMA_TABLES
    assert await migrations.pending_heads(url) == set()


async def test_postgres_schema_has_the_overlap_exclusion_constraints(
    empty_postgres_url: str,
) -> None:
    url = empty_postgres_url

    def constraints(connection: Connection) -> dict[str, str]:
        return {row[0]: row[1] for row in connection.execute(text(EXCLUSION_CONSTRAINTS))}

    await upgrade(url)
    found = await inspect_db(url, constraints)
    assert set(found) == {
        "ex_appointments_doctor_overlap",
        "ex_appointments_patient_overlap",
        "ex_appointments_room_overlap",
    }
    # The doctor's time is the blocked span (buffers included); patient and room: the
    # appointment's own span.
    spans = {"doctor": "blocked_from, blocked_until", "patient": "starts_at, ends_at"}
    spans["room"] = spans["patient"]
    for party, span in spans.items():
        definition = found[f"ex_appointments_{party}_overlap"]
        assert definition.startswith(
            f"EXCLUDE USING gist ({party}_id WITH =, tstzrange({span}, '[)'::text) WITH &&)"
        ), definition
        for status in Status:
            assert (f"'{status}'" in definition) == (status in ACTIVE_STATUSES), status
    assert "room_id IS NOT NULL" in found["ex_appointments_room_overlap"]

    config = migrations.alembic_config(url)
    # 0004 added the room constraint and widened the doctor's to the blocked span: its
    # downgrade takes them back and its upgrade puts them again.
    await asyncio.to_thread(command.downgrade, config, "0003_appointments")
    before_rooms = await inspect_db(url, constraints)
    assert set(before_rooms) == set(found) - {"ex_appointments_room_overlap"}
    assert "blocked_from" not in before_rooms["ex_appointments_doctor_overlap"]
    await upgrade(url)
    assert await inspect_db(url, constraints) == found


async def test_alembic_console_command_from_the_repository_root(empty_sqlite_url: str) -> None:
    for attempt in (1, 2):
        result = await run(
            [str(VENV_BIN / "alembic"), "upgrade", "head"],
            env=run_env(empty_sqlite_url),
            cwd=REPOSITORY_ROOT,
            timeout=120,
        )
        assert result.returncode == 0, (attempt, result.stdout, result.stderr)
    assert await migrations.pending_heads(empty_sqlite_url) == set()
    assert await inspect_db(empty_sqlite_url, table_names) == SCHEMA_TABLES
