"""Grants as 360Giving data: a package that validates against the official schema, or the official
one-sheet CSV. An imported grant gives back what its file published, with Placenet's current columns
laid over it (title, amounts, dates, funder, recipient, places); a GSS code's geoCodeType comes from
the code (the codelist's type for its entity, or none), never from the file."""

from __future__ import annotations

import copy
import csv
import datetime
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any
from uuid import UUID

from piccolo.custom_types import Combinable

from api.services.giving360 import geocodes
from api.services.giving360.cells import neutralise
from api.services.giving360.importer import DATASET_FIELD, INDIVIDUALS_SLUG, NAME_LENGTH, PLACENET_PUBLISHER, chunks
from api.services.giving360.orgids import PLACENET_PREFIX
from api.services.giving360.reference import STANDARD_VERSION, column_titles, grant_fields, main_sheet_columns
from api.services.platform.errors import NotFound
from api.services.records import resource as records
from api.services.resources import grants
from api.services.resources.grants import GrantFilters
from models.tables import Grant, GrantPlace, Organisation, Place

GIVING360_MEDIA_TYPE = "application/vnd.360giving+json"
CSV_MEDIA_TYPE = "text/csv"  # Litestar adds `charset=utf-8`

Row = dict[str, Any]


@dataclass(frozen=True)
class GrantExport:
    """An export's body, its media type, and the grants that could not be given in 360Giving form."""

    content: bytes
    media_type: str
    grants: int
    omitted: tuple[str, ...]


class NothingToExport(NotFound):
    """No grant to export. A 360Giving package must hold at least one grant (the package schema's
    `minItems: 1`), so an empty one would be invalid data; the CSV, the same data as a sheet, answers the
    same, as our import refuses a sheet without grants."""


def _nothing_to_export(omitted: Sequence[str]) -> str:
    if not omitted:
        return (
            "No grant matches these filters, and 360Giving data must hold at least one grant, so there is "
            "nothing to export. Widen the filters."
        )
    listed = ", ".join(omitted[:10]) + (f" and {len(omitted) - 10} more" if len(omitted) > 10 else "")
    count = f"{len(omitted)} grant" + ("s" if len(omitted) != 1 else "")
    return (
        f"The filters select {count}, but none has both an amount awarded and an award date, which 360Giving "
        f"requires ({listed}); 360Giving data must hold at least one grant, so there is nothing to export."
    )


async def export_grants(filters: GrantFilters, *, sort: str, as_csv: bool) -> GrantExport:
    """Every grant the filters select, in the list's order, as a 360Giving package (or its CSV)."""
    return await export(await grants.conditions(filters), sort=sort, as_csv=as_csv)


async def export(where: Sequence[Combinable], *, sort: str, as_csv: bool) -> GrantExport:
    """Every grant matching `where`, in the list's order, as a 360Giving package or its CSV."""
    package, omitted = await build_package(where, sort=sort)
    if not package["grants"]:
        raise NothingToExport(_nothing_to_export(omitted))
    if as_csv:
        return GrantExport(to_csv(package["grants"]).encode("utf-8"), CSV_MEDIA_TYPE, len(package["grants"]), omitted)
    body = json.dumps(package, ensure_ascii=False, indent=1).encode("utf-8")
    return GrantExport(body, GIVING360_MEDIA_TYPE, len(package["grants"]), omitted)


async def build_package(where: Sequence[Combinable], *, sort: str) -> tuple[Row, tuple[str, ...]]:
    """The package, and the slugs of the grants left out because the standard requires what they lack
    (an amount awarded and an award date)."""
    ascending = not sort.startswith("-")
    column = Grant._meta.get_column_by_name(sort.lstrip("-"))
    query = Grant.select(Grant.id).order_by(column, ascending=ascending).order_by(Grant.id, ascending=ascending)
    if where:
        query = query.where(*where)
    ids = await query.output(as_list=True)
    grants: list[Row] = []
    omitted: list[str] = []
    for id_chunk in chunks(ids):
        for slug, grant in await _chunk(id_chunk):
            if grant is None:
                omitted.append(slug)
            else:
                grants.append(grant)
    package: Row = {
        "version": STANDARD_VERSION,
        "title": "Grants from Placenet",
        "description": "Grants held by Placenet, a shared map of how funders work together in UK places.",
        "issued": datetime.datetime.now(datetime.UTC).date().isoformat(),
        "publisher": dict(PLACENET_PUBLISHER),
        "grants": grants,
    }
    # Each imported grant carries its own file's publisher and licence (its `dataset`); when every grant
    # exported shares one licence, it is the package's licence too.
    licences = {_licence(grant) for grant in grants}
    if len(licences) == 1 and (licence := licences.pop()) is not None:
        package["license"] = licence
    return package, tuple(omitted)


