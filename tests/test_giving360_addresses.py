"""Placing 360Giving grants by their recipient's address when no beneficiary location places them, and
matching stored grants again (`POST /v1/places/rematch`, `placenet places rematch`) once the gazetteer
knows more."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest
from litestar import Litestar

from api.services.giving360 import gazetteer, rematch
from api.services.platform.actors import Actor
from models.tables import Grant, GrantPlace
from tests import builders
from tests.conftest import make_client
from tests.test_giving360_export import GIVING360
from tests.test_giving360_import import places, run, sample
from tests.test_map import by_code, geojson
from tests.test_unit_of_work import feed

__all__ = ["places"]  # a fixture, shared with the import tests

ADDRESS_FIELDS = ("streetAddress", "addressLocality", "addressRegion", "addressCountry", "postalCode")
WEST_BERKSHIRE = "E06000037"


def grant(identifier: str, locations: list[dict[str, Any]] | None = None, **address: str) -> dict[str, Any]:
    """A grant of the Blagrave sample's shape: these beneficiary locations (none when not given) and a
    recipient at this address (`addressLocality=`, `addressRegion=`, `addressCountry=`, `postalCode=`)."""
    made: dict[str, Any] = copy.deepcopy(sample()["grants"][0])
    made["id"] = identifier
    made["amountAwarded"] = 1000
    if locations is None:
        del made["beneficiaryLocation"]
    else:
        made["beneficiaryLocation"] = locations
    recipient = made["recipientOrganization"][0]
    for field in ADDRESS_FIELDS:
        recipient.pop(field, None)
    recipient.update(address)
    return made


async def places_of(client: httpx.AsyncClient, identifier: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """A grant's places (slugs) and how each was matched (name, how)."""
    body = (await client.get(f"/v1/grants/{identifier}")).json()
    return [p["slug"] for p in body["places"]], [(m["name"], m["matched_by"]) for m in body["matched_locations"]]


# The import ---------------------------------------------------------------------------------------------------


async def test_a_grant_with_no_location_is_placed_by_its_recipients_address(
    places: None, client: httpx.AsyncClient
) -> None:
    report = await run(
        {"grants": [grant("360G-a-1", addressLocality="Camden", addressRegion="London", addressCountry="UK")]}
    )
    assert (report.coverage.placed.grants, report.coverage.by_recipient_address.grants) == (1, 1)
    assert report.coverage.by_recipient_address.amounts == {"GBP": 1000}
    assert report.coverage.unplaced_reasons == {}
    assert await places_of(client, "360G-a-1") == (["camden"], [("Camden, London, UK", "recipient_address")])
    body = (await client.get("/v1/grants/360G-a-1")).json()
    assert body["unmatched_locations"] == []

    # Where the recipient is, not a location the publisher named: the export gives back none.
    exported = (await client.get("/v1/grants", params={"place": "camden"}, headers={"Accept": GIVING360})).json()
    [only] = exported["grants"]
    assert "beneficiaryLocation" not in only
    assert only["recipientOrganization"][0]["addressLocality"] == "Camden"
    # And importing the export again changes nothing.
    assert (await run(exported)).grants.unchanged == 1


async def test_a_beneficiary_location_wins_over_the_address(places: None, client: httpx.AsyncClient) -> None:
    located = grant("360G-a-2", [{"name": "Swindon"}], addressLocality="Camden", addressCountry="UK")
    coded = grant("360G-a-3", [{"name": "Reading", "geoCode": "E06000038"}], addressLocality="Camden")
    report = await run({"grants": [located, coded]})
    assert (report.coverage.by_name.grants, report.coverage.by_code.grants) == (1, 1)
    assert report.coverage.by_recipient_address.grants == 0
    assert await places_of(client, "360G-a-2") == (["swindon"], [("Swindon", "name")])
    assert await places_of(client, "360G-a-3") == (["reading"], [("Reading", "code")])


async def test_an_unplaced_location_falls_back_on_the_address_and_is_kept(
    places: None, client: httpx.AsyncClient
) -> None:
    report = await run({"grants": [grant("360G-a-4", [{"name": "Old Town"}], addressLocality="Swindon")]})
    assert report.coverage.by_recipient_address.grants == 1
    assert report.coverage.unplaced_reasons == {"no_code": 1}  # the location no place has, kept
    assert await places_of(client, "360G-a-4") == (["swindon"], [("Swindon", "recipient_address")])
    body = (await client.get("/v1/grants/360G-a-4")).json()
    assert [(u["name"], u["reason"]) for u in body["unmatched_locations"]] == [("Old Town", "no_code")]


