"""Hostile files sent to `POST /v1/imports/360giving`: each is refused with a problem naming the limit it
breaks and the value found, before anything expands it; nothing is written; and the server's memory
stays where it was (the files are read, if at all, in a sandbox process of their own).

The spreadsheets are made here, part by part, with zipfile: openpyxl would never write them."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import resource
import struct
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.services.giving360 import importer
from api.services.giving360.limits import LIMITS, LimitExceeded, Limits
from models.tables import Change, Grant, Organisation
from tests import test_giving360_import
from tests.test_giving360_import import ADMIN, CSV_SAMPLE, XLSX_SAMPLE, finished

URL = "/v1/imports/360giving"
# The UK's places, so GSS codes resolve: the import tests' fixture.
places = test_giving360_import.places
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
# How far the server's peak memory may move while it refuses a file: the file itself, in the request,
# and the test's own workings. Expanding any of these files would take gigabytes.
MEMORY_MARGIN_KB = 200 * 1024

PARTS = {
    "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
    'package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/'
    'workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
    'spreadsheetml.worksheet+xml"/></Types>',
    "_rels/.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
    f'package/2006/relationships"><Relationship Id="rId1" Type="{RELATIONSHIPS}/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>',
    "xl/workbook.xml": f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="{RELATIONSHIPS}">'
    '<sheets><sheet name="grants" sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
    f'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{RELATIONSHIPS}/worksheet" '
    'Target="worksheets/sheet1.xml"/></Relationships>',
}


def sheet(rows: Iterable[str], dimension: str | None = None, prolog: str = "", after: str = "") -> str:
    declared = f'<dimension ref="{dimension}"/>' if dimension else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<worksheet xmlns="{MAIN}">{declared}<sheetData>'
        + "".join(rows)
        + f"</sheetData>{after}</worksheet>"
    )


def row(number: int, *cells: tuple[str, str]) -> str:
    return (
        f'<row r="{number}">'
        + "".join(f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>' for ref, text in cells)
        + "</row>"
    )


def workbook(
    sheet_xml: str, stored_at: str = "xl/worksheets/sheet1.xml", extra: dict[str, bytes] | None = None
) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in PARTS.items():
            archive.writestr(name, text)
        archive.writestr(stored_at, sheet_xml)
        for name, content in (extra or {}).items():
            archive.writestr(name, content)
    return out.getvalue()


TITLES = row(1, ("A1", "Identifier"), ("B1", "Title"))


def far_cell(ref: str) -> bytes:
    """The issue's 1.7 KB workbook: one cell, far away, and a sheet that declares it is all of Excel."""
    return workbook(sheet([TITLES, row(int(ref.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")), (ref, "x"))], "A1:XFD1048576"))


def many_rows(count: int) -> bytes:
    return workbook(sheet([TITLES, *(row(n, (f"A{n}", f"g{n}"), (f"B{n}", "t")) for n in range(2, count + 2))]))


def zip_bomb_ratio() -> bytes:
    """A part of 20 MB of spaces, a few KB zipped: real sheets compress 5 to 20 times."""
    return workbook(sheet([TITLES]), extra={"xl/sharedStrings.xml": b"<sst>" + b" " * 20_000_000 + b"</sst>"})


def zip_bomb_size() -> bytes:
    """A part that unzips to 600 MB, written a block at a time so the test itself never holds it."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in PARTS.items():
            archive.writestr(name, text)
        archive.writestr("xl/worksheets/sheet1.xml", sheet([TITLES]))
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
            block = b" " * (1 << 20)
            for _ in range(600):
                part.write(block)
    return out.getvalue()


BILLION_LAUGHS = (
    '<!DOCTYPE worksheet [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">' for i in range(1, 10))
    + "]>"
)


def csv_text(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


def deep_json(depth: int) -> bytes:
    return b'{"grants": [' + b"[" * depth + b"]" * depth + b"]}"


def peak_memory_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


async def nothing_written(client: httpx.AsyncClient) -> None:
    assert (await Grant.count(), await Organisation.count(), await Change.count()) == (0, 0, 0)
    assert (await client.get("/v1/changes")).json()["items"] == []


async def refused(client: httpx.AsyncClient, content: bytes, media_type: str) -> tuple[int, dict[str, Any]]:
    before = peak_memory_kb()
    response = await client.post(URL, content=content, headers={"Content-Type": media_type})
    assert response.headers["content-type"] == "application/problem+json", response.text
    assert peak_memory_kb() - before < MEMORY_MARGIN_KB
    await nothing_written(client)
    # The key that sent it is an admin's, which writes for no organisation: only the file is refused.
    return response.status_code, response.json()


def names_limit(problem: dict[str, Any], limit: str, found: object) -> None:
    assert problem["detail"].startswith(f"The file breaks the limit {limit}: "), problem
    assert problem["detail"].endswith("Nothing was written.")
    allowed = getattr(LIMITS, limit, "none")
    assert problem["errors"] == [
        {"field": "body", "message": f"{limit}: found {found}, limit {allowed}", "location": "body"}
    ]


# XLSX -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "limit", "found"),
    [
        ("XFD2", "columns", 16384),  # the last column Excel has
        ("A1048576", "grants", 1048575),  # the last row: a CPU busy for minutes
        ("XFD1048576", "grants", 1048575),  # both: a worker past 12 GB
    ],
)
async def test_a_far_cell_is_refused_before_the_sheet_is_expanded(
    client: httpx.AsyncClient, ref: str, limit: str, found: int
) -> None:
    content = far_cell(ref)
    assert len(content) < 2000
    status, problem = await refused(client, content, XLSX)
    assert status == 422
    names_limit(problem, limit, found)


async def test_a_declared_dimension_alone_is_not_refused(places: None, client: httpx.AsyncClient) -> None:
    """What openpyxl expands is the cells a sheet holds, not the size it declares (which LibreOffice gives as
    A1:AL65536 for the real Blagrave Trust file): the real sample, declaring all of Excel, reads as ever."""

    with zipfile.ZipFile(XLSX_SAMPLE) as original:
        parts = {info.filename: original.read(info) for info in original.infolist()}
    sheet1 = parts["xl/worksheets/sheet1.xml"]
    assert b'<dimension ref="A1:AL65536"/>' in sheet1
    parts["xl/worksheets/sheet1.xml"] = sheet1.replace(b"A1:AL65536", b"A1:XFD1048576")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    response = await client.post(
        URL, content=out.getvalue(), headers={"Content-Type": XLSX}, params={"dry_run": "true"}
    )
    job = await finished(client, response)
    assert (job["state"], job["report"]["grants"]["in_file"]) == ("succeeded", 68)


async def test_too_many_rows_are_refused(client: httpx.AsyncClient) -> None:
    status, problem = await refused(client, many_rows(LIMITS.grants + 1), XLSX)
    assert status == 422
    names_limit(problem, "grants", LIMITS.grants + 1)
    assert "the sheet sheet1 has a cell in row 100002" in problem["detail"]


async def test_a_zip_bomb_by_its_compression_is_refused(client: httpx.AsyncClient) -> None:
    content = zip_bomb_ratio()
    assert len(content) < 100_000
    status, problem = await refused(client, content, XLSX)
    assert status == 422
    ratio = 20_000_011 // zipfile.ZipFile(io.BytesIO(content)).getinfo("xl/sharedStrings.xml").compress_size
    names_limit(problem, "compression_ratio", ratio)


async def test_a_zip_bomb_by_its_size_is_413(client: httpx.AsyncClient) -> None:
    content = zip_bomb_size()
    assert len(content) < 2_000_000
    status, problem = await refused(client, content, XLSX)
    assert status == 413
    declared = sum(info.file_size for info in zipfile.ZipFile(io.BytesIO(content)).infolist())
    names_limit(problem, "uncompressed_bytes", declared)


@pytest.mark.parametrize("part", ["xl/worksheets/sheet1.xml", "xl/sharedStrings.xml"])
async def test_billion_laughs_are_refused(client: httpx.AsyncClient, part: str) -> None:
    laughs = sheet([TITLES, row(2, ("A2", "&lol9;"))], prolog=BILLION_LAUGHS)
    content = (
        workbook(laughs)
        if part.endswith("sheet1.xml")
        else workbook(sheet([TITLES]), extra={part: f"{BILLION_LAUGHS}<sst><si><t>&lol9;</t></si></sst>".encode()})
    )
    status, problem = await refused(client, content, XLSX)
    assert status == 422
    names_limit(problem, "xml_doctype", "a DOCTYPE")
    assert part in problem["detail"]


async def test_a_nul_byte_in_a_sheet_is_unreadable(client: httpx.AsyncClient) -> None:
    content = workbook(sheet([TITLES, row(2, ("A2", "a\x00b"))]))
    status, problem = await refused(client, content, XLSX)
    assert status == 422
    assert problem["detail"] == "The file cannot be imported: 1 error; nothing was written."
    assert problem["errors"][0]["message"].startswith(
        "unreadable: The file cannot be read: the sheet sheet1 is not well-formed XML"
    )


@pytest.mark.parametrize("ref", ["B150000", "b150000", "$B$150000"])
async def test_a_cell_is_counted_where_its_own_reference_puts_it(client: httpx.AsyncClient, ref: str) -> None:
    """openpyxl places a cell by its own `r`, whatever its row says: a row of no number (or the wrong one)
    holding B150000 makes a sheet of 150,000 rows."""
    cell = f'<c r="{ref}" t="inlineStr"><is><t>x</t></is></c>'
    for rows in ([TITLES, f"<row>{cell}</row>"], [TITLES, f'<row r="2">{cell}</row>']):
        status, problem = await refused(client, workbook(sheet(rows)), XLSX)
        assert status == 422
        names_limit(problem, "grants", 149999)
        assert "the sheet sheet1 has a cell in row 150000" in problem["detail"]


@pytest.mark.parametrize(
    ("after", "limit", "found"),
    [
        ('<mergeCells count="1"><mergeCell ref="A3:J150000"/></mergeCells>', "grants", 149999),
        ('<mergeCells count="1"><mergeCell ref="A:A"/></mergeCells>', "grants", 1048575),
        ('<mergeCells count="1"><mergeCell ref="A2:CV60000"/></mergeCells>', "cells", 4 + 100 * 59999),
        ('<hyperlinks><hyperlink ref="A3:B150000" location="grants!A1"/></hyperlinks>', "grants", 149999),
        ('<hyperlinks><hyperlink ref="A3:XFD3" location="grants!A1"/></hyperlinks>', "columns", 16384),
    ],
    ids=["merged-rows", "merged-column", "merged-area", "hyperlink-rows", "hyperlink-columns"],
)
async def test_a_merged_or_linked_range_counts_every_cell_openpyxl_makes_of_it(
    client: httpx.AsyncClient, after: str, limit: str, found: int
) -> None:
    content = workbook(sheet([TITLES, row(2, ("A2", "g"), ("B2", "t"))], after=after))
    assert len(content) < 2000
    status, problem = await refused(client, content, XLSX)
    assert status == 422
    names_limit(problem, limit, found)


@pytest.mark.parametrize(
    ("target", "stored_at"),
    [
        ("data/sheet1.xml", "xl/data/sheet1.xml"),  # relative to xl/, as openpyxl resolves it
        ("/xl/data/sheet1.xml", "xl/data/sheet1.xml"),  # from the top
        ("../elsewhere/sheet1.xml", "elsewhere/sheet1.xml"),
        ("data/sheet1.bin", "xl/data/sheet1.bin"),  # not even named .xml
    ],
)
async def test_a_sheet_stored_outside_the_worksheets_folder_is_checked(
    client: httpx.AsyncClient, target: str, stored_at: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rels = PARTS["xl/_rels/workbook.xml.rels"].replace('Target="worksheets/sheet1.xml"', f'Target="{target}"')
    monkeypatch.setitem(PARTS, "xl/_rels/workbook.xml.rels", rels)
    content = workbook(sheet([TITLES, row(150000, ("A150000", "x"))]), stored_at=stored_at)
    assert "xl/worksheets/sheet1.xml" not in zipfile.ZipFile(io.BytesIO(content)).namelist()
    status, problem = await refused(client, content, XLSX)
    assert status == 422
    names_limit(problem, "grants", 149999)


@pytest.mark.parametrize(
    ("rows", "why"),
    [
        ([TITLES, '<row r="x"><c r="A2" t="inlineStr"><is><t>g</t></is></c></row>'], "a row numbered 'x'"),
        ([TITLES, '<row r="2.5"><c t="inlineStr"><is><t>g</t></is></c></row>'], "a row numbered '2.5'"),
        ([TITLES, '<row r="2"><c r="2A" t="inlineStr"><is><t>g</t></is></c></row>'], "a cell whose reference is '2A'"),
        ([TITLES], "a mergeCell whose range is 'A1:?'"),
    ],
    ids=["row-number", "fractional-row", "cell-reference", "range"],
)
async def test_a_malformed_sheet_is_unreadable_not_a_server_error(
    client: httpx.AsyncClient, rows: list[str], why: str
) -> None:
    after = '<mergeCells count="1"><mergeCell ref="A1:?"/></mergeCells>' if "mergeCell" in why else ""
    status, problem = await refused(client, workbook(sheet(rows, after=after)), XLSX)
    assert status == 422
    assert problem["errors"][0]["message"] == f"unreadable: The file cannot be read: the sheet sheet1 has {why}."


async def test_a_zip_whose_directory_points_before_its_start_is_unreadable(client: httpx.AsyncClient) -> None:
    """The end record's offset of the directory, made larger than the file: every part's place works out
    negative, and reading one is `ValueError: negative seek value`."""
    content = bytearray(workbook(sheet([TITLES, row(2, ("A2", "g"))])))
    end = content.rindex(b"PK\x05\x06")
    content[end + 16 : end + 20] = struct.pack("<I", 0xF0000000)
    status, problem = await refused(client, bytes(content), XLSX)
    assert status == 422
    assert problem["errors"][0]["message"].startswith(
        "unreadable: The file cannot be read as a XLSX spreadsheet: its zip archive cannot be read (negative seek"
    )


# CSV --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "limit", "found"),
    [
        ([["Identifier", "Title"]] + [["g", "t"]] * (LIMITS.grants + 1), "grants", f"more than {LIMITS.grants}"),
        ([["Identifier", "Title"], ["x"] * 1001], "columns", 1001),
        ([["Identifier", "Title"], ["g", "t" * 40_000]], "cell_chars", 40_000),
        ([["Identifier", "Title"], ["g", "t" * 200_000]], "cell_chars", "more than 131072"),
    ],
    ids=["rows", "columns", "cell", "field-past-the-csv-module-cap"],
)
async def test_a_csv_bomb_is_refused(
    client: httpx.AsyncClient, rows: list[list[str]], limit: str, found: int | str
) -> None:
    status, problem = await refused(client, csv_text(rows), "text/csv")
    assert status == 422
    names_limit(problem, limit, found)


async def test_nul_bytes_in_a_csv_never_reach_the_database(places: None, client: httpx.AsyncClient) -> None:
    """PostgreSQL cannot store a NUL: flattentool's CSV reading drops it, and the grant is written without."""
    lines = CSV_SAMPLE.read_bytes().split(b"\n")
    lines[1] = lines[1].replace(b"Achieving Further", b"Achieving\x00 Further", 1)
    response = await client.post(URL, content=b"\n".join(lines), headers={"Content-Type": "text/csv"})
    job = await finished(client, response)
    assert (job["state"], job["report"]["grants"]["created"]) == ("succeeded", 68), job
    grant = (await client.get("/v1/grants/360G-blagravetrust-00658000009YZRq")).json()
    assert grant["name"] == "Achieving Further"


# JSON -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [LIMITS.json_depth + 1, 100_000])
async def test_deep_json_is_refused(client: httpx.AsyncClient, depth: int) -> None:
    status, problem = await refused(client, deep_json(depth), "application/json")
    assert status == 422
    names_limit(problem, "json_depth", f"more than {LIMITS.json_depth}")


async def test_json_of_too_many_grants_is_refused(client: httpx.AsyncClient) -> None:
    content = b'{"grants": [' + b",".join([b"{}"] * (LIMITS.grants + 1)) + b"]}"
    status, problem = await refused(client, content, "application/json")
    assert status == 422
    names_limit(problem, "grants", LIMITS.grants + 1)


async def test_json_with_a_raw_nul_byte_is_unreadable(client: httpx.AsyncClient) -> None:
    status, problem = await refused(client, b'{"grants": [{"id": "a\x00b"}]}', "application/json")
    assert status == 422
    assert problem["errors"][0]["message"].startswith("unreadable: The file is not valid JSON")


def one_grant(**fields: str) -> bytes:
    """A package of one grant, its `fields` written as JSON text as they are (escapes and numbers json reads)."""
    grant = (
        '{"id": "360G-x-1", "title": "t", "description": "d", "currency": "GBP", "amountAwarded": 10, '
        '"awardDate": "2020-01-01", "recipientOrganization": [{"id": "GB-CHC-1", "name": "R"}], '
        '"fundingOrganization": [{"id": "GB-CHC-2", "name": "F"}]'
    )
    for name, text in fields.items():
        grant += f', "{name}": {text}'
    return ('{"grants": [' + grant + "}]}").encode()


@pytest.mark.parametrize("dry_run", ["true", "false"])
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"title": '"\\ud800"'},
            "The file's JSON string at grants[0].title holds a lone UTF-16 surrogate",
        ),
        (
            {"description": '"ok \\udc00 then"'},
            "The file's JSON string at grants[0].description holds a lone UTF-16 surrogate",
        ),
        ({"amountAwarded": "1e400"}, "The file's JSON number at grants[0].amountAwarded is too large"),
        ({"amountAwarded": "-1e400"}, "The file's JSON number at grants[0].amountAwarded is too large"),
    ],
    ids=["surrogate", "low-surrogate", "infinity", "minus-infinity"],
)
async def test_json_that_no_database_can_hold_is_unreadable(
    client: httpx.AsyncClient, fields: dict[str, str], message: str, dry_run: str
) -> None:
    """What msgspec refuses and json reads (a lone surrogate, a number past a float's range, read as
    infinity) is refused as unreadable, naming where: not a 500, and not a grant of no amount."""
    content = one_grant(**fields)
    response = await client.post(
        URL, content=content, headers={"Content-Type": "application/json"}, params={"dry_run": dry_run}
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["detail"] == "The file cannot be imported: 1 error; nothing was written."
    assert problem["errors"][0]["message"].startswith(f"unreadable: {message}"), problem
    await nothing_written(client)


# The sandbox's own caps -------------------------------------------------------------------------------------


def big_csv(grants: int) -> bytes:
    """The sample's grants, repeated under new identifiers: a file that breaks no limit but takes a while."""
    lines = CSV_SAMPLE.read_text(encoding="utf-8").splitlines()
    body = lines[1:]
    out = [lines[0]]
    for n in range(grants):
        line = body[n % len(body)]
        out.append(line.replace("360G-blagravetrust-", f"360G-blagravetrust-{n}-", 1))
    return ("\n".join(out) + "\n").encode()


async def test_a_file_that_takes_too_much_cpu_ends_its_own_process_and_the_server_answers_meanwhile(
    places: None, client: httpx.AsyncClient
) -> None:
    content = big_csv(20_000)
    task = asyncio.create_task(
        importer.import_file(content, file_format="csv", file_name="big.csv", actor=ADMIN, limits=Limits(cpu_seconds=2))
    )
    await asyncio.sleep(0.2)
    answered = await client.get("/v1/organisations")
    assert answered.status_code == 200
    assert not task.done()  # the read was answered while the file was still being read
    with pytest.raises(LimitExceeded) as refused_by:
        await task
    assert refused_by.value.limit == "cpu_seconds"
    assert refused_by.value.status == 422
    await nothing_written(client)


async def test_a_file_that_needs_too_much_memory_ends_its_own_process(places: None, client: httpx.AsyncClient) -> None:
    before = peak_memory_kb()
    with pytest.raises(LimitExceeded) as refused_by:
        await importer.import_file(
            big_csv(2_000), file_format="csv", file_name="big.csv", actor=ADMIN, limits=Limits(memory_bytes=64 << 20)
        )
    assert (refused_by.value.limit, refused_by.value.status) == ("memory_bytes", 413)
    assert peak_memory_kb() - before < MEMORY_MARGIN_KB
    await nothing_written(client)


def test_the_command_line_uses_the_same_limits(tmp_path: Path) -> None:
    from tests.test_giving360_cli import placenet

    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/placenet.sqlite3"}
    placenet("migrate", env=env)
    (tmp_path / "far.xlsx").write_bytes(far_cell("XFD1048576"))
    result = placenet("import", "360giving", str(tmp_path / "far.xlsx"), env=env, check=False)
    assert result.returncode != 0
    assert "Error: The file breaks the limit grants: the sheet sheet1 has a cell in row 1048576" in result.stderr


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"PK\x03\x04 not really a spreadsheet", "it is not a zip archive, as every .xlsx file is."),
        (workbook(sheet([TITLES]))[:-30], "it is not a zip archive, as every .xlsx file is."),  # cut short
    ],
)
async def test_a_spreadsheet_that_is_not_a_zip_is_refused_at_once(
    client: httpx.AsyncClient, content: bytes, why: str
) -> None:
    status, problem = await refused(client, content, XLSX)
    assert status == 422
    assert problem["errors"][0]["message"] == f"unreadable: The file cannot be read as a XLSX spreadsheet: {why}"


