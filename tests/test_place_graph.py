"""Places as a graph: a place may be in several larger places (its parent, and `also_within`), and
everything that counts "in a place" (filters, the map and its tallies, a place's activity and funders,
the network) counts what is in it by any path, and each record once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from fixtures.loader import load
from tests import builders

ROOT = Path(__file__).resolve().parent.parent
UK = ROOT / "fixtures" / "places" / "uk.json"
GREATER_MANCHESTER = "E47000001"
BOROUGHS = [
    "Bolton",
    "Bury",
    "Manchester",
    "Oldham",
    "Rochdale",
    "Salford",
    "Stockport",
    "Tameside",
    "Trafford",
    "Wigan",
]


async def north_west(client: httpx.AsyncClient) -> None:
    """UK > England > North West, holding: Greater Manchester (a combined authority) with Manchester and
    Bury in it as well as in the region; Lancashire (a county) with Burnley under it, itself in the
    Lancashire combined authority; and Blackpool, in the Lancashire ceremonial county with the county."""
    await builders.place(client, "United Kingdom", "uk", gss_code="K02000001", lat=54.0, lon=-2.0)
    await builders.place(client, "England", "nation", gss_code="E92000001", parent="K02000001", lat=53.0, lon=-1.5)
    await builders.place(client, "North West", "region", gss_code="E12000002", parent="E92000001", lat=54.0, lon=-2.7)
    await builders.place(
        client,
        "Greater Manchester",
        "combined_authority",
        gss_code=GREATER_MANCHESTER,
        parent="E12000002",
        lat=53.5,
        lon=-2.3,
    )
    await builders.place(
        client, "Lancashire CCA", "combined_authority", gss_code="E47000020", parent="E12000002", lat=53.8, lon=-2.6
    )
    await builders.place(
        client, "Lancashire", "ceremonial_county", slug="lancashire-ceremonial", parent="E12000002", lat=53.8, lon=-2.7
    )
    for name, code in (("Manchester", "E08000003"), ("Bury", "E08000002")):
        await builders.place(
            client, name, gss_code=code, parent="E12000002", also_within=[GREATER_MANCHESTER], lat=53.5, lon=-2.3
        )
    await builders.place(
        client,
        "Lancashire",
        "county",
        gss_code="E10000017",
        parent="E12000002",
        also_within=["E47000020", "lancashire-ceremonial"],
        lat=53.8,
        lon=-2.6,
    )
    await builders.place(client, "Burnley", gss_code="E07000117", parent="E10000017", lat=53.79, lon=-2.25)
    await builders.place(
        client,
        "Blackpool",
        gss_code="E06000009",
        parent="E12000002",
        also_within=["lancashire-ceremonial"],
        lat=53.8,
        lon=-3.05,
    )
    await builders.organisation(client, "Funder")
    await builders.organisation(client, "Charity", kind="charity")


async def get(client: httpx.AsyncClient, path: str, **params: Any) -> Any:
    response = await client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def counted(client: httpx.AsyncClient, level: str, **params: Any) -> dict[str, tuple[int, list[Any]]]:
    """Each mapped place's grants and money at a level."""
    features = (await get(client, "/v1/map", level=level, **params))["features"]
    return {
        f["properties"]["slug"]: (f["properties"]["counts"]["grants"], f["properties"]["money"]["awarded"])
        for f in features
    }


async def test_a_place_lists_and_reads_the_larger_places_it_is_also_in(client: httpx.AsyncClient) -> None:
    await north_west(client)

    bury = await get(client, "/v1/places/E08000002")
    assert bury["parent"]["slug"] == "north-west"
    assert [p["slug"] for p in bury["also_within"]] == ["greater-manchester"]
    within = await get(client, "/v1/places", within=GREATER_MANCHESTER, level="local_authority")
    assert [p["name"] for p in within["items"]] == ["Bury", "Manchester"]
    # A district is in its county's combined authority and ceremonial county through the county.
    for larger in ("E47000020", "lancashire-ceremonial"):
        names = [p["name"] for p in (await get(client, "/v1/places", within=larger))["items"]]
        assert "Burnley" in names
    assert "Blackpool" not in [p["name"] for p in (await get(client, "/v1/places", within="E47000020"))["items"]]


