"""`placenet import 360giving` and `placenet export 360giving`, run as an admin runs them, on a
database of their own (a SQLite file)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from api.services.giving360.convert import Converted
from api.services.giving360.issues import Issues
from api.services.giving360.validate import check_schema

ROOT = Path(__file__).resolve().parents[1]
# `python -m api.cli` runs this checkout's code whatever the environment's `placenet` script points at.
PLACENET = [sys.executable, "-m", "api.cli"]
SAMPLES = ROOT / "tests" / "data" / "360giving"


def placenet(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PLACENET, *args], env=env, capture_output=True, text=True, timeout=300, check=check, cwd=ROOT
    )


def test_import_and_export_from_the_command_line(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/placenet.sqlite3"}
    placenet("migrate", env=env)
    placenet("fixtures", "load", "fixtures/places/uk.json", env=env)

    dry = placenet("import", "360giving", str(SAMPLES / "360G-blagravetrust-2016.original.xlsx"), "--dry-run", env=env)
    assert "grants: 68 in the file: 68 created, 0 updated, 0 unchanged" in dry.stdout
    assert "duplicate_identifier 1" in dry.stdout
    assert "dry run: nothing written" in dry.stdout

    done = placenet("import", "360giving", str(SAMPLES / "360G-blagravetrust-2016.json"), "--json", env=env)
    report = json.loads(done.stdout)
    assert (report["grants"]["created"], report["organisations"]["created"], report["written"]) == (68, 63, True)

    again = placenet("import", "360giving", str(SAMPLES / "360G-blagravetrust-2016.original-grants-sheet.csv"), env=env)
    assert "0 created, 0 updated, 68 unchanged" in again.stdout
    assert "nothing to change" in again.stdout

    broken = tmp_path / "broken.json"
    data = json.loads((SAMPLES / "360G-blagravetrust-2016.json").read_text(encoding="utf-8"))
    data["grants"][0]["amountAwarded"] = "lots"
    broken.write_text(json.dumps(data), encoding="utf-8")
    refused = placenet("import", "360giving", str(broken), env=env, check=False)
    assert refused.returncode != 0
    assert "grants[0].amountAwarded (grant 360G-blagravetrust-00658000009YZRq): schema:" in refused.stderr
    assert "Error: 1 error; nothing was written" in refused.stderr

    wrong = placenet("import", "360giving", str(ROOT / "README.md"), env=env, check=False)
    assert wrong.returncode != 0
    assert "README.md: a 360Giving file ends .json, .csv or .xlsx" in wrong.stderr

    placenet("export", "360giving", "-o", str(tmp_path / "grants.json"), "--place", "E06000038", env=env)
    package = json.loads((tmp_path / "grants.json").read_text(encoding="utf-8"))
    assert len(package["grants"]) == 7
    issues = Issues()
    check_schema(Converted(package, "json"), issues)
    assert issues.errors == []

    placenet("export", "360giving", "-o", str(tmp_path / "grants.csv"), env=env)
    lines = (tmp_path / "grants.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("Identifier,Title,Description,Currency,Amount Applied For,Amount Awarded")
    assert len(lines) == 69

    unknown = placenet("export", "360giving", "--funder", "nobody", env=env, check=False)
    assert unknown.returncode != 0
    assert "Error: The funder filter names no organisation." in unknown.stderr


def test_a_fixtures_dump_says_what_360giving_data_it_leaves_out(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/placenet.sqlite3"}
    placenet("migrate", env=env)
    seed = ("fixtures/places/uk.json", "fixtures/places/councils.json", "fixtures/seed/place-action-inquiry.yaml")
    placenet("fixtures", "load", *seed, env=env)
    assert placenet("fixtures", "dump", "-o", str(tmp_path / "seed.json"), env=env).stderr == ""

    placenet("import", "360giving", str(SAMPLES / "360G-blagravetrust-2016.json"), env=env)
    dumped = placenet("fixtures", "dump", "-o", str(tmp_path / "all.json"), env=env)
    assert dumped.stderr.startswith("68 grants hold 360Giving data a fixture file has no place for")
    assert "`placenet export 360giving` writes it whole" in dumped.stderr


def test_places_rematch_from_the_command_line(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/placenet.sqlite3"}
    placenet("migrate", env=env)
    placenet("fixtures", "load", "fixtures/places/uk.json", env=env)
    placenet("import", "360giving", str(SAMPLES / "360G-blagravetrust-2016.json"), env=env)
    # As grants imported before their matches were kept: rematch records them, and moves none.
    with sqlite3.connect(tmp_path / "placenet.sqlite3") as connection:
        connection.execute('UPDATE "grant" SET matched_locations = NULL')

    dry = placenet("places", "rematch", "--dry-run", env=env)
    assert "grants: 68 from 360Giving imports examined: 68 changed (0 placed differently)" in dry.stdout
    assert "dry run: nothing written" in dry.stdout
    assert "matching 68/68" in dry.stderr

    done = placenet("places", "rematch", env=env)
    assert "68 changed (0 placed differently)" in done.stdout
    assert "recipient address 1" in done.stdout
    assert "writing 68/68" in done.stderr

    again = json.loads(placenet("places", "rematch", "--json", env=env).stdout)
    assert (again["examined"], again["changed"], again["unchanged"], again["written"]) == (68, 0, 68, False)


def test_grants_gone_from_a_newer_file_are_retired_only_with_retire_missing(tmp_path: Path) -> None:
    database = tmp_path / "placenet.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}"}
    placenet("migrate", env=env)
    placenet("import", "360giving", str(SAMPLES / "360G-blagravetrust-2016.json"), env=env)
    newer = tmp_path / "newer.json"
    data = json.loads((SAMPLES / "360G-blagravetrust-2016.json").read_text(encoding="utf-8"))
    data["grants"] = data["grants"][2:]
    newer.write_text(json.dumps(data), encoding="utf-8")

    reported = placenet("import", "360giving", str(newer), env=env)
    assert "missing: 2 grants held from this publisher are not in the file (nothing deleted" in reported.stdout
    retired = placenet("import", "360giving", str(newer), "--retire-missing", env=env)
    assert "missing: 2 grants held from this publisher are not in the file (2 retired)" in retired.stdout
    with sqlite3.connect(database) as db:
        assert db.execute('SELECT count(*) FROM "grant"').fetchone()[0] == 66
        assert db.execute("SELECT count(*) FROM change WHERE operation = 'delete'").fetchone()[0] == 2
