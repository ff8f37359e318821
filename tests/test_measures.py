"""The network's measures, kept in the background (api/services/views/measures.py): measured from the kept
links for a change-feed position, never recomputed by a read, and measured by one worker at a time."""

from __future__ import annotations

import asyncio
import datetime
from uuid import UUID

import httpx
import pytest

from api.services.platform import clock
from api.services.views import links, measures
from api.services.views.activity import EVERYWHERE
from models.tables import Change, NetworkState, Organisation
from tests import builders


async def position() -> int:
    rows = await Change.select(Change.id).order_by(Change.id, ascending=False).limit(1)
    return int(rows[0]["id"]) if rows else 0


async def star(client: httpx.AsyncClient) -> dict[str, UUID]:
    """A funder granting to three charities, one of which also co-funds with a second funder."""
    for name in ("Funder", "Other Funder", "One", "Two", "Three"):
        await builders.organisation(client, name)
    for recipient in ("one", "two", "three"):
        await builders.grant(client, "funder", recipient, f"To {recipient}")
    await builders.post(
        client, "/v1/co-funding", {"name": "Pool", "lead": "one", "contributions": [{"funder": "other-funder"}]}
    )
    return {row["slug"]: row["id"] for row in await Organisation.select(Organisation.id, Organisation.slug)}


async def test_measures_reflect_the_links_at_a_position_and_reads_never_recompute(
    client: httpx.AsyncClient,
) -> None:
    ids = await star(client)
    assert (await measures.read(list(ids.values()))).position is None

    measured = await measures.refresh()
    assert measured == await position()
    kept = await measures.read(list(ids.values()))
    assert kept.position == measured
    edges, _ = await links.computed()
    whole = str(EVERYWHERE)
    expected = measures.measure([(UUID(a), UUID(b), w) for (scope, a, b), (w, _, _) in edges.items() if scope == whole])
    assert kept.of == expected
    assert kept.of[ids["funder"]].degree == 3
    assert kept.of[ids["one"]].degree == 2
    assert kept.of[ids["one"]].centrality > 0  # the only bridge between the two funders
    assert await measures.refresh() is None  # nothing written since

    await builders.grant(client, "other-funder", "two", "Also to two")
    stale = await measures.read([ids["two"]])
    assert stale.position == measured and stale.of[ids["two"]].degree == 1  # a read does not measure
    again = await measures.refresh()
    assert again == await position() and again > measured
    assert (await measures.read([ids["two"]])).of[ids["two"]].degree == 2


async def test_a_worker_waits_its_turn_while_another_measures(client: httpx.AsyncClient) -> None:
    await star(client)
    await measures.refresh()
    await builders.grant(client, "funder", "one", "Another")
    # Another worker has claimed the turn: this one does not measure, and the measures stay as they were.
    later = clock.now() + datetime.timedelta(minutes=1)
    await NetworkState.update({NetworkState.claimed_until: later}).where(NetworkState.name == measures.STATE)
    assert await measures.refresh() is None
    # A claim that has run out (its worker died measuring) no longer stops the others.
    earlier = clock.now() - datetime.timedelta(minutes=1)
    await NetworkState.update({NetworkState.claimed_until: earlier}).where(NetworkState.name == measures.STATE)
    assert await measures.refresh() == await position()


async def test_the_background_loop_measures_a_changed_network(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = await star(client)
    measured = asyncio.Event()
    refresh = measures.refresh

    async def refresh_and_tell() -> int | None:
        position = await refresh()
        if position is not None:
            measured.set()
        return position

    monkeypatch.setattr(measures, "refresh", refresh_and_tell)
    loop = asyncio.create_task(measures.keep_measured(0.01))
    try:
        # Only a guard against hanging: how long measuring takes is not under test.
        async with asyncio.timeout(60):
            await measured.wait()
    finally:
        loop.cancel()
        with pytest.raises(asyncio.CancelledError):
            await loop
    kept = await measures.read([ids["funder"]])
    assert kept.position == await position()
    assert kept.of[ids["funder"]].degree == 3