@pytest.mark.parametrize("filtered", [False, True], ids=["tallied", "counted live"])
async def test_a_grant_in_two_boroughs_counts_once_in_every_place_above_them(
    client: httpx.AsyncClient, filtered: bool
) -> None:
    await north_west(client)
    await builders.grant(
        client, "funder", "charity", "Two boroughs", places=["E08000003", "E08000002"], amount={"amount": "16000"}
    )
    # Narrowed by the funder, the map counts from the records; unnarrowed, from the kept tallies.
    params = {"organisation": "funder"} if filtered else {}
    once = (1, [{"amount": "16000.00", "currency": "GBP"}])

    assert (await counted(client, "combined_authority", **params))["greater-manchester"] == once
    assert (await counted(client, "region", **params))["north-west"] == once
    assert (await counted(client, "nation", **params))["england"] == once
    assert (await counted(client, "uk", **params))["united-kingdom"] == once
    assert (await counted(client, "combined_authority", **params))["lancashire-cca"][0] == 0

    for place in (GREATER_MANCHESTER, "E12000002", "E92000001", "K02000001"):
        assert len((await get(client, "/v1/grants", place=place))["items"]) == 1
        funders = await get(client, f"/v1/places/{place}/funders")
        assert funders["totals"]["grants"] == 1
        assert funders["totals"]["awarded"] == once[1]
        assert (await get(client, f"/v1/places/{place}/activity"))["grants"]["total"] == 1
        network = await get(client, "/v1/network", place=place)
        assert {node["slug"] for node in network["nodes"]} >= {"funder", "charity"}
    assert (await get(client, "/v1/places/E47000020/funders"))["totals"]["grants"] == 0
    assert not [n for n in (await get(client, "/v1/network", place="E47000020"))["nodes"] if n["slug"] == "funder"]


async def test_a_district_in_a_county_counts_in_the_county_s_combined_authority_and_ceremonial_county(
    client: httpx.AsyncClient,
) -> None:
    await north_west(client)
    await builders.grant(client, "funder", "charity", "In Burnley", places=["E07000117"], amount={"amount": "500"})
    await builders.grant(client, "funder", "charity", "In Blackpool", places=["E06000009"], amount={"amount": "70"})

    authorities = await counted(client, "combined_authority")
    assert authorities["lancashire-cca"] == (1, [{"amount": "500.00", "currency": "GBP"}])
    assert authorities["greater-manchester"][0] == 0
    ceremonial = await counted(client, "ceremonial_county")
    assert ceremonial["lancashire-ceremonial"] == (2, [{"amount": "570.00", "currency": "GBP"}])
    assert (await counted(client, "region"))["north-west"] == (2, [{"amount": "570.00", "currency": "GBP"}])
    in_ceremonial = await get(client, "/v1/grants", place="lancashire-ceremonial")
    assert sorted(g["name"] for g in in_ceremonial["items"]) == ["In Blackpool", "In Burnley"]


async def test_joining_and_leaving_a_larger_place_moves_what_it_counts(client: httpx.AsyncClient) -> None:
    await north_west(client)
    await builders.grant(client, "funder", "charity", "In Bury", places=["E08000002"], amount={"amount": "10"})
    assert (await counted(client, "combined_authority"))["greater-manchester"][0] == 1

    left = await client.patch("/v1/places/E08000002", json={"also_within": []})
    assert left.status_code == 200, left.text
    assert (await counted(client, "combined_authority"))["greater-manchester"][0] == 0
    assert len((await get(client, "/v1/grants", place=GREATER_MANCHESTER))["items"]) == 0
    assert (await counted(client, "region"))["north-west"][0] == 1

    joined = await client.patch("/v1/places/E08000002", json={"also_within": [GREATER_MANCHESTER, "E47000020"]})
    assert joined.status_code == 200, joined.text
    authorities = await counted(client, "combined_authority")
    assert authorities["greater-manchester"][0] == authorities["lancashire-cca"][0] == 1


async def test_a_place_cannot_be_in_itself_or_in_a_place_inside_it(client: httpx.AsyncClient) -> None:
    await north_west(client)

    for body, field in (
        ({"also_within": ["E08000003"]}, "also_within"),
        ({"also_within": [GREATER_MANCHESTER]}, "also_within"),
        ({"parent": "E08000002"}, "parent"),
    ):
        response = await client.patch(f"/v1/places/{GREATER_MANCHESTER}", json=body)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert [e["field"] for e in response.json()["errors"]] == [field]
    assert (await get(client, f"/v1/places/{GREATER_MANCHESTER}"))["also_within"] == []


