"""One database per test session, migrated once and emptied before each test; the engine is SQLite
(a temporary file) by default and PostgreSQL when PLACENET_TEST_DATABASE=postgres.

The database is chosen here, before the app or its tables are imported, because Piccolo binds its
engine from DATABASE_URL on first use. With PostgreSQL the tests create their own database on the
server named by PLACENET_TEST_POSTGRES and drop it afterwards; an unreachable server fails the run."""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # imported for the annotations only: the app must not be imported before the database is chosen
    import httpx
    from litestar import Litestar

ENGINE = os.environ.get("PLACENET_TEST_DATABASE", "sqlite")
# The contract suite runs in a process of its own (see tests/contract), so it is left out otherwise.
collect_ignore = [] if os.environ.get("PLACENET_CONTRACT") else ["contract"]
SERVER = os.environ.get("PLACENET_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


def _postgres(statement: str) -> None:
    import asyncpg

    async def run() -> None:
        connection = await asyncpg.connect(SERVER, timeout=10)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(run())


def pytest_configure(config: pytest.Config) -> None:
    if ENGINE == "sqlite":
        directory = tempfile.mkdtemp(prefix="placenet-tests-")
        os.environ["DATABASE_URL"] = f"sqlite:///{directory}/placenet.sqlite3"
    elif ENGINE == "postgres":
        name = f"placenet_test_{uuid.uuid4().hex[:12]}"
        try:
            _postgres(f'CREATE DATABASE "{name}"')
        except Exception as error:
            raise pytest.UsageError(f"PostgreSQL at {SERVER} cannot be reached: {error}") from error
        config.stash[DATABASE_NAME] = name
        os.environ["DATABASE_URL"] = SERVER.rsplit("/", 1)[0] + f"/{name}"
    else:
        raise pytest.UsageError("PLACENET_TEST_DATABASE must be sqlite or postgres")


DATABASE_NAME = pytest.StashKey[str]()


def pytest_unconfigure(config: pytest.Config) -> None:
    name = config.stash.get(DATABASE_NAME, None)
    if name:
        _postgres(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pytest_report_header() -> str:
    return f"placenet database: {ENGINE} ({os.environ.get('DATABASE_URL')})"


@pytest.fixture(scope="session")
async def database() -> AsyncIterator[None]:
    from api.cli import run_migrations
    from api.services import wiring
    from api.services.platform import connections as db

    wiring.install()
    await run_migrations()
    await db.open()
    yield
    await db.close()


@pytest.fixture(autouse=True)
async def empty_database(database: None) -> None:
    from tests.builders import empty_all_tables

    await empty_all_tables()


@pytest.fixture(scope="class")
async def seeded(database: None) -> AsyncIterator[None]:
    """The places and the seed network, loaded once for a class of tests that only read (the class
    overrides `empty_database` with a no-op so the load is shared)."""
    from fixtures.loader import load
    from tests.builders import SEED_FILES, empty_all_tables

    await empty_all_tables()
    await load(SEED_FILES)
    yield
    await empty_all_tables()


@pytest.fixture
def queries(monkeypatch: pytest.MonkeyPatch) -> Callable[[], int]:
    """How many queries the database has been sent since the fixture was made."""
    from models.tables import Organisation

    engine = type(Organisation._meta.db)
    sent = []
    run_querystring = engine.run_querystring

    async def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(args)
        return await run_querystring(self, *args, **kwargs)

    monkeypatch.setattr(engine, "run_querystring", counted)
    return lambda: len(sent)


@pytest.fixture(scope="session")
def app() -> Litestar:
    from api.app import create_app

    return create_app()


@pytest.fixture
async def admin_key(empty_database: None) -> str:
    """An operator's admin key, made afresh for each test."""
    from api.services.resources import keys

    _, token = await keys.create_key(organisation=None, role="admin", name="tests")
    return token


def make_client(app: Litestar, token: str | None = None) -> httpx.AsyncClient:
    import httpx

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    # Litestar types its ASGI scope and events as TypedDicts and httpx as plain mappings: the same protocol to both.
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://placenet.test", headers=headers)


@pytest.fixture
async def client(app: Litestar, admin_key: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client with an admin key: most tests are about what the API does, not who may do it."""
    async with make_client(app, admin_key) as client:
        yield client


@pytest.fixture
async def anonymous(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """A client with no key: it may read anything and write nothing."""
    async with make_client(app) as client:
        yield client
