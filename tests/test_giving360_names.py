"""Placing 360Giving grants whose beneficiary locations have names but no codes: the gazetteer on a
fixture of real-world location strings (tests/data/360giving/location-names.csv, written from the
patterns publishers use and from the Blagrave Trust's file), a names-only file through the importer, and
the Blagrave sample, where codes still win."""

from __future__ import annotations

import copy
import csv
import json
import uuid
from decimal import Decimal
from functools import cache
from typing import Any

import httpx
import pytest

from api.schemas.imports import ImportReport
from api.services.giving360 import gazetteer, importer
from models.tables import Place
from tests.test_giving360_export import GIVING360
from tests.test_giving360_import import ROOT, SAMPLES, places, run, sample

__all__ = ["places"]  # a fixture, shared with the import tests

LOCATION_NAMES = SAMPLES / "location-names.csv"
UK_PLACES = ROOT / "fixtures" / "places" / "uk.json"
PLACED = ("name", "alias", "near_name")
ADDRESS_FIELDS = ("streetAddress", "addressLocality", "addressRegion", "addressCountry", "postalCode")
# Strings that mean a UK place, placed or not (a misspelling or an ambiguous name still means one).
NAMES_A_UK_PLACE = ("name", "alias", "ambiguous", "unknown")


def location_rows() -> list[dict[str, str]]:
    with LOCATION_NAMES.open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


@cache
def fixture_gazetteer() -> gazetteer.Gazetteer:
    """The gazetteer over the places fixture, without a database (ids made from the codes, or the slugs of
    places without one; each place within its parent and the places it is also within)."""
    rows = json.loads(UK_PLACES.read_text(encoding="utf-8"))["places"]
    keys = {key: row["gss_code"] or row["slug"] for row in rows for key in (row["gss_code"], row["slug"]) if key}
    ids = {key: uuid.uuid5(uuid.NAMESPACE_URL, key) for key in keys.values()}
    above = {
        keys[row["gss_code"] or row["slug"]]: [
            keys[up] for up in [row.get("parent"), *row.get("also_within", [])] if up
        ]
        for row in rows
    }

    def within(key: str) -> frozenset[uuid.UUID]:
        return frozenset({ids[key]}).union(*(within(up) for up in above[key]))

    return gazetteer.build(
        gazetteer.GazetteerPlace(ids[key], row["gss_code"], row["name"], row["level"], within(key))
        for row in rows
        if row["level"] in gazetteer.LEVEL_DEPTH and (key := keys[row["gss_code"] or row["slug"]])
    )


@pytest.mark.parametrize("row", location_rows(), ids=lambda row: row["location"])
def test_each_location_string_is_read_as_the_fixture_says(row: dict[str, str]) -> None:
    match = fixture_gazetteer().match(row["location"])
    if row["how"] in PLACED:
        assert match.place is not None, row
        # A place with no GSS code (a ceremonial or former county) is expected by its name.
        assert (match.place.gss_code or match.place.name, match.matched_by) == (row["expected"], row["how"]), row
    elif row["how"] == "ambiguous":
        assert match.place is None and match.ambiguous, row  # never guessed
        assert sorted(p.gss_code or "" for p in match.candidates) == sorted(row["expected"].split("|"))
    else:
        assert match.place is None and not match.candidates, row  # misspellings are not guessed


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Brighton & Hove", "brighton and hove"),
        ("  St. Helens ", "st helens"),
        ("King\u2019s Lynn", "kings lynn"),
        ("Ynys Môn", "ynys mon"),
        ("England \u2013 Wide", "england wide"),
        ("Stoke-on-Trent", "stoke on trent"),
    ],
)
def test_names_are_compared_normalised(text: str, key: str) -> None:
    assert gazetteer.normalise(text) == key


def test_the_alias_file_names_only_places_that_exist() -> None:
    rows = json.loads(UK_PLACES.read_text(encoding="utf-8"))["places"]
    codes = {row["gss_code"] for row in rows}
    uncoded = {(row["name"], row["level"]) for row in rows if not row["gss_code"]}
    _, aliases, ambiguous = gazetteer.name_files()
    assert {entry["gss_code"] for entry in aliases if "gss_code" in entry} <= codes
    assert {(entry["place"], entry["level"]) for entry in aliases if "gss_code" not in entry} <= uncoded
    assert {code for entry in ambiguous for code in entry["gss_codes"]} <= codes
    # An alias is one place; a name that may mean several is listed as ambiguous, never as an alias.
    alias_keys = [gazetteer.normalise(entry["name"]) for entry in aliases]
    assert len(alias_keys) == len(set(alias_keys))
    assert not set(alias_keys) & {gazetteer.normalise(entry["name"]) for entry in ambiguous}


