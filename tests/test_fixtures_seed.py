"""The seed network and the UK's places, loaded by the fixture loader and read back through the API.

The seed tells the story of the Lankelly Chase Foundation's Place Action Inquiry (fixtures/seed/README.md):
seven strands of groundwork, conversations with over 200 people, and the organisations it thanks.

Every test here only reads, so the module loads uk.json, councils.json and the seed once (about three
seconds on SQLite) instead of before each test: `empty_database` is overridden for this module only, and
the module's own `seeded` fixture empties every table before loading. Tests in other modules are still
given empty tables before each test by conftest's fixture."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from fixtures.loader import load

ROOT = Path(__file__).resolve().parents[1]
UK = ROOT / "fixtures" / "places" / "uk.json"
COUNCILS = ROOT / "fixtures" / "places" / "councils.json"
SEED = ROOT / "fixtures" / "seed" / "place-action-inquiry.yaml"

LANKELLY = "lankelly-chase-foundation"
LANKELLY_ORG_ID = "GB-CHC-1107583"

# Everyone the source post names (fixtures/seed/README.md: "No person is named").
PEOPLE = [
    "Toby Lowe",
    "David Ford",
    "Tessy Britton",
    "Zaid Hassan",
    "Indy Johar",
    "Rick Muir",
    "Malik Gul",
    "Charlie Howard",
    "Sophia Looney",
    "Simon Johnson",
    "Sophie Boobis",
    "Nerys Parry",
    "Sonia Khan",
]
AUTHORITY_LEVELS = ("combined_authority", "county", "local_authority")


def seed() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(SEED.read_text(encoding="utf-8"))
    return data


def seed_record(collection: str, slug: str) -> dict[str, Any]:
    return next(record for record in seed()[collection] if record["slug"] == slug)


@pytest.fixture(scope="module")
async def seeded(database: None) -> AsyncIterator[None]:
    from tests.builders import empty_all_tables

    await empty_all_tables()
    report = await load([UK, COUNCILS, SEED])
    assert report.counts["research"]["created"] == len(seed()["research"])
    yield
    await empty_all_tables()


@pytest.fixture(autouse=True)
async def empty_database(seeded: None) -> None:
    """This module's tests only read: they share the one load `seeded` makes."""