async def test_a_larger_place_with_members_cannot_be_deleted(client: httpx.AsyncClient) -> None:
    await north_west(client)

    refused = await client.delete(f"/v1/places/{GREATER_MANCHESTER}")
    assert refused.status_code == 409
    assert "bury" in json.dumps(refused.json()["errors"])
    await client.patch("/v1/places/E08000002", json={"also_within": []})
    await client.patch("/v1/places/E08000003", json={"also_within": []})
    assert (await client.delete(f"/v1/places/{GREATER_MANCHESTER}")).status_code == 204
    assert len((await get(client, "/v1/places", within="E12000002"))["items"]) == 8


async def test_greater_manchester_holds_its_ten_boroughs_in_the_reference_places(client: httpx.AsyncClient) -> None:
    await load([UK])

    within = await get(client, "/v1/places", within=GREATER_MANCHESTER, level="local_authority", limit=50)
    assert [p["name"] for p in within["items"]] == BOROUGHS
    merseyside = await get(client, "/v1/places", within="merseyside", level="local_authority", limit=50)
    assert [p["name"] for p in merseyside["items"]] == ["Knowsley", "Liverpool", "Sefton", "St. Helens", "Wirral"]
    # Every place with a combined authority in the reference data is within it, and none is in two regions.
    for authority in (await get(client, "/v1/places", level="combined_authority", limit=50))["items"]:
        members = await get(client, "/v1/places", within=authority["slug"], level="local_authority", limit=100)
        assert members["items"], f"{authority['name']} holds no authority"


def left_out(collection: dict[str, Any]) -> dict[str, tuple[int, list[Any]]]:
    return {entry["reason"]: (entry["counts"]["grants"], entry["money"]["awarded"]) for entry in collection["left_out"]}


@pytest.mark.parametrize("filtered", [False, True], ids=["tallied", "counted live"])
async def test_the_map_says_what_its_counts_leave_out_and_why(client: httpx.AsyncClient, filtered: bool) -> None:
    await north_west(client)
    gbp = [{"amount": "100.00", "currency": "GBP"}]
    await builders.grant(client, "funder", "charity", "In Bury", places=["E08000002"], amount={"amount": "100"})
    await builders.grant(client, "funder", "charity", "UK wide", places=["K02000001"], amount={"amount": "100"})
    await builders.grant(client, "funder", "charity", "Region wide", places=["E12000002"], amount={"amount": "100"})
    await builders.grant(
        client, "funder", "charity", "Region and Bury", places=["E12000002", "E08000002"], amount={"amount": "1"}
    )
    await builders.grant(client, "funder", "charity", "Nowhere", amount={"amount": "100"})
    params = {"organisation": "funder"} if filtered else {}

    boroughs = await get(client, "/v1/map", level="local_authority", **params)
    # On a map of authorities the UK-wide and region-wide grants are at no feature: left out as broader,
    # not spread over the boroughs; the grant with no place is on no map at all.
    assert left_out(boroughs) == {
        "not_at_level": (2, [{"amount": "200.00", "currency": "GBP"}]),
        "unplaced": (1, gbp),
    }
    regions = await get(client, "/v1/map", level="region", **params)
    assert left_out(regions) == {"not_at_level": (1, gbp), "unplaced": (1, gbp)}
    assert left_out(await get(client, "/v1/map", level="uk", **params)) == {"unplaced": (1, gbp)}
    # A map of one place asks only about what is in it: the region-wide grant is left out there, the UK-wide
    # one and the one with no place are not in the region at all.
    in_region = await get(client, "/v1/map", level="local_authority", place="E12000002", **params)
    assert left_out(in_region) == {"not_at_level": (1, gbp)}
    assert left_out(await get(client, "/v1/map", level="local_authority", place="E08000002", **params)) == {}


# A date filter that keeps every record (an empty date is open-ended): the map is counted live.
EVERYTHING_SINCE = {"from": "1900-01-01"}
# Regions of each kind: a combined authority, a county (in a combined authority and a ceremonial county),
# a ceremonial county, a region, a borough and the UK.
REGIONS = (GREATER_MANCHESTER, "E10000017", "E47000020", "lancashire-ceremonial", "E12000002", "E08000002", "K02000001")


