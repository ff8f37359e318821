"""360Giving imports a partner can trust: a dry run answers as the real run would, a file's own problems
are reported by name, grants a publisher's newer file leaves out are listed, and exports give back
everything an import kept."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import httpx
from litestar import Litestar

from api.schemas.imports import ImportReport, Issue
from models.tables import Grant
from tests import builders
from tests.test_giving360_export import by_id, comparable, schema_errors
from tests.test_giving360_import import JSON_SAMPLE, one_grant, places, run, sample

URL = "/v1/imports/360giving"

__all__ = ["places"]  # a fixture, shared with the import tests


def counts_of(response: httpx.Response) -> tuple[int, Any]:
    """What a response says happened: its status, and the report's counts (or the problem's detail)."""
    body = response.json()
    if response.status_code != 200:
        return response.status_code, body["detail"]
    return 200, (body["grants"], body["organisations"], body["places"], body["warning_counts"])


async def partner(app: Litestar, client: httpx.AsyncClient, name: str) -> httpx.AsyncClient:
    from api.services.resources import keys
    from tests.conftest import make_client

    organisation = await builders.organisation(client, name, kind="research_institute")
    _, token = await keys.create_key(organisation=organisation["slug"], role="partner")
    return make_client(app, token)


# 1. A dry run predicts the real run ---------------------------------------------------------------------------


async def test_a_dry_run_is_refused_where_the_real_run_is(
    app: Litestar, places: None, client: httpx.AsyncClient
) -> None:
    """The admin's import contributed the grants; a partner's file changing one is refused, dry or not."""
    await client.post(URL, content=JSON_SAMPLE.read_bytes(), headers={"Content-Type": "application/json"})
    changed = sample()
    changed["grants"][0]["title"] = "Renamed by someone else"
    async with await partner(app, client, "IVAR") as ivar:
        dry = await ivar.post(URL, json=changed, params={"dry_run": "true"})
        real = await ivar.post(URL, json=changed)
    assert counts_of(dry) == counts_of(real)
    assert dry.status_code == 403, dry.text
    assert changed["grants"][0]["id"] in dry.json()["detail"]


async def test_a_dry_run_reports_what_the_real_run_does(app: Litestar, places: None, client: httpx.AsyncClient) -> None:
    """A partner's own grants: its newer file's dry run counts what the real run then does."""
    async with await partner(app, client, "IVAR") as ivar:
        first_dry = await ivar.post(
            URL,
            content=JSON_SAMPLE.read_bytes(),
            params={"dry_run": "true"},
            headers={"Content-Type": "application/json"},
        )
        first = await ivar.post(URL, content=JSON_SAMPLE.read_bytes(), headers={"Content-Type": "application/json"})
        assert counts_of(first_dry) == counts_of(first)
        assert first.status_code == 200, first.text
        changed = sample()
        changed["grants"][0]["title"] = "Renamed by its contributor"
        dry = await ivar.post(URL, json=changed, params={"dry_run": "true"})
        real = await ivar.post(URL, json=changed)
    assert counts_of(dry) == counts_of(real)
    assert real.status_code == 200 and real.json()["grants"]["updated"] == 1
    assert (dry.json()["dry_run"], dry.json()["written"], real.json()["written"]) == (True, False, True)


# 2. Source problems are reported ------------------------------------------------------------------------------


def warnings_of(report: ImportReport, kind: str) -> list[Issue]:
    return [issue for issue in report.warnings if issue.kind == kind]


async def test_a_grant_to_its_own_funder_is_a_warning_naming_it(places: None) -> None:
    report = await run(sample())
    [self_grant] = warnings_of(report, "self_grant")
    assert self_grant.grant == "360G-blagravetrust-00658000007A1Om"
    assert "GB-CHC-1164021" in self_grant.message
    assert self_grant.where == "grants[53].recipientOrganization[0].id"
    assert report.written  # reported, not refused


async def test_an_org_id_under_two_names_is_a_warning_saying_which_was_kept(
    places: None, client: httpx.AsyncClient
) -> None:
    data = sample()
    recipients = [g["recipientOrganization"][0] for g in data["grants"] if g.get("recipientOrganization")]
    recipient_id = next(r["id"] for r in recipients if r["id"] != "GB-CHC-1164021" and recipients.count(r) > 1)
    same = [r for r in recipients if r["id"] == recipient_id]
    first_name = same[0]["name"]
    same[-1]["name"] = "Achievement For All Ltd"
    report = await run(data)
    named = {issue.message.split()[2]: issue for issue in warnings_of(report, "org_id_names")}
    assert set(named) == {"GB-CHC-1164021", recipient_id}
    message = named[recipient_id].message
    assert f"'{first_name}'" in message and "'Achievement For All Ltd' (1 grant)" in message
    assert f"'{first_name}' was kept, the first name the file gives it" in message
    assert (await client.get(f"/v1/organisations/{recipient_id}")).json()["name"] == first_name
    trust = named["GB-CHC-1164021"].message
    assert "'The Blagrave Trust'" in trust and "'The Roberts Centre' (1 grant)" in trust

    again = await run(data)  # now held: the stored name is kept, and the warning says so
    message = {i.message.split()[2]: i.message for i in warnings_of(again, "org_id_names")}[recipient_id]
    assert f"Placenet already holds it as '{first_name}', which was kept" in message


# 3. A newer file reports the grants gone from it ---------------------------------------------------------------


async def test_a_newer_file_lists_the_publishers_grants_it_no_longer_has(
    places: None, client: httpx.AsyncClient
) -> None:
    await run(sample())
    newer = sample()
    dropped = sorted(grant["id"] for grant in newer["grants"][:3])
    newer["grants"] = newer["grants"][3:]
    for dry_run in (True, False):
        report = await run(newer, dry_run=dry_run)
        assert (report.missing_grants.count, report.missing_grants.identifiers) == (3, dropped)
        [warning] = warnings_of(report, "grants_missing")
        assert warning.message.startswith("3 grants of GB-CHC-1164021 held from earlier files of this publisher")
        assert all(identifier in warning.message for identifier in dropped)
        assert "Nothing was deleted" in warning.message
    assert await Grant.count() == 68  # reported, never deleted
    assert (await client.get(f"/v1/grants/{dropped[0]}")).status_code == 200


async def last_change(client: httpx.AsyncClient) -> str:
    """The change feed's cursor after its last change."""
    cursor = "0"
    while (page := (await client.get("/v1/changes", params={"after": cursor, "limit": 1000})).json())["items"]:
        cursor = page["next_cursor"]
    return cursor