def _licence(grant: Row) -> str | None:
    dataset = grant.get(DATASET_FIELD)
    licence = dataset.get("license") if isinstance(dataset, dict) else None
    return licence if isinstance(licence, str) else None


async def _chunk(ids: list[UUID]) -> list[tuple[str, Row | None]]:
    rows = {row["id"]: row for row in await Grant.select().where(Grant.id.is_in(ids))}
    links: dict[UUID, list[UUID]] = {grant_id: [] for grant_id in ids}
    for link in await GrantPlace.select(GrantPlace.grant, GrantPlace.place).where(GrantPlace.grant.is_in(ids)):
        links[link["grant"]].append(link["place"])
    organisation_ids = {row[key] for row in rows.values() for key in ("funder", "recipient")}
    organisations = {
        row["id"]: row
        for row in await Organisation.select(
            Organisation.id, Organisation.slug, Organisation.name, Organisation.org_id
        ).where(Organisation.id.is_in(list(organisation_ids)))
    }
    place_ids = {place for linked in links.values() for place in linked}
    places = (
        {
            row["id"]: row
            for row in await Place.select(Place.id, Place.name, Place.gss_code, Place.lat, Place.lon).where(
                Place.id.is_in(list(place_ids))
            )
        }
        if place_ids
        else {}
    )
    for row in rows.values():
        for name in ("standard", "extra", "unmatched_locations", "matched_locations"):
            if isinstance(row[name], str):
                row[name] = json.loads(row[name])
    codes = {
        code
        for row in rows.values()
        for loc in (row["standard"] or {}).get("beneficiaryLocation") or []
        if isinstance(loc, dict) and geocodes.is_gss(code := geocodes.normalise(loc.get("geoCode")))
    }
    resolved = await records.resolve_many(records.PLACE, [c for c in codes if c is not None]) if codes else {}
    out = []
    for grant_id in ids:
        row = rows[grant_id]
        grant = to_360giving(
            row,
            organisations[row["funder"]],
            organisations[row["recipient"]],
            [places[p] for p in links[grant_id]],
            resolved,
        )
        out.append((row["slug"], grant))
    return out


def _number(value: Any) -> int | float:
    amount = Decimal(str(value))
    return int(amount) if amount == amount.to_integral_value() else float(amount)


def _org_identifier(organisation: Row) -> str:
    return organisation["org_id"] or f"{PLACENET_PREFIX}{organisation['slug']}"


def _organisations(published: list[Row], organisation: Row) -> list[Row]:
    """The current organisation first, as published when the file named it; then the file's others."""
    identifier = _org_identifier(organisation)
    first = next((o for o in published[:1] if o.get("id") == identifier), None)
    first = first or {"id": identifier, "name": organisation["name"]}
    return [first, *(o for o in published[1:] if o.get("id") != identifier)]


