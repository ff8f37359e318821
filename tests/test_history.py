"""A record's history outlives it: `/v1/<collection>/{ref}/history` of a deleted record answers, by its id or
a slug it had, and ends with the deletion, as the change feed already says."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests import builders

# Each collection with a history: what to post to make a record of it (the organisations and place named
# are made first, by `world`).
MADE: dict[str, dict[str, Any]] = {
    "organisations": {"name": "Short Lived Trust", "kind": "foundation"},
    "places": {"name": "Short Lived Ward", "level": "neighbourhood"},
    "interest-groups": {"name": "Short lived group", "members": [{"organisation": "ivar"}]},
    "co-funding": {"name": "Short lived pot", "contributions": [{"funder": "lankelly-chase-foundation"}]},
    "research": {"name": "Short lived study", "kind": "study", "commissioners": ["ivar"]},
    "grants": {"name": "Short lived grant", "funder": "lankelly-chase-foundation", "recipient": "ivar"},
    "engagements": {"name": "Short lived meeting", "kind": "meeting", "convenor": "ivar"},
}


async def world(client: httpx.AsyncClient) -> None:
    await builders.organisation(client, "Lankelly Chase Foundation")
    await builders.organisation(client, "IVAR", kind="research_institute")


async def made_renamed_and_deleted(client: httpx.AsyncClient, collection: str) -> dict[str, Any]:
    """A record made, its slug changed, then deleted: what it was when made."""
    made = await builders.post(client, f"/v1/{collection}", MADE[collection])
    renamed = await client.patch(f"/v1/{collection}/{made['slug']}", json={"slug": "renamed"})
    assert renamed.status_code == 200, renamed.text
    deleted = await client.delete(f"/v1/{collection}/renamed")
    assert deleted.status_code == 204, deleted.text
    assert (await client.get(f"/v1/{collection}/renamed")).status_code == 404
    return made


@pytest.mark.parametrize("collection", list(MADE))
async def test_a_deleted_records_history_answers_by_its_id_and_former_slugs(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, collection: str
) -> None:
    await world(client)
    made = await made_renamed_and_deleted(client, collection)
    by_id = await anonymous.get(f"/v1/{collection}/{made['id']}/history")
    assert by_id.status_code == 200, by_id.text
    own = [c for c in by_id.json() if c["collection"] == collection]
    assert [c["operation"] for c in own] == ["create", "update", "delete"]
    assert by_id.json()[-1]["operation"] == "delete"
    assert all(c["record_id"] == made["id"] for c in own)
    for former in (made["slug"], "renamed"):
        assert (await anonymous.get(f"/v1/{collection}/{former}/history")).json() == by_id.json()


async def test_a_slug_used_again_names_the_living_record_then_the_latest_deleted(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    await world(client)
    first = await made_renamed_and_deleted(client, "grants")
    second = await made_renamed_and_deleted(client, "grants")
    history = (await anonymous.get("/v1/grants/renamed/history")).json()
    assert {c["record_id"] for c in history} == {second["id"]}
    assert {c["record_id"] for c in (await anonymous.get(f"/v1/grants/{first['id']}/history")).json()} == {first["id"]}
    living = await builders.grant(client, "lankelly-chase-foundation", "ivar", slug="renamed")
    history = (await anonymous.get("/v1/grants/renamed/history")).json()
    assert [(c["record_id"], c["operation"]) for c in history] == [(living["id"], "create")]


async def test_an_unknown_ref_has_no_history(client: httpx.AsyncClient, anonymous: httpx.AsyncClient) -> None:
    await world(client)
    await made_renamed_and_deleted(client, "organisations")
    for ref in ("never-was", "00000000-0000-4000-8000-000000000000"):
        response = await anonymous.get(f"/v1/organisations/{ref}/history")
        assert response.status_code == 404, response.text
        assert response.headers["content-type"] == "application/problem+json"
    # A deleted grant's slug is not a deleted organisation's.
    await made_renamed_and_deleted(client, "grants")
    assert (await anonymous.get("/v1/organisations/short-lived-grant/history")).status_code == 404
    # The deleted organisation's own former slug still does.
    assert (await anonymous.get("/v1/organisations/short-lived-trust/history")).status_code == 200
