"""Exporting grants as 360Giving data: what comes out validates against the official schema, and the
real sample comes back grant by grant as it went in."""

from __future__ import annotations

import asyncio
import copy
import csv
import io
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.schemas.imports import FileFormat
from api.services.giving360 import convert, geocodes
from api.services.giving360.convert import Converted
from api.services.giving360.issues import Issues
from api.services.giving360.reference import main_sheet_columns
from api.services.giving360.validate import check_schema, date_of
from tests import builders
from tests.test_giving360_import import CSV_SAMPLE, XLSX_SAMPLE, places, run, sample

GIVING360 = "application/vnd.360giving+json"

__all__ = ["places"]  # a fixture, shared with the import tests


def schema_errors(package: Any) -> list[str]:
    issues = Issues()
    check_schema(Converted(package, "json"), issues)
    return [f"{e.where}: {e.message}" for e in issues.errors]


async def export(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await client.get("/v1/grants", params=params, headers={"Accept": GIVING360})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(GIVING360)
    package: dict[str, Any] = response.json()
    return package


def by_id(package: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {grant["id"]: grant for grant in package["grants"]}


def comparable(grant: dict[str, Any]) -> dict[str, Any]:
    """A grant with its dates as calendar dates and the geoCodeTypes the export derives from the codes:
    the two things an export deliberately normalises."""
    out = copy.deepcopy(grant)
    out["awardDate"] = str(date_of(out["awardDate"]))
    for planned in out.get("plannedDates", []):
        for key in ("startDate", "endDate"):
            if key in planned:
                planned[key] = str(date_of(planned[key]))
    for location in out.get("beneficiaryLocation", []):
        location.pop("geoCodeType", None)
    return out


# The round trip ------------------------------------------------------------------------------------------


async def test_the_sample_exports_valid_and_comes_back_grant_by_grant(places: None, client: httpx.AsyncClient) -> None:
    await run(sample())
    package = await export(client)
    assert schema_errors(package) == []
    published, exported = by_id(sample()), by_id(package)
    assert exported.keys() == published.keys()
    for identifier, source in published.items():
        out = exported[identifier]
        assert out["amountAwarded"] == source["amountAwarded"]
        assert out.get("amountDisbursed") == source.get("amountDisbursed")
        assert date_of(out["awardDate"]) == date_of(source["awardDate"])
        assert [f["id"] for f in out["fundingOrganization"]] == [f["id"] for f in source["fundingOrganization"]]
        assert out["recipientOrganization"] == source["recipientOrganization"]
        codes = [loc.get("geoCode") for loc in out.get("beneficiaryLocation", [])]
        assert codes == [loc.get("geoCode") for loc in source.get("beneficiaryLocation", [])]
        for location in out.get("beneficiaryLocation", []):
            assert location.get("geoCodeType") == geocodes.standard_type(location["geoCode"])
        assert comparable(out) == comparable(source), identifier


async def test_the_export_corrects_geo_code_types_from_the_codes(places: None, client: httpx.AsyncClient) -> None:
    await run(sample())
    exported = by_id(await export(client))
    assert exported["360G-blagravetrust-0065800000BtxD5"]["beneficiaryLocation"][0]["geoCodeType"] == "LONB"
    assert exported["360G-blagravetrust-0065800000BtvsD"]["beneficiaryLocation"][0]["geoCodeType"] == "UA"
    # The code that names no place is kept (without the wrong type: the codelist has none for E11), and
    # the former code is given as published.
    assert exported["360G-blagravetrust-00658000008xU28"]["beneficiaryLocation"] == [
        {"name": "Swindon", "latitude": 51.550233, "longitude": -1.848636, "geoCode": "E11000020"}
    ]
    assert exported["360G-blagravetrust-006580000086SoZ"]["beneficiaryLocation"][0]["geoCode"] == "E07000190"


@pytest.mark.parametrize(("path", "file_format"), [(CSV_SAMPLE, "csv"), (XLSX_SAMPLE, "xlsx")])
async def test_spreadsheet_imports_export_the_same_package(
    places: None, client: httpx.AsyncClient, path: Path, file_format: FileFormat
) -> None:
    await run(await asyncio.to_thread(path.read_bytes), file_format)
    from_spreadsheet = await export(client)
    assert schema_errors(from_spreadsheet) == []
    await builders.empty_all_tables()
    await places_again()
    await run(sample())
    assert by_id(await export(client)) == by_id(from_spreadsheet)


async def places_again() -> None:
    from tests.test_giving360_import import _PLACES

    for table, rows in _PLACES:
        for start in range(0, len(rows), 200):
            await table.insert(*[table.from_dict(row) for row in rows[start : start + 200]])


async def test_importing_the_export_changes_only_the_corrected_geo_code_types(
    places: None, client: httpx.AsyncClient
) -> None:
    await run(sample())
    package = await export(client)
    corrected = {
        grant["id"]
        for grant in sample()["grants"]
        for location in grant.get("beneficiaryLocation", [])
        if location.get("geoCodeType") != geocodes.standard_type(location["geoCode"])
    }
    report = await run(package)
    assert (report.grants.created, report.organisations.created) == (0, 0)
    assert report.grants.updated == len(corrected) == 18
    again = await run(package)
    assert (again.grants.updated, again.grants.unchanged) == (0, 68)
    assert again.warning_counts == {
        "geo_code_former": 1,
        "geo_code_unknown": 1,
        "charity_number": 2,
        "org_id_names": 1,
        "self_grant": 1,
    }


# CSV ---------------------------------------------------------------------------------------------------------


async def test_csv_has_the_official_column_titles_and_imports_back(places: None, client: httpx.AsyncClient) -> None:
    await run(sample())
    response = await client.get("/v1/grants", headers={"Accept": "text/csv"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(response.text)))
    official = [title for title, _ in main_sheet_columns()]
    assert rows[0][: len(official)] == official
    # The merged grant's second location (and planned dates) have numbered columns.
    assert rows[0][len(official) :] == [
        "Planned Dates:1:End Date",
        "Beneficiary Location:1:Name",
        "Beneficiary Location:1:Latitude",
        "Beneficiary Location:1:Longitude",
        "Beneficiary Location:1:Geographic Code",
        "Beneficiary Location:1:Geographic Code Type",
    ]
    assert len(rows) == 69
    issues = Issues()
    converted = convert.read(response.content, "csv", issues)
    assert converted is not None and issues.errors == []
    assert schema_errors(converted.package) == []
    assert [comparable(g) for g in converted.package["grants"]] == [
        comparable(g) for g in (await export(client))["grants"]
    ]
    report = await run(response.content, "csv")  # only the geoCodeTypes the export corrected change
    assert (report.grants.created, report.grants.updated, report.grants.unchanged) == (0, 18, 50)
    again = await run(response.content, "csv")
    assert (again.grants.created, again.grants.updated, again.grants.unchanged) == (0, 0, 68)


# Filters and negotiation -------------------------------------------------------------------------------------


async def test_the_export_takes_the_list_filters(places: None, client: httpx.AsyncClient) -> None:
    await run(sample())
    grants = sample()["grants"]
    reading = [g["id"] for g in grants if any(loc["geoCode"] == "E06000038" for loc in g["beneficiaryLocation"])]
    assert sorted(by_id(await export(client, place="E06000038"))) == sorted(reading)
    south_east = await export(client, place="E12000008")  # the region: every place below it
    assert set(reading) < set(by_id(south_east)) < set(by_id(await export(client)))
    in_2016 = [g["id"] for g in grants if g["awardDate"].startswith("2016")]
    assert sorted(by_id(await export(client, awarded_from="2016-01-01", awarded_to="2016-12-31"))) == sorted(in_2016)
    assert len((await export(client, funder="GB-CHC-1164021"))["grants"]) == 68
    assert (await export(client, recipient="GB-CHC-1142154"))["grants"][0]["id"] == "360G-blagravetrust-00658000009YZRq"
    csv_rows = (await client.get("/v1/grants", params={"place": "E06000038"}, headers={"Accept": "text/csv"})).text
    assert len(csv_rows.strip().splitlines()) == len(reading) + 1


async def test_json_stays_the_default_and_others_are_406(client: httpx.AsyncClient) -> None:
    for accept in (None, "*/*", "application/json", "text/html,application/xhtml+xml,*/*;q=0.8"):
        headers = {"Accept": accept} if accept else {}
        response = await client.get("/v1/grants", headers=headers)
        assert response.status_code == 200, accept
        assert response.json() == {"items": [], "next_cursor": None}
        assert response.headers["vary"] == "Accept"
    refused = await client.get("/v1/grants", headers={"Accept": "application/xml"})
    assert refused.status_code == 406
    assert refused.json()["errors"][0]["field"] == "Accept"


# An empty selection is a 404 problem, never an invalid empty package: test_giving360_fidelity.py.


async def test_a_bad_filter_is_still_a_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/grants", params={"funder": "nobody"}, headers={"Accept": GIVING360})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


# Grants made through the API ---------------------------------------------------------------------------------


async def test_grants_made_in_placenet_export_valid_and_import_back_to_themselves(
    places: None, client: httpx.AsyncClient
) -> None:
    funder = await builders.organisation(client, "Lankelly Chase Foundation", org_id="GB-CHC-1107583")
    recipient = await builders.organisation(client, "Collaborate", kind="consultancy")
    made = await builders.grant(
        client,
        funder["slug"],
        recipient["slug"],
        amount={"amount": "25000.50", "currency": "GBP"},
        awarded_on="2017-03-01",
        planned_start_on="2017-04-01",
        programme="Place Action Inquiry",
        places=["coventry", "E12000005"],
    )
    await builders.grant(client, funder["slug"], recipient["slug"], "No amount yet")
    response = await client.get("/v1/grants", headers={"Accept": GIVING360})
    assert response.headers["omitted-grants"] == "1"
    package = response.json()
    assert schema_errors(package) == []
    (grant,) = package["grants"]
    assert grant["id"] == f"360G-placenet-{made['id']}"
    assert grant["amountAwarded"] == 25000.5
    assert grant["fundingOrganization"] == [{"id": "GB-CHC-1107583", "name": "Lankelly Chase Foundation"}]
    assert grant["recipientOrganization"] == [{"id": "360G-placenet-collaborate", "name": "Collaborate"}]
    assert grant["grantProgramme"] == [{"title": "Place Action Inquiry"}]
    assert grant["plannedDates"] == [{"startDate": "2017-04-01"}]
    assert sorted((loc["geoCode"], loc["geoCodeType"]) for loc in grant["beneficiaryLocation"]) == [
        ("E08000026", "MD"),
        ("E12000005", "RGN/GOR"),
    ]
    # Imported back, it is the same grant and organisations (it keeps the published form it was given).
    report = await run(package)
    assert (report.grants.created, report.grants.updated, report.organisations.created) == (0, 1, 0)
    assert (await run(package)).grants.unchanged == 1
    again = (await client.get(f"/v1/grants/{made['id']}")).json()
    assert (again["identifier"], again["amount"], again["places"]) == (None, made["amount"], made["places"])
    assert (await export(client))["grants"] == [grant]


async def test_changes_made_in_placenet_show_in_the_export(places: None, client: httpx.AsyncClient) -> None:
    await run(sample())
    identifier = "360G-blagravetrust-00658000009YZRq"
    response = await client.patch(
        f"/v1/grants/{identifier}",
        json={"amount": {"amount": "310000", "currency": "GBP"}, "places": ["E08000026"], "programme": "Further"},
    )
    assert response.status_code == 200, response.text
    package = await export(client)
    assert schema_errors(package) == []
    grant = by_id(package)[identifier]
    assert grant["amountAwarded"] == 310000
    assert grant["grantProgramme"] == [{"title": "Further"}]
    assert [(loc["name"], loc["geoCode"]) for loc in grant["beneficiaryLocation"]] == [("Coventry", "E08000026")]


async def test_a_grant_to_an_individual_exports_as_one(places: None, client: httpx.AsyncClient) -> None:
    grant = sample()["grants"][0]
    del grant["recipientOrganization"]
    grant["recipientIndividual"] = {"id": "360G-blagravetrust-IND-1", "name": "Individual Recipient"}
    await run({"grants": [grant]})
    package = await export(client)
    assert schema_errors(package) == []
    (out,) = package["grants"]
    assert out["recipientIndividual"] == grant["recipientIndividual"]
    assert "recipientOrganization" not in out


async def test_negative_amounts_and_extra_fields_come_back_as_published(
    places: None, client: httpx.AsyncClient
) -> None:
    grant = sample()["grants"][0]
    grant.update(amountAwarded=-500, placenetNote="kept")
    await run({"grants": [grant]})
    (out,) = (await export(client))["grants"]
    assert (out["amountAwarded"], out["placenetNote"]) == (-500, "kept")
    assert schema_errors({"grants": [out]}) == []
