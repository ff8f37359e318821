"""What an uploaded 360Giving file may hold, checked cheaply before anything expands it.

A spreadsheet is a zip of XML: 1.7 KB can declare a sheet of 17 billion cells, and openpyxl pads every
row out to the declared width, so a worker grew past 12 GB on one (issue 16). The checks here read only
the zip's directory and stream the sheets' XML once, row by row, counting; they run in the sandbox
(sandbox.py) like the parse itself, so even they cannot take the server's memory. Every limit has a name
the refusal repeats, with the value found.

The limits, and why each is where it is:

| name | limit | why |
| --- | --- | --- |
| `file_bytes` | 50 MB | the upload; a year of the largest funder's grants is a few MB |
| `grants` | 100,000 rows holding cells, or grants | the largest publishers' yearly files hold tens of thousands |
| `columns` | 1,000 | the standard's widest sheet (every field, several locations) is about 200 |
| `cells` | 5,000,000 | `grants` times a generous 50 filled columns |
| `cell_chars` | 32,767 | Excel's own most for a cell's text |
| `zip_members` | 1,000 | a workbook is a dozen parts, plus one or two per sheet |
| `uncompressed_bytes` | 500 MB | the zip's members, summed as its directory declares them |
| `compression_ratio` | 200 | a sheet's XML compresses 5-20 times; a zip bomb thousands |
| `xml_doctype` | none allowed | no spreadsheet part has a DOCTYPE; entities are how a billion laughs expands |
| `json_depth` | 32 | 360Giving grants nest 4 deep; a `[[[[...` bomb thousands |
| `memory_bytes` | 4 GiB | the sandbox's address space, a 100,000-grant file with room to spare |
| `cpu_seconds` | 300 | the sandbox's CPU time: such a file reads in well under a minute |
| `wall_seconds` | 600 | the sandbox's time on the clock, waiting included |
"""

from __future__ import annotations

import csv
import io
import posixpath
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from typing import Any

from api.schemas.common import FieldError
from api.schemas.imports import Issue
from api.services.giving360.issues import ImportRefused
from api.services.platform.errors import ServiceError


@dataclass(frozen=True)
class Limits:
    file_bytes: int = 50 * 1024 * 1024
    grants: int = 100_000
    columns: int = 1_000
    cells: int = 5_000_000
    cell_chars: int = 32_767
    zip_members: int = 1_000
    uncompressed_bytes: int = 500 * 1024 * 1024
    compression_ratio: int = 200
    json_depth: int = 32
    memory_bytes: int = 4 * 1024**3
    cpu_seconds: int = 300
    wall_seconds: int = 600


LIMITS = Limits()
# What a limit is about: the size ones are 413 (send less), the shape ones 422 (send something else).
SIZE_LIMITS = frozenset({"file_bytes", "uncompressed_bytes", "memory_bytes"})


class LimitExceeded(ServiceError):
    """A file breaks one of the limits: nothing was read further and nothing was written."""

    status = 422
    title = "Unprocessable content"
    slug = "unprocessable-content"

    def __init__(self, limit: str, found: int | str, allowed: int | str, what: str) -> None:
        super().__init__(
            f"The file breaks the limit {limit}: {what} ({found}; at most {allowed}). Nothing was written.",
            [FieldError(field="body", message=f"{limit}: found {found}, limit {allowed}", location="body")],
        )
        self.limit, self.found, self.allowed, self.what = limit, found, allowed, what
        if limit in SIZE_LIMITS:
            self.status, self.title, self.slug = 413, "Content too large", "content-too-large"

    def __reduce__(self) -> tuple[Any, ...]:
        # Raised in the sandbox and sent back to the server by pickle, which calls the class with `args`.
        return (LimitExceeded, (self.limit, self.found, self.allowed, self.what))


def check(content: bytes, file_format: str, limits: Limits = LIMITS) -> int | None:
    """Refuse a file that breaks a limit, before anything parses it: its size, and what a spreadsheet's
    zip directory and XML declare and hold. CSV and JSON are checked as they are read (convert.py).
    Returns a spreadsheet's rows of grants, as far as counting tells (the largest sheet's rows of cells
    below its titles)."""
    if len(content) > limits.file_bytes:
        raise LimitExceeded("file_bytes", len(content), limits.file_bytes, "the file is too large")
    if file_format != "xlsx":
        return None
    if not zipfile.is_zipfile(io.BytesIO(content)):
        raise unreadable("it is not a zip archive, as every .xlsx file is", as_what=" as a XLSX spreadsheet")
    try:
        return check_xlsx(content, limits)
    except ZIP_ERRORS as error:
        # A damaged, encrypted or oddly compressed zip (or one whose directory points nowhere): what openpyxl
        # would stumble on, refused here.
        raise unreadable(f"its zip archive cannot be read ({error})", as_what=" as a XLSX spreadsheet") from None


