"""Create, read, update and delete for every collection, through the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest

from tests import builders

COLLECTIONS = ["organisations", "places", "interest-groups", "co-funding", "research", "grants", "engagements"]


async def body_for(client: httpx.AsyncClient, collection: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A valid create body for the collection, and a change to make to it."""
    await builders.uk_places(client)
    lankelly = await builders.organisation(client, org_id="GB-CHC-1107583")
    ivar = await builders.organisation(client, "IVAR", kind="research_institute")
    bodies: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
        "organisations": (
            {"name": "Collaborate", "kind": "consultancy", "home_place": "E08000026"},
            {"description": "Works with places on collaborative public services."},
        ),
        "places": (
            {"name": "Birmingham", "level": "local_authority", "gss_code": "E08000025", "parent": "E12000005"},
            {"area_type": "Metropolitan district"},
        ),
        "interest-groups": (
            {
                "name": "Place interest group",
                "convenor": ivar["slug"],
                "places": ["K02000001"],
                "members": [{"organisation": lankelly["slug"], "role": "member"}],
            },
            {"ends_on": "2019-12-31"},
        ),
        "co-funding": (
            {
                "name": "Place study fund",
                "places": ["E92000001"],
                "contributions": [{"funder": "GB-CHC-1107583", "amount": {"amount": "25000", "currency": "GBP"}}],
            },
            {"purpose": "A study of place-based funding."},
        ),
        "research": (
            {
                "name": "Place review",
                "kind": "literature_review",
                "commissioners": ["GB-CHC-1107583"],
                "partners": ["ivar"],
            },
            {"published_on": "2017-06-01", "url": "https://www.ivar.org.uk/"},
        ),
        "grants": (
            {
                "name": "Testing methodologies",
                "funder": "GB-CHC-1107583",
                "recipient": "ivar",
                "identifier": "360G-LC-001",
                "amount": {"amount": "150000.5", "currency": "GBP"},
                "places": ["E08000026"],
            },
            {"programme": "Place Action Inquiry"},
        ),
        "engagements": (
            {"name": "Conversations", "kind": "consultation", "convenor": "GB-CHC-1107583", "participants": ["ivar"]},
            {"people_involved": 200},
        ),
    }
    return bodies[collection]


@pytest.mark.parametrize("collection", COLLECTIONS)
async def test_create_then_get_by_id_and_slug(client: httpx.AsyncClient, collection: str) -> None:
    body, _ = await body_for(client, collection)
    response = await client.post(f"/v1/{collection}", json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["location"] == f"/v1/{collection}/{created['id']}"
    assert created["version"] == 1
    assert created["source"] == "api"
    for ref in (created["id"], created["slug"]):
        fetched = await client.get(f"/v1/{collection}/{ref}")
        assert fetched.status_code == 200
        assert fetched.json() == created


@pytest.mark.parametrize("collection", COLLECTIONS)
async def test_patch_changes_only_the_fields_given(client: httpx.AsyncClient, collection: str) -> None:
    body, change = await body_for(client, collection)
    created = (await client.post(f"/v1/{collection}", json=body)).json()
    response = await client.patch(f"/v1/{collection}/{created['slug']}", json=change)
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["version"] == 2
    assert datetime.fromisoformat(updated["updated_at"]) > datetime.fromisoformat(created["updated_at"])
    for field, value in change.items():
        assert updated[field] == value
    untouched = {k: v for k, v in created.items() if k not in {*change, "version", "updated_at"}}
    assert {k: updated[k] for k in untouched} == untouched


@pytest.mark.parametrize("collection", COLLECTIONS)
async def test_delete_then_not_found(client: httpx.AsyncClient, collection: str) -> None:
    body, _ = await body_for(client, collection)
    created = (await client.post(f"/v1/{collection}", json=body)).json()
    response = await client.delete(f"/v1/{collection}/{created['id']}")
    assert response.status_code == 204
    assert (await client.get(f"/v1/{collection}/{created['slug']}")).status_code == 404
    assert (await client.delete(f"/v1/{collection}/{created['slug']}")).status_code == 404


@pytest.mark.parametrize("collection", COLLECTIONS)
async def test_empty_collection_lists_nothing(client: httpx.AsyncClient, collection: str) -> None:
    response = await client.get(f"/v1/{collection}")
    assert response.status_code == 200
    assert response.json() == {"items": [], "next_cursor": None}


async def test_refs_name_their_records(client: httpx.AsyncClient) -> None:
    body, _ = await body_for(client, "grants")
    grant = (await client.post("/v1/grants", json=body)).json()
    assert grant["funder"]["slug"] == "lankelly-chase-foundation"
    assert grant["recipient"] == {"id": grant["recipient"]["id"], "slug": "ivar", "name": "IVAR"}
    assert [place["slug"] for place in grant["places"]] == ["coventry"]
    assert grant["amount"] == {"amount": "150000.50", "currency": "GBP"}


@pytest.mark.parametrize(
    ("collection", "natural_key", "value"),
    [
        ("organisations", "org_id", "GB-CHC-1107583"),
        ("places", "gss_code", "E08000026"),
        ("grants", "identifier", "360G-LC-001"),
    ],
)
async def test_natural_keys_find_records(
    client: httpx.AsyncClient, collection: str, natural_key: str, value: str
) -> None:
    body, _ = await body_for(client, "grants")
    await client.post("/v1/grants", json=body)
    response = await client.get(f"/v1/{collection}/{value}")
    assert response.status_code == 200
    assert response.json()[natural_key] == value


async def test_patch_null_clears_an_optional_field(client: httpx.AsyncClient) -> None:
    created = await builders.organisation(client, description="A foundation.")
    response = await client.patch(f"/v1/organisations/{created['slug']}", json={"description": None})
    assert response.status_code == 200
    assert response.json()["description"] is None


async def test_patch_replaces_a_list(client: httpx.AsyncClient) -> None:
    body, _ = await body_for(client, "grants")
    grant = (await client.post("/v1/grants", json=body)).json()
    response = await client.patch(f"/v1/grants/{grant['slug']}", json={"places": ["E12000005", "S92000003"]})
    assert sorted(p["slug"] for p in response.json()["places"]) == ["scotland", "west-midlands"]


async def test_slug_is_made_from_the_name_or_identifier(client: httpx.AsyncClient) -> None:
    organisation = await builders.organisation(client, "Wandsworth Community Empowerment Network!")
    assert organisation["slug"] == "wandsworth-community-empowerment-network"
    body, _ = await body_for(client, "grants")
    grant = (await client.post("/v1/grants", json=body)).json()
    assert grant["slug"] == "360g-lc-001"


async def test_the_location_of_a_new_record_outlives_a_change_of_slug(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/organisations", json={"name": "Old Name", "kind": "charity"})
    await client.patch(f"/v1/organisations/{response.json()['slug']}", json={"slug": "new-name"})
    assert (await client.get(response.headers["location"])).json()["slug"] == "new-name"
