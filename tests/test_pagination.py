"""Keyset pages: every record exactly once, in a stable order, even while rows are inserted."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests import builders


async def walk(client: httpx.AsyncClient, path: str, **params: str | int) -> list[dict[str, Any]]:
    """Every item of a list, following next_cursor; also checks the Link header matches it."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await client.get(path, params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            assert "link" not in response.headers
            return items
        assert response.headers["link"].endswith(f'cursor={cursor}>; rel="next"')


async def make_organisations(client: httpx.AsyncClient, count: int) -> list[dict[str, Any]]:
    # Names repeat, so ties in the sort are broken by id.
    return [await builders.organisation(client, f"Funder {i % 7}", slug=f"funder-{i:03}") for i in range(count)]


@pytest.mark.parametrize("sort", ["name", "-name", "created_at", "-created_at", "updated_at", "-updated_at"])
async def test_walking_all_pages_yields_every_record_once_in_order(client: httpx.AsyncClient, sort: str) -> None:
    created = await make_organisations(client, 23)
    items = await walk(client, "/v1/organisations", limit=5, sort=sort)
    assert sorted(i["id"] for i in items) == sorted(c["id"] for c in created)
    key = sort.lstrip("-")
    pairs = [(i[key], i["id"]) for i in items]
    assert pairs == sorted(pairs, reverse=sort.startswith("-"))


async def test_inserts_between_pages_do_not_skip_or_repeat_existing_records(client: httpx.AsyncClient) -> None:
    created = await make_organisations(client, 12)
    seen, cursor, added = [], None, 0
    while True:
        params = {"limit": 4, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/organisations", params=params)).json()
        seen += [item["id"] for item in page["items"]]
        # Rows that sort before and after the cursor arrive between pages.
        await builders.organisation(client, "Aardvark Trust", slug=f"aardvark-{added}")
        await builders.organisation(client, "Zebra Trust", slug=f"zebra-{added}")
        added += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen))
    assert {c["id"] for c in created} <= set(seen)


async def test_limit_caps_the_page(client: httpx.AsyncClient) -> None:
    await make_organisations(client, 3)
    page = (await client.get("/v1/organisations", params={"limit": 2})).json()
    assert len(page["items"]) == 2 and page["next_cursor"]


async def test_a_cursor_from_another_sort_is_refused(client: httpx.AsyncClient) -> None:
    await make_organisations(client, 3)
    cursor = (await client.get("/v1/organisations", params={"limit": 1})).json()["next_cursor"]
    response = await client.get("/v1/organisations", params={"cursor": cursor, "sort": "-created_at"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "cursor"


# None has the shape of a cursor the API gives out (the spec's pattern and lengths), so each is a 400;
# cursors of the right shape that the API did not give out are 422s (tests/test_exact_queries.py).
@pytest.mark.parametrize("cursor", ["garbage", "WyJuYW1lIl0", "W10", "%%%", "eyJhIjoxfQ"])
async def test_unusable_cursors_are_refused(client: httpx.AsyncClient, cursor: str) -> None:
    response = await client.get("/v1/organisations", params={"cursor": cursor})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_the_link_header_keeps_the_filters(client: httpx.AsyncClient) -> None:
    await make_organisations(client, 3)
    response = await client.get("/v1/organisations", params={"limit": 1, "kind": "foundation"})
    assert "kind=foundation" in response.headers["link"]
    assert "limit=1" in response.headers["link"]
