"""The 360Giving and org-id reference files shipped in `reference/`, read once: the schemas, the
codelists, the spreadsheet column titles and the org-id list prefixes."""

from __future__ import annotations

import csv
import json
from functools import cache
from pathlib import Path
from typing import Any

REFERENCE = Path(__file__).parent / "reference"
GRANT_SCHEMA_FILE = REFERENCE / "360-giving-schema.json"
PACKAGE_SCHEMA_FILE = REFERENCE / "360-giving-package-schema.json"
# The version the package's `version` field names (major.minor) in what Placenet exports.
STANDARD_VERSION = "1.4"


def _rows(name: str) -> list[dict[str, str]]:
    with (REFERENCE / name).open(encoding="utf-8-sig", newline="") as file:
        return list(csv.DictReader(file))


@cache
def grant_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(GRANT_SCHEMA_FILE.read_text(encoding="utf-8"))
    return schema


@cache
def package_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(PACKAGE_SCHEMA_FILE.read_text(encoding="utf-8"))
    return schema


@cache
def grant_fields() -> tuple[str, ...]:
    """The grant's top-level fields, in the schema's order (the order an exported grant follows)."""
    return tuple(grant_schema()["properties"])


@cache
def grant_field_names() -> frozenset[str]:
    """The grant's top-level fields, to look a key up in."""
    return frozenset(grant_fields())


@cache
def codelist(name: str) -> frozenset[str]:
    """The codes of one of the standard's codelists (`regrantType`, `locationScope`, ...)."""
    return frozenset(row["Code"].strip() for row in _rows(f"{name}.csv") if row.get("Code"))


@cache
def geo_code_types() -> dict[str, tuple[str, str]]:
    """GSS entity (the first three characters of a code, `E06`) to its geoCodeType code and title,
    from the codelist's own documentation links (`.../statistical-entity/E06` is `UA`)."""
    types: dict[str, tuple[str, str]] = {}
    for row in _rows("geoCodeType.csv"):
        entity = row.get("Documentation (URL)", "").rstrip("/").rsplit("/", 1)[-1]
        if len(entity) == 3:
            types.setdefault(entity, (row["Code"].strip(), row["Title"].strip()))
    return types


@cache
def main_sheet_columns() -> tuple[tuple[str, str], ...]:
    """The official one-sheet template's columns: (title, JSON path) in the template's order."""
    paths = {row["column_title"]: row["json_path"] for row in _rows("flat-column-titles.csv")}
    with (REFERENCE / "grants-sheet-template.csv").open(encoding="utf-8-sig", newline="") as file:
        titles = next(csv.reader(file))
    return tuple((title, paths[title]) for title in titles if title in paths)


@cache
def column_titles() -> dict[str, str]:
    """JSON path (list indexes as 0, `recipientOrganization/0/id`) to its spreadsheet column title."""
    return {row["json_path"]: row["column_title"] for row in _rows("flat-column-titles.csv")}


@cache
def org_id_prefixes() -> frozenset[str]:
    """Every org-id.guide list code, and `360G` for identifiers a funder makes up itself."""
    return frozenset({row["code"].strip().upper() for row in _rows("org-id-all-prefixes.csv")} | {"360G"})
