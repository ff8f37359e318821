"""No query per row anywhere: every list and every single read sends a fixed number of SQL statements,
whatever the page size and however much data there is (counted, not timed). The map, network and
activity endpoints have their own such tests."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from fixtures.loader import load
from tests import builders
from tests.builders import SEED_FILES

COLLECTIONS = [
    "/v1/organisations",
    "/v1/places",
    "/v1/interest-groups",
    "/v1/co-funding",
    "/v1/research",
    "/v1/grants",
    "/v1/engagements",
    "/v1/changes",
]


async def count(client: httpx.AsyncClient, queries: Callable[[], int], path: str, **params: str | int) -> int:
    before = queries()
    response = await client.get(path, params=params)
    assert response.status_code == 200, response.text
    return queries() - before


async def grow(client: httpx.AsyncClient) -> None:
    """More of everything that a list row refers to: organisations, places, grants between them."""
    for n in range(12):
        code = f"E090002{n:02d}"
        await builders.place(client, f"Growth Borough {n}", gss_code=code, parent="london", lat=51.5, lon=-0.1)
        await builders.organisation(client, f"Growth Charity {n}", kind="charity", home_place=code)
        funder, recipient = "lankelly-chase-foundation", f"growth-charity-{n}"
        await builders.grant(client, funder, recipient, f"Growth grant {n}", places=[code])


async def statements(client: httpx.AsyncClient, queries: Callable[[], int]) -> dict[str, int]:
    """Statements per request: each collection's page of 10 and of 100, and a single read of its first record."""
    counts = {}
    for path in COLLECTIONS:
        counts[f"{path}?limit=10"] = await count(client, queries, path, limit=10)
        counts[f"{path}?limit=100"] = await count(client, queries, path, limit=100)
        if path != "/v1/changes":
            first = (await client.get(path, params={"limit": 1})).json()["items"][0]["slug"]
            counts[f"{path}/{{ref}}"] = await count(client, queries, f"{path}/{first}")
    return counts


async def test_no_request_costs_more_statements_with_more_rows_or_more_data(
    client: httpx.AsyncClient, queries: Callable[[], int]
) -> None:
    await load(SEED_FILES)
    seed = await statements(client, queries)
    await grow(client)
    grown = await statements(client, queries)
    assert grown == seed, "a request whose statements grew with the data"
    for path in COLLECTIONS:
        assert seed[f"{path}?limit=10"] == seed[f"{path}?limit=100"], f"{path}: statements grew with the page size"
    assert max(seed.values()) <= 7, seed
