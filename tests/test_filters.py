"""Each list filter, on the collection it fits."""

from __future__ import annotations

from typing import Any

import httpx

from tests import builders


def names(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()["items"]]


async def network(client: httpx.AsyncClient) -> dict[str, Any]:
    """A small network across a slice of the UK."""
    await builders.uk_places(client)
    lankelly = await builders.organisation(client, "Lankelly Chase Foundation", org_id="GB-CHC-1107583")
    acf = await builders.organisation(client, "Association of Charitable Foundations", kind="funder_network")
    ivar = await builders.organisation(client, "IVAR", kind="research_institute", description="Action research")
    council = await builders.organisation(
        client, "Coventry City Council", kind="local_authority", home_place="coventry"
    )
    return {"lankelly": lankelly, "acf": acf, "ivar": ivar, "council": council}


async def test_organisations_by_kind_place_and_text(client: httpx.AsyncClient) -> None:
    await network(client)
    assert names(await client.get("/v1/organisations", params={"kind": "funder_network"})) == [
        "Association of Charitable Foundations"
    ]
    assert names(await client.get("/v1/organisations", params={"place": "west-midlands"})) == ["Coventry City Council"]
    assert names(await client.get("/v1/organisations", params={"q": "ACTION RES"})) == ["IVAR"]
    assert names(await client.get("/v1/organisations", params={"q": "1107583"})) == ["Lankelly Chase Foundation"]


async def test_places_by_level_and_text(client: httpx.AsyncClient) -> None:
    await builders.uk_places(client)
    assert names(await client.get("/v1/places", params={"level": "nation"})) == ["England", "Scotland"]
    assert names(await client.get("/v1/places", params={"q": "E12000005"})) == ["West Midlands"]


async def test_interest_groups_by_organisation_role_place_and_date(client: httpx.AsyncClient) -> None:
    await network(client)
    await builders.post(
        client,
        "/v1/interest-groups",
        {
            "name": "Place funders",
            "convenor": "association-of-charitable-foundations",
            "starts_on": "2016-01-01",
            "ends_on": "2017-12-31",
            "places": ["england"],
            "members": [{"organisation": "lankelly-chase-foundation"}, {"organisation": "ivar", "role": "observer"}],
        },
    )
    await builders.post(client, "/v1/interest-groups", {"name": "Scottish funders", "places": ["scotland"]})
    groups = "/v1/interest-groups"
    assert names(await client.get(groups, params={"organisation": "GB-CHC-1107583"})) == ["Place funders"]
    assert names(await client.get(groups, params={"organisation": "association-of-charitable-foundations"})) == [
        "Place funders"
    ]
    assert names(await client.get(groups, params={"organisation": "ivar", "role": "member"})) == []
    assert names(await client.get(groups, params={"organisation": "ivar", "role": "observer"})) == ["Place funders"]
    assert names(await client.get(groups, params={"place": "coventry"})) == []
    assert names(await client.get(groups, params={"place": "K02000001"})) == ["Place funders", "Scottish funders"]
    assert names(await client.get(groups, params={"active_on": "2017-06-01"})) == ["Place funders", "Scottish funders"]
    assert names(await client.get(groups, params={"active_on": "2018-06-01"})) == ["Scottish funders"]
    assert names(await client.get(groups, params={"q": "scottish"})) == ["Scottish funders"]


async def test_co_funding_by_funder_organisation_and_place(client: httpx.AsyncClient) -> None:
    await network(client)
    await builders.post(
        client,
        "/v1/co-funding",
        {
            "name": "Place study",
            "lead": "ivar",
            "places": ["england"],
            "contributions": [{"funder": "lankelly-chase-foundation"}],
        },
    )
    await builders.post(
        client, "/v1/co-funding", {"name": "Scottish pool", "places": ["scotland"], "purpose": "Pooled fund"}
    )
    assert names(await client.get("/v1/co-funding", params={"funder": "GB-CHC-1107583"})) == ["Place study"]
    assert names(await client.get("/v1/co-funding", params={"funder": "ivar"})) == []
    assert names(await client.get("/v1/co-funding", params={"organisation": "ivar"})) == ["Place study"]
    assert names(await client.get("/v1/co-funding", params={"place": "scotland"})) == ["Scottish pool"]
    assert names(await client.get("/v1/co-funding", params={"q": "pooled"})) == ["Scottish pool"]