async def test_a_damaged_part_is_unreadable_not_a_server_error(client: httpx.AsyncClient) -> None:
    content = bytearray(workbook(sheet([TITLES, row(2, ("A2", "x" * 5000))])))
    start = content.index(b"xl/worksheets/sheet1.xml") + len(b"xl/worksheets/sheet1.xml")
    content[start + 20 : start + 60] = b"\xff" * 40  # the sheet's compressed bytes, scrambled
    status, problem = await refused(client, bytes(content), XLSX)
    assert status == 422
    assert problem["errors"][0]["message"].startswith(
        "unreadable: The file cannot be read as a XLSX spreadsheet: its zip archive cannot be read"
    )


async def test_a_file_that_takes_too_long_on_the_clock_is_stopped(places: None, client: httpx.AsyncClient) -> None:
    with pytest.raises(LimitExceeded) as refused_by:
        await importer.import_file(
            big_csv(20_000), file_format="csv", file_name="big.csv", actor=ADMIN, limits=Limits(wall_seconds=1)
        )
    assert (refused_by.value.limit, refused_by.value.status) == ("wall_seconds", 422)
    assert str(refused_by.value).startswith("The file breaks the limit wall_seconds: reading the file took too long")
    await nothing_written(client)


# What a reader may do that is no limit: never a 500 ---------------------------------------------------------