async def test_missing_grants_are_retired_only_when_asked_through_the_change_feed(
    places: None, client: httpx.AsyncClient
) -> None:
    await run(sample())
    newer = sample()
    dropped = sorted(grant["id"] for grant in newer["grants"][:3])
    newer["grants"] = newer["grants"][3:]
    dry = await run(newer, dry_run=True, retire_missing=True)
    assert (dry.missing_grants.count, dry.missing_grants.retired, dry.written) == (3, 3, False)
    assert await Grant.count() == 68
    cursor = await last_change(client)
    slug = (await client.get(f"/v1/grants/{dropped[0]}")).json()["slug"]
    response = await client.post(URL, json=newer, params={"retire_missing": "true"})
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["missing_grants"] == {"count": 3, "identifiers": dropped, "retired": 3}
    assert report["written"] and report["grants"]["unchanged"] == 65
    [warning] = [w for w in report["warnings"] if w["kind"] == "grants_missing"]
    assert "the import deletes them" in warning["message"]
    assert await Grant.count() == 65
    assert (await client.get(f"/v1/grants/{dropped[0]}")).status_code == 404
    feed = (await client.get("/v1/changes", params={"after": cursor})).json()["items"]
    assert [(c["collection"], c["operation"]) for c in feed] == [("grants", "delete")] * 3
    history = await client.get(f"/v1/grants/{slug}/history")
    assert [c["operation"] for c in history.json()] == ["create", "delete"], history.text
    again = await run(newer, retire_missing=True)  # nothing left to retire
    assert (again.missing_grants.count, again.written) == (0, False)


async def test_a_partner_may_retire_only_its_own_grants(app: Litestar, places: None, client: httpx.AsyncClient) -> None:
    """The admin's import contributed the grants: a partner's newer file may not retire them, dry or not;
    the partner's own grants it may."""
    await client.post(URL, content=JSON_SAMPLE.read_bytes(), headers={"Content-Type": "application/json"})
    newer = sample()
    newer["grants"] = newer["grants"][1:]
    async with await partner(app, client, "IVAR") as ivar:
        dry = await ivar.post(URL, json=newer, params={"dry_run": "true", "retire_missing": "true"})
        real = await ivar.post(URL, json=newer, params={"retire_missing": "true"})
        assert counts_of(dry) == counts_of(real)
        assert real.status_code == 403, real.text
        assert sample()["grants"][0]["id"] in real.json()["detail"]
        assert await Grant.count() == 68
        reported = await ivar.post(URL, json=newer)  # only reported: the same file is taken
        assert reported.status_code == 200 and reported.json()["missing_grants"]["retired"] == 0
    assert await Grant.count() == 68