async def test_research_by_kind_organisation_role_funding_and_date(client: httpx.AsyncClient) -> None:
    await network(client)
    fund = await builders.post(client, "/v1/co-funding", {"name": "Place study fund"})
    await builders.post(
        client,
        "/v1/research",
        {
            "name": "Literature review",
            "kind": "literature_review",
            "commissioners": ["lankelly-chase-foundation"],
            "partners": ["ivar"],
            "published_on": "2017-03-01",
        },
    )
    await builders.post(
        client,
        "/v1/research",
        {
            "name": "Place study",
            "kind": "study",
            "commissioners": ["ivar"],
            "funded_by": fund["slug"],
            "places": ["england"],
        },
    )
    research = "/v1/research"
    assert names(await client.get(research, params={"kind": "study"})) == ["Place study"]
    assert names(await client.get(research, params={"organisation": "ivar"})) == ["Literature review", "Place study"]
    assert names(await client.get(research, params={"organisation": "ivar", "role": "partner"})) == [
        "Literature review"
    ]
    assert names(await client.get(research, params={"organisation": "ivar", "role": "commissioner"})) == ["Place study"]
    assert names(await client.get(research, params={"funded_by": fund["slug"]})) == ["Place study"]
    assert names(await client.get(research, params={"published_from": "2017-01-01"})) == ["Literature review"]
    assert names(await client.get(research, params={"published_to": "2016-12-31"})) == []
    assert names(await client.get(research, params={"place": "coventry"})) == []


async def test_grants_by_funder_recipient_programme_and_dates(client: httpx.AsyncClient) -> None:
    await network(client)
    await builders.grant(
        client,
        "lankelly-chase-foundation",
        "ivar",
        "Study",
        programme="Place",
        awarded_on="2017-05-01",
        planned_start_on="2017-06-01",
        planned_end_on="2018-05-31",
    )
    await builders.grant(client, "ivar", "coventry-city-council", "Local work", awarded_on="2019-01-01")
    assert names(await client.get("/v1/grants", params={"funder": "GB-CHC-1107583"})) == ["Study"]
    assert names(await client.get("/v1/grants", params={"recipient": "ivar"})) == ["Study"]
    assert names(await client.get("/v1/grants", params={"organisation": "ivar"})) == ["Local work", "Study"]
    assert names(await client.get("/v1/grants", params={"programme": "Place"})) == ["Study"]
    assert names(await client.get("/v1/grants", params={"awarded_from": "2018-01-01"})) == ["Local work"]
    assert names(await client.get("/v1/grants", params={"awarded_to": "2018-01-01"})) == ["Study"]
    assert names(await client.get("/v1/grants", params={"active_on": "2018-01-01"})) == ["Local work", "Study"]
    assert (
        names(await client.get("/v1/grants", params={"active_on": "2018-07-01", "funder": "lankelly-chase-foundation"}))
        == []
    )


async def test_engagements_by_kind_organisation_place_and_text(client: httpx.AsyncClient) -> None:
    await network(client)
    await builders.post(
        client,
        "/v1/engagements",
        {
            "name": "One-to-one meetings",
            "kind": "meeting_series",
            "convenor": "lankelly-chase-foundation",
            "places": ["england"],
        },
    )
    await builders.post(
        client,
        "/v1/engagements",
        {"name": "Conversations", "kind": "consultation", "participants": ["ivar"], "summary": "Over 200 people"},
    )
    assert names(await client.get("/v1/engagements", params={"kind": "consultation"})) == ["Conversations"]
    assert names(await client.get("/v1/engagements", params={"organisation": "GB-CHC-1107583"})) == [
        "One-to-one meetings"
    ]
    assert names(await client.get("/v1/engagements", params={"organisation": "ivar"})) == ["Conversations"]
    assert names(await client.get("/v1/engagements", params={"place": "west-midlands"})) == []
    assert names(await client.get("/v1/engagements", params={"place": "england"})) == ["One-to-one meetings"]
    assert names(await client.get("/v1/engagements", params={"q": "200 people"})) == ["Conversations"]
