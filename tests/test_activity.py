"""The story of a place (everything in it and below it; who funds there) and of an organisation
(everything it takes part in, with its roles).

`TestOnTheSeed` reads the seed network, loaded once for the class (its tests only read); the tests
after it build their own small networks on empty tables, as everywhere else."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests import builders

LANKELLY = "lankelly-chase-foundation"
NORTH_CAMDEN_GRANT = "continued-funding-north-camden-zone"
WANDSWORTH_GRANT = "continued-funding-wandsworth-community-empowerment-network"
KINDS = ("interest_groups", "co_funding", "research", "grants", "engagements")


async def get(client: httpx.AsyncClient, path: str, **params: Any) -> Any:
    response = await client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def slugs(group: dict[str, Any]) -> list[str]:
    return [item["slug"] for item in group["items"]]


def roles(item: dict[str, Any]) -> dict[str, list[str]]:
    return {participant["organisation"]["slug"]: participant["roles"] for participant in item["participants"]}


class TestOnTheSeed:
    @pytest.fixture(autouse=True)
    async def empty_database(self, seeded: None) -> None:
        """These tests only read: they share the one load `seeded` makes."""

    async def test_a_place_holds_the_records_of_the_places_below_it(self, client: httpx.AsyncClient) -> None:
        london = await get(client, "/v1/places/E12000007/activity")

        assert london["place"]["slug"] == "london"
        assert london["grants"]["total"] == 2
        assert slugs(london["grants"]) == [NORTH_CAMDEN_GRANT, WANDSWORTH_GRANT]
        assert all(london[kind]["total"] == 0 for kind in KINDS if kind != "grants")

    async def test_a_record_item_names_its_places_money_and_participants(self, client: httpx.AsyncClient) -> None:
        camden = await get(client, "/v1/places/camden/activity")

        (grant,) = camden["grants"]["items"]
        assert grant["kind"] == "grant"
        assert [place["slug"] for place in grant["places"]] == ["camden"]
        assert grant["money"] == []
        assert roles(grant) == {LANKELLY: ["funder"], "north-camden-zone": ["recipient"]}

    async def test_a_place_lists_the_organisations_based_in_it_and_below(self, client: httpx.AsyncClient) -> None:
        london = await get(client, "/v1/places/london/activity", limit=200)
        listed = await get(client, "/v1/organisations", place="london", limit=200)

        organisations = london["organisations"]
        assert organisations["total"] == len(listed["items"])
        assert sorted(slugs(organisations)) == sorted(item["slug"] for item in listed["items"])
        by_slug = {item["slug"]: item for item in organisations["items"]}
        assert by_slug["north-camden-zone"]["home_place"]["slug"] == "camden"
        assert by_slug["london-funders"]["home_place"]["slug"] == "london"

    async def test_limit_caps_the_items_not_the_total(self, client: httpx.AsyncClient) -> None:
        uk = await get(client, "/v1/places/K02000001/activity", limit=1)

        assert uk["research"]["total"] == 3
        assert len(uk["research"]["items"]) == 1
        assert uk["engagements"]["total"] == 1  # the manifesto discussions, across England
        assert uk["organisations"]["total"] > 1 == len(uk["organisations"]["items"])

    async def test_kind_leaves_the_other_kinds_empty(self, client: httpx.AsyncClient) -> None:
        uk = await get(client, "/v1/places/united-kingdom/activity", kind="co_funding")

        assert slugs(uk["co_funding"]) == ["ivar-place-based-funding-study-co-funding"]
        assert uk["organisations"]["total"] == 0
        assert all(uk[kind]["total"] == 0 for kind in KINDS if kind != "co_funding")

    async def test_an_organisation_filter_keeps_what_it_takes_part_in(self, client: httpx.AsyncClient) -> None:
        uk = await get(client, "/v1/places/united-kingdom/activity", organisation="newcastle-university")

        assert slugs(uk["research"]) == ["manifesto-for-place-based-systems-change"]
        assert slugs(uk["engagements"]) == ["manifesto-discussion-series"]
        assert slugs(uk["organisations"]) == ["newcastle-university"]

    async def test_who_funds_in_a_place_is_ranked_with_totals(self, client: httpx.AsyncClient) -> None:
        london = await get(client, "/v1/places/london/funders")

        assert london["totals"] == {"funders": 1, "grants": 2, "awarded": [], "contributions": 0, "contributed": []}
        (funder,) = london["funders"]
        assert funder["rank"] == 1
        assert funder["organisation"]["slug"] == LANKELLY
        assert (funder["grants"], funder["contributions"]) == (2, 0)

    async def test_contributions_count_where_their_arrangement_is(self, client: httpx.AsyncClient) -> None:
        england = await get(client, "/v1/places/england/funders")
        uk = await get(client, "/v1/places/united-kingdom/funders")

        assert england["totals"]["contributions"] == 0
        assert uk["totals"]["contributions"] == 1
        assert [(f["organisation"]["slug"], f["grants"], f["contributions"]) for f in uk["funders"]] == [
            (LANKELLY, 2, 1)
        ]

    async def test_an_organisation_gives_every_record_with_its_roles(self, client: httpx.AsyncClient) -> None:
        ivar = await get(client, "/v1/organisations/GB-CHC-1114403/activity")

        assert ivar["organisation"]["slug"] == "ivar"
        assert {item["slug"]: item["roles"] for kind in KINDS for item in ivar[kind]["items"]} == {
            "ivar-place-literature-review": ["partner"],
            "ivar-place-based-funding-study": ["partner"],
            "ivar-place-based-funding-study-co-funding": ["recipient"],
        }

    async def test_lankelly_chase_takes_part_in_everything_in_the_seed(self, client: httpx.AsyncClient) -> None:
        lankelly = await get(client, "/v1/organisations/lankelly-chase-foundation/activity")

        assert {kind: lankelly[kind]["total"] for kind in KINDS} == {
            "interest_groups": 1,
            "co_funding": 1,
            "research": 2,  # it co-funded IVAR's study and commissioned nothing of it (seed README)
            "grants": 7,
            "engagements": 3,
        }
        (group,) = lankelly["interest_groups"]["items"]
        assert group["roles"] == ["member"]
        assert roles(group)["association-of-charitable-foundations"] == ["convenor"]
        assert {item["slug"]: item["roles"] for item in lankelly["research"]["items"]} == {
            "ivar-place-literature-review": ["commissioner"],
            "manifesto-for-place-based-systems-change": ["commissioner"],
        }

    async def test_a_place_filter_narrows_an_organisations_activity(self, client: httpx.AsyncClient) -> None:
        lankelly = await get(client, "/v1/organisations/lankelly-chase-foundation/activity", place="wandsworth")

        assert {kind: slugs(lankelly[kind]) for kind in KINDS} == {
            "interest_groups": [],
            "co_funding": [],
            "research": [],
            "grants": [WANDSWORTH_GRANT],
            "engagements": [],
        }

    @pytest.mark.parametrize(
        ("path", "status"),
        [
            ("/v1/places/nowhere-at-all/activity", 404),
            ("/v1/places/nowhere-at-all/funders", 404),
            ("/v1/organisations/nobody-at-all/activity", 404),
            ("/v1/places/london/activity?organisation=nobody-at-all", 422),
            ("/v1/organisations/ivar/activity?place=nowhere-at-all", 422),
            ("/v1/places/london/activity?from=2020-01-01&to=2019-01-01", 422),
            ("/v1/places/london/funders?limit=0", 400),
            ("/v1/organisations/ivar/activity?kind=organisation", 400),
        ],
    )
    async def test_mistakes_are_problems(self, client: httpx.AsyncClient, path: str, status: int) -> None:
        response = await client.get(path)

        assert response.status_code == status
        assert response.headers["content-type"] == "application/problem+json"


async def funded_coventry(client: httpx.AsyncClient) -> None:
    """Coventry in the West Midlands, and three funders there: one with many small grants, one with one
    large grant, one contributing to an arrangement for the region."""
    await builders.uk_places(client)
    for name in ("Big Funder", "Small Funder", "Pool Funder"):
        await builders.organisation(client, name)
    await builders.organisation(client, "Grapevine", kind="charity", home_place="coventry")
    for n in range(3):
        await builders.grant(
            client, "small-funder", "grapevine", f"Small {n}", amount={"amount": "10.00"}, places=["coventry"]
        )
    await builders.grant(
        client,
        "big-funder",
        "grapevine",
        "Big",
        amount={"amount": "5000.00"},
        places=["coventry"],
        planned_start_on="2020-01-01",
        planned_end_on="2020-12-31",
    )
    await builders.grant(client, "big-funder", "grapevine", "Elsewhere", amount={"amount": "1.00"}, places=["scotland"])
    await builders.post(
        client,
        "/v1/co-funding",
        {
            "name": "West Midlands pool",
            "places": ["west-midlands"],
            "contributions": [
                {"funder": "pool-funder", "amount": {"amount": "70.00", "currency": "EUR"}},
                {"funder": "small-funder", "in_kind": True},
            ],
        },
    )


async def test_funders_rank_by_count_or_by_amount(client: httpx.AsyncClient) -> None:
    await funded_coventry(client)

    by_count = await get(client, "/v1/places/west-midlands/funders")
    by_amount = await get(client, "/v1/places/west-midlands/funders", rank_by="amount")

    assert [(f["rank"], f["organisation"]["slug"]) for f in by_count["funders"]] == [
        (1, "small-funder"),
        (2, "big-funder"),
        (3, "pool-funder"),
    ]
    assert [f["organisation"]["slug"] for f in by_amount["funders"]] == ["big-funder", "small-funder", "pool-funder"]


async def test_funders_carry_their_counts_and_money_per_currency(client: httpx.AsyncClient) -> None:
    await funded_coventry(client)

    answer = await get(client, "/v1/places/west-midlands/funders", limit=1)

    assert answer["totals"] == {
        "funders": 3,
        "grants": 4,
        "awarded": [{"amount": "5030.00", "currency": "GBP"}],
        "contributions": 2,
        "contributed": [{"amount": "70.00", "currency": "EUR"}],
    }
    (small,) = answer["funders"]
    assert small == {
        "rank": 1,
        "organisation": {
            "id": small["organisation"]["id"],
            "slug": "small-funder",
            "name": "Small Funder",
            "kind": "foundation",
        },
        "grants": 3,
        "awarded": [{"amount": "30.00", "currency": "GBP"}],
        "contributions": 1,
        "contributed": [],
    }


async def test_funders_within_dates(client: httpx.AsyncClient) -> None:
    await funded_coventry(client)

    answer = await get(client, "/v1/places/coventry/funders", **{"from": "2021-01-01"})

    assert [(f["organisation"]["slug"], f["grants"]) for f in answer["funders"]] == [("small-funder", 3)]


async def test_an_items_money_totals_its_contributions(client: httpx.AsyncClient) -> None:
    await funded_coventry(client)

    activity = await get(client, "/v1/organisations/pool-funder/activity")

    (pool,) = activity["co_funding"]["items"]
    assert pool["money"] == [{"amount": "70.00", "currency": "EUR"}]
    assert roles(pool) == {"pool-funder": ["funder"], "small-funder": ["funder"]}
    assert pool["roles"] == ["funder"]


@pytest.mark.parametrize(
    ("path", "params", "expected"),
    [
        # resolve, organisation filter, organisations based there, records, their parties, places and
        # money, the place's name
        ("/v1/places/west-midlands/activity", {"organisation": "small-funder"}, 8),
        # resolve, the funding, the place's name, what the totals leave out
        ("/v1/places/west-midlands/funders", {}, 4),
        # resolve, place filter, records, parties, places, money, the organisation's name, its coverage
        ("/v1/organisations/small-funder/activity", {"place": "england"}, 8),
    ],
)
async def test_activity_sends_the_same_queries_however_much_data(
    client: httpx.AsyncClient, queries: Callable[[], int], path: str, params: dict[str, str], expected: int
) -> None:
    await funded_coventry(client)

    before = queries()
    await get(client, path, **params)
    small = queries() - before
    for n in range(10):
        await builders.place(client, f"Ward {n}", "neighbourhood", parent="coventry")
        await builders.organisation(client, f"Charity {n}", kind="charity", home_place=f"ward-{n}")
        await builders.grant(
            client, "small-funder", f"charity-{n}", f"Grant {n}", places=[f"ward-{n}"], amount={"amount": "1.00"}
        )
    before = queries()
    await get(client, path, **params)

    assert queries() - before == small == expected