# What reading a damaged zip or its XML may raise: the file is unreadable, never a server error.
ZIP_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    NotImplementedError,
    RuntimeError,
    ValueError,
    OverflowError,
    struct.error,
    OSError,
    KeyError,
    IndexError,
)


# XLSX -------------------------------------------------------------------------------------------------------

SHEET = re.compile(r"^xl/worksheets/[^/]+\.xml$")
# As openpyxl reads a cell's reference: either case, `$` allowed.
CELL_REF = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d+)$")
# A range as openpyxl reads a merged cell's or a hyperlink's `ref`: `A3:J9`, `A:A` (whole columns), `3:9`.
RANGE_END = re.compile(r"^\$?([A-Za-z]{1,3})?\$?(\d+)?$")
EXCEL_ROWS, EXCEL_COLUMNS = 1_048_576, 16_384
XML_PARTS = (".xml", ".rels", ".vml")
# What a sheet's rows hold: the most of what streams past, passed over quickly.
IN_A_ROW = frozenset({"c", "v", "is", "t", "f", "r", "rPr", "rPh"})
READ = 1 << 16


def check_xlsx(content: bytes, limits: Limits = LIMITS) -> int:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        members = archive.infolist()
        if len(members) > limits.zip_members:
            raise LimitExceeded("zip_members", len(members), limits.zip_members, "the workbook has too many parts")
        declared = sum(m.file_size for m in members)
        if declared > limits.uncompressed_bytes:
            raise LimitExceeded(
                "uncompressed_bytes", declared, limits.uncompressed_bytes, "the workbook unzips to too much"
            )
        for member in members:
            ratio = member.file_size // max(member.compress_size, 1)
            if member.file_size > 1 << 20 and ratio > limits.compression_ratio:
                raise LimitExceeded(
                    "compression_ratio",
                    ratio,
                    limits.compression_ratio,
                    f"{member.filename} is compressed suspiciously well",
                )
        # Every XML part is counted as a sheet would be, wherever it is stored: openpyxl reads as a sheet
        # whatever the workbook's relationships point to (`xl/data/sheet1.xml` as well as `xl/worksheets/`).
        # A part named otherwise that the workbook points to is checked too.
        rows = 0
        for member in members:
            if member.filename.endswith(XML_PARTS):
                rows = max(rows, _check_xml(archive, member, limits))
        for name in _workbook_targets(archive) - {m.filename for m in members if m.filename.endswith(XML_PARTS)}:
            rows = max(rows, _check_xml(archive, archive.getinfo(name), limits))
        return rows


def _workbook_targets(archive: zipfile.ZipFile) -> set[str]:
    """The parts the workbook's relationships point to (its sheets among them), as openpyxl resolves
    them: relative to the workbook's folder, or from the top when they start with `/`."""
    names = set(archive.namelist())
    workbook = "xl/workbook.xml"
    for relationship in _relationships(archive, "_rels/.rels", names):
        if relationship[0].endswith("/officeDocument"):
            workbook = _resolve("", relationship[1])
    folder, base = posixpath.split(workbook)
    rels = posixpath.join(folder, "_rels", base + ".rels")
    targets = {_resolve(folder, target) for _, target in _relationships(archive, rels, names)}
    return targets & names


def _relationships(archive: zipfile.ZipFile, name: str, names: set[str]) -> list[tuple[str, str]]:
    from lxml import etree  # type: ignore[import-untyped]

    if name not in names:
        return []
    info = archive.getinfo(name)
    if info.file_size > 1 << 24:
        raise unreadable(f"its part {name} is too large to be a list of relationships")
    text = archive.read(info)
    if b"<!DOCTYPE" in text or b"<!ENTITY" in text:
        raise LimitExceeded("xml_doctype", "a DOCTYPE", "none", f"{name} declares XML entities")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(text, parser)
    except etree.XMLSyntaxError as error:
        raise unreadable(f"its part {name} is not well-formed XML ({error})") from None
    return [
        (element.get("Type") or "", element.get("Target") or "")
        for element in root.iter()
        if _local(element.tag) == "Relationship" and element.get("TargetMode") != "External"
    ]


def _resolve(folder: str, target: str) -> str:
    if target.startswith("/"):
        return target[1:]
    return posixpath.normpath(posixpath.join(folder, target))


