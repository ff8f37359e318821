"""Piccolo's engines, adapted to how Placenet reads.

- SQLite: Piccolo opens a new aiosqlite connection (and thread) for every query outside a transaction,
  which was 88% of a worker's time on a single read (bench/results/2026-11-26-findings.md). Reads here
  go to one kept sqlite3 connection per process instead; writes and transactions are Piccolo's own.
- PostgreSQL: with read replicas, reads that may lag go to a replica (round robin); writes, anything in a
  transaction, and the reads of a client that has just written stay on the primary.
"""

from __future__ import annotations

import itertools
import logging
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import asyncpg
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, dict_factory
from piccolo.querystring import QueryString

log = logging.getLogger("placenet.database")
RETRY_SECONDS = 10.0

# What a lost, refused or shutting-down database connection raises, from asyncpg or the socket beneath it.
CONNECTION_ERRORS: tuple[type[Exception], ...] = (
    ConnectionError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    # A connection cut mid-query can leave asyncpg's protocol in a state it refuses to leave ("cannot
    # switch to state ..."); seen when the primary stops under load. The pool replaces the connection.
    asyncpg.exceptions.InternalClientError,
)
# A replica may also be unresolvable or refuse at the socket; the primary then answers instead.
REPLICA_ERRORS: tuple[type[Exception], ...] = (OSError, *CONNECTION_ERRORS)

# Set per request by api.http.routing: whether this request's reads may be served by a replica.
reads_may_lag: ContextVar[bool] = ContextVar("reads_may_lag", default=False)
# The replica this request reads from, once it has read: every read of one request goes to the same
# replica, so a page's keyset query and the rows it names see the same moment.
_request_replica: ContextVar[list[Any] | None] = ContextVar("request_replica", default=None)


@contextmanager
def lagging_reads_allowed(allowed: bool = True) -> Iterator[None]:
    token = reads_may_lag.set(allowed)
    replica = _request_replica.set([None])
    try:
        yield
    finally:
        _request_replica.reset(replica)
        reads_may_lag.reset(token)


def _is_read(query: str, query_type: str) -> bool:
    """A SELECT outside a transaction. Piccolo marks its own selects; raw SQL is judged by its first word."""
    if query_type == "select":
        return True
    first = query.lstrip()[:6].upper()
    return first == "SELECT" or first.startswith("WITH")


class KeptConnectionSQLiteEngine(SQLiteEngine):
    """Reads outside a transaction run on one sqlite3 connection kept for the life of the process, opened
    read-only (`query_only`), so no write can ever wait on the lock there. In WAL mode readers never wait
    for the writer, so a read is a few microseconds of CPU and runs directly on the event loop; every
    statement is its own snapshot (autocommit), so each read sees every committed write."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._reader: sqlite3.Connection | None = None
        self._reader_pid = 0

    def _kept_reader(self) -> sqlite3.Connection:
        # Per process: a connection must never cross a fork into a worker.
        if self._reader is None or self._reader_pid != os.getpid():
            options = {**self.connection_kwargs, "isolation_level": None, "check_same_thread": False}
            connection = sqlite3.connect(**options, cached_statements=512)
            connection.execute("PRAGMA query_only = 1")
            connection.row_factory = dict_factory
            self._reader, self._reader_pid = connection, os.getpid()
        return self._reader

    def close_reader(self) -> None:
        if self._reader is not None and self._reader_pid == os.getpid():
            self._reader.close()
        self._reader = None

    async def _run_in_new_connection(
        self, query: str, args: list[Any] | None = None, query_type: str = "generic", table: Any = None
    ) -> Any:
        if not _is_read(query, query_type):
            return await super()._run_in_new_connection(query, args, query_type, table)
        return self._kept_reader().execute(query, args or []).fetchall()


def connection_config(dsn: str) -> dict[str, Any]:
    """Every connection the service opens. JIT compilation is off: it cost the network of London 2.2 s
    of its 6.6 s of SQL at 1M grants and never paid for itself on these statements
    (bench/results/2026-11-26-scale-findings.md)."""
    return {"dsn": dsn, "server_settings": {"jit": "off"}}


class ReplicaRoutingPostgresEngine(PostgresEngine):
    """The primary, with its replicas as Piccolo `extra_nodes`. A read goes to a replica when the request
    allows lag (`reads_may_lag`) and no transaction is open; a replica that cannot be reached is skipped
    for that read and the primary answers, so a replica failing never fails a request."""

    def __init__(self, dsn: str, replica_urls: tuple[str, ...] = (), **kwargs: Any) -> None:
        replicas = {f"replica{i}": PostgresEngine(config=connection_config(url)) for i, url in enumerate(replica_urls)}
        super().__init__(config=connection_config(dsn), extra_nodes=replicas, **kwargs)
        self._next_replica = itertools.cycle(list(replicas.values()) or [None])
        self._pool_attempts: dict[int, float] = {}

    async def run_querystring(self, querystring: QueryString, in_pool: bool = True) -> Any:
        if self.extra_nodes and reads_may_lag.get() and self.current_transaction.get() is None:
            query, _ = querystring.compile_string(engine_type=self.engine_type)
            replica = self._replica_for_request()
            if replica is not None and _is_read(query, querystring.query_type) and await self._has_pool(replica):
                try:
                    return await replica.run_querystring(querystring, in_pool=in_pool)
                except REPLICA_ERRORS as error:
                    log.warning("replica unavailable, reading from the primary: %s", error)
        return await super().run_querystring(querystring, in_pool=in_pool)

    def _replica_for_request(self) -> PostgresEngine | None:
        chosen = _request_replica.get()
        if chosen is None:
            return next(self._next_replica)
        if chosen[0] is None:
            chosen[0] = next(self._next_replica)
        replica: PostgresEngine | None = chosen[0]
        return replica

    async def _has_pool(self, replica: PostgresEngine) -> bool:
        """A replica that was down when the pool opened is tried again at most every RETRY_SECONDS."""
        if replica.pool is None and time.monotonic() - self._pool_attempts.get(id(replica), -1e9) > RETRY_SECONDS:
            await self._start_replica(replica)
        return replica.pool is not None

    async def _start_replica(self, replica: PostgresEngine) -> None:
        self._pool_attempts[id(replica)] = time.monotonic()
        try:
            await replica.start_connection_pool()
        except (OSError, asyncpg.exceptions.PostgresError) as error:
            log.warning("replica pool not started, reads go to the primary for now: %s", error)

    async def start_connection_pool(self, **kwargs: Any) -> None:
        await super().start_connection_pool(**kwargs)
        for replica in self.extra_nodes.values():
            await self._start_replica(replica)

    async def close_connection_pool(self) -> None:
        for replica in self.extra_nodes.values():
            if replica.pool is not None:
                await replica.close_connection_pool()
        self._pool_attempts.clear()
        await super().close_connection_pool()
