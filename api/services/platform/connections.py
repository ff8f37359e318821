"""The database connection: which engine, opening and closing it for the app's lifetime, and the one
kind of write transaction every writer uses (records.unit_of_work opens it)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from api.services.platform.engines import KeptConnectionSQLiteEngine
from api.services.platform.errors import Conflict
from models.tables import Organisation


class DatabaseUnavailable(RuntimeError):
    pass


def engine() -> Engine[Any]:
    engine: Engine[Any] = Organisation._meta.db
    return engine


def is_sqlite() -> bool:
    return isinstance(engine(), SQLiteEngine)


async def open() -> None:
    """Start the connection pool and prove the database answers; raise if it does not."""
    db = engine()
    try:
        if isinstance(db, PostgresEngine):
            await db.start_connection_pool()
        await db.run_ddl("SELECT 1")
        if isinstance(db, SQLiteEngine):
            # WAL lets readers carry on while one writer writes; it is kept in the file once set.
            await db.run_ddl("PRAGMA journal_mode=WAL")
    except Exception as error:
        raise DatabaseUnavailable(f"The database cannot be reached: {error}") from error


async def close() -> None:
    db = engine()
    if isinstance(db, PostgresEngine):
        await db.close_connection_pool()
    if isinstance(db, KeptConnectionSQLiteEngine):
        db.close_reader()


@asynccontextmanager
async def write_transaction() -> AsyncIterator[Any]:
    """One transaction for a read-then-write, writers one at a time. On SQLite it takes the write lock up
    front (BEGIN IMMEDIATE), so concurrent writers queue behind the busy timeout instead of failing at
    once; on PostgreSQL a transaction-level advisory lock does the same, so change-feed numbers follow
    commit order. A unique or foreign-key violation that slipped past the services' own checks is a 409."""
    db = engine()
    sqlite = isinstance(db, SQLiteEngine)
    transaction = db.transaction(transaction_type=TransactionType.immediate) if sqlite else db.transaction()
    try:
        async with transaction as t:
            if not sqlite:
                # Taken again inside a transaction that already holds it, it is simply held twice.
                await t.connection.execute("SELECT pg_advisory_xact_lock(7270)")
            yield t
    except (sqlite3.IntegrityError, asyncpg.exceptions.IntegrityConstraintViolationError) as error:
        # The services check for duplicates and references first, so this is a concurrent write that got in
        # between (two imports creating the same organisation): sent again, the request is checked afresh.
        raise Conflict(
            "The change conflicts with another record (a duplicate or a missing reference), most likely one written "
            "at the same time; send the request again.",
            headers={"Retry-After": "1"},
        ) from error