def _check_xml(archive: zipfile.ZipFile, member: zipfile.ZipInfo, limits: Limits) -> int:
    """One part of the workbook read once, a block at a time, never more than its declared size (a zip
    may lie about it): no DOCTYPE anywhere; its rows and cells counted, as if it were a sheet."""
    sheet = _SheetCount(member.filename, limits)
    read = 0
    tail = b""
    with archive.open(member) as stream:
        while block := stream.read(READ):
            read += len(block)
            if read > member.file_size:
                raise LimitExceeded(
                    "uncompressed_bytes", read, member.file_size, f"{member.filename} unzips to more than it declares"
                )
            window = tail + block
            if b"<!DOCTYPE" in window or b"<!ENTITY" in window:
                raise LimitExceeded("xml_doctype", "a DOCTYPE", "none", f"{member.filename} declares XML entities")
            sheet.feed(block)
            tail = block[-16:]
    sheet.close()
    return max(sheet.rows - 1, 0)


class _SheetCount:
    """A sheet's cells, its furthest row and column, counted from its XML as it streams past: by lxml's
    pull parser, row by row (a row's cells are looked at, then dropped), with entities never resolved.

    flattentool loads a workbook whole (openpyxl, not read-only) and walks every sheet as the rectangle
    from A1 to its furthest cell, making each cell it passes: one cell at XFD1048576 is 17 billion. What
    counts is therefore the cells the XML holds, not the `<dimension>` a sheet declares, which openpyxl
    ignores when it loads whole: the real Blagrave Trust file declares A1:AL65536, holds 69 rows of
    cells, and has empty formatted rows down to 1,048,576, which openpyxl makes nothing of."""

    def __init__(self, name: str, limits: Limits) -> None:
        from lxml import etree

        self.name, self.limits = name.rsplit("/", 1)[-1].removesuffix(".xml"), limits
        self.what = f"sheet {self.name}" if SHEET.match(name) else f"part {name}"
        self.parser = etree.XMLPullParser(
            events=("end",), resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
        )
        self.cells = self.last_row = self.rows = 0

    def feed(self, block: bytes) -> None:
        self._parse(self.parser.feed, block)

    def close(self) -> None:
        self._parse(self.parser.close)

    def _parse(self, step: Any, *block: bytes) -> None:
        from lxml import etree

        try:
            step(*block)
        except etree.XMLSyntaxError as error:  # a NUL byte, a cut-off part: not a spreadsheet openpyxl reads
            raise unreadable(f"the {self.what} is not well-formed XML ({error})") from None
        self._drain()

    def _drain(self) -> None:
        for _, element in self.parser.read_events():
            tag = _local(element.tag)
            if tag in IN_A_ROW:
                continue  # a cell or its value: held until its row is done with
            if tag == "row":
                self._sheet_row(element)
            elif tag in ("mergeCell", "hyperlink"):
                # openpyxl makes every cell of a merged range, and of a hyperlink's range.
                self._range(element.get("ref") or "", tag)
            else:
                parent = element.getparent()
                if parent is None or parent.getparent() is not None:
                    continue  # held until its part of the tree is done with (a row's cells, until the row is)
            # Done with: drop it and what came before it, so memory holds one row (or one entry of a list).
            element.clear()
            parent = element.getparent()
            while parent is not None and element.getprevious() is not None:
                del parent[0]

    def _sheet_row(self, element: Any) -> None:
        number = self._row_number(element.get("r"))
        self.last_row = number
        # A row of no cells is formatting only (LibreOffice writes them down to row 1,048,576): openpyxl
        # makes nothing of it. A cell, even an empty styled one, extends the sheet openpyxl walks.
        if len(element):
            self.rows += 1
            self._row(number, f"the sheet {self.name} has a cell in row {number}")
        column = 0
        for cell in element:
            # As openpyxl places a cell: where its own reference says, whatever its row's number.
            ref = cell.get("r")
            if ref:
                reference = CELL_REF.match(ref)
                if reference is None:
                    raise unreadable(f"the sheet {self.name} has a cell whose reference is {ref[:40]!r}")
                column = _column_number(reference.group(1))
                cell_row = int(reference.group(2))
                if cell_row != number:
                    self._row(cell_row, f"the sheet {self.name} has a cell in row {cell_row}")
            else:
                column += 1
            self._column(column, f"the sheet {self.name} has a cell in column {column}")
            for text in cell.itertext():
                if len(text) > self.limits.cell_chars:
                    raise LimitExceeded(
                        "cell_chars",
                        len(text),
                        self.limits.cell_chars,
                        f"a cell of the sheet {self.name} is too long",
                    )
        self._cells(len(element))

    def _row_number(self, value: str | None) -> int:
        """A row's `r` as openpyxl reads it (a whole number, perhaps written `5.0`), or the next row."""
        if value is None:
            return self.last_row + 1
        try:
            return int(value)
        except ValueError:
            pass
        try:
            number = float(value)
        except ValueError:
            number = float("nan")
        if not number.is_integer():
            raise unreadable(f"the sheet {self.name} has a row numbered {value[:40]!r}")
        return int(number)

    def _range(self, ref: str, tag: str) -> None:
        for part in ref.split():
            first, _, last = part.partition(":")
            low, high = _range_end(first, part), _range_end(last or first, part)
            if low is None or high is None:
                raise unreadable(f"the sheet {self.name} has a {tag} whose range is {part[:40]!r}")
            min_column = min(low[0] or 1, high[0] or 1)
            max_column = max(low[0] or EXCEL_COLUMNS, high[0] or EXCEL_COLUMNS)
            min_row = min(low[1] or 1, high[1] or 1)
            max_row = max(low[1] or EXCEL_ROWS, high[1] or EXCEL_ROWS)
            what = f"the sheet {self.name} has a {tag} over {part[:40]}"
            self._row(max_row, what)
            self._column(max_column, what)
            self._cells((max_row - min_row + 1) * (max_column - min_column + 1), what)

    def _cells(self, count: int, what: str = "") -> None:
        self.cells += count
        if self.cells > self.limits.cells:
            raise LimitExceeded(
                "cells", self.cells, self.limits.cells, what or f"the sheet {self.name} has too many cells"
            )

    def _row(self, number: int, what: str) -> None:
        # The first row is the column titles: `grants` counts the rows below it.
        if number - 1 > self.limits.grants:
            raise LimitExceeded("grants", number - 1, self.limits.grants, what)

    def _column(self, number: int, what: str) -> None:
        if number > self.limits.columns:
            raise LimitExceeded("columns", number, self.limits.columns, what)