async def assert_region_maps_tallied_as_live(client: httpx.AsyncClient) -> dict[tuple[str, str], Any]:
    """Every region's map at each level, read from the tallies, is the map counted live, left-out included;
    and the tallies the writes left are the tallies counted again. The tallied left-out, by region and level."""
    from api.services.views import tally
    from tests.test_tally import tallies

    kept = await tallies()
    await tally.rebuild()
    assert kept == await tallies(), "the writes moved the tallies away from a recount"
    found = {}
    for region in REGIONS:
        for level in ("local_authority", "neighbourhood", "county"):
            for kind in (None, "grant", "organisation"):
                params: dict[str, Any] = {"level": level, "place": region, **({"kind": kind} if kind else {})}
                tallied = await get(client, "/v1/map", **params)
                live = await get(client, "/v1/map", **params, **EVERYTHING_SINCE)
                assert tallied == live, params
                if kind is None:
                    found[region, level] = tallied["left_out"]
    return found


def grants_left_out(left: list[dict[str, Any]]) -> tuple[int, list[Any]]:
    return next(
        ((e["counts"]["grants"], e["money"]["awarded"]) for e in left if e["reason"] == "not_at_level"), (0, [])
    )


async def test_a_region_s_map_leaves_out_from_the_tallies_what_it_leaves_out_counted_live(
    client: httpx.AsyncClient,
) -> None:
    await north_west(client)
    await builders.place(
        client, "Bury East", "neighbourhood", slug="bury-east", parent="E08000002", lat=53.6, lon=-2.28
    )
    await builders.place(
        client, "Burnley Central", "neighbourhood", slug="burnley-central", parent="E07000117", lat=53.79, lon=-2.24
    )
    grants = {}
    for name, places, amount in (
        ("In Bury East", ["bury-east"], {"amount": "1"}),
        ("In Bury", ["E08000002"], {"amount": "2", "currency": "EUR"}),
        # Two places, one at the level (Bury) and one above it elsewhere (Lancashire, a county).
        ("Lancashire and Bury", ["E10000017", "E08000002"], {"amount": "4"}),
        ("On Lancashire", ["E10000017"], {"amount": "8", "currency": "EUR"}),
        ("On the region", ["E12000002"], {"amount": "16"}),
        ("On Greater Manchester", [GREATER_MANCHESTER], {"amount": "32", "currency": "USD"}),
        ("Region and Burnley Central", ["E12000002", "burnley-central"], {"amount": "64"}),
        ("Nowhere", [], {"amount": "128"}),
    ):
        grants[name] = (await builders.grant(client, "funder", "charity", name, places=places, amount=amount))["id"]
    await builders.organisation(client, "On the county", kind="charity", home_place="E10000017")

    found = await assert_region_maps_tallied_as_live(client)
    gbp, eur, usd = "GBP", "EUR", "USD"

    def money(*amounts: tuple[str, str]) -> list[dict[str, str]]:
        return [{"amount": amount, "currency": currency} for amount, currency in amounts]

    # Greater Manchester at authorities: only the grant on it; at neighbourhoods Bury's and it.
    assert grants_left_out(found[GREATER_MANCHESTER, "local_authority"]) == (1, money(("32.00", usd)))
    assert grants_left_out(found[GREATER_MANCHESTER, "neighbourhood"]) == (
        3,
        money(("2.00", eur), ("4.00", gbp), ("32.00", usd)),
    )
    # Lancashire (a county) at authorities: the two grants on it (the one also in Bury is in no authority of
    # Lancashire); at its own level nothing.
    assert grants_left_out(found["E10000017", "local_authority"]) == (2, money(("8.00", eur), ("4.00", gbp)))
    assert found["E10000017", "county"] == []
    # The region at authorities: the grant on it alone (the one also in Burnley Central is in Burnley),
    # the county's and Greater Manchester's.
    assert grants_left_out(found["E12000002", "local_authority"]) == (
        3,
        money(("8.00", eur), ("16.00", gbp), ("32.00", usd)),
    )
    assert found["E08000002", "local_authority"] == []

    # A grant moves from Bury to Lancashire alone, another is deleted: the region maps follow.
    moved = await client.patch(f"/v1/grants/{grants['Lancashire and Bury']}", json={"places": ["E10000017"]})
    assert moved.status_code == 200, moved.text
    assert (await client.delete(f"/v1/grants/{grants['On Greater Manchester']}")).status_code == 204
    moved = await client.patch(f"/v1/grants/{grants['In Bury']}", json={"places": ["bury-east", "E12000002"]})
    assert moved.status_code == 200, moved.text
    found = await assert_region_maps_tallied_as_live(client)
    assert found[GREATER_MANCHESTER, "local_authority"] == []
    assert grants_left_out(found[GREATER_MANCHESTER, "neighbourhood"]) == (0, [])
    assert grants_left_out(found["E47000020", "local_authority"]) == (
        2,
        money(("8.00", eur), ("4.00", gbp)),
    )
    assert grants_left_out(found["E12000002", "local_authority"]) == (
        3,
        money(("8.00", eur), ("20.00", gbp)),
    )


