"""Hand-written SQL, one idiom for both engines: a `Statement` compiled once, `{in}` for membership of a
list (`listed`), `insert_rows` for many rows at once, `contains` for a substring; for SQL put
together per request from parts, `sql`, `join`, `is_in` (the same membership as `{in}`), `all_of` and
`where`; and `stream` for a read whose rows are sent on as they come (a download)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import msgspec
from piccolo.columns import JSON, Column, Serial
from piccolo.columns.defaults.base import Default
from piccolo.custom_types import Combinable
from piccolo.engine.sqlite import SQLiteEngine, dict_factory
from piccolo.querystring import QueryString
from piccolo.table import Table

from api.services.platform.connections import engine, is_sqlite

Row = dict[str, Any]


class Statement:
    """SQL written once, with `{}` for each value and `{in}` for membership of a list, compiled for the engine
    on first use and then sent as it is. On the hot reads Piccolo building a query afresh cost more than
    the database answering it (bench/results/2026-11-26-findings.md); a Statement still goes through the
    engine's `run_querystring`, so transactions, read replicas and the kept SQLite reader all apply.

    `column {in}` takes a list as one parameter, however long (pass it through `listed`): an array on
    PostgreSQL (`= ANY($n)`), a JSON array on SQLite (`IN (SELECT value FROM json_each(?))`), so each
    statement has one text to prepare and the database one plan to keep."""

    IN = {"postgres": "= ANY({})", "sqlite": "IN (SELECT value FROM json_each({}))"}

    def __init__(self, template: str) -> None:
        self.template = template
        self._compiled: dict[str, str] = {}
        # A read goes where reads go (a replica, the kept SQLite reader); anything else is a write.
        self._query_type = "select" if template.split(None, 1)[0].upper() in ("SELECT", "WITH") else "generic"

    def _sql(self, engine_type: str) -> str:
        sql = self._compiled.get(engine_type)
        if sql is None:
            template = self.template.replace("{in}", self.IN["sqlite" if engine_type == "sqlite" else "postgres"])
            placeholders = template.count("{}")
            sql, _ = QueryString(template, *([None] * placeholders)).compile_string(engine_type)
            self._compiled[engine_type] = sql
        return sql

    async def records(self, *args: Any) -> Sequence[Mapping[str, Any]]:
        """The rows as the driver gives them, to read by column name: asyncpg's Records, SQLite's dicts.
        Copying a Record into a dict costs more than reading it: a tenth of an import was those copies."""
        db = engine()
        query = QueryString("", query_type=self._query_type)
        query._frozen_compiled_strings = (self._sql(db.engine_type), list(args))
        rows: Sequence[Mapping[str, Any]] = await db.run_querystring(query)
        return rows

    async def rows(self, *args: Any) -> list[Row]:
        """The rows, as dicts of their own."""
        rows = await self.records(*args)
        return [row if isinstance(row, dict) else dict(row) for row in rows]

    async def execute(self, *args: Any) -> None:
        """Run a statement that returns no rows (a DELETE)."""
        await self.records(*args)

    async def run_many(self, rows: Sequence[Sequence[Any]]) -> None:
        """The statement once per row of values, in one round trip, inside the current write transaction."""
        db = engine()
        transaction = db.current_transaction.get()
        if transaction is None:
            raise RuntimeError("run_many writes inside a write transaction")
        if rows:
            await transaction.connection.executemany(self._sql(db.engine_type), rows)


@dataclass(frozen=True)
class _Insert:
    """How rows go into one table: the statement, and each column's name, default and conversion."""

    statement: Statement
    table: str
    db_columns: list[str]
    columns: list[str]
    names: frozenset[str]
    defaults: list[Callable[[], Any]]
    json: list[int]  # the positions of JSON columns
    get: Callable[[Mapping[str, Any]], Any]  # every column's value, from a row that has them all

    @classmethod
    def of(cls, table: type[Table]) -> _Insert:
        columns = [c for c in table._meta.columns if not isinstance(c, Serial)]
        names = [c._meta.db_column_name for c in columns]
        quoted = ", ".join(f'"{name}"' for name in names)
        marks = ", ".join("{}" for _ in columns)
        return cls(
            Statement(f'INSERT INTO "{table._meta.tablename}" ({quoted}) VALUES ({marks})'),
            table._meta.tablename,
            names,
            [c._meta.name for c in columns],
            frozenset(c._meta.name for c in columns),
            [_default(c) for c in columns],
            [index for index, c in enumerate(columns) if isinstance(c, JSON)],
            itemgetter(*(c._meta.name for c in columns)),
        )

    def values(self, row: Mapping[str, Any]) -> list[Any]:
        if row.keys() >= self.names:
            out = list(self.get(row)) if len(self.columns) > 1 else [self.get(row)]
        else:
            out = [
                row[name] if name in row else default()
                for name, default in zip(self.columns, self.defaults, strict=True)
            ]
        for index in self.json:
            value = out[index]
            if value is not None and not isinstance(value, str):
                out[index] = msgspec.json.encode(value).decode()
        return out


_inserts: dict[type[Table], _Insert] = {}
COPY_FROM = 100  # rows


