"""One frozen settings object read from the environment, and the database engine it implies."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from piccolo.engine.base import Engine

from api.services.platform.engines import KeptConnectionSQLiteEngine, ReplicaRoutingPostgresEngine

DEFAULT_DATABASE_URL = "sqlite:///placenet.sqlite3"


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = 8000
    # Read replicas of the PostgreSQL primary; reads that may lag are spread over them.
    replica_urls: tuple[str, ...] = ()
    # Rate limits, idempotency keys and read-your-writes markers are shared here when set (the
    # database otherwise), so every worker process behaves as one.
    redis_url: str = ""
    redis_prefix: str = "placenet:"
    # Requests per client per window, such as "600/minute"; empty means no limit.
    rate_limit: str = ""
    # After a write, the same credentials read from the primary for this long (replica lag allowance).
    read_your_writes_seconds: float = 5.0
    log_format: str = "json"
    log_level: str = "INFO"
    # A request body that stops arriving for this long is answered 408 (api/http/timeouts.py).
    body_read_timeout: float = 30.0
    # Each worker looks this often for a changed network to measure in the background (0: never).
    measure_interval: float = 5.0

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            database_url=env.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
            host=env.get("HOST") or cls.host,
            port=int(env.get("PORT") or cls.port),
            replica_urls=tuple(url.strip() for url in env.get("DATABASE_REPLICA_URLS", "").split(",") if url.strip()),
            redis_url=env.get("REDIS_URL", ""),
            redis_prefix=env.get("REDIS_PREFIX") or cls.redis_prefix,
            rate_limit=env.get("RATE_LIMIT", ""),
            read_your_writes_seconds=float(env.get("READ_YOUR_WRITES_SECONDS") or cls.read_your_writes_seconds),
            log_format=env.get("LOG_FORMAT") or cls.log_format,
            log_level=(env.get("LOG_LEVEL") or cls.log_level).upper(),
            body_read_timeout=float(env.get("BODY_READ_TIMEOUT") or cls.body_read_timeout),
            measure_interval=float(env.get("MEASURE_INTERVAL") or cls.measure_interval),
        )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite:")


def sqlite_path(database_url: str) -> str:
    """`sqlite:///relative.db` or `sqlite:////absolute/path.db` to a file path."""
    if not database_url.startswith("sqlite:///"):
        raise ValueError("a SQLite DATABASE_URL looks like sqlite:///placenet.sqlite3")
    return database_url.removeprefix("sqlite:///")


def make_engine(settings: Settings) -> Engine[Any]:
    if settings.is_sqlite:
        # A busy timeout lets concurrent writers wait for the lock instead of failing at once.
        if settings.replica_urls:
            raise ValueError("DATABASE_REPLICA_URLS needs a PostgreSQL DATABASE_URL")
        return KeptConnectionSQLiteEngine(path=sqlite_path(settings.database_url), timeout=30)
    parts = urlsplit(settings.database_url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ValueError(f"DATABASE_URL must start with sqlite:/// or postgresql://, not {parts.scheme}://")
    return ReplicaRoutingPostgresEngine(settings.database_url, replica_urls=settings.replica_urls)
