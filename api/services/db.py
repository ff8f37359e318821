"""The database as services see it: the engine, write transactions, and what the engine can do."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from piccolo.columns import Column
from piccolo.custom_types import Combinable
from piccolo.engine.base import Engine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from api.services.errors import Conflict
from models.tables import Organisation


def engine() -> Engine[Any]:
    engine: Engine[Any] = Organisation._meta.db
    return engine


def is_sqlite() -> bool:
    return isinstance(engine(), SQLiteEngine)


@asynccontextmanager
async def write_transaction() -> AsyncIterator[Any]:
    """One transaction for a read-then-write. On SQLite it takes the write lock up front (BEGIN
    IMMEDIATE), so concurrent writers queue behind the busy timeout instead of failing at once; on
    PostgreSQL a transaction-level advisory lock does the same.
    A unique or foreign-key violation that slipped past the services' own checks is a 409."""
    db = engine()
    transaction = (
        db.transaction(transaction_type=TransactionType.immediate) if isinstance(db, SQLiteEngine) else db.transaction()
    )
    outermost = db.current_transaction.get() is None
    try:
        async with transaction as t:
            if outermost and not isinstance(db, SQLiteEngine):
                # One writer at a time, as on SQLite: change-feed numbers then follow commit order.
                await t.connection.execute("SELECT pg_advisory_xact_lock(7270)")
            yield t
    except (sqlite3.IntegrityError, asyncpg.exceptions.IntegrityConstraintViolationError) as error:
        raise Conflict("The change conflicts with another record (a duplicate or a missing reference).") from error


def contains(column: Column, text: str) -> Combinable:
    """Case-insensitive substring match: ILIKE on PostgreSQL; SQLite's LIKE already ignores ASCII case.
    SQLite's LIKE has no default escape character, so there `%` and `_` in the text stay wildcards."""
    if is_sqlite():
        return column.like(f"%{text}%")
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%")