async def insert_rows(table: type[Table], rows: Sequence[Mapping[str, Any]]) -> None:
    """Rows (column name to value; a column left out takes its default) into a table, inside the current
    write transaction: by COPY on PostgreSQL, by one INSERT run once per row on SQLite. Piccolo's bulk
    insert builds one statement value by value, and its `Table` objects cost as much again: together
    half a 360Giving import's time (bench/results). Columns a database sequence numbers (`Serial`) are
    left to it, in the order of the rows."""
    if not rows:
        return
    insert = _inserts.get(table) or _inserts.setdefault(table, _Insert.of(table))
    values = [insert.values(row) for row in rows]
    db = engine()
    # COPY first asks the server for the table's column types: a round trip a few rows do not repay.
    if isinstance(db, SQLiteEngine) or len(values) < COPY_FROM:
        await insert.statement.run_many(values)
        return
    transaction = db.current_transaction.get()
    if transaction is None:
        raise RuntimeError("insert_rows writes inside a write transaction")
    await transaction.connection.copy_records_to_table(insert.table, records=values, columns=insert.db_columns)


def _default(column: Column) -> Callable[[], Any]:
    """What a column left out of a row is given, as Piccolo gives it: made afresh for each row when the
    default is made (a new UUID, the time now), else the one value."""
    default = column.get_default_value()
    if isinstance(default, Default):
        return default.python
    if default is None and not column._meta.null:
        name = column._meta.name

        def missing() -> Any:
            raise ValueError(f"{name} was not given")

        return missing
    return lambda: default


def listed(values: Iterable[Any]) -> Any:
    """Values (ids, slugs, codes) as the one parameter a Statement's `{in}` takes."""
    if is_sqlite():
        return msgspec.json.encode([str(value) for value in values]).decode()
    return list(values)


# SQL put together from parts --------------------------------------------------------------------------------


def sql(template: str, *args: Any) -> QueryString:
    """SQL with `{}` for each value or part (another `sql`), as Piccolo's QueryString puts them together."""
    return QueryString(template, *args)


def join(parts: Sequence[QueryString], separator: str) -> QueryString:
    """The parts one after another, with the separator (`, `, ` UNION ALL `) between them."""
    return QueryString(separator.join("{}" for _ in parts), *parts)


def is_in(column: str, values: Iterable[Any]) -> QueryString:
    """`column` is one of the values: the membership a Statement's `{in}` compiles to, with the list as its
    one parameter (`listed`), however long. On SQLite the values are compared as text, as its UUIDs are kept."""
    return sql(f"{column} {Statement.IN['sqlite' if is_sqlite() else 'postgres']}", listed(values))


def all_of(conditions: Sequence[QueryString]) -> QueryString:
    """The conditions joined with AND; `1 = 1` (everything) when there are none."""
    return join(conditions, " AND ") if conditions else sql("1 = 1")


def where(conditions: Sequence[QueryString]) -> QueryString:
    """` WHERE` and the conditions joined with AND, to follow a FROM; nothing when there are none."""
    return sql(" WHERE {}", all_of(conditions)) if conditions else sql("")


def contains(column: Column, text: str) -> Combinable:
    """Case-insensitive substring match: ILIKE on PostgreSQL; SQLite's LIKE already ignores ASCII case.
    SQLite's LIKE has no default escape character, so there `%` and `_` in the text stay wildcards."""
    if is_sqlite():
        return column.like(f"%{text}%")
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%")


# Rows a download reads per round trip: enough that the round trips cost little, few enough that a
# chunk of links (about 200 bytes each as rows) stays well under a megabyte.
STREAM_CHUNK = 2_000


async def stream(query: QueryString, size: int | None = None) -> AsyncIterator[list[Mapping[str, Any]]]:
    """A read's rows a chunk at a time, from a database cursor of its own, so that the process holds one
    chunk however many rows there are (the database sorts and groups in its own memory and temporary
    files). PostgreSQL: a server-side cursor in a read-only transaction on a connection of the pool.
    SQLite: a read-only connection of its own, fetched from in a thread (the kept reader must not hold
    one statement open across other requests' reads: they would share its snapshot). Not for use inside
    a write transaction, whose uncommitted rows it would not see."""
    size = size or STREAM_CHUNK
    db = engine()
    text, args = query.compile_string(engine_type=db.engine_type)
    if isinstance(db, SQLiteEngine):
        options = {**db.connection_kwargs, "isolation_level": None, "check_same_thread": False}
        connection = sqlite3.connect(**options)
        try:
            connection.execute("PRAGMA query_only = 1")
            connection.row_factory = dict_factory
            cursor = await asyncio.to_thread(connection.execute, text, args)
            while rows := await asyncio.to_thread(cursor.fetchmany, size):
                yield rows
        finally:
            connection.close()
        return
    async with _postgres_connection(db) as connection, connection.transaction(readonly=True):
        cursor = await connection.cursor(text, *args)
        while rows := await cursor.fetch(size):
            yield rows


@asynccontextmanager
async def _postgres_connection(db: Any) -> AsyncIterator[Any]:
    """A connection from the pool, or one of its own when there is no pool (a command, not the app)."""
    if db.pool is not None:
        async with db.pool.acquire() as connection:
            yield connection
        return
    import asyncpg

    connection = await asyncpg.connect(**db.config)
    try:
        yield connection
    finally:
        await connection.close()
