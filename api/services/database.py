"""Opening and closing the database for the app's lifetime."""

from __future__ import annotations

from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine

from api.engines import KeptConnectionSQLiteEngine
from api.services.db import engine


class DatabaseUnavailable(RuntimeError):
    pass


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
