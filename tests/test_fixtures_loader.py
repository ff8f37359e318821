"""The fixture loader: re-runnable, dry-runnable, all or nothing, and able to read back its own dumps.

Every test loads real or small hand-written fixture files in-process (the session database is already
migrated and open) or through the `placenet` command in a subprocess, and checks what the database and
the API hold afterwards."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.services.platform.errors import ServiceError
from fixtures.loader import FixtureError, dump, load
from models.piccolo_app import APP_CONFIG

ROOT = Path(__file__).resolve().parents[1]
UK = ROOT / "fixtures" / "places" / "uk.json"
COUNCILS = ROOT / "fixtures" / "places" / "councils.json"
NEIGHBOURHOODS = ROOT / "fixtures" / "places" / "neighbourhoods.json"
SEED = ROOT / "fixtures" / "seed" / "place-action-inquiry.yaml"
STANDARD = [UK, COUNCILS, SEED]

# A small hierarchy to have something stored before a failing load.
BASE = {
    "places": [
        {"slug": "united-kingdom", "name": "United Kingdom", "level": "uk", "gss_code": "K02000001"},
        {"slug": "england", "name": "England", "level": "nation", "gss_code": "E92000001", "parent": "K02000001"},
        {
            "slug": "west-midlands",
            "name": "West Midlands",
            "level": "region",
            "gss_code": "E12000005",
            "parent": "E92000001",
        },
    ],
    "organisations": [
        {"slug": "lankelly-chase-foundation", "name": "Lankelly Chase Foundation", "kind": "foundation"},
    ],
}


async def table_counts() -> dict[str, int]:
    """How many rows every table holds."""
    return {table._meta.tablename: await table.count() for table in APP_CONFIG.table_classes}


async def changed_rows() -> dict[str, int]:
    """How many rows of each table have been changed since they were created (version above 1)."""
    counts = {}
    for table in APP_CONFIG.table_classes:
        version = next((c for c in table._meta.columns if c._meta.name == "version"), None)
        if version is not None:
            counts[table._meta.tablename] = await table.count().where(version > 1)
    return counts


def write_fixture(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    return path


def records_in(paths: list[Path]) -> dict[str, int]:
    """How many records each collection has across the files (the YAML seed read as the loader reads it)."""
    import yaml

    counts: dict[str, int] = {}
    for path in paths:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        for name, items in data.items():
            if name != "meta":
                counts[name] = counts.get(name, 0) + len(items)
    return counts


def by_slug(data: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, dict[str, Any]]]:
    """A dump's records keyed by collection and slug, so two dumps compare regardless of record order."""
    return {name: {record["slug"]: record for record in items} for name, items in data.items()}


def subprocess_env() -> dict[str, str]:
    """The test session's environment (so its DATABASE_URL), without anything that fakes a terminal."""
    env = dict(os.environ)
    for name in ("FORCE_TERMINAL", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "FORCE_COLOR"):
        env.pop(name, None)
    assert env["DATABASE_URL"], "conftest sets DATABASE_URL for the session database"
    return env


# Re-running ----------------------------------------------------------------------------------------------


async def test_second_load_of_the_same_files_changes_nothing() -> None:
    first = await load(STANDARD)
    assert first.changes() > 0
    before = await table_counts()

    second = await load(STANDARD)

    expected = records_in(STANDARD)
    assert set(second.counts) == set(expected)
    for name, count in expected.items():
        assert second.counts[name]["created"] == 0, name
        assert second.counts[name]["updated"] == 0, name
        assert second.counts[name]["unchanged"] == count, name
    assert second.changes() == 0
    assert await table_counts() == before
    assert set((await changed_rows()).values()) == {0}, "a second load bumped some record's version"


# Dry runs ------------------------------------------------------------------------------------------------


async def test_dry_run_reports_what_would_be_created_and_writes_nothing() -> None:
    before = await table_counts()

    report = await load(STANDARD, dry_run=True)

    assert report.dry_run
    expected = records_in(STANDARD)
    assert {name: dict(counts) for name, counts in report.counts.items()} == {
        name: {"created": count} for name, count in expected.items()
    }
    assert report.changes() == sum(expected.values())
    assert await table_counts() == before