class Unpicklable:
    """A result the reading process can send, and the server cannot make again."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (_refuse_to_unpickle, ())


def _refuse_to_unpickle() -> None:
    raise TypeError("this cannot be made again")


def returns_what_cannot_be_unpickled(*_: object) -> Unpicklable:
    return Unpicklable()


def raises_a_readers_bug(*_: object) -> None:
    raise KeyError("a reader's own bug")


def exits_without_a_word(*_: object) -> None:
    os._exit(3)


READER_FAILURES = [
    (returns_what_cannot_be_unpickled, "its reading process sent back what could not be understood"),
    (raises_a_readers_bug, "reading it failed (KeyError)"),
    (exits_without_a_word, "its reading process ended without an outcome (exit 3)"),
]


@pytest.mark.parametrize(("function", "why"), READER_FAILURES, ids=["unpickling", "exception", "exit"])
async def test_a_reader_that_fails_in_its_sandbox_is_unreadable_not_a_server_error(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, function: Callable[..., object], why: str
) -> None:
    """The sandbox runs the function by name, in a process of its own: the test's stands in for the reading."""
    monkeypatch.setattr(importer, "_prepare", function)
    status, problem = await refused(client, one_grant(), "application/json")
    assert status == 422
    assert problem["errors"][0]["message"] == f"unreadable: The file cannot be read: {why}."