async def get(client: httpx.AsyncClient, path: str, **params: Any) -> Any:
    response = await client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def every_item(client: httpx.AsyncClient, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a list endpoint, following `next_cursor` page by page."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(1000):
        page = await get(client, path, limit=200, **params, **({"cursor": cursor} if cursor else {}))
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError(f"{path} never reached its last page")


def slugs(references: list[dict[str, Any]]) -> set[str]:
    return {reference["slug"] for reference in references}


# The seven strands ----------------------------------------------------------------------------------------


async def test_strand_1_co_design_with_newcastle_university(client: httpx.AsyncClient) -> None:
    items = await every_item(client, "/v1/research", organisation=LANKELLY, kind="co_design")

    assert [item["slug"] for item in items] == ["manifesto-for-place-based-systems-change"]
    assert slugs(items[0]["commissioners"]) == {LANKELLY}
    assert slugs(items[0]["partners"]) == {"newcastle-university"}
    assert [partner["name"] for partner in items[0]["partners"]] == ["Newcastle University"]


async def test_strand_2_literature_review_with_ivar(client: httpx.AsyncClient) -> None:
    items = await every_item(client, "/v1/research", organisation=LANKELLY, kind="literature_review")

    assert [item["slug"] for item in items] == ["ivar-place-literature-review"]
    assert slugs(items[0]["commissioners"]) == {LANKELLY}
    assert slugs(items[0]["partners"]) == {"ivar"}
    assert items[0]["partners"][0]["name"] == "Institute for Voluntary Action Research"


async def test_strand_3_co_funding_lankelly_contributes_to_paid_for_an_ivar_study(client: httpx.AsyncClient) -> None:
    arrangements = await every_item(client, "/v1/co-funding", organisation=LANKELLY)
    assert [a["slug"] for a in arrangements] == ["ivar-place-based-funding-study-co-funding"]
    assert [c["funder"]["slug"] for c in arrangements[0]["contributions"]] == [LANKELLY]
    assert await every_item(client, "/v1/co-funding", funder=LANKELLY) == arrangements

    studies = await every_item(client, "/v1/research", funded_by=arrangements[0]["slug"])

    assert [study["slug"] for study in studies] == ["ivar-place-based-funding-study"]
    assert studies[0]["kind"] == "study"
    assert slugs(studies[0]["partners"]) == {"ivar"}
    assert studies[0]["commissioners"] == [], "co-funded, not commissioned (fixtures/seed/README.md)"
    assert studies[0]["funded_by"]["slug"] == arrangements[0]["slug"]


async def test_strand_4_interest_group_convened_by_acf_that_lankelly_belongs_to(client: httpx.AsyncClient) -> None:
    groups = await every_item(client, "/v1/interest-groups", organisation=LANKELLY)

    assert [group["slug"] for group in groups] == ["acf-place-interest-group"]
    group = groups[0]
    assert group["convenor"]["slug"] == "association-of-charitable-foundations"
    assert group["convenor"]["name"] == "Association of Charitable Foundations"
    roles = {member["organisation"]["slug"]: member["role"] for member in group["members"]}
    assert roles == {"association-of-charitable-foundations": "convenor", LANKELLY: "member"}
    assert slugs(group["places"]) == {"united-kingdom", "england", "scotland"}


async def test_strand_5_one_to_one_meetings_lankelly_convened(client: httpx.AsyncClient) -> None:
    items = await every_item(client, "/v1/engagements", organisation=LANKELLY, kind="meeting_series")

    assert [item["slug"] for item in items] == ["one-to-one-meetings-funders-statutory-partners-practitioners"]
    assert items[0]["convenor"]["slug"] == LANKELLY
    assert items[0]["participants"] == []


async def test_strand_6_grants_to_test_methodologies(client: httpx.AsyncClient) -> None:
    grants = await every_item(client, "/v1/grants", organisation=LANKELLY, funder=LANKELLY)
    recipients = {grant["recipient"]["slug"]: grant["recipient"]["name"] for grant in grants}

    assert {slug: recipients.get(slug) for slug in ("collaborate", "new-local-government-network", "cles")} == {
        "collaborate": "Collaborate",
        "new-local-government-network": "New Local Government Network",
        "cles": "Centre for Local Economic Strategies",
    }


async def test_strand_7_continued_grants_to_place_based_voluntary_agencies(client: httpx.AsyncClient) -> None:
    agencies = {
        "civic-systems-lab": "Civic Systems Lab",
        "north-camden-zone": "North Camden Zone",
        "wandsworth-community-empowerment-network": "Wandsworth Community Empowerment Network",
        "foundation-for-families": "Foundation for Families",
    }
    grants = await every_item(client, "/v1/grants", organisation=LANKELLY, funder=LANKELLY)
    recipients = {grant["recipient"]["slug"]: grant for grant in grants}

    assert {slug: recipients[slug]["recipient"]["name"] for slug in agencies if slug in recipients} == agencies
    assert slugs(recipients["north-camden-zone"]["places"]) == {"camden"}
    assert slugs(recipients["wandsworth-community-empowerment-network"]["places"]) == {"wandsworth"}


async def test_lankelly_is_found_by_its_org_id_with_the_same_records(client: httpx.AsyncClient) -> None:
    organisation = await get(client, f"/v1/organisations/{LANKELLY_ORG_ID}")
    assert organisation["slug"] == LANKELLY

    for path in ("/v1/research", "/v1/co-funding", "/v1/interest-groups", "/v1/grants", "/v1/engagements"):
        by_org_id = await every_item(client, path, organisation=LANKELLY_ORG_ID)
        assert by_org_id, path
        assert by_org_id == await every_item(client, path, organisation=LANKELLY), path


# The conversations and the thanks --------------------------------------------------------------------------


async def test_the_200_conversations_list_every_organisation_thanked(client: httpx.AsyncClient) -> None:
    wanted = seed_record("engagements", "conversations-with-over-200-people")["participants"]
    expected = set()
    for ref in wanted:  # councils are named by org-id in the YAML; the API answers with their slugs
        expected.add(ref if not ref.startswith("GB-") else (await get(client, f"/v1/organisations/{ref}"))["slug"])

    engagement = await get(client, "/v1/engagements/conversations-with-over-200-people")

    assert engagement["people_involved"] == 200
    assert engagement["kind"] == "consultation"
    assert engagement["convenor"]["slug"] == LANKELLY
    assert len(engagement["participants"]) == len(wanted) == 49
    assert slugs(engagement["participants"]) == expected


async def test_no_record_names_a_person(client: httpx.AsyncClient) -> None:
    collections = {
        "/v1/organisations": "organisations",
        "/v1/places": "places",
        "/v1/co-funding": "co-funding",
        "/v1/research": "research",
        "/v1/interest-groups": "interest-groups",
        "/v1/grants": "grants",
        "/v1/engagements": "engagements",
    }
    files = [json.loads(UK.read_text(encoding="utf-8")), json.loads(COUNCILS.read_text(encoding="utf-8")), seed()]
    texts = []
    for path, name in collections.items():
        items = await every_item(client, path)
        assert len(items) == sum(len(data.get(name, [])) for data in files), path  # every record is read
        texts.append(json.dumps(items, ensure_ascii=False).casefold())
    text = "\n".join(texts)

    assert "lankelly chase" in text  # the text searched is the records' own
    assert [person for person in PEOPLE if person.casefold() in text] == []


# Places ----------------------------------------------------------------------------------------------------


async def test_coventry_sits_under_the_west_midlands(client: httpx.AsyncClient) -> None:
    coventry = await get(client, "/v1/places/E08000026")
    assert coventry["name"] == "Coventry"
    assert coventry["parent"]["slug"] == "west-midlands"

    found = await every_item(client, "/v1/places", within="E12000005", q="Coventry")

    assert "E08000026" in {place["gss_code"] for place in found}
    assert await every_item(client, "/v1/places", within="E12000001", q="Coventry") == []


async def test_gatesheads_former_code_finds_the_current_gateshead(client: httpx.AsyncClient) -> None:
    by_former = await get(client, "/v1/places/E08000020")
    current = await get(client, "/v1/places/E08000037")

    assert by_former["id"] == current["id"]
    assert by_former["name"] == "Gateshead"
    assert by_former["gss_code"] == "E08000037"
    assert "E08000020" in by_former["former_codes"]


async def test_barnsley_is_found_by_both_its_codes(client: httpx.AsyncClient) -> None:
    old = await get(client, "/v1/places/E08000016")
    new = await get(client, "/v1/places/E08000038")

    assert old["id"] == new["id"]
    assert old["name"] == "Barnsley"
    assert old["gss_code"] == "E08000038"


async def test_all_397_authorities_are_present(client: httpx.AsyncClient) -> None:
    in_file = {
        place["gss_code"]
        for place in json.loads(UK.read_text(encoding="utf-8"))["places"]
        if place["level"] in AUTHORITY_LEVELS
    }

    found = [place for level in AUTHORITY_LEVELS for place in await every_item(client, "/v1/places", level=level)]

    assert len(found) == 397
    assert {place["gss_code"] for place in found} == in_file
