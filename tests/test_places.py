"""The hierarchy of places: former codes, moving places, and what a place filter includes."""

from __future__ import annotations

import httpx

from tests import builders


async def test_former_code_finds_the_current_place(client: httpx.AsyncClient) -> None:
    await builders.place(client, "Gateshead", gss_code="E08000037", former_codes=["E08000020"])
    response = await client.get("/v1/places/E08000020")
    assert response.status_code == 200
    assert response.json()["gss_code"] == "E08000037"
    assert response.json()["former_codes"] == ["E08000020"]


async def test_a_code_names_one_place(client: httpx.AsyncClient) -> None:
    await builders.place(client, "Gateshead", gss_code="E08000037", former_codes=["E08000020"])
    as_current = await client.post(
        "/v1/places", json={"name": "Old Gateshead", "level": "local_authority", "gss_code": "E08000020"}
    )
    as_former = await client.post(
        "/v1/places",
        json={"name": "Other", "level": "local_authority", "gss_code": "E08000099", "former_codes": ["E08000037"]},
    )
    assert as_current.status_code == 409
    assert as_current.json()["errors"][0]["field"] == "gss_code"
    assert as_former.status_code == 409
    assert as_former.json()["errors"][0]["field"] == "former_codes"


async def test_within_includes_every_place_below(client: httpx.AsyncClient) -> None:
    await builders.uk_places(client)
    response = await client.get("/v1/places", params={"within": "E92000001"})
    assert [p["slug"] for p in response.json()["items"]] == ["coventry", "england", "west-midlands"]


async def test_parent_lists_direct_children_only(client: httpx.AsyncClient) -> None:
    await builders.uk_places(client)
    response = await client.get("/v1/places", params={"parent": "united-kingdom"})
    assert [p["slug"] for p in response.json()["items"]] == ["england", "scotland"]


async def test_moving_a_place_moves_everything_below(client: httpx.AsyncClient) -> None:
    await builders.uk_places(client)
    moved = await client.patch("/v1/places/west-midlands", json={"parent": "S92000003"})
    assert moved.status_code == 200
    assert moved.json()["parent"]["slug"] == "scotland"
    within_scotland = await client.get("/v1/places", params={"within": "scotland"})
    assert [p["slug"] for p in within_scotland.json()["items"]] == ["coventry", "scotland", "west-midlands"]
    within_england = await client.get("/v1/places", params={"within": "england"})
    assert [p["slug"] for p in within_england.json()["items"]] == ["england"]


async def test_a_place_cannot_sit_below_itself(client: httpx.AsyncClient) -> None:
    await builders.uk_places(client)
    response = await client.patch("/v1/places/england", json={"parent": "coventry"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "parent"
    assert (await client.get("/v1/places/england")).json()["parent"]["slug"] == "united-kingdom"


async def test_place_filter_on_collaborations_includes_places_below(client: httpx.AsyncClient) -> None:
    await builders.uk_places(client)
    funder = await builders.organisation(client)
    recipient = await builders.organisation(client, "CLES", kind="think_tank")
    await builders.grant(client, funder["slug"], recipient["slug"], "In Coventry", places=["coventry"])
    await builders.grant(client, funder["slug"], recipient["slug"], "In Scotland", places=["scotland"])
    in_england = await client.get("/v1/grants", params={"place": "E92000001"})
    assert [g["name"] for g in in_england.json()["items"]] == ["In Coventry"]
    in_uk = await client.get("/v1/grants", params={"place": "K02000001"})
    assert [g["name"] for g in in_uk.json()["items"]] == ["In Coventry", "In Scotland"]