# Through the importer -----------------------------------------------------------------------------------------


def names_only_file() -> dict[str, Any]:
    """One grant for each fixture string, with its name and no code, and one grant with no location. The
    recipient gives no address, so names alone decide (test_giving360_addresses.py has the addresses)."""
    template = sample()["grants"][0]
    for field in ADDRESS_FIELDS:
        template["recipientOrganization"][0].pop(field, None)
    grants = []
    for index, row in enumerate(location_rows()):
        grant = copy.deepcopy(template)
        grant["id"] = f"360G-names-{index:03d}"
        grant["amountAwarded"] = 1000 + index
        grant["beneficiaryLocation"] = [{"name": row["location"], "countryCode": "GB"}]
        grants.append(grant)
    nowhere = copy.deepcopy(template)
    nowhere["id"] = "360G-names-nowhere"
    nowhere["amountAwarded"] = 500
    del nowhere["beneficiaryLocation"]
    return {"grants": [*grants, nowhere]}


async def test_a_names_only_file_is_placed_and_the_report_says_what_was_not(
    places: None, client: httpx.AsyncClient
) -> None:
    rows = location_rows()
    report = await run(names_only_file())
    coverage = report.coverage
    assert report.grants.created == len(rows) + 1

    placeable = [row for row in rows if row["how"] in PLACED]
    uk_named = [row for row in rows if row["how"] in NAMES_A_UK_PLACE]
    assert coverage.placed.grants == len(placeable)
    assert coverage.placed.grants / len(uk_named) >= 0.95
    assert (coverage.by_code.grants, coverage.by_former_code.grants) == (0, 0)
    assert coverage.by_name.grants == sum(row["how"] == "name" for row in rows)
    assert coverage.by_alias.grants == sum(row["how"] == "alias" for row in rows)
    assert coverage.by_near_name.grants == sum(row["how"] == "near_name" for row in rows)
    amounts = {row["location"]: Decimal(1000 + index) for index, row in enumerate(rows)}
    assert coverage.placed.amounts == {"GBP": sum(amounts[row["location"]] for row in placeable)}
    unplaced = [row for row in rows if row["how"] not in PLACED]
    assert coverage.unplaced.grants == len(unplaced) + 1
    assert coverage.unplaced.amounts == {"GBP": sum(amounts[row["location"]] for row in unplaced) + 500}
    assert coverage.unplaced_without_location == 1

    # Exactly what was not placed, and why: each string once, the grant with no location apart.
    reasons = {"ambiguous": "ambiguous_name", "unknown": "no_code", "not_uk": "no_code"}
    assert sorted((u.location, u.reason, u.count) for u in coverage.unplaced_locations) == sorted(
        [(row["location"], reasons[row["how"]], 1) for row in unplaced] + [("", "no_location", 1)]
    )
    assert {a.name: sorted(p.gss_code or "" for p in a.candidates) for a in coverage.ambiguous} == {
        row["location"]: sorted(row["expected"].split("|")) for row in rows if row["how"] == "ambiguous"
    }
    assert report.warning_counts == {
        "location_ambiguous": sum(row["how"] == "ambiguous" for row in rows),
        "location_without_code": sum(row["how"] in ("unknown", "not_uk") for row in rows),
        "location_misspelt": sum(row["how"] == "near_name" for row in rows),
    }
    lines = list(importer.report_lines(report))
    assert any(line.startswith(f"coverage: {len(placeable)} of {len(rows) + 1} grants placed") for line in lines)
    assert "  ambiguous: 'Newport' x1 may mean Isle of Wight (E06000046), Newport (W06000022)" in lines

    # Each grant says how its location was matched; what was not is kept, with why.
    listed = (await client.get("/v1/grants", params={"limit": 200})).json()["items"]
    by_identifier = {grant["identifier"]: grant for grant in listed}
    # A place is expected by its GSS code, or by its name when it has none (a ceremonial county).
    place_codes = {str(row["id"]): row for row in await Place.select(Place.id, Place.gss_code, Place.name)}
    for index, row in enumerate(rows):
        grant = by_identifier[f"360G-names-{index:03d}"]
        if row["how"] in PLACED:
            [matched] = grant["matched_locations"]
            assert (matched["name"], matched["geo_code"], matched["matched_by"]) == (row["location"], None, row["how"])
            assert [place_codes[p["id"]]["gss_code"] or place_codes[p["id"]]["name"] for p in grant["places"]] == [
                row["expected"]
            ]
            assert grant["unmatched_locations"] == []
        else:
            assert grant["places"] == [] and grant["matched_locations"] == []
            [kept] = grant["unmatched_locations"]
            assert (kept["name"], kept["reason"]) == (row["location"], reasons[row["how"]])

    # The same file again changes nothing.
    again = await run(names_only_file())
    assert again.grants.unchanged == len(rows) + 1