async def test_dry_run_reports_an_update_without_making_it(tmp_path: Path, client: httpx.AsyncClient) -> None:
    await load([write_fixture(tmp_path / "base.json", BASE)])
    changed = json.loads(json.dumps(BASE))
    changed["organisations"][0]["description"] = "Changed, but only in a dry run."

    report = await load([write_fixture(tmp_path / "changed.json", changed)], dry_run=True)

    assert dict(report.counts["organisations"]) == {"updated": 1}
    assert dict(report.counts["places"]) == {"unchanged": 3}
    assert report.changes() == 1
    stored = (await client.get("/v1/organisations/lankelly-chase-foundation")).json()
    assert stored["description"] is None
    assert stored["version"] == 1


async def test_cli_dry_run_prints_the_changes_and_writes_nothing(tmp_path: Path) -> None:
    await load([write_fixture(tmp_path / "base.json", BASE)])
    before = await table_counts()
    extra = {
        "places": [
            {"slug": "coventry", "name": "Coventry", "level": "local_authority", "gss_code": "E08000026"},
            {"slug": "birmingham", "name": "Birmingham", "level": "local_authority", "gss_code": "E08000025"},
        ]
    }
    for place in extra["places"]:
        place["parent"] = "E12000005"
    path = write_fixture(tmp_path / "extra.json", extra)

    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "api.cli",
        "fixtures",
        "load",
        "--dry-run",
        str(path),
        cwd=ROOT,
        env=subprocess_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await process.communicate()

    assert process.returncode == 0, stderr.decode()
    lines = stdout.decode().splitlines()
    assert "places: 2 created, 0 updated, 0 unchanged" in lines
    assert lines[-1] == "dry run: nothing written; 2 changes"
    assert "writing" not in stderr.decode()
    assert await table_counts() == before


# All or nothing --------------------------------------------------------------------------------------------


def _grant_funder_names_nothing(tmp_path: Path) -> tuple[list[Path], str]:
    path = write_fixture(
        tmp_path / "grants.json",
        {
            "organisations": [
                {"slug": "collaborate", "name": "Collaborate", "kind": "social_enterprise"},
                {"slug": "cles", "name": "Centre for Local Economic Strategies", "kind": "think_tank"},
            ],
            "grants": [
                {"slug": "broken-grant", "name": "Testing", "funder": "nobody-at-all", "recipient": "collaborate"},
                {"slug": "good-grant", "name": "Testing", "funder": "lankelly-chase-foundation", "recipient": "cles"},
            ],
        },
    )
    return [path], f"{path}: grants[0] (broken-grant): funder: there is no organisation 'nobody-at-all'"


def _place_parent_unknown(tmp_path: Path) -> tuple[list[Path], str]:
    path = write_fixture(
        tmp_path / "places.json",
        {
            "places": [
                {"slug": "coventry", "name": "Coventry", "level": "local_authority", "gss_code": "E08000026"},
                {
                    "slug": "nowhere",
                    "name": "Nowhere",
                    "level": "local_authority",
                    "gss_code": "E08999999",
                    "parent": "E12999999",
                },
            ]
        },
    )
    return [path], f"{path}: places[1] (nowhere): parent: there is no place 'E12999999'"


def _member_unknown(tmp_path: Path) -> tuple[list[Path], str]:
    path = write_fixture(
        tmp_path / "groups.json",
        {
            "organisations": [
                {"slug": "acf", "name": "Association of Charitable Foundations", "kind": "funder_network"}
            ],
            "interest-groups": [
                {
                    "slug": "place-group",
                    "name": "Funder interest group on place",
                    "convenor": "acf",
                    "members": [{"organisation": "acf", "role": "convenor"}, {"organisation": "GB-CHC-0000000"}],
                }
            ],
        },
    )
    return [path], f"{path}: interest-groups[0] (place-group): members[1].organisation: there is no organisation"


def _funded_by_unknown(tmp_path: Path) -> tuple[list[Path], str]:
    path = write_fixture(
        tmp_path / "research.json",
        {
            "organisations": [{"slug": "ivar", "name": "IVAR", "kind": "research_institute"}],
            "research": [
                {"slug": "review", "name": "Review", "kind": "literature_review", "partners": ["ivar"]},
                {"slug": "study", "name": "Study", "kind": "study", "funded_by": "no-such-arrangement"},
            ],
        },
    )
    return [path], f"{path}: research[1] (study): funded_by: there is no co-funding arrangement 'no-such-arrangement'"


@pytest.mark.parametrize(
    "broken",
    [_grant_funder_names_nothing, _place_parent_unknown, _member_unknown, _funded_by_unknown],
    ids=["grant-funder", "place-parent", "member-organisation", "research-funded-by"],
)
async def test_a_broken_reference_writes_nothing_and_names_the_record(
    tmp_path: Path, broken: Callable[[Path], tuple[list[Path], str]]
) -> None:
    await load([write_fixture(tmp_path / "base.json", BASE)])
    before = await table_counts()
    paths, expected = broken(tmp_path)

    with pytest.raises(FixtureError) as caught:
        await load(paths)

    assert len(caught.value.problems) == 1, caught.value.problems
    assert caught.value.problems[0].startswith(expected), caught.value.problems
    assert await table_counts() == before


def _valid_organisation(slug: str = "valid-organisation") -> dict[str, Any]:
    return {"slug": slug, "name": "A valid organisation", "kind": "charity"}


def _one_file(tmp_path: Path, data: dict[str, Any], expected: str) -> tuple[list[Path], str]:
    path = write_fixture(tmp_path / "broken.json", data)
    return [path], f"{path}: {expected}"


def _wrong_type(tmp_path: Path) -> tuple[list[Path], str]:
    bad = {"slug": "bad", "name": 42, "kind": "charity"}
    return _one_file(
        tmp_path, {"organisations": [_valid_organisation(), bad]}, "organisations[1] (bad): name: Expected `str`"
    )


def _over_long_name(tmp_path: Path) -> tuple[list[Path], str]:
    bad = {"slug": "bad", "name": "x" * 301, "kind": "charity"}
    return _one_file(
        tmp_path,
        {"organisations": [_valid_organisation(), bad]},
        "organisations[1] (bad): name: Expected `str` of length <= 300",
    )


def _nul_byte(tmp_path: Path) -> tuple[list[Path], str]:
    bad = {"slug": "bad", "name": "Bad", "kind": "charity", "description": "before\x00after"}
    return _one_file(
        tmp_path, {"organisations": [_valid_organisation(), bad]}, "organisations[1] (bad): description: Expected"
    )


def _unknown_collection(tmp_path: Path) -> tuple[list[Path], str]:
    data = {"organisations": [_valid_organisation()], "organisation": [_valid_organisation("other")]}
    return _one_file(tmp_path, data, "organisation: not a collection")


def _missing_slug(tmp_path: Path) -> tuple[list[Path], str]:
    bad = {"name": "No slug", "kind": "charity"}
    return _one_file(tmp_path, {"organisations": [_valid_organisation(), bad]}, "organisations[1]: slug: required")


def _unknown_field(tmp_path: Path) -> tuple[list[Path], str]:
    bad = {"slug": "bad", "name": "Bad", "kind": "charity", "home_plce": "E12000005"}
    return _one_file(tmp_path, {"organisations": [_valid_organisation(), bad]}, "organisations[1] (bad): home_plce: ")


def _unknown_nested_field(tmp_path: Path) -> tuple[list[Path], str]:
    group = {
        "slug": "group",
        "name": "Group",
        "members": [{"organisation": "lankelly-chase-foundation", "rol": "member"}],
    }
    data = {"organisations": [_valid_organisation()], "interest-groups": [group]}
    return _one_file(tmp_path, data, "interest-groups[0] (group): members[0].rol: ")


def _slug_in_two_files(tmp_path: Path) -> tuple[list[Path], str]:
    first = write_fixture(
        tmp_path / "first.json", {"organisations": [_valid_organisation(), _valid_organisation("twin")]}
    )
    second = write_fixture(tmp_path / "second.json", {"organisations": [_valid_organisation("twin")]})
    expected = f"{second}: organisations[0] (twin): slug: 'twin' is also used by {first}: organisations[1] (twin)"
    return [first, second], expected


def _gss_code_in_two_files(tmp_path: Path) -> tuple[list[Path], str]:
    coventry = {"slug": "coventry", "name": "Coventry", "level": "local_authority", "gss_code": "E08000026"}
    other = {"slug": "not-coventry", "name": "Not Coventry", "level": "local_authority", "gss_code": "E08000026"}
    first = write_fixture(tmp_path / "first.json", {"places": [coventry]})
    second = write_fixture(tmp_path / "second.json", {"organisations": [_valid_organisation()], "places": [other]})
    expected = (
        f"{second}: places[0] (not-coventry): gss_code: 'E08000026' is also used by {first}: places[0] (coventry)"
    )
    return [first, second], expected


@pytest.mark.parametrize(
    "broken",
    [
        _wrong_type,
        _over_long_name,
        _nul_byte,
        _unknown_collection,
        _missing_slug,
        _unknown_field,
        _unknown_nested_field,
        _slug_in_two_files,
        _gss_code_in_two_files,
    ],
    ids=[
        "wrong-type",
        "over-long-name",
        "nul-byte",
        "unknown-collection",
        "missing-slug",
        "unknown-field",
        "unknown-nested-field",
        "slug-in-two-files",
        "gss-code-in-two-files",
    ],
)
async def test_a_schema_error_writes_nothing_and_names_the_record(
    tmp_path: Path, broken: Callable[[Path], tuple[list[Path], str]]
) -> None:
    await load([write_fixture(tmp_path / "base.json", BASE)])
    before = await table_counts()
    paths, expected = broken(tmp_path)

    with pytest.raises(FixtureError) as caught:
        await load(paths)

    assert len(caught.value.problems) == 1, caught.value.problems
    assert caught.value.problems[0].startswith(expected), caught.value.problems
    assert await table_counts() == before


def _org_id_of_another_record(tmp_path: Path) -> Path:
    """The slug names one stored organisation and the org-id another: planning passes, and writing the
    update fails on the unique org-id after the new place and organisation are written."""
    clash = {
        "places": [{"slug": "new-place", "name": "New place", "level": "other"}],
        "organisations": [
            {"slug": "brand-new", "name": "Brand new", "kind": "charity"},
            {"slug": "first", "name": "First", "kind": "charity", "org_id": "GB-CHC-1000002"},
        ],
    }
    return write_fixture(tmp_path / "clash.json", clash)


def _parents_in_a_cycle(tmp_path: Path) -> Path:
    """Two places each other's parent: both are in the batch, so planning passes, and writing fails on
    the first of them after the place with no parent is written."""
    cycle = {
        "places": [
            {"slug": "valid-place", "name": "Valid place", "level": "other"},
            {"slug": "a", "name": "A", "level": "other", "gss_code": "E99000001", "parent": "E99000002"},
            {"slug": "b", "name": "B", "level": "other", "gss_code": "E99000002", "parent": "E99000001"},
        ],
    }
    return write_fixture(tmp_path / "cycle.json", cycle)


@pytest.mark.parametrize("broken", [_org_id_of_another_record, _parents_in_a_cycle], ids=["org-id-clash", "cycle"])
async def test_a_problem_found_only_while_writing_rolls_back_the_whole_load(
    tmp_path: Path, broken: Callable[[Path], Path]
) -> None:
    stored = {
        "organisations": [
            {"slug": "first", "name": "First", "kind": "charity", "org_id": "GB-CHC-1000001"},
            {"slug": "second", "name": "Second", "kind": "charity", "org_id": "GB-CHC-1000002"},
        ]
    }
    await load([write_fixture(tmp_path / "stored.json", stored)])
    before = await table_counts()

    # Today these surface as the service's Conflict or Unprocessable rather than a FixtureError naming
    # the record; what is under test is that nothing of the load remains.
    with pytest.raises((FixtureError, ServiceError)):
        await load([broken(tmp_path)])

    assert await table_counts() == before
    assert set((await changed_rows()).values()) == {0}


