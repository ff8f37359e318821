"""Importing 360Giving files: the real Blagrave Trust sample in its three forms, with its real flaws,
then what a funder's newer file, a broken file and the standard's corners do."""

from __future__ import annotations

import asyncio
import copy
import json
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from piccolo.table import Table

from api.schemas.imports import FileFormat, ImportReport
from api.services.giving360 import importer
from api.services.giving360.issues import ImportRefused
from api.services.platform.actors import Actor
from fixtures.loader import load
from models.tables import Grant, GrantPlace, Organisation, Place, PlaceAncestor, PlaceFormerCode, PlaceWithin
from tests import builders

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "tests" / "data" / "360giving"
JSON_SAMPLE = SAMPLES / "360G-blagravetrust-2016.json"
CSV_SAMPLE = SAMPLES / "360G-blagravetrust-2016.original-grants-sheet.csv"
XLSX_SAMPLE = SAMPLES / "360G-blagravetrust-2016.original.xlsx"
CSV_MEDIA_TYPE = "text/csv"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ADMIN = Actor(role="admin")

SAMPLE_WARNINGS = {
    "charity_number": 2,  # '1146880.' and '1113958.': a stray full stop
    "geo_code_former": 1,  # E07000190, Taunton Deane, now part of Somerset
    "geo_code_type_mismatch": 16,  # CTY or NMD given for unitary authorities (E06)
    "geo_code_type_unknown": 3,  # LONDB, not the codelist's LONB
    "geo_code_unknown": 1,  # E11000020 names no area
    "org_id_names": 1,  # GB-CHC-1164021, the trust's own org-id, is also given as The Roberts Centre's
    "self_grant": 1,  # 360G-blagravetrust-00658000007A1Om: to The Roberts Centre, under the trust's org-id
}


_PLACES: list[tuple[type[Table], list[dict[str, Any]]]] = []


@pytest.fixture
async def places() -> None:
    """The UK's places, so GSS codes resolve: loaded once with the fixture loader, then put back from a
    copy of its rows before each test that asks (parents first), which is 20 times quicker."""
    if not _PLACES:
        await load([ROOT / "fixtures" / "places" / "uk.json"])
        depth = Counter(row["place"] for row in await PlaceAncestor.select(PlaceAncestor.place))
        _PLACES.append((Place, sorted(await Place.select(), key=lambda row: depth[row["id"]])))
        copied: tuple[type[Table], ...] = (PlaceWithin, PlaceAncestor, PlaceFormerCode)
        for table in copied:
            _PLACES.append((table, await table.select()))
        return
    for table, rows in _PLACES:
        for start in range(0, len(rows), 200):
            await table.insert(*[table.from_dict(row) for row in rows[start : start + 200]])


def sample() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(JSON_SAMPLE.read_text(encoding="utf-8"))
    return data


async def run(data: dict[str, Any] | bytes, file_format: FileFormat = "json", **options: Any) -> ImportReport:
    content = data if isinstance(data, bytes) else json.dumps(data).encode()
    return await importer.import_file(
        content,
        file_format=file_format,
        file_name=f"test.{file_format}",
        actor=ADMIN,
        **options,
    )


async def counts() -> tuple[int, int, int]:
    return await Grant.count(), await Organisation.count(), await GrantPlace.count()


# The sample -------------------------------------------------------------------------------------------------