async def test_grants_from_elsewhere_are_not_missing_from_a_publishers_file(
    places: None, client: httpx.AsyncClient
) -> None:
    """The same funder's grants typed in through the API, or published by someone else under their own
    prefix, are not the publisher's: a file without them reports nothing missing."""
    await run(sample())
    recipient = await builders.organisation(client, "Somewhere Else", kind="charity")
    await builders.grant(client, "GB-CHC-1164021", recipient["slug"], identifier="360G-blagravetrust-typed-in")
    await builders.grant(client, "GB-CHC-1164021", recipient["slug"], name="No identifier")
    other = one_grant(id="360G-otherpublisher-1")
    await run(other)
    report = await run(sample())
    assert report.missing_grants.count == 0 and not warnings_of(report, "grants_missing")
    # The other publisher's file, sent again, misses none of Blagrave's.
    assert (await run(other)).missing_grants.count == 0


# 4. Exports keep what was imported ---------------------------------------------------------------------------

# What a write stamps rather than the data: compared only where nothing should have been written at all.
STAMPS = ("created_at", "updated_at", "imported_at", "version", "source", "source_url", "contributed_by")


async def stored_grants(*, without: tuple[str, ...] = (), published_types: bool = True) -> dict[str, Any]:
    """Every stored grant by identifier, its JSON columns read, leaving out the columns named. Without
    `published_types`, the geoCodeTypes a file published are left out: an export gives the type its code
    has (the one thing it deliberately normalises), so the first re-import corrects them."""
    grants: dict[str, Any] = {}
    for row in await Grant.select():
        for name in ("standard", "extra", "unmatched_locations", "matched_locations"):
            if isinstance(row[name], str):
                row[name] = json.loads(row[name])
        if not published_types:
            for location in (row["standard"] or {}).get("beneficiaryLocation", []):
                location.pop("geoCodeType", None)
            for unmatched in row["unmatched_locations"] or []:
                unmatched.pop("geo_code_type", None)
        grants[row["identifier"]] = {k: v for k, v in row.items() if k not in without}
    return grants


async def csv_export(client: httpx.AsyncClient, **params: Any) -> bytes:
    response = await client.get("/v1/grants", params=params, headers={"Accept": "text/csv"})
    assert response.status_code == 200, response.text
    return response.content


async def assert_round_trip(client: httpx.AsyncClient, data: dict[str, Any]) -> list[str]:
    """Import `data`, export CSV, import that: the stored grants are as they were (but for the
    geoCodeTypes the export derives from the codes); then CSV -> import -> CSV changes nothing at all.
    Gives the first CSV's header row."""
    await run(data)
    imported = await stored_grants(without=STAMPS, published_types=False)
    first = await csv_export(client)
    report = await run(first, "csv")
    assert report.grants.created == 0
    assert await stored_grants(without=STAMPS, published_types=False) == imported
    settled = await stored_grants()
    second = await csv_export(client)
    assert second == first
    again = await run(second, "csv")
    assert (again.grants.created, again.grants.updated, again.grants.unchanged) == (0, 0, len(data["grants"]))
    assert await stored_grants() == settled
    header: list[str] = next(csv.reader(io.StringIO(first.decode())))
    return header


async def test_the_sample_comes_back_from_its_csv_unchanged(places: None, client: httpx.AsyncClient) -> None:
    await assert_round_trip(client, sample())