def unreadable(why: str, as_what: str = "") -> ImportRefused:
    return ImportRefused([Issue(kind="unreadable", message=f"The file cannot be read{as_what}: {why}.")])


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _range_end(end: str, part: str) -> tuple[int | None, int | None] | None:
    """One end of a range, `A3`, `A` or `3`, as (column, row), None for the part not given; None if neither."""
    match = RANGE_END.match(end)
    if match is None or not (match.group(1) or match.group(2)):
        return None
    return (_column_number(match.group(1)) if match.group(1) else None, int(match.group(2)) if match.group(2) else None)


def _column_number(letters: str | bytes) -> int:
    text = (letters.decode() if isinstance(letters, bytes) else letters).upper()
    number = 0
    for letter in text:
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


# CSV and JSON, as they are read ------------------------------------------------------------------------------


def check_csv(text: str, limits: Limits = LIMITS) -> int:
    """A CSV sheet's rows, streamed through the csv module (which expands nothing) and counted before
    flattentool reads them; the count stops at the first limit broken."""
    reader = csv.reader(io.StringIO(text, newline=""))
    cells = 0
    number = 0
    try:
        for number, row in enumerate(reader, start=1):
            if number - 1 > limits.grants:
                raise LimitExceeded(
                    "grants", f"more than {limits.grants}", limits.grants, "the CSV file has too many rows"
                )
            if len(row) > limits.columns:
                raise LimitExceeded("columns", len(row), limits.columns, f"row {number} of the CSV file is too wide")
            cells += len(row)
            if cells > limits.cells:
                raise LimitExceeded(
                    "cells", f"more than {limits.cells}", limits.cells, "the CSV file has too many cells"
                )
            longest = max(map(len, row), default=0)
            if longest > limits.cell_chars:
                raise LimitExceeded(
                    "cell_chars", longest, limits.cell_chars, f"a cell in row {number} of the CSV file is too long"
                )
    except csv.Error as error:
        # The csv module's own cap on a field (128 KB) is above `cell_chars`: a field it refuses breaks it.
        if "field limit" in str(error):
            raise LimitExceeded(
                "cell_chars",
                f"more than {csv.field_size_limit()}",
                limits.cell_chars,
                f"a cell after row {number} of the CSV file is too long",
            ) from None
        raise unreadable(f"after row {number}: {error}") from None
    return max(number - 1, 0)


def check_json(package: Any, limits: Limits = LIMITS) -> None:
    """A JSON package's nesting and grants, right after parsing (in the sandbox), before validation walks it."""
    depth = _depth(package, limits.json_depth)
    if depth > limits.json_depth:
        raise LimitExceeded(
            "json_depth", f"more than {limits.json_depth}", limits.json_depth, "the JSON is nested too deeply"
        )
    grants = package.get("grants") if isinstance(package, dict) else None
    if isinstance(grants, list) and len(grants) > limits.grants:
        raise LimitExceeded("grants", len(grants), limits.grants, "the package holds too many grants")


def _depth(value: Any, most: int) -> int:
    """How deep the value nests, looking no further than one level past `most` (no recursion)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if not isinstance(item, dict | list):
            continue
        deepest = max(deepest, depth)
        if depth > most:
            return depth
        stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest
