"""Amounts are sent as decimal strings (as Placenet answers) or as JSON numbers (as 360Giving data writes
them); either way at most two decimal places, and always answered as a decimal string."""

from __future__ import annotations

import httpx
import pytest

from tests import builders


async def parties(client: httpx.AsyncClient) -> None:
    await builders.organisation(client, "Lankelly Chase Foundation", org_id="GB-CHC-1107583")
    await builders.organisation(client, "IVAR", kind="research_institute")


@pytest.mark.parametrize(("sent", "held"), [(150000, "150000.00"), (150000.5, "150000.50"), ("2500.75", "2500.75")])
async def test_a_grants_amount_may_be_a_number_or_a_string(
    client: httpx.AsyncClient, sent: int | float | str, held: str
) -> None:
    await parties(client)
    grant = await builders.grant(
        client, "lankelly-chase-foundation", "ivar", amount={"amount": sent, "currency": "GBP"}
    )
    assert grant["amount"] == {"amount": held, "currency": "GBP"}
    changed = await client.patch(f"/v1/grants/{grant['slug']}", json={"amount": {"amount": 99.9}})
    assert changed.status_code == 200, changed.text
    assert changed.json()["amount"] == {"amount": "99.90", "currency": "GBP"}


async def test_a_contributions_amount_may_be_a_number(client: httpx.AsyncClient) -> None:
    await parties(client)
    made = await builders.post(
        client,
        "/v1/co-funding",
        {"name": "Pot", "contributions": [{"funder": "GB-CHC-1107583", "amount": {"amount": 25000}}]},
    )
    assert made["contributions"][0]["amount"] == {"amount": "25000.00", "currency": "GBP"}


@pytest.mark.parametrize("sent", [12.345, -1, 1e13, "12.345", True, None])
async def test_an_amount_that_is_not_money_is_refused(client: httpx.AsyncClient, sent: object) -> None:
    await parties(client)
    before = (await client.get("/v1/grants")).json()["items"]
    response = await client.post(
        "/v1/grants",
        json={"name": "Bad", "funder": "ivar", "recipient": "ivar", "amount": {"amount": sent}},
    )
    assert response.status_code in (400, 422), response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"].startswith("amount")
    assert (await client.get("/v1/grants")).json()["items"] == before