async def test_organisation_types_standard_fields_and_extra_columns_survive_csv(
    places: None, client: httpx.AsyncClient
) -> None:
    """A file of our own with what the sample lacks: organisation types, the standard's fields off the
    one-sheet template, a second funder, and a publisher's own columns, top-level and within a recipient."""
    data = sample()
    for index, grant in enumerate(data["grants"]):
        grant["recipientOrganization"][0]["organisationType"] = "Registered Charity"
        grant["recipientOrganization"][0]["Trading Name"] = f"Trading {index}"
        grant["fundingOrganization"][0]["organisationType"] = "Grantmaking Foundation"
        grant["Internal Reference"] = f"BT-{index:03}"
        grant["Assessor"] = {"Name": "A. Person", "Team": "Grants"}
    data["grants"][0]["classifications"] = [
        {"vocabulary": "Blagrave themes", "code": "YP", "title": "Young people"},
        {"vocabulary": "Blagrave themes", "code": "ED", "title": "Education"},
    ]
    data["grants"][0]["fundingOrganization"].append({"id": "GB-CHC-1107583", "name": "Lankelly Chase Foundation"})
    data["grants"][1]["actualDates"] = [{"startDate": "2014-09-01", "endDate": "2017-08-31", "duration": 36}]
    data["grants"][1]["relatedActivity"] = ["360G-blagravetrust-00658000009YZRq", "360G-blagravetrust-earlier"]
    header = await assert_round_trip(client, data)
    for title in (
        "Recipient Org:Organisation Type",
        "Funding Org:Organisation Type",
        "Classifications:Code",
        "Classifications:1:Title",
        "Funding Org:1:Identifier",
        "Actual Dates:Duration (months)",
        "Recipient Org:Trading Name",
        "Internal Reference",
        "Assessor:Name",
    ):
        assert title in header, title
    held = (await stored_grants())[data["grants"][0]["id"]]
    assert held["extra"] == {"Internal Reference": "BT-000", "Assessor": {"Name": "A. Person", "Team": "Grants"}}
    assert held["standard"]["recipientOrganization"][0]["organisationType"] == "Registered Charity"


async def test_an_export_with_nothing_to_export_is_a_problem_not_an_invalid_package(
    places: None, client: httpx.AsyncClient
) -> None:
    for accept in ("application/vnd.360giving+json", "text/csv"):
        response = await client.get("/v1/grants", headers={"Accept": accept})
        assert response.status_code == 404, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert "at least one grant" in response.json()["detail"]
    assert (await client.get("/v1/grants")).json()["items"] == []  # the JSON form is an empty page
    funder = await builders.organisation(client, "Lankelly Chase Foundation")
    recipient = await builders.organisation(client, "Collaborate", kind="consultancy")
    made = await builders.grant(client, funder["slug"], recipient["slug"], "No amount yet")
    response = await client.get("/v1/grants", headers={"Accept": "application/vnd.360giving+json"})
    assert response.status_code == 404
    assert made["slug"] in response.json()["detail"] and "amount awarded" in response.json()["detail"]


PUBLISHER = {"identifier": "GB-CHC-1164021", "name": "The Blagrave Trust", "website": "https://www.blagravetrust.org"}
CC_BY = "https://creativecommons.org/licenses/by/4.0/"


async def test_a_files_publisher_and_licence_are_kept_and_exported(places: None, client: httpx.AsyncClient) -> None:
    data = {"publisher": PUBLISHER, "license": CC_BY, **sample()}
    header = await assert_round_trip(client, data)  # kept through our own CSV too
    assert {"dataset:publisher:name", "dataset:license"} <= set(header)
    identifier = data["grants"][0]["id"]
    grant = (await client.get(f"/v1/grants/{identifier}")).json()
    assert grant["extra"] == {"dataset": {"publisher": PUBLISHER, "license": CC_BY}}

    package = (await client.get("/v1/grants", headers={"Accept": "application/vnd.360giving+json"})).json()
    assert schema_errors(package) == []
    assert package["license"] == CC_BY  # every grant shares it
    assert package["publisher"] == {"name": "Placenet"}  # who publishes this package; each grant says whose it was
    assert all(g["dataset"] == {"publisher": PUBLISHER, "license": CC_BY} for g in package["grants"])
    settled = await stored_grants()
    again = await run(package)  # our own package names Placenet as its publisher: a copy, not a new source
    assert (again.grants.updated, again.grants.unchanged) == (0, 68)
    assert await stored_grants() == settled

    other = one_grant(id="360G-otherpublisher-1")
    await run(
        {"publisher": {"name": "Another Funder"}, "license": "https://opendatacommons.org/licenses/pddl/", **other}
    )
    package = (await client.get("/v1/grants", headers={"Accept": "application/vnd.360giving+json"})).json()
    assert "license" not in package  # two licences: each grant carries its own
    assert by_id(package)["360G-otherpublisher-1"]["dataset"]["publisher"] == {"name": "Another Funder"}


