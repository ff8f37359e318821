"""Reading a 360Giving file into a package (`{"grants": [...], ...}`): JSON as it is; CSV and XLSX
through flattentool, the standard's own converter (column titles converted, root list `grants`), with
a map from every JSON path back to the spreadsheet cells it came from, so problems name cells."""

from __future__ import annotations

import codecs
import json
import math
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import msgspec

from api.schemas.common import FieldError
from api.schemas.imports import FileFormat
from api.services.giving360 import limits
from api.services.giving360.cells import restore_all
from api.services.giving360.issues import Issues, UnsupportedFileType, quoted
from api.services.giving360.limits import LIMITS, LimitExceeded, Limits
from api.services.giving360.reference import GRANT_SCHEMA_FILE

JSON_MEDIA_TYPE = "application/json"
CSV_MEDIA_TYPE = "text/csv"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS: dict[str, FileFormat] = {JSON_MEDIA_TYPE: "json", CSV_MEDIA_TYPE: "csv", XLSX_MEDIA_TYPE: "xlsx"}
SUFFIXES: dict[str, FileFormat] = {".json": "json", ".csv": "csv", ".xlsx": "xlsx"}

Path_ = Sequence[str | int]


def format_for_media_type(content_type: str | None) -> FileFormat:
    """The file format a request's Content-Type names, or 415 naming the three it may be."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type in FORMATS:
        return FORMATS[media_type]
    raise UnsupportedFileType(
        f"Send the file as {', '.join(FORMATS)}; '{media_type or 'no Content-Type'}' is not one of them.",
        [_header_error(media_type)],
    )


def format_for_file(path: Path) -> FileFormat:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise UnsupportedFileType(f"{path.name}: a 360Giving file ends .json, .csv or .xlsx")
    return SUFFIXES[suffix]


def _header_error(media_type: str) -> FieldError:
    return FieldError(
        field="Content-Type",
        message=f"must be {', '.join(FORMATS)}, not '{media_type or 'missing'}'",
        location="header",
    )


@dataclass
class Converted:
    """A file read as a 360Giving package, and where each part of it came from."""

    package: Any
    format: FileFormat
    cells: dict[str, list[list[Any]]] = field(default_factory=dict)

    def where(self, path: Path_) -> str:
        """A JSON path as the publisher would find it: `grants[5].amountAwarded` in JSON; in a
        spreadsheet, the sheet, row and column it came from."""
        if self.format == "json":
            return _json_path(path)
        parts = [str(part) for part in path]
        while parts:
            sources = self.cells.get("/".join(parts))
            if sources:
                return _cells(sources)
            parts.pop()
        return _json_path(path)


def _json_path(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(the whole file)"


def _cells(sources: list[list[Any]]) -> str:
    """`grants sheet, row 7, column E (Amount Awarded)`; `rows 19 and 20` when rows were merged."""
    sheet = sources[0][0]
    rows = sorted({source[2] if len(source) == 4 else source[1] for source in sources})
    row_text = f"row {rows[0]}" if len(rows) == 1 else "rows " + ", ".join(map(str, rows[:-1])) + f" and {rows[-1]}"
    first = sources[0]
    if len(first) == 4:
        return f"{sheet} sheet, {row_text}, column {first[1]} ({first[3]})"
    return f"{sheet} sheet, {row_text}"


def read(content: bytes, file_format: FileFormat, issues: Issues, file_limits: Limits = LIMITS) -> Converted | None:
    """The file as a package, or None with the reason in `issues` when it cannot be read at all. A file
    that breaks a limit (limits.py) raises LimitExceeded: a spreadsheet before flattentool expands it,
    JSON as soon as it is parsed. Run it in the sandbox (sandbox.py)."""
    if file_format == "json":
        converted = _read_json(content, issues, file_limits)
        if converted is not None:
            limits.check_json(converted.package, file_limits)
        return converted
    if file_format == "csv":
        limits.check_csv(content.decode("utf-8-sig", errors="replace"), file_limits)
    else:
        limits.check(content, file_format, file_limits)
    converted = _read_spreadsheet(content, file_format, issues)
    if converted is not None:  # the quote our CSV export puts before a formula's first character comes off
        converted.package = restore_all(converted.package)
    return converted


def inspect(content: bytes, file_format: FileFormat, file_limits: Limits = LIMITS) -> int | None:
    """A file checked against the limits, as `read` checks it, and its grants counted (None when it cannot
    be read: reading it says why). Cheap beside reading it: run in the sandbox before an import."""
    if file_format == "json":
        converted = _read_json(content, Issues(), file_limits)
        if converted is None:
            return None
        limits.check_json(converted.package, file_limits)
        grants = converted.package.get("grants") if isinstance(converted.package, dict) else None
        return len(grants) if isinstance(grants, list) else None
    if file_format == "csv":
        return limits.check_csv(content.decode("utf-8-sig", errors="replace"), file_limits)
    return limits.check(content, file_format, file_limits)


def _read_json(content: bytes, issues: Issues, file_limits: Limits = LIMITS) -> Converted | None:
    # msgspec reads a file twice as fast as json; what it will not read goes to json, which says exactly
    # what is wrong, or reads it as it always has (a lone surrogate, a number too big for a float).
    try:
        return Converted(msgspec.json.decode(content.removeprefix(codecs.BOM_UTF8)), "json")
    except (msgspec.DecodeError, ValueError, RecursionError):
        pass
    try:
        package = json.loads(content.decode("utf-8-sig"), parse_constant=_not_json)
    except UnicodeDecodeError:
        issues.error("unreadable", "The file is not UTF-8 text, so it cannot be 360Giving JSON.")
        return None
    except RecursionError:
        depth = file_limits.json_depth
        raise LimitExceeded("json_depth", f"more than {depth}", depth, "the JSON is nested too deeply") from None
    except ValueError as error:
        issues.error("unreadable", f"The file is not valid JSON: {error}.")
        return None
    # What json reads and msgspec would not: refused here, before anything tries to store it.
    problem = _not_storable(package, file_limits.json_depth)
    if problem is not None:
        issues.error("unreadable", problem)
        return None
    return Converted(package, "json")


LONE_SURROGATE = (
    "holds a lone UTF-16 surrogate (an escape such as \\ud800 that is half of a character), "
    "so it is not text that can be imported."
)


def _not_storable(package: Any, most: int) -> str | None:
    """Why a package json read cannot be imported, or None: a string holding a lone UTF-16 surrogate
    (`"\\ud800"`, which no UTF-8 text or database can hold), or a number too large to be finite
    (`1e400`, read as infinity). Walks no deeper than `most` past the top (deeper is json_depth's)."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(package, ())]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            if _has_surrogate(value):
                return f"The file's JSON string at {_json_path(path)} {LONE_SURROGATE}"
        elif isinstance(value, float):
            if not math.isfinite(value):
                return (
                    f"The file's JSON number at {_json_path(path)} is too large to be a number "
                    "(it reads as infinity), so it cannot be imported."
                )
        elif len(path) <= most and isinstance(value, dict):
            for key, item in value.items():
                if _has_surrogate(key):
                    return f"The file's JSON key in {_json_path(path)} {LONE_SURROGATE}"
                stack.append((item, (*path, key)))
        elif len(path) <= most and isinstance(value, list):
            stack.extend((item, (*path, index)) for index, item in enumerate(value))
    return None


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON value")


@cache
def _flattentool_schema() -> Any:
    """The grant schema with its `$ref`s resolved, as flattentool needs to turn titles into paths."""
    import jsonref  # type: ignore[import-untyped]

    return jsonref.replace_refs(json.loads(GRANT_SCHEMA_FILE.read_text(encoding="utf-8")))


def _csv_text(content: bytes, issues: Issues) -> bytes:
    """CSV as UTF-8: Excel's own CSV is often Windows-1252, which is read as such (with a warning)."""
    try:
        return content.decode("utf-8-sig").encode("utf-8")
    except UnicodeDecodeError:
        issues.warn(
            "encoding", "The CSV file is not UTF-8; it was read as Windows-1252. Save it as UTF-8 CSV to be sure."
        )
        return content.decode("cp1252", errors="replace").encode("utf-8")


def _read_spreadsheet(content: bytes, file_format: FileFormat, issues: Issues) -> Converted | None:
    with tempfile.TemporaryDirectory(prefix="placenet-360giving-") as directory:
        folder = Path(directory)
        if file_format == "csv":
            source = folder / "sheets"
            source.mkdir()
            (source / "grants.csv").write_bytes(_csv_text(content, issues))
        else:
            source = folder / "file.xlsx"
            source.write_bytes(content)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                package, cells, skipped = _unflatten(source, file_format)
        except Exception as error:  # flattentool raises many kinds on a file it cannot read
            what = "CSV" if file_format == "csv" else "XLSX spreadsheet"
            issues.error("unreadable", f"The file cannot be read as a {what}: {error or type(error).__name__}.")
            return None
    for sheet in skipped:
        issues.warn(
            "sheet_skipped",
            f"The sheet '{quoted(sheet)}' has no Identifier column, so it holds no grant data; it was not read.",
        )
    for warning in caught:
        issues.warn("conversion", quoted(warning.message, 300))
    return Converted(package, file_format, cells)


def _unflatten(source: Path, file_format: FileFormat) -> tuple[Any, dict[str, list[list[Any]]], list[str]]:
    """flattentool's `unflatten` as 360Giving's own tools call it (titles converted, root list
    `grants`, grants keyed by `id`), with the cell each value came from. One difference: a workbook's
    sheets with no Identifier column (notes, a data dictionary, a Meta sheet) are left out, not read
    as grants; a sheet with nothing in it is left out silently."""
    from flattentool import decimal_datetime_default
    from flattentool.input import FORMATS
    from flattentool.schema import SchemaParser

    sheets = FORMATS[file_format](
        input_name=str(source), root_list_path="grants", root_id="", convert_titles=True, id_name="id"
    )
    parser = SchemaParser(root_schema_dict=_flattentool_schema(), rollup=True, root_id="")
    parser.parse()
    sheets.parser = parser
    sheets.encoding = "utf-8"
    sheets.read_sheets()
    skipped: list[str] = []
    if file_format == "xlsx":
        headings = {
            name: [h for h in sheets.get_sheet_headings(name) if h not in (None, "")] for name in sheets.sub_sheet_names
        }
        data = [name for name, found in headings.items() if _has_identifier(found)]
        if data:
            skipped = [name for name, found in headings.items() if name not in data and found]
            sheets.sub_sheet_names = data
    result, cells, _ = sheets.fancy_unflatten(with_cell_source_map=True, with_heading_source_map=False)
    plain = json.loads(
        json.dumps({"package": {"grants": list(result)}, "cells": cells}, default=decimal_datetime_default)
    )
    return plain["package"], plain["cells"], skipped


def _has_identifier(headings: list[Any]) -> bool:
    return any(isinstance(h, str) and h.strip().lower() in ("identifier", "id") for h in headings)