async def test_a_loader_killed_mid_load_leaves_the_database_as_it_was(tmp_path: Path) -> None:
    await load([UK])
    before = await table_counts()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "api.cli",
        "fixtures",
        "load",
        str(NEIGHBOURHOODS),
        cwd=ROOT,
        env=subprocess_env(),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    seen: list[str] = []
    try:
        # Only a guard against hanging: how long the loader takes is not under test.
        async with asyncio.timeout(120):
            while True:
                line = (await process.stderr.readline()).decode()
                if not line:
                    break
                seen.append(line.rstrip())
                if line.startswith("writing 500/"):
                    break
        assert seen and seen[-1].startswith("writing 500/"), f"the loader never reported writes: {seen}"
        assert process.returncode is None, "the loader finished before it could be killed"
        process.send_signal(signal.SIGKILL)
        await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        with contextlib.suppress(Exception):
            await process.stderr.read()

    assert process.returncode == -signal.SIGKILL
    assert await table_counts() == before

    # The database still answers and takes writes: no lock or half-written transaction is left behind.
    from models.tables import Place

    if Place._meta.db.engine_type == "sqlite":
        assert await Place._meta.db.run_ddl("PRAGMA integrity_check") == [{"integrity_check": "ok"}]
    assert await Place.count().where(Place.level == "neighbourhood") == 0
    first = json.loads(NEIGHBOURHOODS.read_text(encoding="utf-8"))["places"][0]
    report = await load([write_fixture(tmp_path / "one.json", {"places": [first]})])
    assert dict(report.counts["places"]) == {"created": 1}
    assert await Place.count().where(Place.level == "neighbourhood") == 1
    from models.tables import PlaceAncestor

    ancestors = await PlaceAncestor.count().where(PlaceAncestor.place.slug == first["slug"])
    assert ancestors >= 4  # itself, its authority, ..., the UK
    assert await table_counts() == {
        **before,
        "place": before["place"] + 1,
        "change": before["change"] + 1,
        "place_ancestor": before["place_ancestor"] + ancestors,
    }


# Dump and load ----------------------------------------------------------------------------------------------


async def test_loading_a_dump_back_changes_nothing_and_dumps_the_same(tmp_path: Path) -> None:
    await load(STANDARD)
    first = await dump()
    before = await table_counts()
    path = write_fixture(tmp_path / "dump.json", first)

    report = await load([path])

    assert report.changes() == 0, report.lines()
    assert sum(c["unchanged"] for c in report.counts.values()) == sum(len(items) for items in first.values())
    assert await table_counts() == before
    assert await dump() == first


async def test_a_dump_loaded_into_an_empty_database_recreates_it(tmp_path: Path) -> None:
    from tests.builders import empty_all_tables

    await load(STANDARD)
    first = await dump()
    before = await table_counts()
    path = write_fixture(tmp_path / "dump.json", first)
    await empty_all_tables()
    assert set((await table_counts()).values()) == {0}

    report = await load([path])

    assert {name: dict(c) for name, c in report.counts.items()} == {
        name: {"created": len(items)} for name, items in first.items()
    }
    assert await table_counts() == before
    # Record for record the same; the order of sibling places follows their new random ids.
    assert by_slug(await dump()) == by_slug(first)


# Updates -----------------------------------------------------------------------------------------------------


async def test_a_changed_record_is_updated_and_the_rest_left_alone(tmp_path: Path, client: httpx.AsyncClient) -> None:
    await load([UK, COUNCILS])
    councils = json.loads(COUNCILS.read_text(encoding="utf-8"))
    edited = councils["organisations"][3]
    old_name = edited["name"]
    edited["name"] = f"{old_name} (renamed)"
    untouched = councils["organisations"][4]["slug"]

    report = await load([UK, write_fixture(tmp_path / "councils.json", councils)])

    assert dict(report.counts["organisations"]) == {"updated": 1, "unchanged": len(councils["organisations"]) - 1}
    assert dict(report.counts["places"]) == {"unchanged": records_in([UK])["places"]}
    assert report.changes() == 1
    record = (await client.get(f"/v1/organisations/{edited['slug']}")).json()
    assert record["name"] == f"{old_name} (renamed)"
    assert record["version"] == 2
    assert (await client.get(f"/v1/organisations/{edited['org_id']}")).json()["name"] == f"{old_name} (renamed)"
    assert (await client.get(f"/v1/organisations/{untouched}")).json()["version"] == 1
