"""Concurrent writers queue for the database instead of failing (SQLite's "database is locked")."""

from __future__ import annotations

import asyncio

import httpx


async def test_concurrent_creates_all_land(client: httpx.AsyncClient) -> None:
    responses = await asyncio.gather(
        *(client.post("/v1/organisations", json={"name": f"Funder {i}", "kind": "funder"}) for i in range(40))
    )
    assert [r.status_code for r in responses] == [201] * 40
    page = (await client.get("/v1/organisations", params={"limit": 200})).json()
    assert len(page["items"]) == 40


async def test_concurrent_updates_count_every_change(client: httpx.AsyncClient) -> None:
    await client.post("/v1/organisations", json={"name": "Busy", "kind": "funder"})
    responses = await asyncio.gather(
        *(client.patch("/v1/organisations/busy", json={"description": f"change {i}"}) for i in range(20))
    )
    assert [r.status_code for r in responses] == [200] * 20
    assert (await client.get("/v1/organisations/busy")).json()["version"] == 21


async def test_concurrent_duplicates_leave_exactly_one(client: httpx.AsyncClient) -> None:
    responses = await asyncio.gather(
        *(client.post("/v1/organisations", json={"name": "Same", "kind": "funder"}) for _ in range(10))
    )
    assert sorted(r.status_code for r in responses) == [201] + [409] * 9