@pytest.mark.parametrize("dated", [False, True], ids=["any time", "dated"])
async def test_a_place_s_funders_say_what_their_totals_leave_out(client: httpx.AsyncClient, dated: bool) -> None:
    await north_west(client)
    when = {"awarded_on": "2020-06-01"}
    for name, places, amount in (
        ("In Bury", ["E08000002"], "100"),
        ("UK wide", ["K02000001"], "20"),
        ("Region wide", ["E12000002"], "3"),
        ("Region and Bury", ["E12000002", "E08000002"], "1"),
        ("In Burnley", ["E07000117"], "5000"),
        ("Nowhere", [], "7"),
    ):
        await builders.grant(client, "funder", "charity", name, places=places, amount={"amount": amount}, **when)
    await builders.grant(
        client,
        "funder",
        "charity",
        "Earlier, nowhere",
        amount={"amount": "9"},
        awarded_on="2010-01-01",
        planned_end_on="2010-12-31",
    )
    params = {"from": "2020-01-01", "to": "2020-12-31"} if dated else {}

    funders = await get(client, "/v1/places/E08000002/funders", **params)
    assert funders["totals"]["grants"] == 2
    by_reason = {entry["reason"]: entry for entry in funders["left_out"]}
    assert by_reason["broader"]["grants"] == 2
    assert by_reason["broader"]["awarded"] == [{"amount": "23.00", "currency": "GBP"}]
    assert by_reason["unplaced"]["grants"] == (1 if dated else 2)
    assert by_reason["unplaced"]["awarded"] == [{"amount": "7.00" if dated else "16.00", "currency": "GBP"}]
    # The UK holds everything placed: nothing is broader than it.
    uk = await get(client, "/v1/places/K02000001/funders", **params)
    assert [entry["reason"] for entry in uk["left_out"]] == ["unplaced"]


async def test_an_organisation_s_activity_shows_how_much_of_its_granting_is_placed(client: httpx.AsyncClient) -> None:
    await north_west(client)
    await builders.grant(client, "funder", "charity", "In Bury", places=["E08000002"], amount={"amount": "100"})
    await builders.grant(client, "funder", "charity", "UK wide", places=["K02000001"], amount={"amount": "20"})
    await builders.grant(client, "funder", "charity", "Nowhere", amount={"amount": "7"})
    await builders.grant(client, "funder", "charity", "Nowhere, no amount")

    coverage = (await get(client, "/v1/organisations/funder/activity"))["coverage"]
    assert coverage == {
        "placed": {"grants": 2, "awarded": [{"amount": "120.00", "currency": "GBP"}]},
        "unplaced": {"grants": 2, "awarded": [{"amount": "7.00", "currency": "GBP"}]},
    }
    nothing = {"grants": 0, "awarded": []}
    assert (await get(client, "/v1/organisations/charity/activity"))["coverage"] == {
        "placed": nothing,
        "unplaced": nothing,
    }


async def test_a_place_search_finds_places_by_the_gazetteer_s_names(client: httpx.AsyncClient) -> None:
    await load([UK])

    for q, slug in (
        ("Caerdydd", "cardiff"),
        ("Hull City Council", "kingston-upon-hull"),
        ("UK wide", "united-kingdom"),
        ("Teesside", "cleveland"),
    ):
        found = await get(client, "/v1/places", q=q)
        assert slug in [p["slug"] for p in found["items"]], (q, [p["slug"] for p in found["items"]])
    # Its own name still finds it, and a name nothing has finds nothing.
    assert [p["slug"] for p in (await get(client, "/v1/places", q="Bury"))["items"]] == [
        "bury",
        "canterbury",
        "tewkesbury",
    ]
    assert (await get(client, "/v1/places", q="Atlantis"))["items"] == []