async def json_export(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/v1/grants", headers={"Accept": "application/vnd.360giving+json"})
    assert response.status_code == 200, response.text
    package: dict[str, Any] = response.json()
    return package


async def assert_json_round_trip(client: httpx.AsyncClient, data: dict[str, Any]) -> dict[str, Any]:
    """Import `data`, export the 360Giving package, import that: nothing changes (but for the geoCodeTypes
    the export derives from the codes), and the package exported again is the same, valid package."""
    await run(data)
    imported = await stored_grants(without=STAMPS, published_types=False)
    first = await json_export(client)
    assert schema_errors(first) == []
    report = await run(first)
    assert report.grants.created == 0
    assert await stored_grants(without=STAMPS, published_types=False) == imported
    settled = await stored_grants()
    second = await json_export(client)
    assert second == first
    again = await run(second)
    assert (again.grants.created, again.grants.updated, again.grants.unchanged) == (0, 0, len(data["grants"]))
    assert await stored_grants() == settled
    return first


async def test_the_sample_comes_back_from_its_json_unchanged(places: None, client: httpx.AsyncClient) -> None:
    package = await assert_json_round_trip(client, sample())
    published = by_id(sample())
    assert {i: comparable(g) for i, g in by_id(package).items()} == {i: comparable(g) for i, g in published.items()}


async def test_organisation_types_and_extra_fields_survive_json(places: None, client: httpx.AsyncClient) -> None:
    data = sample()
    for index, grant in enumerate(data["grants"]):
        grant["recipientOrganization"][0]["organisationType"] = "Registered Charity"
        grant["fundingOrganization"][0]["organisationType"] = "Grantmaking Foundation"
        grant["Internal Reference"] = f"BT-{index:03}"
        grant["amountAwarded"] = float(grant["amountAwarded"]) + 0.5  # pence, as a JSON number
    package = await assert_json_round_trip(client, data)
    first = by_id(package)[data["grants"][0]["id"]]
    assert first["recipientOrganization"][0]["organisationType"] == "Registered Charity"
    assert first["Internal Reference"] == "BT-000"
    assert first["amountAwarded"] == data["grants"][0]["amountAwarded"]


async def test_an_edited_grants_date_modified_moves(places: None, client: httpx.AsyncClient) -> None:
    data = sample()
    identifier = data["grants"][0]["id"]
    published = data["grants"][0].get("dateModified")
    await run(data)
    await run(await json_export(client))  # the geoCodeTypes settled, as an export gives them
    assert by_id(await json_export(client))[identifier].get("dateModified") == published  # as its file says
    edited = await client.patch(f"/v1/grants/{identifier}", json={"description": "Corrected through the API"})
    assert edited.status_code == 200, edited.text
    exported = by_id(await json_export(client))
    moved = exported[identifier]["dateModified"]
    assert moved != published and moved[:19] >= edited.json()["updated_at"][:19]
    assert schema_errors({"grants": [exported[identifier]]}) == []
    untouched = data["grants"][1]
    assert exported[untouched["id"]].get("dateModified") == untouched.get("dateModified")
    # Our own export sent back: the edited grant takes the moved date as published, once; then nothing moves.
    again = await run(await json_export(client))
    assert (again.grants.updated, again.grants.unchanged) == (1, len(data["grants"]) - 1)
    assert by_id(await json_export(client))[identifier]["dateModified"] == moved
    assert (await run(await json_export(client))).grants.updated == 0


async def test_a_warning_quotes_no_more_of_the_file_than_an_identifier(places: None) -> None:
    """Long published values (a location's name, a field's name, a code, a charity number) are quoted by
    their first characters, never whole."""
    long_text = "Long" * 2500
    data = one_grant()
    grant = data["grants"][0]
    grant["beneficiaryLocation"] = [{"name": long_text}, {"geoCode": long_text}]
    grant[long_text[:3000]] = "an extra column with a very long title"
    grant["recipientOrganization"][0]["charityNumber"] = long_text[:1000]
    report = await run(data)
    assert {"location_without_code", "geo_code_not_gss", "additional_field", "charity_number"} <= set(
        report.warning_counts
    )
    for warning in report.warnings:
        assert long_text[:300] not in warning.message, warning.kind
        assert len(warning.message) < 700, warning.kind