async def test_an_ambiguous_address_is_not_guessed(places: None, client: httpx.AsyncClient) -> None:
    report = await run(
        {
            "grants": [
                grant("360G-a-5", addressLocality="Newport", addressCountry="United Kingdom"),
                # The county, or a nation as the country, settles it.
                grant("360G-a-6", addressLocality="Newport", addressRegion="Isle of Wight", addressCountry="UK"),
                grant("360G-a-7", addressLocality="Newport", addressCountry="Wales"),
            ]
        }
    )
    coverage = report.coverage
    assert (coverage.by_recipient_address.grants, coverage.unplaced.grants) == (2, 1)
    assert coverage.unplaced_reasons == {"address_ambiguous": 1}
    assert [(u.location, u.reason, u.count) for u in coverage.unplaced_locations] == [
        ("Newport, United Kingdom", "address_ambiguous", 1)
    ]
    [ambiguous] = coverage.ambiguous
    assert (ambiguous.name, sorted(p.gss_code or "" for p in ambiguous.candidates)) == (
        "Newport, United Kingdom",
        ["E06000046", "W06000022"],
    )
    assert await places_of(client, "360G-a-5") == ([], [])
    assert (await places_of(client, "360G-a-6"))[0] == ["isle-of-wight"]
    assert (await places_of(client, "360G-a-7"))[0] == ["newport"]


async def test_what_an_address_does_not_place_is_reported_with_why(places: None, client: httpx.AsyncClient) -> None:
    report = await run(
        {
            "grants": [
                grant("360G-a-8", addressCountry="United Kingdom"),  # the UK says nothing of where
                grant("360G-a-9", addressRegion="Scotland", addressCountry="GB"),  # nor does a nation
                grant("360G-a-10", postalCode="RG14 1JQ"),  # no postcode data
                grant("360G-a-11", addressLocality="Newbury", addressRegion="Berkshire", postalCode="RG14 1JQ"),
                grant("360G-a-12"),  # nothing at all
            ]
        }
    )
    coverage = report.coverage
    assert (coverage.placed.grants, coverage.unplaced.grants, coverage.unplaced_without_location) == (0, 5, 5)
    assert coverage.unplaced_reasons == {
        "address_country_only": 2,
        "address_postcode_only": 1,
        "address_unrecognised": 1,
        "no_location": 1,
    }
    assert sorted((u.location, u.reason) for u in coverage.unplaced_locations) == [
        ("", "address_postcode_only"),
        ("", "no_location"),
        ("Newbury, Berkshire", "address_unrecognised"),
        ("Scotland, GB", "address_country_only"),
        ("United Kingdom", "address_country_only"),
    ]
    assert await GrantPlace.count() == 0


# Matching again --------------------------------------------------------------------------------------------------


@pytest.fixture
def newbury_alias(monkeypatch: pytest.MonkeyPatch) -> Any:
    """A reviewed alias added to the gazetteer: 'Newbury' is West Berkshire (set by calling it)."""
    official, aliases, ambiguous = gazetteer.name_files()

    def add() -> None:
        extended = [*aliases, {"name": "Newbury", "gss_code": WEST_BERKSHIRE, "why": "its main town"}]
        monkeypatch.setattr(gazetteer, "name_files", lambda: (official, extended, ambiguous))

    return add


def newbury_file() -> dict[str, Any]:
    return {
        "grants": [
            grant("360G-r-1", [{"name": "Newbury"}]),  # a location's name
            grant("360G-r-2", addressLocality="Newbury", addressRegion="Berkshire"),  # a recipient's town
            grant("360G-r-3", [{"name": "Reading", "geoCode": "E06000038"}]),  # placed already, by code
            grant("360G-r-4", [{"name": "Nowhere Special"}]),  # still nothing
        ]
    }


