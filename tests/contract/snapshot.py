"""The seeded database, kept aside and put back before each stateful scenario.

Hypothesis replays scenarios and expects the same data each time, so every scenario must start
from the same database. Restoring is plain SQL over a connection of its own, on either engine."""

from __future__ import annotations

import asyncio
import os
import sqlite3

import asyncpg

from api.settings import sqlite_path
from models.piccolo_app import APP_CONFIG

TABLES = [table._meta.tablename for table in APP_CONFIG.table_classes]


def _quoted(table: str, schema: str = "") -> str:
    return f'{schema}."{table}"' if schema else f'"{table}"'


def _sqlite(statements: list[str]) -> None:
    path = sqlite_path(os.environ["DATABASE_URL"])
    connection = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        connection.execute(f"ATTACH DATABASE '{path}.snapshot' AS snapshot")
        connection.execute("PRAGMA foreign_keys = OFF")
        connection.execute("BEGIN IMMEDIATE")
        for statement in statements:
            connection.execute(statement)
        connection.execute("COMMIT")
    finally:
        connection.close()


def _postgres(statements: list[str]) -> None:
    async def run() -> None:
        connection = await asyncpg.connect(os.environ["DATABASE_URL"])
        try:
            async with connection.transaction():
                # Foreign keys are not checked while the rows are copied back in one go.
                await connection.execute("SET LOCAL session_replication_role = replica")
                for statement in statements:
                    await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(run())


def _run(statements: list[str]) -> None:
    (_sqlite if os.environ["DATABASE_URL"].startswith("sqlite") else _postgres)(statements)


def take() -> None:
    if os.environ["DATABASE_URL"].startswith("sqlite"):
        path = sqlite_path(os.environ["DATABASE_URL"])
        if os.path.exists(f"{path}.snapshot"):
            os.remove(f"{path}.snapshot")
        _run([f"CREATE TABLE snapshot.{_quoted(t)} AS SELECT * FROM main.{_quoted(t)}" for t in TABLES])
    else:
        _run(
            ["DROP SCHEMA IF EXISTS snapshot CASCADE", "CREATE SCHEMA snapshot"]
            + [f"CREATE TABLE {_quoted(t, 'snapshot')} AS TABLE {_quoted(t, 'public')}" for t in TABLES]
        )


def restore() -> None:
    if os.environ["DATABASE_URL"].startswith("sqlite"):
        statements = [f"DELETE FROM main.{_quoted(t)}" for t in TABLES]
        statements += [f"INSERT INTO main.{_quoted(t)} SELECT * FROM snapshot.{_quoted(t)}" for t in TABLES]
    else:
        statements = ["TRUNCATE " + ", ".join(_quoted(t, "public") for t in TABLES)]
        statements += [f"INSERT INTO {_quoted(t, 'public')} SELECT * FROM {_quoted(t, 'snapshot')}" for t in TABLES]
    _run(statements)