def to_360giving(row: Row, funder: Row, recipient: Row, places: list[Row], resolved: dict[str, UUID]) -> Row | None:
    """One grant in 360Giving form, or None when it lacks an amount awarded or an award date."""
    standard: Row = copy.deepcopy(row["standard"] or {})
    fields: Row = dict(standard)
    amount = _number(row["amount"]) if row["amount"] is not None else standard.get("amountAwarded")
    awarded = row["awarded_on"].isoformat() if row["awarded_on"] is not None else standard.get("awardDate")
    if amount is None or awarded is None:
        return None
    fields["id"] = row["identifier"] or f"360G-placenet-{row['id']}"
    full_title = standard.get("title")
    fields["title"] = full_title if full_title and full_title[:NAME_LENGTH] == row["name"] else row["name"]
    fields["description"] = row["description"] or ""
    fields["currency"] = row["currency"] or "GBP"
    fields["amountAwarded"] = amount
    fields["awardDate"] = awarded
    for name, column in (("amountAppliedFor", "amount_applied_for"), ("amountDisbursed", "amount_disbursed")):
        if row[column] is not None:
            fields[name] = _number(row[column])
    for name, column in (
        ("url", "url"),
        ("dataSource", "data_source"),
        ("regrantType", "regrant_type"),
        ("locationScope", "location_scope"),
    ):
        if row[column] is not None:
            fields[name] = row[column]
    if row["from_open_call"] is not None:
        fields["fromOpenCall"] = "Yes" if row["from_open_call"] else "No"
    _planned_dates(fields, row)
    _programme(fields, row)
    _date_modified(fields, row)
    fields["fundingOrganization"] = _organisations(standard.get("fundingOrganization") or [], funder)
    if recipient["slug"] == INDIVIDUALS_SLUG and recipient["org_id"] is None and "recipientIndividual" in standard:
        fields.pop("recipientOrganization", None)
    else:
        fields.pop("recipientIndividual", None)
        fields["recipientOrganization"] = _organisations(standard.get("recipientOrganization") or [], recipient)
    locations = _locations(
        standard.get("beneficiaryLocation") or [],
        row["unmatched_locations"] or [],
        places,
        resolved,
        row["matched_locations"] or [],
    )
    if locations:
        fields["beneficiaryLocation"] = locations
    else:
        fields.pop("beneficiaryLocation", None)
    ordered = {name: fields[name] for name in grant_fields() if name in fields}
    return {**ordered, **(row["extra"] or {})}


def _date_modified(fields: Row, row: Row) -> None:
    """A grant made or changed through the API since an import last wrote it is modified when Placenet last
    changed it; one as its file left it keeps the file's `dateModified` (or none), so an export imported
    again changes nothing."""
    imported, updated = row.get("imported_at"), row["updated_at"]
    if updated is not None and (imported is None or _utc(updated) > _utc(imported)):
        fields["dateModified"] = _utc(updated).isoformat(timespec="seconds")


def _utc(moment: datetime.datetime) -> datetime.datetime:
    return moment.astimezone(datetime.UTC) if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


def _planned_dates(fields: Row, row: Row) -> None:
    planned = fields.get("plannedDates") or []
    for name, column in (("startDate", "planned_start_on"), ("endDate", "planned_end_on")):
        if row[column] is not None:
            if not planned:
                planned.append({})
            planned[0][name] = row[column].isoformat()
    if planned:
        fields["plannedDates"] = planned


def _programme(fields: Row, row: Row) -> None:
    programmes = fields.get("grantProgramme") or []
    if row["programme"] is not None:
        if not programmes:
            programmes.append({})
        programmes[0]["title"] = row["programme"]
    if programmes:
        fields["grantProgramme"] = programmes


def _locations(
    published: list[Row], unmatched: list[Row], places: list[Row], resolved: dict[str, UUID], matched: list[Row]
) -> list[Row]:
    """The published locations that still stand (their code names a place the grant is linked to, their
    name was matched to one, or they were kept unmatched), with geoCodeType from the code; then any linked
    place not among them. A location matched by name is given back as published, without the inferred
    code: the code is Placenet's guess, not the publisher's. Nor is a place matched by the recipient's
    address exported as a beneficiary location."""
    linked = {place["id"] for place in places}
    kept_unmatched = {(loc.get("geo_code"), loc.get("name")) for loc in unmatched}
    by_name = {
        (loc.get("geo_code"), loc.get("name")): UUID(loc["place"])
        for loc in matched
        if loc.get("matched_by") in ("name", "alias") and UUID(loc["place"]) in linked
    }
    out: list[Row] = []
    # A place the recipient's address gave is Placenet's inference about the recipient, not a location the
    # publisher named: it is not exported as a beneficiary location.
    covered: set[UUID] = {
        UUID(loc["place"]) for loc in matched if loc.get("matched_by") == "recipient_address" and loc.get("place")
    }
    for loc in published:
        code = geocodes.normalise(loc.get("geoCode"))
        place = resolved.get(code) if code else by_name.get((loc.get("geoCode"), loc.get("name")))
        if (place is not None and place in linked) or (loc.get("geoCode"), loc.get("name")) in kept_unmatched:
            kept = dict(loc)
            if geocodes.is_gss(code):
                kept.pop("geoCodeType", None)
                if (derived := geocodes.standard_type(code)) is not None:
                    kept["geoCodeType"] = derived
            out.append(kept)
            if place is not None and place in linked:
                covered.add(place)
    for linked_place in places:
        if linked_place["id"] in covered:
            continue
        location: Row = {"name": linked_place["name"], "countryCode": "GB"}
        if linked_place["gss_code"]:
            location["geoCode"] = linked_place["gss_code"]
            if (derived_type := geocodes.standard_type(linked_place["gss_code"])) is not None:
                location["geoCodeType"] = derived_type
        if linked_place["lat"] is not None and linked_place["lon"] is not None:
            location["latitude"], location["longitude"] = linked_place["lat"], linked_place["lon"]
        out.append(location)
    return out


