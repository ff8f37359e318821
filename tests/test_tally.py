"""The map's tallies, kept by the writes: after every kind of write they equal a count made again from
the records, and the map read from them is the map counted live."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

import httpx
import pytest

from models.tables import PlaceTally
from tests import builders
from tests.test_map import CAMDEN, LANKELLY, LONDON, WANDSWORTH, geojson, money_network

LEVELS = ("uk", "region", "local_authority")
# A date filter that keeps every record (an empty date is open-ended), so the map counts live instead.
EVERYTHING_SINCE = {"from": "1900-01-01"}


async def tallies() -> dict[str, tuple[int, Decimal]]:
    return {row["key"]: (row["records"], Decimal(row["amount"])) for row in await PlaceTally.select()}


async def assert_true(client: httpx.AsyncClient) -> None:
    """The tallies as the writes left them are the tallies counted again, and every map level read from
    them, of everywhere and of London, is the same map counted live, feature for feature, and leaves out
    the same."""
    kept = await tallies()
    from api.services.views import tally

    await tally.rebuild()
    assert kept == await tallies(), "the writes moved the tallies away from a recount"
    for level in LEVELS:
        for place in (None, LONDON):
            for kind in (None, "grant", "co_funding", "organisation"):
                params: dict[str, Any] = {
                    "level": level,
                    **({"place": place} if place else {}),
                    **({"kind": kind} if kind else {}),
                }
                tallied = await geojson(client, **params)
                live = await geojson(client, **params, **EVERYTHING_SINCE)
                assert [f["properties"] for f in tallied["features"]] == [f["properties"] for f in live["features"]], (
                    params
                )
                assert tallied["left_out"] == live["left_out"], params


async def test_every_write_keeps_the_tallies_true(client: httpx.AsyncClient) -> None:
    await money_network(client)
    await assert_true(client)
    await builders.place(client, "Coventry", gss_code="E08000026", lat=52.41, lon=-1.51)

    # A grant moves place, changes its money and currency, and loses its amount.
    both = (await client.get("/v1/grants", params={"q": "Both"})).json()["items"][0]["id"]
    changes: list[dict[str, Any]] = [
        {"places": [WANDSWORTH, "E08000026"]},
        {"amount": {"amount": "12.34", "currency": "EUR"}},
        {"amount": None},
        {"places": []},
    ]
    for change in changes:
        response = await client.patch(f"/v1/grants/{both}", json=change)
        assert response.status_code == 200, response.text
        await assert_true(client)

    # Contributions come, change and go; so does a grant.
    pool = "london-pool"
    response = await client.patch(f"/v1/co-funding/{pool}/contributions/{LANKELLY}", json={"amount": {"amount": "1"}})
    assert response.status_code == 200, response.text
    await builders.organisation(client, "Esmée Fairbairn Foundation")
    response = await client.post(
        f"/v1/co-funding/{pool}/contributions",
        json={"funder": "esmee-fairbairn-foundation", "amount": {"amount": "9.99", "currency": "EUR"}},
    )
    assert response.status_code == 201, response.text
    assert (await client.delete(f"/v1/co-funding/{pool}/contributions/city-bridge-trust")).status_code == 204
    await assert_true(client)
    assert (await client.delete(f"/v1/grants/{both}")).status_code == 204
    await assert_true(client)

    # An organisation moves home; a borough moves to another region, taking its records with it.
    response = await client.patch("/v1/organisations/north-camden-zone", json={"home_place": WANDSWORTH})
    assert response.status_code == 200, response.text
    await builders.place(client, "West Midlands", "region", gss_code="E12000005", lat=52.47, lon=-1.9)
    response = await client.patch(f"/v1/places/{CAMDEN}", json={"parent": "E12000005"})
    assert response.status_code == 200, response.text
    await assert_true(client)
    regions = {
        feature["properties"]["gss_code"]: feature["properties"]
        for feature in (await geojson(client, level="region"))["features"]
    }
    assert regions["E12000005"]["counts"]["grants"] == 2, "Camden's grants moved with it"
    assert regions[LONDON]["counts"]["grants"] == 0


async def test_a_write_that_fails_leaves_the_tallies_as_they_were(client: httpx.AsyncClient) -> None:
    await money_network(client)
    kept = await tallies()
    response = await client.post(
        "/v1/grants",
        json={"name": "Nowhere", "funder": LANKELLY, "recipient": "no-such-organisation", "places": [CAMDEN]},
    )
    assert response.status_code == 422
    assert await tallies() == kept


async def test_a_record_counts_once_in_a_place_however_many_of_its_places_are_in_it(
    client: httpx.AsyncClient,
) -> None:
    await money_network(client)
    london = (await client.get(f"/v1/places/{LONDON}")).json()["id"]
    counted = await tallies()

    assert counted[f"{london}/grant/"][0] == 3, "three grants in London, one of them in two of its boroughs"
    assert counted[f"{london}/grant/GBP"] == (2, Decimal("1020.15"))
    assert counted[f"{london}/grant/EUR"] == (1, Decimal("5.00"))
    assert counted[f"{london}/co_funding/GBP"] == (1, Decimal("500.25"))
    assert counted[f"{london}/organisation/"][0] == 1


async def test_tallies_changed_past_the_api_never_fail_a_write(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """A tally someone deleted by hand would go below zero: the write still succeeds, the error is
    logged for an operator to run `placenet recount`, and a recount puts the tallies right."""
    await money_network(client)
    await PlaceTally.delete(force=True)
    grant = (await client.get("/v1/grants", params={"q": "Both"})).json()["items"][0]["id"]

    with caplog.at_level(logging.ERROR, logger="placenet.tally"):
        response = await client.patch(f"/v1/grants/{grant}", json={"places": [WANDSWORTH]})

    assert response.status_code == 200, response.text
    assert "placenet recount" in caplog.text
    from api.services.views import tally

    await tally.rebuild()
    await assert_true(client)
