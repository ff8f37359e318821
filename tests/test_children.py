"""Owned sub-collections: a group's members and an arrangement's contributions."""

from __future__ import annotations

from typing import Any

import httpx

from tests import builders


async def group_with_convenor(client: httpx.AsyncClient) -> dict[str, Any]:
    await builders.organisation(client, "Association of Charitable Foundations", kind="funder_network")
    await builders.organisation(client, "Lankelly Chase Foundation", org_id="GB-CHC-1107583")
    return await builders.post(
        client,
        "/v1/interest-groups",
        {
            "name": "Place funders",
            "convenor": "association-of-charitable-foundations",
            "members": [{"organisation": "association-of-charitable-foundations", "role": "convenor"}],
        },
    )


async def test_members_are_added_listed_changed_and_removed(client: httpx.AsyncClient) -> None:
    group = await group_with_convenor(client)
    members = f"/v1/interest-groups/{group['slug']}/members"
    added = await client.post(members, json={"organisation": "GB-CHC-1107583", "joined_on": "2016-04-01"})
    assert added.status_code == 201
    assert added.headers["location"] == f"{members}/{added.json()['organisation']['id']}"
    assert added.json()["role"] == "member"
    listed = (await client.get(members)).json()
    assert [m["organisation"]["slug"] for m in listed] == [
        "association-of-charitable-foundations",
        "lankelly-chase-foundation",
    ]
    changed = await client.patch(f"{members}/GB-CHC-1107583", json={"left_on": "2017-12-31"})
    assert changed.json()["left_on"] == "2017-12-31" and changed.json()["version"] == 2
    assert (await client.get(f"{members}/lankelly-chase-foundation")).json()["left_on"] == "2017-12-31"
    assert (await client.delete(f"{members}/lankelly-chase-foundation")).status_code == 204
    assert (await client.get(f"{members}/lankelly-chase-foundation")).status_code == 404


async def test_a_membership_change_counts_as_a_change_of_the_group(client: httpx.AsyncClient) -> None:
    group = await group_with_convenor(client)
    await client.post(f"/v1/interest-groups/{group['slug']}/members", json={"organisation": "GB-CHC-1107583"})
    after = (await client.get(f"/v1/interest-groups/{group['slug']}")).json()
    assert after["version"] == group["version"] + 1
    assert len(after["members"]) == 2


async def test_an_organisation_is_a_member_once(client: httpx.AsyncClient) -> None:
    group = await group_with_convenor(client)
    members = f"/v1/interest-groups/{group['slug']}/members"
    assert (await client.post(members, json={"organisation": "GB-CHC-1107583"})).status_code == 201
    again = await client.post(members, json={"organisation": "lankelly-chase-foundation"})
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")


async def test_duplicate_members_in_one_create_are_refused_whole(client: httpx.AsyncClient) -> None:
    await builders.organisation(client)
    response = await client.post(
        "/v1/interest-groups",
        json={"name": "G", "members": [{"organisation": "lankelly-chase-foundation"}] * 2},
    )
    assert response.status_code == 409
    assert (await client.get("/v1/interest-groups")).json()["items"] == []


async def test_unknown_member_is_422_and_unknown_group_404(client: httpx.AsyncClient) -> None:
    group = await group_with_convenor(client)
    assert (
        await client.post(f"/v1/interest-groups/{group['slug']}/members", json={"organisation": "x"})
    ).status_code == 422
    assert (await client.get("/v1/interest-groups/nothing/members")).status_code == 404
    assert (await client.get(f"/v1/interest-groups/{group['slug']}/members/x")).status_code == 404


async def test_contributions_carry_money_or_kind(client: httpx.AsyncClient) -> None:
    await builders.organisation(client)
    await builders.organisation(client, "IVAR", kind="research_institute")
    fund = await builders.post(client, "/v1/co-funding", {"name": "Place study fund"})
    contributions = f"/v1/co-funding/{fund['slug']}/contributions"
    cash = await client.post(
        contributions, json={"funder": "lankelly-chase-foundation", "amount": {"amount": "20000", "currency": "GBP"}}
    )
    time = await client.post(contributions, json={"funder": "ivar", "in_kind": True, "description": "Staff time"})
    assert cash.status_code == 201 and time.status_code == 201
    assert cash.json()["amount"] == {"amount": "20000.00", "currency": "GBP"}
    assert time.json()["amount"] is None and time.json()["in_kind"] is True
    changed = await client.patch(f"{contributions}/ivar", json={"amount": {"amount": "500.25", "currency": "EUR"}})
    assert changed.json()["amount"] == {"amount": "500.25", "currency": "EUR"}
    listed = (await client.get(f"/v1/co-funding/{fund['slug']}")).json()["contributions"]
    assert [c["funder"]["slug"] for c in listed] == ["ivar", "lankelly-chase-foundation"]


async def test_deleting_a_group_deletes_its_memberships_but_not_the_members(client: httpx.AsyncClient) -> None:
    group = await group_with_convenor(client)
    assert (await client.delete(f"/v1/interest-groups/{group['slug']}")).status_code == 204
    assert (await client.delete("/v1/organisations/association-of-charitable-foundations")).status_code == 204
