"""The shared map: GeoJSON of places at a level, with counts and money rolled up from the places below.

`TestOnTheSeed` reads the seed network, loaded once for the class (its tests only read); the tests
after it build their own small networks on empty tables, as everywhere else."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests import builders

LANKELLY = "lankelly-chase-foundation"
CAMDEN, WANDSWORTH, LONDON = "E09000007", "E09000032", "E12000007"
# Generous bounds around the UK (and its islands), in degrees.
UK_LON, UK_LAT = (-9.0, 2.5), (49.0, 61.5)


async def geojson(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await client.get("/v1/map", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/geo+json")
    body: dict[str, Any] = response.json()
    return body


def by_code(collection: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {feature["properties"]["gss_code"]: feature["properties"] for feature in collection["features"]}


def assert_valid_geojson(collection: dict[str, Any]) -> None:
    """RFC 7946: a FeatureCollection of Features, each with an id, a valid geometry and properties;
    positions are [longitude, latitude] in WGS84 (inside the UK here, so longitude must come first)."""
    assert collection["type"] == "FeatureCollection"
    assert isinstance(collection["features"], list)
    for feature in collection["features"]:
        assert feature["type"] == "Feature"
        assert isinstance(feature["id"], str) and feature["id"]
        assert isinstance(feature["properties"], dict)
        geometry = feature["geometry"]
        assert geometry["type"] == "Point", geometry
        lon, lat = geometry["coordinates"]
        assert all(isinstance(value, float | int) for value in (lon, lat))
        assert UK_LON[0] <= lon <= UK_LON[1], (feature["properties"]["name"], lon)
        assert UK_LAT[0] <= lat <= UK_LAT[1], (feature["properties"]["name"], lat)
        assert feature["properties"]["centroid"] == geometry["coordinates"]


class TestOnTheSeed:
    @pytest.fixture(autouse=True)
    async def empty_database(self, seeded: None) -> None:
        """These tests only read: they share the one load `seeded` makes."""

    async def test_lankelly_grants_are_counted_under_camden_and_wandsworth(self, client: httpx.AsyncClient) -> None:
        collection = await geojson(
            client, level="local_authority", kind="grant", organisation=LANKELLY, with_records="true"
        )

        counted = {code: place["counts"]["grants"] for code, place in by_code(collection).items()}
        assert counted == {CAMDEN: 1, WANDSWORTH: 1}

    async def test_lankelly_grants_roll_up_to_london(self, client: httpx.AsyncClient) -> None:
        regions = by_code(await geojson(client, level="region", kind="grant", organisation=LANKELLY))

        assert regions[LONDON]["counts"]["grants"] == 2
        assert {code for code, place in regions.items() if place["counts"]["grants"]} == {LONDON}

    async def test_every_level_is_valid_geojson(self, client: httpx.AsyncClient) -> None:
        for level in ("uk", "nation", "region", "combined_authority", "county", "local_authority"):
            collection = await geojson(client, level=level)

            assert collection["features"], level
            assert_valid_geojson(collection)
            assert {feature["properties"]["level"] for feature in collection["features"]} == {level}

    async def test_london_is_at_its_longitude_and_latitude(self, client: httpx.AsyncClient) -> None:
        features = (await geojson(client, level="region"))["features"]

        (london,) = [feature for feature in features if feature["properties"]["gss_code"] == LONDON]
        lon, lat = london["geometry"]["coordinates"]
        assert -0.6 < lon < 0.4 and 51.2 < lat < 51.8

    async def test_organisations_count_under_their_home_place_and_above(self, client: httpx.AsyncClient) -> None:
        based = await client.get("/v1/organisations", params={"place": "E08000026", "limit": 200})
        region = await client.get("/v1/organisations", params={"place": "E12000005", "limit": 200})

        authorities = by_code(await geojson(client, level="local_authority", kind="organisation"))
        regions = by_code(await geojson(client, level="region", kind="organisation"))
        assert "coventry-law-centre" in {item["slug"] for item in based.json()["items"]}
        assert authorities["E08000026"]["counts"]["organisations"] == len(based.json()["items"])
        assert regions["E12000005"]["counts"]["organisations"] == len(region.json()["items"])

    async def test_kind_counts_only_that_kind(self, client: httpx.AsyncClient) -> None:
        (uk,) = (await geojson(client, level="uk", kind="research"))["features"]

        assert uk["properties"]["counts"] == {
            "organisations": 0,
            "interest_groups": 0,
            "co_funding": 0,
            "research": 3,
            "grants": 0,
            "engagements": 0,
        }

    async def test_everything_rolls_up_to_the_uk(self, client: httpx.AsyncClient) -> None:
        (uk,) = (await geojson(client, level="uk", organisation=LANKELLY))["features"]

        # Everything Lankelly Chase takes part in that names a place: the review and the arrangement name
        # the UK, the manifesto and its discussions England, two grants London boroughs. (The study the
        # arrangement paid for names the UK too, but Lankelly Chase co-funded it, not commissioned it.)
        assert uk["properties"]["counts"] == {
            "organisations": 0,
            "interest_groups": 1,
            "co_funding": 1,
            "research": 2,
            "grants": 2,
            "engagements": 1,
        }

    async def test_place_maps_only_the_places_below_it(self, client: httpx.AsyncClient) -> None:
        boroughs = await client.get("/v1/places", params={"within": LONDON, "level": "local_authority", "limit": 200})

        collection = await geojson(client, level="local_authority", place="london")
        assert {f["properties"]["slug"] for f in collection["features"]} == {
            item["slug"] for item in boroughs.json()["items"]
        }

    async def test_bbox_keeps_places_whose_centroid_is_inside(self, client: httpx.AsyncClient) -> None:
        box = (-0.51, 51.28, 0.34, 51.69)

        collection = await geojson(client, level="local_authority", bbox=",".join(map(str, box)))

        codes = by_code(collection)
        assert {CAMDEN, WANDSWORTH} <= codes.keys()
        assert "E08000026" not in codes
        for feature in collection["features"]:
            lon, lat = feature["geometry"]["coordinates"]
            assert box[0] <= lon <= box[2] and box[1] <= lat <= box[3]

    async def test_with_records_leaves_out_empty_places(self, client: httpx.AsyncClient) -> None:
        collection = await geojson(client, level="region", kind="grant", with_records="true")

        assert list(by_code(collection)) == [LONDON]


@pytest.mark.parametrize("bbox", ["1,2,3", "a,b,c,d", "nan,50,1,51", "-1,50,1,51,2", "-1;50;1;51"])
async def test_a_malformed_bbox_is_a_400_naming_it(client: httpx.AsyncClient, bbox: str) -> None:
    response = await client.get("/v1/map", params={"bbox": bbox})

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "bbox"


@pytest.mark.parametrize(
    ("bbox", "message"),
    [
        ("-200,50,1,51", "longitudes must be between -180 and 180"),
        ("-1,95,1,96", "latitudes must be between -90 and 90"),
        ("-1,52,1,51", "min_lat must not be greater than max_lat"),
    ],
)
async def test_a_bbox_off_the_globe_is_a_422_saying_why(client: httpx.AsyncClient, bbox: str, message: str) -> None:
    response = await client.get("/v1/map", params={"bbox": bbox})

    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "bbox", "message": message, "location": "query"}]


async def test_a_bbox_across_the_antimeridian_wraps_round(client: httpx.AsyncClient) -> None:
    await builders.place(client, "Coventry", gss_code="E08000026", lat=52.41, lon=-1.51)
    await builders.place(client, "Chatham Islands", lat=-44.0, lon=-176.5)

    wrapped = await geojson(client, bbox="170,-50,-170,-40")
    plain = await geojson(client, bbox="-2,52,-1,53")

    assert [f["properties"]["name"] for f in wrapped["features"]] == ["Chatham Islands"]
    assert [f["properties"]["name"] for f in plain["features"]] == ["Coventry"]


async def test_an_unknown_organisation_is_a_422(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/map", params={"organisation": "nobody-at-all"})

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "organisation"


async def test_a_backwards_date_range_is_a_422(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/map", params={"from": "2020-01-01", "to": "2019-12-31"})

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "to"


async def test_places_without_a_centroid_are_left_out(client: httpx.AsyncClient) -> None:
    await builders.uk_places(client)  # Coventry has a centroid; England and Scotland have none
    await builders.place(client, "Glasgow", gss_code="S12000049", parent="scotland", lat=55.86, lon=-4.25)

    nations = await geojson(client, level="nation")
    authorities = await geojson(client, level="local_authority")

    assert nations["features"] == []
    assert sorted(f["properties"]["name"] for f in authorities["features"]) == ["Coventry", "Glasgow"]


async def test_a_known_boundary_is_the_geometry_unless_centroids_are_asked_for(client: httpx.AsyncClient) -> None:
    square = [[[-1.6, 52.3], [-1.4, 52.3], [-1.4, 52.5], [-1.6, 52.5], [-1.6, 52.3]]]
    await builders.place(
        client,
        "Coventry",
        gss_code="E08000026",
        lat=52.41,
        lon=-1.51,
        boundary={"type": "Polygon", "coordinates": square},
    )

    (drawn,) = (await geojson(client))["features"]
    (pointed,) = (await geojson(client, geometry="centroid"))["features"]

    assert drawn["geometry"] == {"type": "Polygon", "coordinates": square}
    assert drawn["properties"]["centroid"] == [-1.51, 52.41]
    assert pointed["geometry"] == {"type": "Point", "coordinates": [-1.51, 52.41]}


async def money_network(client: httpx.AsyncClient) -> None:
    """A region with two boroughs: one grant names both, one names one, in two currencies; and a
    co-funding arrangement for the region."""
    await builders.place(client, "London", "region", gss_code=LONDON, lat=51.5, lon=-0.12)
    await builders.place(client, "Camden", gss_code=CAMDEN, parent=LONDON, lat=51.55, lon=-0.16)
    await builders.place(client, "Wandsworth", gss_code=WANDSWORTH, parent=LONDON, lat=51.45, lon=-0.19)
    await builders.organisation(client, "Lankelly Chase Foundation")
    await builders.organisation(client, "City Bridge Trust")
    await builders.organisation(client, "North Camden Zone", kind="community_group", home_place=CAMDEN)
    amount = {"amount": "1000.10", "currency": "GBP"}
    await builders.grant(client, LANKELLY, "north-camden-zone", "Both", amount=amount, places=[CAMDEN, WANDSWORTH])
    await builders.grant(
        client, LANKELLY, "north-camden-zone", "Camden only", amount={"amount": "20.05"}, places=[CAMDEN]
    )
    await builders.grant(
        client,
        "city-bridge-trust",
        "north-camden-zone",
        "In euros",
        amount={"amount": "5.00", "currency": "EUR"},
        places=[CAMDEN],
    )
    await builders.post(
        client,
        "/v1/co-funding",
        {
            "name": "London pool",
            "places": [LONDON],
            "contributions": [
                {"funder": LANKELLY, "amount": {"amount": "300.00"}},
                {"funder": "city-bridge-trust", "amount": {"amount": "200.25"}},
            ],
        },
    )


async def test_money_is_summed_per_currency_counting_each_grant_once(client: httpx.AsyncClient) -> None:
    await money_network(client)

    regions = by_code(await geojson(client, level="region"))
    boroughs = by_code(await geojson(client, level="local_authority"))

    assert regions[LONDON]["counts"]["grants"] == 3
    assert regions[LONDON]["money"] == {
        "awarded": [{"amount": "5.00", "currency": "EUR"}, {"amount": "1020.15", "currency": "GBP"}],
        "pooled": [{"amount": "500.25", "currency": "GBP"}],
    }
    assert boroughs[CAMDEN]["money"]["awarded"] == [
        {"amount": "5.00", "currency": "EUR"},
        {"amount": "1020.15", "currency": "GBP"},
    ]
    assert boroughs[WANDSWORTH]["money"] == {"awarded": [{"amount": "1000.10", "currency": "GBP"}], "pooled": []}
    assert boroughs[CAMDEN]["counts"]["organisations"] == 1


async def test_dates_keep_only_records_whose_time_overlaps(client: httpx.AsyncClient) -> None:
    await builders.place(client, "Coventry", gss_code="E08000026", lat=52.41, lon=-1.51)
    await builders.organisation(client, "Lankelly Chase Foundation")
    await builders.organisation(client, "Grapevine", kind="charity")
    dated = {"planned_start_on": "2017-01-01", "planned_end_on": "2017-12-31", "places": ["E08000026"]}
    await builders.grant(client, LANKELLY, "grapevine", "In 2017", **dated)
    await builders.grant(client, LANKELLY, "grapevine", "Undated", places=["E08000026"])

    def grants(collection: dict[str, Any]) -> int:
        count: int = collection["features"][0]["properties"]["counts"]["grants"]
        return count

    assert grants(await geojson(client, active_on="2017-06-01")) == 2
    assert grants(await geojson(client, active_on="2018-06-01")) == 1
    assert grants(await geojson(client, **{"from": "2016-01-01", "to": "2016-12-31"})) == 1
    assert grants(await geojson(client, **{"from": "2017-12-31"})) == 2


async def test_the_map_sends_the_same_queries_however_much_data(
    client: httpx.AsyncClient, queries: Callable[[], int]
) -> None:
    await money_network(client)
    params = {"level": "local_authority", "organisation": LANKELLY, "place": LONDON, "active_on": "2020-01-01"}

    before = queries()
    await geojson(client, **params)
    small = queries() - before
    for n in range(10):
        code = f"E090001{n:02d}"
        await builders.place(client, f"Borough {n}", gss_code=code, parent=LONDON, lat=51.5, lon=-0.1)
        await builders.organisation(client, f"Charity {n}", kind="charity", home_place=code)
        await builders.grant(client, LANKELLY, f"charity-{n}", f"Grant {n}", places=[code], amount={"amount": "1"})
    before = queries()
    large = await geojson(client, **params)
    assert len(large["features"]) == 12
    # resolve the organisation and the place, the places, the counts
    assert queries() - before == small == 4


async def test_a_region_counts_what_the_whole_map_counts_there(client: httpx.AsyncClient) -> None:
    """The map of a region reads only the links into it: a record linked inside and outside it still
    counts once inside, one linked only outside is not counted, and every filter narrows it as it narrows
    the whole map."""
    await money_network(client)
    coventry = "E08000026"
    await builders.place(client, "Coventry", gss_code=coventry, lat=52.41, lon=-1.51)
    await builders.organisation(client, "Grapevine", kind="charity", home_place=coventry)
    dated = {"planned_start_on": "2017-01-01", "planned_end_on": "2017-12-31"}
    both = {"amount": {"amount": "7.00"}, "places": [CAMDEN, coventry], **dated}
    await builders.grant(client, LANKELLY, "grapevine", "Camden and Coventry", **both)
    await builders.grant(client, "city-bridge-trust", "grapevine", "Coventry only", places=[coventry])

    boroughs = by_code(await geojson(client, level="local_authority", place=LONDON))
    assert set(boroughs) == {CAMDEN, WANDSWORTH}
    assert boroughs[CAMDEN]["counts"]["grants"] == 4
    assert boroughs[CAMDEN]["counts"]["organisations"] == 1
    assert boroughs[CAMDEN]["money"]["awarded"] == [
        {"amount": "5.00", "currency": "EUR"},
        {"amount": "1027.15", "currency": "GBP"},
    ]
    grapevine = by_code(await geojson(client, level="local_authority", place=LONDON, organisation="grapevine"))
    assert grapevine[CAMDEN]["counts"] == {
        "organisations": 0,
        "interest_groups": 0,
        "co_funding": 0,
        "research": 0,
        "grants": 1,
        "engagements": 0,
    }
    assert grapevine[CAMDEN]["money"]["awarded"] == [{"amount": "7.00", "currency": "GBP"}]
    filters: list[dict[str, str]] = [
        {},
        {"organisation": LANKELLY},
        {"organisation": "grapevine"},
        {"kind": "grant"},
        {"kind": "organisation"},
        {"active_on": "2017-06-01"},
        {"from": "2018-01-01"},
    ]
    for params in filters:
        everywhere = by_code(await geojson(client, level="local_authority", **params))
        in_london = by_code(await geojson(client, level="local_authority", place=LONDON, **params))
        assert in_london == {code: everywhere[code] for code in (CAMDEN, WANDSWORTH)}, params