# CSV -------------------------------------------------------------------------------------------------------


def _leaves(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """Every value a grant holds, by its path (`recipientOrganization`, 0, `organisationType`): objects and
    lists of objects are walked; text, numbers and lists of them are the values a cell holds."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list) and any(isinstance(item, dict | list) for item in value):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    elif value is not None and value != [] and path:
        yield path, value


@cache
def _segment_titles() -> dict[tuple[str, ...], str]:
    """Each field's part of the official column titles, by its fields' path without list positions:
    (`fundingOrganization`, `location`) is `Location`, as in `Funding Org:Location:Name`."""
    segments: dict[tuple[str, ...], str] = {}
    for path, title in column_titles().items():
        keys = tuple(part for part in path.split("/") if not part.isdigit())
        for depth, segment in enumerate(title.split(":"), start=1):
            segments.setdefault(keys[:depth], segment)
    return segments


def _title(path: tuple[str | int, ...]) -> str:
    """A value's column title as flattentool reads it back: the official titles for the standard's fields,
    a list item after the first numbered (`Beneficiary Location:1:Name`); a field the standard does not
    define keeps its own name (`Recipient Org:Trading Name`, `Internal Reference`)."""
    segments = _segment_titles()
    parts: list[str] = []
    keys: tuple[str, ...] = ()
    standard = True
    for part in path:
        if isinstance(part, int):
            if part:
                parts.append(str(part))
            continue
        keys = (*keys, part)
        standard = standard and keys in segments
        parts.append(segments[keys] if standard else part)
    return ":".join(parts)


@cache
def _column_order() -> dict[str, int]:
    """Each of the standard's column paths (`beneficiaryLocation/0/name`) by its place in the standard's
    own list of columns."""
    return {path: index for index, path in enumerate(column_titles())}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(_cell(item) for item in value)
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    # Text a spreadsheet would evaluate is neutralised; numbers above stay numbers (an amount of -50).
    return neutralise(str(value))


def to_csv(grants: list[Row]) -> str:
    """The official one-sheet spreadsheet, one grant a row: the template's columns, always; then a column
    for every other value the grants hold, so that nothing an import kept is lost: the standard's other
    fields under their official titles (`Recipient Org:Organisation Type`, `Classifications:Code`), a
    second or later funder, recipient, location, programme or planned dates in numbered columns
    (`Beneficiary Location:1:Name`), and the publisher's own fields under their own names. Text, numbers
    and lists of them (joined with `;`) are cells; flattentool, which our import uses, reads it all back.
    A publisher's own fields come back as text, as a spreadsheet holds them."""
    template = list(main_sheet_columns())
    known = {path for _, path in template}
    flat = [{"/".join(map(str, path)): (path, value) for path, value in _leaves(grant)} for grant in grants]
    others: dict[str, tuple[str | int, ...]] = {}
    for values in flat:
        for key, (path, _) in values.items():
            if key not in known and key not in others:
                others[key] = path
    titled = {key: _title(path) for key, path in others.items()}
    first_met = {key: index for index, key in enumerate(others)}
    fields = {name: index for index, name in enumerate(grant_fields())}

    def position(key: str) -> tuple[int, int, tuple[int, ...], int]:
        """The standard's fields first, in its order, a list's items in turn (each item's fields in the
        standard's order); then the publisher's own fields, in the order met."""
        path = others[key]
        official = "/".join("0" if isinstance(part, int) else part for part in path)
        if official in _column_order() and isinstance(path[0], str):
            indexes = tuple(part for part in path if isinstance(part, int))
            return (0, fields.get(path[0], len(fields)), indexes, _column_order()[official])
        return (1, 0, (), first_met[key])

    columns = [*template, *((titled[key], key) for key in sorted(others, key=position))]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([title for title, _ in columns])
    for values in flat:
        writer.writerow([_cell(values[key][1]) if key in values else "" for _, key in columns])
    return out.getvalue()
