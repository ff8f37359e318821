"""Exports safe to open: a grant whose text a spreadsheet would evaluate leaves the CSV export
neutralised (a quote in front, OWASP's advice), amounts stay numbers, and the CSV imported back gives
the original text."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.services.giving360.cells import neutralise, restore
from tests.test_giving360_import import finished, places, run, sample

__all__ = ["places"]  # a fixture, shared with the import tests

ROOT = Path(__file__).resolve().parents[1]
HOSTILE_TITLES = [
    '=HYPERLINK("http://x","y")',
    "+1+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "-2+3",
    "\t=1",
    "\r=1",
    "'=already quoted",  # our own neutralising quote must not be mistaken for this one
]
HARMLESS_TITLES = ["Plain words", " =1 starts with a space", "'a quote before text", "2-3 a range", ""]


@pytest.mark.parametrize("title", HOSTILE_TITLES)
def test_text_a_spreadsheet_would_evaluate_is_neutralised_and_restored(title: str) -> None:
    assert neutralise(title) == "'" + title
    assert restore(neutralise(title)) == title


@pytest.mark.parametrize("title", HARMLESS_TITLES)
def test_other_text_is_left_alone(title: str) -> None:
    assert neutralise(title) == title
    assert restore(title) == title


def hostile_package(titles: list[str] = HOSTILE_TITLES) -> dict[str, Any]:
    """The sample's first grants retitled, the first with a negative amount."""
    grants = sample()["grants"][: len(titles)]
    for grant, title in zip(grants, titles, strict=True):
        grant["title"] = title
    grants[0]["amountAwarded"] = -500
    return {"grants": grants}


def column(text: str, title: str) -> dict[str, str]:
    """The CSV's column of that title, by grant identifier."""
    rows = list(csv.DictReader(io.StringIO(text)))
    return {row["Identifier"]: row[title] for row in rows}


async def test_the_csv_export_neutralises_formulas_and_keeps_amounts_numbers(
    places: None, client: httpx.AsyncClient
) -> None:
    package = hostile_package()
    await run(package)
    response = await client.get("/v1/grants", headers={"Accept": "text/csv"})
    assert response.status_code == 200
    titles = column(response.text, "Title")
    amounts = column(response.text, "Amount Awarded")
    for grant in package["grants"]:
        assert titles[grant["id"]] == "'" + grant["title"]
    first = package["grants"][0]["id"]
    assert amounts[first] == "-500", "a negative amount is a number, not text to neutralise"


async def test_the_csv_export_imported_back_gives_the_original_titles(places: None, client: httpx.AsyncClient) -> None:
    # Not "\r=1": the CSV reader (flattentool) reads a carriage return inside a cell as a line feed,
    # neutralised or not, so that one comes back as "\n=1".
    package = hostile_package([title for title in HOSTILE_TITLES if not title.startswith("\r")])
    await run(package)
    exported = (await client.get("/v1/grants", headers={"Accept": "text/csv"})).content
    sent_titles = column(exported.decode(), "Title")
    assert all(sent_titles[grant["id"]].startswith("'") for grant in package["grants"]), "the file is neutralised"
    await client.delete(f"/v1/grants/{package['grants'][1]['id']}")  # comes back from the file alone
    response = await client.post("/v1/imports/360giving", content=exported, headers={"Content-Type": "text/csv"})
    job = await finished(client, response)  # a spreadsheet is always an import job
    assert job["state"] == "succeeded", job
    for grant in package["grants"]:
        got = await client.get(f"/v1/grants/{grant['id']}")
        assert got.status_code == 200, grant["id"]
        assert got.json()["name"] == grant["title"]
    again = (await client.get("/v1/grants", headers={"Accept": "text/csv"})).text
    assert column(again, "Title") == sent_titles


def test_the_command_line_csv_export_is_neutralised(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/placenet.sqlite3"}
    placenet = [sys.executable, "-m", "api.cli"]

    def run_cli(*args: str) -> str:
        done = subprocess.run([*placenet, *args], env=env, capture_output=True, timeout=300, cwd=ROOT)
        assert done.returncode == 0, done.stderr.decode()
        return done.stdout.decode()  # as bytes: a carriage return in a cell stays one

    package = hostile_package()
    source = tmp_path / "hostile.json"
    source.write_text(json.dumps(package), encoding="utf-8")
    run_cli("migrate")
    run_cli("import", "360giving", str(source))
    titles = column(run_cli("export", "360giving", "--csv"), "Title")
    assert {titles[grant["id"]] for grant in package["grants"]} == {"'" + t for t in HOSTILE_TITLES}