async def test_rematch_after_an_alias_replaces_grants_logs_them_and_moves_the_map(
    places: None, client: httpx.AsyncClient, newbury_alias: Any
) -> None:
    report = await run(newbury_file())
    assert (report.coverage.placed.grants, report.coverage.unplaced.grants) == (1, 3)
    map_before = by_code(await geojson(client, level="local_authority"))
    assert WEST_BERKSHIRE not in map_before or not map_before[WEST_BERKSHIRE]["counts"]["grants"]
    logged = len(await feed(client))
    newbury_alias()

    response = await client.post("/v1/places/rematch")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["examined"], body["changed"], body["places_changed"], body["unchanged"]) == (4, 2, 2, 2)
    assert (body["dry_run"], body["written"], body["skipped"]) == (False, True, {"count": 0, "identifiers": []})
    replaced = body["replaced"]
    assert (replaced["by_alias"]["grants"], replaced["by_recipient_address"]["grants"]) == (1, 1)
    coverage = body["coverage"]
    assert (coverage["placed"]["grants"], coverage["unplaced"]["grants"]) == (3, 1)
    assert coverage["unplaced_reasons"] == {"no_code": 1}
    assert coverage["unplaced_locations"] == [{"location": "Nowhere Special", "reason": "no_code", "count": 1}]

    assert await places_of(client, "360G-r-1") == (["west-berkshire"], [("Newbury", "alias")])
    assert await places_of(client, "360G-r-2") == (
        ["west-berkshire"],
        [("Newbury, Berkshire", "recipient_address")],
    )
    kept = (await client.get("/v1/grants/360G-r-4")).json()["unmatched_locations"]
    assert [(u["name"], u["reason"]) for u in kept] == [("Nowhere Special", "no_code")]

    # Each re-placed grant is in the change feed, once, as an update of its places and matches.
    changes = (await feed(client))[logged:]
    assert sorted(c["record_slug"] for c in changes) == ["360g-r-1", "360g-r-2"]
    assert {c["operation"] for c in changes} == {"update"}
    assert all({"places", "matched_locations"} <= set(c["fields"]) for c in changes)
    # ... and the map counts them where they now are (the kept tallies, and live).
    assert by_code(await geojson(client, level="local_authority"))[WEST_BERKSHIRE]["counts"]["grants"] == 2
    live = by_code(await geojson(client, level="local_authority", **{"from": "1900-01-01"}))
    assert live[WEST_BERKSHIRE]["counts"]["grants"] == 2

    # A second run changes nothing.
    again = (await client.post("/v1/places/rematch")).json()
    assert (again["changed"], again["unchanged"], again["written"]) == (0, 4, False)
    assert len(await feed(client)) == logged + 2


async def test_a_dry_rematch_changes_nothing(places: None, client: httpx.AsyncClient, newbury_alias: Any) -> None:
    await run(newbury_file())
    newbury_alias()
    grants_before = await Grant.select().order_by(Grant.id)
    logged = len(await feed(client))

    body = (await client.post("/v1/places/rematch", params={"dry_run": "true"})).json()
    assert (body["dry_run"], body["written"], body["changed"], body["places_changed"]) == (True, False, 2, 2)
    assert await Grant.select().order_by(Grant.id) == grants_before
    assert await GrantPlace.count() == 1
    assert len(await feed(client)) == logged


async def test_rematch_is_for_admin_keys_only(
    places: None, app: Litestar, anonymous: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    from api.services.resources import keys

    partner = await builders.organisation(client, "A partner")
    _, token = await keys.create_key(organisation=partner["slug"], role="partner", name="tests")
    async with make_client(app, token) as partner_client:
        refused = await partner_client.post("/v1/places/rematch")
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "admin" in refused.json()["detail"]
    assert (await anonymous.post("/v1/places/rematch")).status_code == 401


async def test_rematch_leaves_grants_placed_by_hand_alone(
    places: None, client: httpx.AsyncClient, newbury_alias: Any
) -> None:
    await run(newbury_file())
    # Someone placed the first grant by hand since it was imported.
    response = await client.patch("/v1/grants/360G-r-1", json={"places": ["E06000038"]})
    assert response.status_code == 200, response.text
    newbury_alias()

    report = await rematch.rematch(actor=Actor())
    assert (report.changed, report.skipped.count, report.skipped.identifiers) == (1, 1, ["360G-r-1"])
    assert (await places_of(client, "360G-r-1"))[0] == ["reading"]


async def test_rematch_fills_in_the_matches_of_grants_imported_before_they_were_kept(
    places: None, client: httpx.AsyncClient
) -> None:
    """Grants imported before matches (and addresses) were used: their code places are kept, their
    matches recorded, and one with no location is placed by its recipient's address."""
    await run({"grants": [grant("360G-o-1", [{"geoCode": "E06000038"}]), grant("360G-o-2", addressLocality="Swindon")]})
    # As such an import left them: no matches kept, and the grant with no location unplaced.
    await Grant.update({Grant.matched_locations: None}).where(Grant.id.is_not_null())
    swindon = await Grant.select(Grant.id).where(Grant.identifier == "360G-o-2").first()
    assert swindon is not None
    await GrantPlace.delete().where(GrantPlace.grant == swindon["id"])

    report = await rematch.rematch(actor=Actor())
    assert (report.examined, report.changed, report.places_changed, report.skipped.count) == (2, 2, 1, 0)
    assert await places_of(client, "360G-o-1") == (["reading"], [(None, "code")])
    assert await places_of(client, "360G-o-2") == (["swindon"], [("Swindon", "recipient_address")])
    assert (await rematch.rematch(actor=Actor())).changed == 0
