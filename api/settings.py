"""One frozen settings object read from the environment, and the database engine it implies."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine

DEFAULT_DATABASE_URL = "sqlite:///placenet.sqlite3"


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = 8000
    base_url: str = ""

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            database_url=os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
            host=os.environ.get("HOST") or cls.host,
            port=int(os.environ.get("PORT") or cls.port),
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
        return SQLiteEngine(path=sqlite_path(settings.database_url), timeout=30)
    parts = urlsplit(settings.database_url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ValueError(f"DATABASE_URL must start with sqlite:/// or postgresql://, not {parts.scheme}://")
    return PostgresEngine(config={"dsn": settings.database_url})
