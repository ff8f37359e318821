"""The API behaves exactly as its spec says: schemathesis, in-process, over every operation, with
every check and the examples, coverage, fuzzing and stateful phases (schemathesis.toml), against a
database seeded from fixtures/. It runs in a pytest process of its own (`make contract-test`):
the app runs on schemathesis's event loop, so the database must not be bound to another one."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig

from api.app import create_app
from tests.builders import SEED_FILES
from tests.contract import snapshot

ROOT = Path(__file__).resolve().parents[2]


async def _seed() -> str:
    """Migrate, load the fixtures, and make the admin key schemathesis writes with."""
    from api.cli import run_migrations
    from api.services.resources import keys
    from fixtures.loader import load

    await run_migrations()
    await load(SEED_FILES)
    _, token = await keys.create_key(organisation=None, role="admin", name="contract")
    return token


# Seeded before the app starts (loading the schema starts it on schemathesis's loop), on a loop of
# its own that is closed again, so no connection pool is left bound to the wrong loop.
os.environ["PLACENET_API_KEY"] = asyncio.run(_seed())
snapshot.take()

schema = schemathesis.openapi.from_asgi(
    "/docs/openapi.json", create_app(), config=SchemathesisConfig.from_path(ROOT / "schemathesis.toml")
)


@schemathesis.serializer("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
def xlsx_bytes(context: object, value: object) -> bytes:
    """Spreadsheet bodies are sent as the bytes generated for them; the API must refuse what is not XLSX."""
    return value if isinstance(value, bytes) else str(value).encode()


@pytest.fixture
def empty_database() -> None:
    """The contract runs against the seeded network: nothing is emptied between cases."""


@schema.parametrize()
def test_operation_conforms(case: schemathesis.Case[Any]) -> None:
    case.call_and_validate()


class Workflows(schema.as_state_machine()):  # type: ignore[misc]
    def setup(self) -> None:
        # Every scenario starts from the seeded network, so replays see the same data.
        snapshot.restore()


TestWorkflows = Workflows.TestCase
