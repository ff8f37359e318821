"""The API behaves exactly as its spec says: schemathesis, in-process, over every operation, against
a database seeded from fixtures/, with every check and the examples, coverage, fuzzing and stateful
phases. Run in its own pytest process (`make contract-test`): the app runs on schemathesis's own event
loop, so the database must not already be bound to the test session's loop."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig

from api.app import create_app

ROOT = Path(__file__).resolve().parents[2]
SEED_FILES = [
    ROOT / "fixtures/places/uk.json",
    ROOT / "fixtures/places/councils.json",
    ROOT / "fixtures/seed/place-action-inquiry.yaml",
]

CONFIG = SchemathesisConfig.from_path(ROOT / "schemathesis.toml")
schema = schemathesis.openapi.from_asgi("/docs/openapi.json", create_app(), config=CONFIG)


async def _seed() -> None:
    from api.cli import run_migrations
    from fixtures.loader import load

    await run_migrations()
    await load(SEED_FILES)


@pytest.fixture(scope="module", autouse=True)
def seeded() -> None:
    # A plain event loop of its own, closed before schemathesis starts the app on its loop.
    asyncio.run(_seed())


@pytest.fixture
def empty_database() -> None:
    """The contract runs against the seeded network: nothing is emptied between cases."""


@schema.parametrize()
def test_operation_conforms(case):
    case.call_and_validate()


TestStateful = schema.as_state_machine().TestCase
