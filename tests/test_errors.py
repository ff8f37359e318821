"""A client's mistake is a 4xx problem+json that names the field and why; never a 500."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests import builders

PROBLEM = "application/problem+json"


def assert_problem(response: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    assert problem["title"] and problem["detail"] and problem["type"].startswith("https://")
    if field is not None:
        assert field in [error["field"] for error in problem["errors"]], problem
    return problem


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": 5, "kind": "foundation"}, "name"),
        ({"name": "A", "kind": "bank"}, "kind"),
        ({"name": "A" * 301, "kind": "foundation"}, "name"),
        ({"name": "A\x00B", "kind": "foundation"}, "name"),
        ({"name": "A", "kind": "foundation", "description": "x\x00"}, "description"),
        ({"name": "A", "kind": "foundation", "website": "ftp://example.org"}, "website"),
        ({"name": "A", "kind": "foundation", "slug": "Not A Slug"}, "slug"),
        ({"name": "A", "kind": "foundation", "org_id": "1107583"}, "org_id"),
        ({"kind": "foundation"}, "name"),
    ],
)
async def test_invalid_body_is_400_naming_the_field(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    assert_problem(await client.post("/v1/organisations", json=body), 400, field)


async def test_invalid_json_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/organisations", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_problem(response, 400)


async def test_nested_field_errors_name_the_path(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/grants",
        json={"name": "G", "funder": "a", "recipient": "b", "amount": {"amount": "1,000", "currency": "GBP"}},
    )
    assert_problem(response, 400, "amount.amount")


async def test_unknown_refs_are_422_naming_each(client: httpx.AsyncClient) -> None:
    await builders.organisation(client)
    response = await client.post(
        "/v1/grants",
        json={
            "name": "G",
            "funder": "lankelly-chase-foundation",
            "recipient": "nobody",
            "places": ["E08000026", "E99"],
        },
    )
    problem = assert_problem(response, 422)
    assert {e["field"] for e in problem["errors"]} == {"recipient", "places[0]", "places[1]"}
    assert (await client.get("/v1/grants")).json()["items"] == []


async def test_unknown_ref_in_path_is_404(client: httpx.AsyncClient) -> None:
    problem = assert_problem(await client.get("/v1/organisations/nobody"), 404)
    assert "nobody" in problem["detail"]


async def test_unknown_ref_in_filter_is_422(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/v1/grants", params={"place": "atlantis"}), 422, "place")


@pytest.mark.parametrize(
    ("params", "field"),
    [({"limit": "0"}, "limit"), ({"limit": "201"}, "limit"), ({"limit": "ten"}, "limit"), ({"sort": "size"}, "sort")],
)
async def test_bad_query_parameters_are_400(client: httpx.AsyncClient, params: dict[str, str], field: str) -> None:
    assert_problem(await client.get("/v1/organisations", params=params), 400, field)


async def test_bad_date_filter_is_400(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/v1/interest-groups", params={"active_on": "yesterday"}), 400, "active_on")


async def test_duplicate_slug_is_409(client: httpx.AsyncClient) -> None:
    await builders.organisation(client)
    problem = assert_problem(
        await client.post("/v1/organisations", json={"name": "Lankelly Chase Foundation", "kind": "foundation"}),
        409,
        "slug",
    )
    assert "lankelly-chase-foundation" in problem["errors"][0]["message"]


async def test_duplicate_natural_key_is_409(client: httpx.AsyncClient) -> None:
    await builders.organisation(client, org_id="GB-CHC-1107583")
    response = await client.post(
        "/v1/organisations", json={"name": "Other", "kind": "charity", "org_id": "GB-CHC-1107583"}
    )
    assert_problem(response, 409, "org_id")


async def test_patch_to_a_taken_slug_is_409(client: httpx.AsyncClient) -> None:
    await builders.organisation(client, "First")
    second = await builders.organisation(client, "Second")
    assert_problem(await client.patch(f"/v1/organisations/{second['slug']}", json={"slug": "first"}), 409, "slug")


async def test_patch_cannot_null_a_required_field(client: httpx.AsyncClient) -> None:
    created = await builders.organisation(client)
    assert_problem(await client.patch(f"/v1/organisations/{created['slug']}", json={"name": None}), 400, "name")


async def test_deleting_a_referenced_record_is_409_naming_the_referrers(client: httpx.AsyncClient) -> None:
    await builders.uk_places(client)
    funder = await builders.organisation(client, home_place="coventry")
    await builders.grant(client, funder["slug"], funder["slug"], "Self-funded pilot")
    problem = assert_problem(await client.delete(f"/v1/organisations/{funder['slug']}"), 409)
    messages = " ".join(e["message"] for e in problem["errors"])
    assert "self-funded-pilot" in messages and "funder" in messages and "recipient" in messages
    coventry = assert_problem(await client.delete("/v1/places/coventry"), 409)
    assert "lankelly-chase-foundation" in coventry["errors"][0]["message"]
    assert (await client.get(f"/v1/organisations/{funder['slug']}")).status_code == 200


async def test_unknown_path_is_a_404_problem(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/v1/nothing-here"), 404)


async def test_wrong_method_is_a_405_problem(client: httpx.AsyncClient) -> None:
    assert_problem(await client.put("/v1/organisations"), 405)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/engagements", {"name": "E", "kind": "meeting", "people_involved": "200"}, "people_involved"),
        ("/v1/co-funding", {"name": "C", "contributions": [{"funder": "x", "in_kind": 0}]}, "contributions[0].in_kind"),
        ("/v1/places", {"name": "P", "level": "uk", "lat": "52.1"}, "lat"),
    ],
)
async def test_bodies_are_not_coerced(client: httpx.AsyncClient, path: str, body: dict[str, Any], field: str) -> None:
    assert_problem(await client.post(path, json=body), 400, field)


@pytest.mark.parametrize(
    ("path", "allow"),
    [
        ("/v1/organisations", "GET, OPTIONS, POST"),
        ("/v1/organisations/anything", "DELETE, GET, OPTIONS, PATCH"),
        ("/v1/interest-groups/g/members/m", "DELETE, GET, OPTIONS, PATCH"),
    ],
)
async def test_options_allow_names_every_method_of_the_path(client: httpx.AsyncClient, path: str, allow: str) -> None:
    response = await client.options(path)
    assert response.status_code == 204
    assert response.headers["allow"] == allow


@pytest.mark.parametrize(
    ("path", "params"),
    [("/v1/organisations", {"place": "a\x00b"}), ("/v1/grants", {"q": "\x00"}), ("/v1/places", {"within": "x\x00"})],
)
async def test_nul_bytes_in_query_parameters_are_400(
    client: httpx.AsyncClient, path: str, params: dict[str, str]
) -> None:
    assert_problem(await client.get(path, params=params), 400)


async def test_nul_bytes_in_path_refs_are_400(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/v1/organisations/a%00b"), 400)


async def test_a_lost_database_is_a_503_with_retry_after(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.services.records import resource as records

    async def refused(*args: Any, **kwargs: Any) -> None:
        raise ConnectionRefusedError("connection refused")

    monkeypatch.setattr(records, "resolve_many", refused)
    response = await client.get("/v1/organisations/anything")
    problem = assert_problem(response, 503)
    assert response.headers["retry-after"] == "5"
    assert "database" in problem["detail"]