@pytest.mark.parametrize(("function", "why"), READER_FAILURES[:2], ids=["unpickling", "exception"])
async def test_a_reader_that_fails_while_checking_a_file_is_unreadable(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, function: Callable[..., object], why: str
) -> None:
    from api.services.giving360 import convert

    monkeypatch.setattr(convert, "inspect", function)
    status, problem = await refused(client, workbook(sheet([TITLES, row(2, ("A2", "g"))])), XLSX)
    assert status == 422
    assert problem["errors"][0]["message"] == f"unreadable: The file cannot be read: {why}."


async def test_anything_else_that_fails_checking_a_file_is_unreadable(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The jobs' own backstop, should the sandbox itself raise what it should not."""
    from api.services.giving360 import sandbox

    async def broken(*_: object, **__: object) -> None:
        raise RuntimeError("the sandbox broke")

    monkeypatch.setattr(sandbox, "run", broken)
    status, problem = await refused(client, workbook(sheet([TITLES, row(2, ("A2", "g"))])), XLSX)
    assert status == 422
    assert problem["errors"][0]["message"] == "unreadable: The file cannot be read: checking it failed unexpectedly."


async def test_a_job_whose_reader_fails_is_failed_as_unreadable(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "_prepare", raises_a_readers_bug)
    response = await client.post(URL, content=XLSX_SAMPLE.read_bytes(), headers={"Content-Type": XLSX})
    job = await finished(client, response)
    assert job["state"] == "failed"
    problem = job["problem"]
    assert (problem["status"], problem["title"]) == (422, "Unprocessable content")
    assert problem["errors"][0]["message"] == "unreadable: The file cannot be read: reading it failed (KeyError)."
    await nothing_written(client)