async def test_the_json_sample_imports_with_its_report(places: None, client: httpx.AsyncClient) -> None:
    report = await importer.import_file(
        JSON_SAMPLE.read_bytes(), file_format="json", file_name=JSON_SAMPLE.name, actor=ADMIN
    )
    assert (report.grants.in_file, report.grants.created, report.grants.updated, report.grants.unchanged) == (
        68,
        68,
        0,
        0,
    )
    assert (report.organisations.matched, report.organisations.created) == (0, 63)
    assert (report.places.matched, report.places.by_former_code, report.places.unknown) == (27, 1, 1)
    assert report.warning_counts == SAMPLE_WARNINGS
    assert report.written and not report.dry_run
    assert await Grant.count() == 68

    grant = (await client.get("/v1/grants/360G-blagravetrust-00658000009YZRq")).json()
    assert grant["amount"] == {"amount": "300000.00", "currency": "GBP"}
    assert grant["amount_disbursed"] == {"amount": "300000.00", "currency": "GBP"}
    assert grant["awarded_on"] == "2014-07-08"
    assert grant["planned_end_on"] == "2017-06-30"
    assert grant["funder"]["name"] == "The Blagrave Trust"
    assert grant["recipient"]["name"] == "Achievement for All"
    assert [p["slug"] for p in grant["places"]] == ["reading"]
    assert (grant["source"], grant["source_url"]) == ("360giving", JSON_SAMPLE.name)

    funder = (await client.get("/v1/organisations/GB-CHC-1164021")).json()
    assert (funder["kind"], funder["source"]) == ("funder", "360giving")
    recipient = (await client.get("/v1/organisations/GB-CHC-1142154")).json()
    assert (recipient["kind"], recipient["website"]) == ("charity", "http://www.afaeducation.org")


async def test_a_former_code_links_the_current_place(places: None, client: httpx.AsyncClient) -> None:
    await run(sample())
    grant = (await client.get("/v1/grants/360G-blagravetrust-006580000086SoZ")).json()
    assert [p["name"] for p in grant["places"]] == ["Somerset"]  # E07000190, Taunton Deane in 2016
    assert grant["unmatched_locations"] == []


async def test_an_unknown_code_is_kept_on_the_grant(places: None, client: httpx.AsyncClient) -> None:
    await run(sample())
    grant = (await client.get("/v1/grants/360G-blagravetrust-00658000008xU28")).json()
    # The code places nothing and is kept; the grant falls back on its recipient's town, Swindon.
    assert [p["slug"] for p in grant["places"]] == ["swindon"]
    assert [(m["name"], m["matched_by"]) for m in grant["matched_locations"]] == [("Swindon, UK", "recipient_address")]
    assert grant["unmatched_locations"] == [
        {
            "name": "Swindon",
            "geo_code": "E11000020",
            "geo_code_type": "UA",
            "area_type": "Metropolitan Counties",
            "reason": "unknown_code",
        }
    ]
    found = (await client.get("/v1/grants", params={"q": "360G-blagravetrust-00658000008xU28"})).json()
    assert [g["identifier"] for g in found["items"]] == ["360G-blagravetrust-00658000008xU28"]


async def test_the_csv_and_xlsx_forms_are_the_same_grants(places: None) -> None:
    report = await run(CSV_SAMPLE.read_bytes(), "csv")
    assert (report.grants.in_file, report.grants.created) == (68, 68)  # 69 rows, two share an identifier
    assert report.warning_counts == {**SAMPLE_WARNINGS, "duplicate_identifier": 1}
    duplicate = next(w for w in report.warnings if w.kind == "duplicate_identifier")
    assert duplicate.grant == "360G-blagravetrust-00658000008xOPI"
    assert duplicate.where == "grants sheet, rows 19 and 20, column A (Identifier)"
    former = next(w for w in report.warnings if w.kind == "geo_code_former")
    assert former.where == "grants sheet, row 7, column AA (Beneficiary Location:Geographic Code)"

    files: list[tuple[bytes, FileFormat]] = [(XLSX_SAMPLE.read_bytes(), "xlsx"), (JSON_SAMPLE.read_bytes(), "json")]
    for content, file_format in files:
        again = await run(content, file_format)
        assert (again.grants.unchanged, again.organisations.created, again.written) == (68, 0, False), file_format


async def test_a_workbook_with_a_notes_sheet_and_its_own_sheet_names_imports(places: None, tmp_path: Path) -> None:
    import openpyxl

    workbook = openpyxl.load_workbook(XLSX_SAMPLE)
    workbook["grants"].title = "360Giving data"
    notes = workbook.create_sheet("Notes")
    notes.append(["About this file"])
    notes.append(["Published by The Blagrave Trust under CC BY 4.0."])
    workbook.save(tmp_path / "grants.xlsx")
    report = await run((tmp_path / "grants.xlsx").read_bytes(), "xlsx")
    assert (report.grants.in_file, report.grants.created) == (68, 68)
    skipped = [w for w in report.warnings if w.kind == "sheet_skipped"]
    assert [w.message for w in skipped] == [
        "The sheet 'Notes' has no Identifier column, so it holds no grant data; it was not read."
    ]


async def test_importing_the_same_file_twice_changes_nothing(places: None, client: httpx.AsyncClient) -> None:
    await run(XLSX_SAMPLE.read_bytes(), "xlsx")
    before = await Grant.select(Grant.id, Grant.version, Grant.updated_at).order_by(Grant.id)
    links = await counts()
    report = await run(XLSX_SAMPLE.read_bytes(), "xlsx")
    assert (report.grants.created, report.grants.updated, report.grants.unchanged) == (0, 0, 68)
    assert (report.organisations.matched, report.organisations.created) == (63, 0)
    assert not report.written
    assert await Grant.select(Grant.id, Grant.version, Grant.updated_at).order_by(Grant.id) == before
    assert await counts() == links


# A newer file -----------------------------------------------------------------------------------------------


async def test_a_newer_version_of_the_file_updates_what_changed(places: None, client: httpx.AsyncClient) -> None:
    await run(sample())
    newer = sample()
    newer["grants"][0]["amountDisbursed"] = 250000
    newer["grants"][1]["beneficiaryLocation"] = [{"name": "Coventry", "geoCode": "E08000026", "geoCodeType": "MD"}]
    added = copy.deepcopy(newer["grants"][2])
    added["id"] = "360G-blagravetrust-NEW"
    newer["grants"].append(added)
    report = await run(newer)
    assert (report.grants.created, report.grants.updated, report.grants.unchanged) == (1, 2, 66)

    first = (await client.get("/v1/grants/360G-blagravetrust-00658000009YZRq")).json()
    assert (first["amount_disbursed"]["amount"], first["version"]) == ("250000.00", 2)
    moved = (await client.get(f"/v1/grants/{newer['grants'][1]['id']}")).json()
    assert [p["name"] for p in moved["places"]] == ["Coventry"]
    assert (await client.get("/v1/grants/360G-blagravetrust-NEW")).status_code == 200


async def test_organisations_already_held_are_matched_by_org_id_and_left_alone(
    places: None, client: httpx.AsyncClient
) -> None:
    existing = await builders.organisation(client, "Blagrave Trust", org_id="GB-CHC-1164021")
    taken = await builders.organisation(client, "Achievement for All", kind="charity")
    report = await run(sample())
    assert (report.organisations.matched, report.organisations.created) == (1, 62)
    grant = (await client.get("/v1/grants/360G-blagravetrust-00658000009YZRq")).json()
    assert grant["funder"]["id"] == existing["id"]
    assert (await client.get(f"/v1/organisations/{existing['id']}")).json()["name"] == "Blagrave Trust"
    # A new recipient whose name's slug is taken gets another: its name and org-id.
    assert grant["recipient"]["id"] != taken["id"]
    assert grant["recipient"]["slug"] == "achievement-for-all-gb-chc-1142154"


# All or nothing -------------------------------------------------------------------------------------------


async def test_a_file_with_a_schema_error_writes_nothing(places: None) -> None:
    broken = sample()
    broken["grants"][3]["amountAwarded"] = "£3,000"
    del broken["grants"][5]["awardDate"]
    with pytest.raises(ImportRefused) as refused:
        await run(broken)
    errors = refused.value.issues
    assert [(e.kind, e.where, e.grant) for e in errors] == [
        ("schema", "grants[3].amountAwarded", broken["grants"][3]["id"]),
        ("schema", "grants[5]", broken["grants"][5]["id"]),
    ]
    assert errors[0].message == "'£3,000' is not of type 'number'."
    assert errors[1].message == "'awardDate' is required."
    assert await counts() == (0, 0, 0)


async def test_schema_errors_in_a_spreadsheet_name_the_cell(places: None) -> None:
    rows = CSV_SAMPLE.read_text(encoding="utf-8").splitlines()
    rows[2] = rows[2].replace(",GBP,3933,", ",GBP,about 4k,", 1)
    with pytest.raises(ImportRefused) as refused:
        await run("\n".join(rows).encode(), "csv")
    (error,) = refused.value.issues
    assert error.where == "grants sheet, row 3, column E (Amount Awarded)"
    assert error.message == "'about 4k' is not of type 'number'."
    assert await counts() == (0, 0, 0)


async def test_a_missing_column_is_named_by_its_title(places: None) -> None:
    rows = CSV_SAMPLE.read_text(encoding="utf-8").splitlines()
    rows[0] = rows[0].replace("Award Date", "Awarded")
    with pytest.raises(ImportRefused) as refused:
        await run("\n".join(rows).encode(), "csv")
    first = refused.value.issues[0]
    assert first.message == "'awardDate' is required (column 'Award Date')."
    assert first.where == "grants sheet, row 2"


async def test_duplicate_identifiers_in_json_are_an_error(places: None) -> None:
    data = sample()
    data["grants"][1]["id"] = data["grants"][0]["id"]
    with pytest.raises(ImportRefused) as refused:
        await run(data)
    assert [e.kind for e in refused.value.issues] == ["duplicate_identifier"]
    assert await counts() == (0, 0, 0)


@pytest.mark.parametrize(
    ("content", "file_format", "message"),
    [
        (b"{not json", "json", "The file is not valid JSON"),
        (b'{"grants": [{"amountAwarded": NaN}]}', "json", "NaN is not a JSON value"),
        (b"\xff\xfe\x00", "json", "not UTF-8"),
        (b"", "json", "not valid JSON"),
        (b"PK\x03\x04 not really a spreadsheet", "xlsx", "cannot be read as a XLSX spreadsheet"),
        (b'{"grants": []}', "json", "The file has no grants."),
        (b"[]", "json", "must be a 360Giving package"),
        (b"Identifier,Title\n", "csv", "The file has no grants. A grants sheet has"),
    ],
)
async def test_files_that_cannot_be_read_are_refused(
    places: None, content: bytes, file_format: FileFormat, message: str
) -> None:
    with pytest.raises(ImportRefused) as refused:
        await run(content, file_format)
    assert message in refused.value.issues[0].message
    assert await counts() == (0, 0, 0)


async def test_a_dry_run_reports_and_writes_nothing(places: None) -> None:
    report = await run(sample(), dry_run=True)
    assert (report.dry_run, report.written, report.grants.created, report.organisations.created) == (
        True,
        False,
        68,
        63,
    )
    assert await counts() == (0, 0, 0)


# The standard's corners -------------------------------------------------------------------------------------


def one_grant(**changes: Any) -> dict[str, Any]:
    grant = copy.deepcopy(sample()["grants"][0])
    grant.update(changes)
    return {"grants": [grant]}


async def test_fields_the_standard_does_not_define_are_kept(places: None, client: httpx.AsyncClient) -> None:
    data = one_grant(placenetNote="co-funded with Lankelly Chase")
    data["grants"][0]["recipientOrganization"][0]["Trading Name"] = "AfA"
    report = await run(data)
    assert report.warning_counts == {"additional_field": 2}
    grant = (await client.get("/v1/grants/360G-blagravetrust-00658000009YZRq")).json()
    assert grant["extra"] == {"placenetNote": "co-funded with Lankelly Chase"}
    stored = await Grant.select(Grant.standard).first()
    assert stored is not None
    standard = json.loads(stored["standard"]) if isinstance(stored["standard"], str) else stored["standard"]
    assert standard["recipientOrganization"][0]["Trading Name"] == "AfA"


async def test_quality_checks_are_warnings_and_the_grants_are_written(places: None, client: httpx.AsyncClient) -> None:
    grant = sample()["grants"][0]
    variants: list[dict[str, Any]] = [
        {"id": "360G-q-zero", "amountAwarded": 0},
        {"id": "360G-q-negative", "amountAwarded": -500},
        {"id": "360G-q-future", "awardDate": "2999-01-01"},
        {"id": "360G-q-dates", "plannedDates": [{"startDate": "2017-01-01", "endDate": "2016-01-01"}]},
        {"id": "q-no-prefix", "regrantType": "FRG999"},
        {"id": "360G-q-same", "title": "Same", "description": "Same"},
        {"id": "360G-q-org", "recipientOrganization": [{"id": "XX-NOPE-1", "name": "Somewhere"}]},
        {"id": "360G-q-coh", "recipientOrganization": [{"id": "GB-COH-9412684", "name": "A company"}]},
        {"id": "360G-q-own", "recipientOrganization": [{"id": "360G-q-x", "name": "X", "charityNumber": "1142154"}]},
        {
            "id": "360G-q-places",
            "beneficiaryLocation": [{"name": "Hampshire"}, {"name": "Hamshyr"}, {"name": "Town", "geoCode": "RG1"}],
        },
    ]
    report = await run({"grants": [{**grant, **variant} for variant in variants]})
    assert report.grants.created == len(variants)
    assert report.warning_counts == {
        "amount_negative": 1,
        "amount_zero": 1,
        "award_date_future": 1,
        "company_number": 1,
        "geo_code_not_gss": 1,
        "identifier_prefix": 1,
        "location_without_code": 1,
        "org_id_prefix": 1,
        "org_id_registered_number": 1,
        "planned_dates_order": 1,
        "regrant_type_unknown": 1,
        "title_same_as_description": 1,
    }
    negative = (await client.get("/v1/grants/360G-q-negative")).json()
    assert negative["amount"] is None  # kept as published in the grant's 360Giving data
    located = (await client.get("/v1/grants/360G-q-places")).json()
    # Hampshire has no code but names a place; a spelling several letters from any name is not guessed.
    assert [(m["name"], m["matched_by"]) for m in located["matched_locations"]] == [("Hampshire", "name")]
    assert [p["name"] for p in located["places"]] == ["Hampshire"]
    unmatched = located["unmatched_locations"]
    assert [(u["name"], u["reason"]) for u in unmatched] == [("Hamshyr", "no_code"), ("Town", "not_a_gss_code")]


async def test_a_grant_to_an_individual_goes_to_the_shared_individual_recipients(
    places: None, client: httpx.AsyncClient
) -> None:
    grant = sample()["grants"][0]
    del grant["recipientOrganization"]
    grant["recipientIndividual"] = {"id": "360G-blagravetrust-IND-1", "name": "Individual Recipient"}
    report = await run({"grants": [grant]})
    assert report.warning_counts == {"recipient_individual": 1}
    stored = (await client.get(f"/v1/grants/{grant['id']}")).json()
    assert (stored["recipient"]["slug"], stored["recipient"]["name"]) == (
        "individual-recipients",
        "Individual recipients",
    )


async def test_a_title_too_long_for_placenet_is_kept_whole(places: None, client: httpx.AsyncClient) -> None:
    title = "A" * 320
    report = await run(one_grant(title=title))
    assert report.warning_counts == {"title_long": 1, "title_truncated": 1}
    assert (await client.get("/v1/grants/360G-blagravetrust-00658000009YZRq")).json()["name"] == "A" * 300


# Over HTTP --------------------------------------------------------------------------------------------------

URL = "/v1/imports/360giving"


async def test_post_a_json_file_answers_the_report(places: None, client: httpx.AsyncClient) -> None:
    response = await client.post(
        URL,
        content=JSON_SAMPLE.read_bytes(),
        headers={"Content-Type": "application/json"},
        params={"source_url": "https://example.org/360G-blagravetrust-2016.json"},
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["grants"] == {"in_file": 68, "created": 68, "updated": 0, "unchanged": 0}
    assert report["organisations"] == {"matched": 0, "created": 63}
    assert report["places"] == {"matched": 27, "by_former_code": 1, "unknown": 1, "without_code": 0}
    assert report["warning_counts"] == SAMPLE_WARNINGS
    assert (report["file"], report["source_url"]) == (
        "360G-blagravetrust-2016.json",
        "https://example.org/360G-blagravetrust-2016.json",
    )
    grant = (await client.get("/v1/grants/360G-blagravetrust-00658000009YZRq")).json()
    assert grant["source_url"] == "https://example.org/360G-blagravetrust-2016.json"


async def finished(client: httpx.AsyncClient, response: httpx.Response) -> dict[str, Any]:
    """The import job a 202 points to, once it has ended (it runs in this process: wait for it)."""
    from uuid import UUID

    from api.services.giving360 import jobs

    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    assert response.headers["location"] == f"/v1/imports/{job_id}"
    await jobs.wait(UUID(job_id), ADMIN)
    followed = await client.get(response.headers["location"])
    assert followed.status_code == 200, followed.text
    job: dict[str, Any] = followed.json()
    return job


@pytest.mark.parametrize(("path", "media_type"), [(CSV_SAMPLE, CSV_MEDIA_TYPE), (XLSX_SAMPLE, XLSX_MEDIA_TYPE)])
async def test_post_a_spreadsheet(places: None, client: httpx.AsyncClient, path: Path, media_type: str) -> None:
    """A spreadsheet is always an import job: 202, then the report on the job."""
    response = await client.post(
        URL,
        content=await asyncio.to_thread(path.read_bytes),
        headers={"Content-Type": media_type},
        params={"dry_run": "true"},
    )
    job = await finished(client, response)
    assert job["state"] == "succeeded", job
    report = job["report"]
    assert (report["dry_run"], report["written"], report["grants"]["created"]) == (True, False, 68)
    assert report["warning_counts"]["duplicate_identifier"] == 1
    assert await counts() == (0, 0, 0)


async def test_post_another_media_type_is_415(client: httpx.AsyncClient) -> None:
    response = await client.post(URL, content=b"hello", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["errors"] == [
        {
            "field": "Content-Type",
            "message": "must be application/json, text/csv, "
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet, not 'text/plain'",
            "location": "header",
        }
    ]


async def test_post_a_file_with_schema_errors_is_422_listing_them(places: None, client: httpx.AsyncClient) -> None:
    data = sample()
    for grant in data["grants"]:
        grant["amountAwarded"] = str(grant["amountAwarded"])
        del grant["currency"]
    response = await client.post(URL, content=json.dumps(data).encode(), headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    problem = response.json()
    assert (
        problem["detail"] == "The file cannot be imported: 136 errors (the first 100 are listed); nothing was written."
    )
    assert len(problem["errors"]) == 100
    assert problem["errors"][0] == {
        "field": "grants[0]",
        "message": "grant 360G-blagravetrust-00658000009YZRq: schema: 'currency' is required.",
        "location": "body",
    }
    assert await counts() == (0, 0, 0)


async def test_post_a_file_too_large_is_413(client: httpx.AsyncClient) -> None:
    response = await client.post(
        URL, content=b" " * (importer.MAX_FILE_BYTES + 1), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["errors"] == [{"field": "body", "message": "larger than 50 MB", "location": "body"}]


async def test_post_a_bad_source_url_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        URL, content=b"{}", headers={"Content-Type": "application/json"}, params={"source_url": "not a url"}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "source_url"


# Keys, ownership and the change feed ------------------------------------------------------------------------


async def test_importing_needs_a_key(places: None, anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.post(URL, content=JSON_SAMPLE.read_bytes(), headers={"Content-Type": "application/json"})
    assert response.status_code == 401


async def test_an_import_appears_in_the_change_feed(places: None, client: httpx.AsyncClient) -> None:
    await client.post(URL, content=JSON_SAMPLE.read_bytes(), headers={"Content-Type": "application/json"})
    feed = (await client.get("/v1/changes", params={"limit": 1000})).json()["items"]
    created = [(c["collection"], c["operation"]) for c in feed if c["collection"] in ("grants", "organisations")]
    assert created.count(("grants", "create")) == 68
    assert created.count(("organisations", "create")) == 63


async def test_a_partner_may_not_update_grants_another_contributed(
    app: Litestar, places: None, client: httpx.AsyncClient
) -> None:
    from api.services.resources import keys
    from tests.conftest import make_client

    await client.post(URL, content=JSON_SAMPLE.read_bytes(), headers={"Content-Type": "application/json"})
    await builders.organisation(client, "IVAR", kind="research_institute")
    _, token = await keys.create_key(organisation="ivar", role="partner")
    changed = sample()
    changed["grants"][0]["title"] = "Renamed by someone else"
    async with make_client(app, token) as ivar:
        response = await ivar.post(URL, json=changed)
    assert response.status_code == 403
    assert (await client.get(f"/v1/grants/{changed['grants'][0]['id']}")).json()["name"] != "Renamed by someone else"


async def test_an_imports_change_entries_hold_each_record_as_the_api_reads_it(
    app: Litestar, places: None, client: httpx.AsyncClient
) -> None:
    """Created records are logged from the rows the import wrote, not read back: each entry must still be
    the whole record as a read shows it, references and places named, money and dates as served."""
    from api.services.records.changes import UNLOGGED
    from api.services.resources import keys
    from tests.conftest import make_client

    await builders.organisation(client, "IVAR", kind="research_institute")
    _, token = await keys.create_key(organisation="ivar", role="partner")
    async with make_client(app, token) as ivar:
        assert (
            await ivar.post(URL, content=JSON_SAMPLE.read_bytes(), headers={"Content-Type": "application/json"})
        ).status_code == 200
    feed = (await client.get("/v1/changes", params={"limit": 1000})).json()["items"]
    logged = [c for c in feed if c["collection"] in ("grants", "organisations") and c["operation"] == "create"]
    assert len(logged) == 1 + 68 + 63  # IVAR, then the file's grants and organisations
    for change in logged:
        record = (await client.get(f"/v1/{change['collection']}/{change['record_id']}")).json()
        assert change["fields"] == {
            name: {"before": None, "after": value}
            for name, value in sorted(record.items())
            if name not in UNLOGGED and value is not None
        }, change["record_slug"]
    assert sum(c["fields"].get("contributed_by", {}).get("after", {}).get("slug") == "ivar" for c in logged) == 68 + 63
    assert any(c["fields"].get("places") for c in logged if c["collection"] == "grants")


async def test_an_import_turns_the_cycle_collector_off_while_it_runs_and_back_on_after(places: None) -> None:
    import gc

    seen_during: list[bool] = []

    def progress(total: int) -> Any:
        seen_during.append(gc.isenabled())
        return lambda: None

    assert gc.isenabled()
    await importer.import_file(
        JSON_SAMPLE.read_bytes(), file_format="json", file_name=JSON_SAMPLE.name, actor=ADMIN, progress=progress
    )
    assert seen_during == [False]
    assert gc.isenabled()
    with pytest.raises(ImportRefused):
        await importer.import_file(b"{}", file_format="json", file_name="empty.json", actor=ADMIN)
    assert gc.isenabled()


async def test_nul_characters_are_removed_from_text_and_said_so(places: None, client: httpx.AsyncClient) -> None:
    """PostgreSQL cannot store NUL; in JSON it can only come as the escape \\u0000."""
    data = one_grant(title="Youth\u0000 work", placenetNote="a\u0000b")
    content = json.dumps(data).encode()
    assert b"\\u0000" in content
    report = await run(content)
    assert report.warning_counts["nul_removed"] == 1
    grant = (await client.get("/v1/grants/360G-blagravetrust-00658000009YZRq")).json()
    assert (grant["name"], grant["extra"]) == ("Youth work", {"placenetNote": "ab"})
    assert "nul_removed" not in (await run(one_grant(title="Youth work again"))).warning_counts
