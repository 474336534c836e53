"""What every SQL repository shares: rows to entities and back, paging, add/get/save."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import Field, fields
from typing import Any, ClassVar, Generic, Protocol, TypeVar
from uuid import UUID

from sqlalchemy import (
    Insert,
    Row,
    Select,
    Table,
    Update,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from appointments.adapters.sqlalchemy.database import Database
from appointments.application.ports.queries import PageRequest


class Dataclass(Protocol):
    """Any dataclass (instance or class): what `dataclasses.fields` accepts."""

    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]


E = TypeVar("E", bound=Dataclass)


@functools.cache
def field_names(cls: type[Dataclass]) -> tuple[str, ...]:
    """An entity class's field names, looked up once (a list maps every row with them)."""
    return tuple(f.name for f in fields(cls))


def values_of(entity: Dataclass) -> dict[str, Any]:
    """An entity as column values: field names are column names (enums bind as strings)."""
    return {name: getattr(entity, name) for name in field_names(type(entity))}


def entity_from(cls: type[E], row: Row[Any], **converted: Any) -> E:
    """A row as an entity of `cls`, taking the columns named like its fields."""
    mapping = row._mapping
    return cls(
        **{name: mapping[name] for name in field_names(cls) if name not in converted},
        **converted,
    )


def upsert(db: Database | str, table: Table) -> PgInsert | SqliteInsert:
    """An INSERT that can take ON CONFLICT, in the database's own dialect (or the one
    named, for a statement built once per dialect)."""
    dialect = db if isinstance(db, str) else db.dialect_name
    return (pg_insert if dialect == "postgresql" else sqlite_insert)(table)


@functools.cache
def inserting(table: Table) -> Insert:
    """INSERT INTO table, its values given at execution (built once)."""
    return insert(table)


@functools.cache
def one_row(table: Table, columns: tuple[str, ...], prefix: str = "") -> Insert:
    """INSERT of one row into `table`, each column bound as `prefix` + its name (built
    once per set of columns)."""
    return insert(table).values({c: bindparam(prefix + c, type_=table.c[c].type) for c in columns})


@functools.cache
def by_id(table: Table, lock: str | None = None) -> Select[Any]:
    """Built once per table (and lock mode: "update" or "no key update"): statement
    construction is a fair share of a small request."""
    query = select(table).where(table.c.id == bindparam("id"))
    return query if lock is None else query.with_for_update(key_share=lock == "no key update")


@functools.cache
def updating(table: Table) -> Update:
    """UPDATE table ... WHERE id = :where_id, the columns set given at execution with
    `where_id` (built once)."""
    return update(table).where(table.c.id == bindparam("where_id"))


class SqlRepository:
    __slots__ = ("_db",)

    def __init__(self, db: Database) -> None:
        self._db = db

    async def _page(
        self, query: Select[Any], order: list[Any], page: PageRequest
    ) -> tuple[list[Row[Any]], int]:
        """The page of `query` in `order`, and its exact total (see `_built_page`)."""
        return await self._built_page(
            query.order_by(*order).limit(page.limit).offset(page.offset),
            lambda: select(func.count()).select_from(query.subquery()),
            {},
            page,
        )

    async def _built_page(
        self,
        statement: Select[Any],
        count: Callable[[], Select[Any]],
        values: dict[str, Any],
        page: PageRequest,
    ) -> tuple[list[Row[Any]], int]:
        """The page `statement` selects, and its exact total: a page that is not full (and
        not past the end) ends the list, so its total is known without counting (a
        doctor's week, most searches); only a full page pays for the `count` (an index
        scan when unfiltered). `values` bind both."""
        rows = list(await self._db.execute(statement, values))
        if len(rows) < page.limit and (rows or page.offset == 0):
            return rows, page.offset + len(rows)
        total = await self._db.execute(count(), values)
        return rows, int(total.scalar_one())


class SqlEntityRepository(SqlRepository, Generic[E]):
    """add / get / save for an entity stored as one row of `table` (keyed by `id`)."""

    table: ClassVar[Table]
    # Row lock taken by get(lock=True): "update" for rows a transaction will change;
    # otherwise "no key update": exclusive among the writers that take it (the parties a
    # placement queues on, application/booking.py; a user whose password is replaced),
    # yet a foreign key check (key share) never waits for it.
    lock_mode: ClassVar[str] = "no key update"

    @staticmethod
    def _from_row(row: Row[Any]) -> E:
        raise NotImplementedError

    async def add(self, entity: E) -> None:
        await self._db.execute(inserting(self.table), values_of(entity))

    async def get(self, entity_id: UUID, *, lock: bool = False) -> E | None:
        query = by_id(self.table, self.lock_mode if lock else None)
        row = (await self._db.execute(query, {"id": entity_id})).first()
        return self._from_row(row) if row else None

    async def save(self, entity: E) -> None:
        values = values_of(entity)
        await self._db.execute(updating(self.table), {**values, "where_id": values["id"]})