async def test_a_location_matched_by_name_is_exported_as_published(places: None, client: httpx.AsyncClient) -> None:
    """The export gives back what the publisher wrote, not Placenet's inferred code."""
    await run(names_only_file())
    response = await client.get("/v1/grants", params={"place": "E10000016"}, headers={"Accept": GIVING360})
    exported = {grant["id"]: grant for grant in response.json()["grants"]}
    index = next(i for i, row in enumerate(location_rows()) if row["location"] == "South East - Kent")
    kent = exported[f"360G-names-{index:03d}"]
    assert kent["beneficiaryLocation"] == [{"name": "South East - Kent", "countryCode": "GB"}]


def coverage_line(report: ImportReport) -> str:
    return next(line for line in importer.report_lines(report) if line.startswith("coverage:"))


async def test_codes_still_win_in_the_blagrave_sample(places: None, client: httpx.AsyncClient) -> None:
    data = sample()
    report = await run(data)
    coverage = report.coverage
    assert (report.places.matched, report.places.by_former_code, report.places.unknown) == (27, 1, 1)
    assert (coverage.placed.grants, coverage.by_code.grants, coverage.by_former_code.grants) == (68, 66, 1)
    assert (coverage.by_name.grants, coverage.by_alias.grants, coverage.unplaced.grants) == (0, 0, 0)
    # Swindon's code E11000020 names no place: the code is what the publisher chose, so its name does not
    # overrule it; the location is kept unplaced, and the grant falls back on its recipient's address, in
    # Swindon.
    assert coverage.by_recipient_address.grants == 1
    assert [(u.location, u.reason, u.count) for u in coverage.unplaced_locations] == [("Swindon", "unknown_code", 1)]
    assert coverage.unplaced_reasons == {"unknown_code": 1}
    total = sum(Decimal(str(grant["amountAwarded"])) for grant in data["grants"])
    assert coverage.placed.amounts["GBP"] == total and coverage.unplaced.amounts == {}
    grant = (await client.get("/v1/grants/360G-blagravetrust-006580000086SoZ")).json()
    assert [(m["geo_code"], m["matched_by"]) for m in grant["matched_locations"]] == [("E07000190", "former_code")]
    print(coverage_line(report))


async def test_the_blagrave_sample_without_its_codes_is_placed_by_name(places: None) -> None:
    data = sample()
    for grant in data["grants"]:
        for location in grant.get("beneficiaryLocation", []):
            location.pop("geoCode", None)
            location.pop("geoCodeType", None)
    report = await run(data)
    coverage = report.coverage
    # Every grant: "Windsor and Maindenhead" (two grants, one giving it twice) is a letter from the one
    # place Windsor and Maidenhead, so it is read as it, and warned of.
    assert (coverage.placed.grants, coverage.unplaced.grants) == (68, 0)
    assert (coverage.by_code.grants, coverage.by_name.grants, coverage.by_alias.grants) == (0, 64, 2)
    assert coverage.by_near_name.grants == 2
    assert coverage.unplaced_locations == [] and coverage.unplaced_reasons == {}
    assert report.warning_counts.get("location_misspelt") == 3
    assert coverage.ambiguous == []
    print(coverage_line(report))


async def test_a_publisher_hint_settles_an_ambiguous_name_for_that_publisher_only(
    places: None, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    hint = {"publisher": "360G-welshfund-", "name": "Newport", "gss_code": "W06000022", "why": "a Welsh funder"}
    monkeypatch.setattr(gazetteer, "publisher_hints", lambda: [hint])
    template = sample()["grants"][0]
    grants = []
    for identifier in ("360G-welshfund-1", "360G-otherfund-1"):
        grant = copy.deepcopy(template)
        grant["id"] = identifier
        grant["beneficiaryLocation"] = [{"name": "Newport"}]
        for field in ("addressLocality", "addressRegion", "addressCountry", "postalCode"):
            grant["recipientOrganization"][0].pop(field, None)  # the names alone
        grants.append(grant)
    report = await run({"grants": grants})

    assert report.coverage.placed.grants == 1 and report.coverage.by_alias.grants == 1
    assert [a.name for a in report.coverage.ambiguous] == ["Newport"]  # the other publisher's, not guessed
    hinted = (await client.get("/v1/grants/360G-welshfund-1")).json()
    assert [
        (p["name"], m["matched_by"]) for p, m in zip(hinted["places"], hinted["matched_locations"], strict=True)
    ] == [("Newport", "alias")]
    assert (await client.get("/v1/grants/360G-otherfund-1")).json()["places"] == []
