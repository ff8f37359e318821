"""Importing a 360Giving file, all or nothing: read it, validate it (schema, then quality checks), match
or create its funders and recipients by org-id, map its beneficiary locations to places by GSS code
(current or former) or, for a location with no code, by its name through the gazetteer (a grant none of
whose locations names a place falls back on its recipient's address), and upsert its grants by
360Giving identifier in one transaction. Fields Placenet has no column for are kept with each
grant (`standard`, `extra`), so an export gives them back."""

from __future__ import annotations

import asyncio
import datetime
import functools
import gc
import json
import re
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

from piccolo.table import Table

from api.schemas.imports import (
    AmbiguousLocation,
    Coverage,
    CoverageCount,
    FileFormat,
    GrantCounts,
    ImportReport,
    MissingGrants,
    OrganisationCounts,
    PlaceCandidate,
    PlaceCounts,
    UnplacedLocation,
)
from api.services.giving360 import convert, gazetteer, geocodes, orgids, sandbox, validate
from api.services.giving360.convert import Converted
from api.services.giving360.issues import LISTED_WARNINGS, FileTooLarge, ImportRefused, Issues, quoted
from api.services.giving360.limits import LIMITS, Limits
from api.services.giving360.reference import grant_field_names
from api.services.platform.actors import Actor
from api.services.platform.errors import Forbidden
from api.services.platform.sql import Statement, insert_rows, listed
from api.services.records import changes, crud
from api.services.records import resource as records
from api.services.records.unit_of_work import Work, unit_of_work
from api.services.resources import grants, organisations
from models.tables import Grant, GrantPlace, Organisation, Place

MAX_FILE_BYTES = LIMITS.file_bytes
CHUNK = 500
# Records written, or named for the change feed, at a time: each is a statement or two (a COPY, a list
# parameter) whatever its length, so the chunks are as long as progress reports can be sparse.
BULK_CHUNK = 5000
NAME_LENGTH = 300
URL_PATTERN = re.compile(r"^https?://[^\s\x00]+$")
# A 360Giving identifier begins with its publisher's registered prefix: `360G-blagravetrust-...`.
PUBLISHER_PREFIX = re.compile(r"^(360G-[^-]+-)", re.IGNORECASE)
# Grants missing from a newer file: how many of their identifiers the report lists, and a warning quotes.
LISTED_MISSING = 100
QUOTED_MISSING = 10
PLACENET_GRANT = re.compile(r"^360G-placenet-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")

# Grants to individuals have no recipient organisation: they share this one, so none is lost.
INDIVIDUALS_SLUG = "individual-recipients"
INDIVIDUALS_NAME = "Individual recipients"

# Where a grant keeps its package's publisher and licence: among the fields the standard does not define
# (`extra`), under the name the 360Giving Datastore gives the same facts about a grant's file.
DATASET_FIELD = "dataset"
# The publisher our own exports name: a copy, not a source, so importing one records no publisher of its own
# (each exported grant carries its source's `dataset` already).
PLACENET_PUBLISHER = {"name": "Placenet"}

MONEY_FIELDS = (
    ("amountAwarded", "amount"),
    ("amountAppliedFor", "amount_applied_for"),
    ("amountDisbursed", "amount_disbursed"),
)
TEXT_FIELDS = (
    ("url", "url", 2000),
    ("dataSource", "data_source", 2000),
    ("regrantType", "regrant_type", 20),
    ("locationScope", "location_scope", 20),
)
JSON_COLUMNS = ("standard", "extra", "unmatched_locations", "matched_locations")
MONEY_COLUMNS = ("amount", "amount_applied_for", "amount_disbursed")

# What planning asks of the database, a list at a time (one parameter however long).
ORGANISATIONS_BY_ORG_ID = Statement("SELECT id, org_id, name FROM organisation WHERE org_id {in}")
ORGANISATIONS_BY_SLUG = Statement("SELECT id, slug, name FROM organisation WHERE slug {in}")
GRANTS_BY_IDENTIFIER = Statement('SELECT id, identifier FROM "grant" WHERE identifier {in}')
PLACES_NAMED = Statement("SELECT id, slug, name FROM place WHERE id {in} ORDER BY name, id")
# The places a location name may name: every level the gazetteer knows, and the places each is in.
GAZETTEER_PLACES = Statement("SELECT id, gss_code, name, level FROM place WHERE level {in}")
GAZETTEER_ANCESTORS = Statement(
    "SELECT a.place, a.ancestor FROM place_ancestor a JOIN place p ON p.id = a.place WHERE p.level {in}"
)
# How many unplaced location strings, and ambiguous names, the report lists.
LISTED_UNPLACED = 10
LISTED_AMBIGUOUS = 100
# The order in which a grant placed several ways is counted: by the surest of its matches.
MATCH_ORDER: tuple[gazetteer.MatchedBy, ...] = (
    "code",
    "former_code",
    "name",
    "alias",
    "near_name",
    "recipient_address",
)
# A recipient's address places its grant only below these levels: that a recipient is in the UK (or in
# Wales) says nothing of where its grant is spent, and placing national data there would smear it.
TOO_BROAD_FOR_AN_ADDRESS = frozenset({"uk", "nation"})
SLUGS_TAKEN: dict[type[Table], Statement] = {
    table: Statement(f'SELECT slug FROM "{table._meta.tablename}" WHERE slug {{in}}') for table in (Organisation, Grant)
}

Row = dict[str, Any]
Progress = Callable[[int], Callable[[], None]]
T = TypeVar("T")


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


@dataclass
class OrganisationPlan:
    """An organisation the file names as a funder or recipient: found by org-id, or to be created."""

    key: str
    org_id: str | None
    name: str
    kind: str
    description: str | None = None
    website: str | None = None
    id: UUID | None = None
    slug: str | None = None
    new: bool = False
    # Every name the file gives this org-id, with how many grants give it, in the order first given; and
    # where the first name other than `name` is, for the warning that says so.
    names: dict[str, int] = field(default_factory=dict)
    first_other_name: tuple[str | int, ...] | None = None
    held_name: str | None = None


@dataclass
class Location:
    """A published beneficiary location and the place it names, if any."""

    published: Row
    code: str | None
    place: UUID | None = None
    matched_by: gazetteer.MatchedBy | None = None
    # With no code: the places its name might mean, when it names several (then nothing is guessed).
    candidates: tuple[gazetteer.GazetteerPlace, ...] = ()

    @property
    def name(self) -> str | None:
        name = self.published.get("name")
        return name if isinstance(name, str) and name.strip() else None


@dataclass(frozen=True)
class Address:
    """A recipient organisation's address as published (`recipientOrganization[0]`: `addressLocality`,
    `addressRegion`, `addressCountry`, `postalCode`; in a spreadsheet `Recipient Org:City`, `:County`,
    `:Country`, `:Postal Code`). The street is never used, nor is the postcode: Placenet holds no open
    postcode data, so a postcode places nothing."""

    locality: str | None = None
    region: str | None = None
    country: str | None = None
    postal_code: str | None = None

    @classmethod
    def of(cls, organisation: Any) -> Address | None:
        """The address of a published recipient organisation, or None when it gives none."""
        if not isinstance(organisation, dict):
            return None

        def text(name: str) -> str | None:
            value = organisation.get(name)
            return value.strip() if isinstance(value, str) and value.strip() else None

        address = cls(text("addressLocality"), text("addressRegion"), text("addressCountry"), text("postalCode"))
        return address if address != cls() else None

    @property
    def text(self) -> str:
        """The address as the report names it: its town, county and country, as published."""
        return ", ".join(part for part in (self.locality, self.region, self.country) if part)


@dataclass
class AddressMatch:
    """What a recipient's address placed its grant at, or why it placed nothing (then `reason` says:
    `address_unrecognised`, `address_ambiguous`, `address_country_only` or `address_postcode_only`)."""

    text: str
    place: UUID | None = None
    reason: str | None = None
    candidates: tuple[gazetteer.GazetteerPlace, ...] = ()


@dataclass
class GrantPlan:
    """One grant of the file: its column values, what it links to, and what importing does to it."""

    index: int
    identifier: str
    values: Row
    funder: str
    recipient: str
    locations: list[Location]
    existing: UUID | None = None
    slug: str | None = None
    action: str = "create"
    # The recipient's address, and what it placed the grant at when no beneficiary location did.
    address: Address | None = None
    address_match: AddressMatch | None = None

    def place_ids(self) -> list[UUID]:
        places = [loc.place for loc in self.locations if loc.place is not None]
        if self.address_match is not None and self.address_match.place is not None:
            places.append(self.address_match.place)
        return list(dict.fromkeys(places))

    def placed_by_location(self) -> bool:
        return any(loc.place is not None for loc in self.locations)

    def matched_locations(self) -> list[Row] | None:
        """How each location that named a place was matched; then the recipient's address, when it placed
        the grant (the address is not a beneficiary location, and is not exported as one)."""
        matched = [_matched(loc) for loc in self.locations if loc.place is not None]
        if self.address_match is not None and self.address_match.place is not None:
            matched.append(
                {
                    "name": self.address_match.text,
                    "geo_code": None,
                    "place": str(self.address_match.place),
                    "matched_by": "recipient_address",
                }
            )
        return matched or None

    def unmatched_locations(self) -> list[Row] | None:
        return [_unmatched(loc) for loc in self.locations if loc.place is None] or None


@dataclass
class Plan:
    grants: list[GrantPlan]
    organisations: dict[str, OrganisationPlan]
    places: PlaceCounts = field(default_factory=lambda: PlaceCounts(0, 0, 0, 0))
    coverage: Coverage = field(default_factory=Coverage)
    missing: list[str] = field(default_factory=list)  # identifiers held from the publisher, not in the file
    retiring: bool = False  # whether the missing grants are to be retired (deleted)

    def changed(self) -> list[GrantPlan]:
        return [g for g in self.grants if g.action != "unchanged"]


# The entry point --------------------------------------------------------------------------------------------


async def import_file(
    content: bytes,
    *,
    file_format: FileFormat,
    file_name: str,
    actor: Actor,
    source_url: str | None = None,
    dry_run: bool = False,
    retire_missing: bool = False,
    progress: Progress | None = None,
    today: datetime.date | None = None,
    limits: Limits = LIMITS,
) -> ImportReport:
    """Import one 360Giving file. Raises ImportRefused, having written nothing, when it has errors, and
    LimitExceeded when it breaks a limit (limits.py). With `retire_missing`, the publisher's grants the file
    no longer has (`_missing_grants`) are deleted in the same unit of work, each a deletion in the change
    feed; without it they are only reported."""
    if len(content) > limits.file_bytes:
        raise FileTooLarge(f"The file is {len(content) // 1_000_000} MB; files of up to 50 MB can be imported.")
    with _no_cycle_collection():
        return await _import(
            content, file_format, file_name, actor, source_url, dry_run, retire_missing, progress, today, limits
        )


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Python's cycle collector left off while a file is imported. A file's grants are millions of
    objects, all alive until the import ends, and each full collection walks them all: a seventh of a
    20,000-grant import's time (bench/results). Memory is still freed as usual when nothing refers to it;
    only cycles wait, until the collector is back on. Two imports at once leave it on when both end."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


async def _import(
    content: bytes,
    file_format: FileFormat,
    file_name: str,
    actor: Actor,
    source_url: str | None,
    dry_run: bool,
    retire_missing: bool,
    progress: Progress | None,
    today: datetime.date | None,
    limits: Limits,
) -> ImportReport:
    # Reading, validating and mapping the file need no database: they run in the sandbox, a process of
    # their own within the limits, so a hostile file cannot take this process's memory or event loop.
    converted, grants, organisations, issues = await sandbox.run(
        _prepare, content, file_format, today or _today(), limits, limits=limits
    )
    url = (source_url or _package_url(converted.package) or file_name)[:2000]
    writer = replace(actor, source="360giving", source_url=url)
    # A dry run plans and checks exactly as the real run does (authorisation included), so it is refused
    # where the real run would be; it only stops before writing.
    if dry_run:
        plan = await _plan(grants, organisations, converted, issues, retire_missing)
        await _authorise_updates(plan, writer)
    else:
        async with unit_of_work(writer) as work:
            plan = await _plan(grants, organisations, converted, issues, retire_missing)
            await _authorise_updates(plan, writer)
            await _write(plan, work, progress)
            await _retire(plan, work)
    return _report(plan, issues, file_name, file_format, url, dry_run)


def _today() -> datetime.date:
    return datetime.datetime.now(datetime.UTC).date()


def _prepare(
    content: bytes, file_format: FileFormat, today: datetime.date, limits: Limits
) -> tuple[Converted, list[GrantPlan], dict[str, OrganisationPlan], Issues]:
    """Everything that needs no database (read, validate, map to columns), run in the sandbox."""
    issues = Issues()
    try:
        converted = _read_and_validate(content, file_format, issues, today, limits)
    except RecursionError:
        issues.error("unreadable", "The file is nested too deeply to be 360Giving data.")
        raise ImportRefused(issues.errors) from None
    grants, organisations = _map(converted, issues)
    return converted, grants, organisations, issues


def _read_and_validate(
    content: bytes, file_format: FileFormat, issues: Issues, today: datetime.date, limits: Limits
) -> Converted:
    converted = convert.read(content, file_format, issues, limits)
    issues.refuse_if_errors()
    assert converted is not None
    # JSON text holds a NUL only as the escape \u0000 (a bare one is not JSON), so most files need no search.
    might_hold_nul = file_format != "json" or b"\\u0000" in content
    if might_hold_nul and _remove_nul(converted.package):
        issues.warn("nul_removed", "The file has NUL characters in its text; they were removed.")
    validate.check_schema(converted, issues)
    issues.refuse_if_errors()
    validate.check_quality(converted, issues, today)
    issues.refuse_if_errors()
    return converted


def _remove_nul(value: Any) -> bool:
    """Take NUL characters out of every string, in place (PostgreSQL cannot store them); True if any."""
    found = False
    if isinstance(value, dict):
        for key in list(value):
            item = value[key]
            if isinstance(item, str) and "\x00" in item:
                value[key], found = item.replace("\x00", ""), True
            elif _remove_nul(item):
                found = True
            if isinstance(key, str) and "\x00" in key:
                value[key.replace("\x00", "")] = value.pop(key)
                found = True
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, str) and "\x00" in item:
                value[index], found = item.replace("\x00", ""), True
            elif _remove_nul(item):
                found = True
    return found


def _package_url(package: Any) -> str | None:
    """Where the package says it can be downloaded or found, when it says."""
    for key in ("downloadURL", "accessURL"):
        value = package.get(key) if isinstance(package, dict) else None
        if isinstance(value, str) and URL_PATTERN.match(value):
            return value
    return None


# Mapping the file to columns (no database) -----------------------------------------------------------------


def _map(converted: Converted, issues: Issues) -> tuple[list[GrantPlan], dict[str, OrganisationPlan]]:
    organisations: dict[str, OrganisationPlan] = {}
    grants = []
    dataset = package_dataset(converted.package)
    for index, grant in enumerate(converted.package["grants"]):
        funder = _organisation(grant["fundingOrganization"][0], "funder", organisations, (index, "fundingOrganization"))
        if grant.get("recipientOrganization"):
            recipient = _organisation(
                grant["recipientOrganization"][0], "recipient", organisations, (index, "recipientOrganization")
            )
            if recipient is funder:
                issues.warn(
                    "self_grant",
                    f"The recipient's org-id is the funder's own ({funder.key}): the file says the funder funded "
                    "itself. The grant is imported as published; check the recipient's org-id at the source.",
                    grant["id"],
                    converted.where(("grants", index, "recipientOrganization", 0, "id")),
                )
        else:
            recipient = organisations.setdefault(
                INDIVIDUALS_SLUG, OrganisationPlan(INDIVIDUALS_SLUG, None, INDIVIDUALS_NAME, "other")
            )
        values = grant_values(grant)
        if dataset and DATASET_FIELD not in (values["extra"] or {}):
            values["extra"] = {**(values["extra"] or {}), DATASET_FIELD: dataset}
        if len(grant["title"]) > NAME_LENGTH:
            issues.warn(
                "title_truncated",
                f"The title is {len(grant['title'])} characters; Placenet shows the first {NAME_LENGTH} and keeps "
                "it whole in its 360Giving data.",
                grant["id"],
                converted.where(("grants", index, "title")),
            )
        locations = [
            Location(dict(loc), geocodes.normalise(loc.get("geoCode")))
            for loc in grant.get("beneficiaryLocation") or []
        ]
        address = Address.of((grant.get("recipientOrganization") or [None])[0])
        grants.append(GrantPlan(index, grant["id"], values, funder.key, recipient.key, locations, address=address))
    return grants, organisations


def _organisation(
    published: Row, role: str, found: dict[str, OrganisationPlan], at: tuple[int, str]
) -> OrganisationPlan:
    """The plan for the organisation `published` names, made the first time its org-id is seen; every
    name the file gives an org-id is counted, so that a file naming one org-id two ways is reported."""
    key = published["id"].strip()
    given = published.get("name")
    given_name = given.strip()[:NAME_LENGTH] if isinstance(given, str) else ""
    if key in found:
        plan = found[key]
        if role == "funder":
            plan.kind = "funder"
        if given_name:
            if given_name not in plan.names and plan.first_other_name is None and given_name != plan.name:
                plan.first_other_name = ("grants", at[0], at[1], 0, "name")
            plan.names[given_name] = plan.names.get(given_name, 0) + 1
        return plan
    name = given_name or key
    website = published.get("url")
    description = published.get("description")
    plan = OrganisationPlan(
        key=key,
        org_id=key,
        name=name[:NAME_LENGTH],
        kind=orgids.kind_for(key, role, published.get("charityNumber")),
        description=(description.strip() or None) if isinstance(description, str) else None,
        website=website if isinstance(website, str) and len(website) <= 2000 and URL_PATTERN.match(website) else None,
        names={given_name: 1} if given_name else {},
    )
    found[key] = plan
    return plan


def package_dataset(package: Any) -> Row | None:
    """Who published a JSON package and under what licence, as it says (`publisher`, `license`), to be
    kept with each of its grants and carried into exports; None when it says neither (a spreadsheet never
    does). A grant's own `dataset` field, such as our own export gives back, is kept instead; our own
    export's publisher (Placenet) is not a source, and is not recorded."""
    if not isinstance(package, dict):
        return None
    dataset: Row = {}
    publisher = package.get("publisher")
    if isinstance(publisher, dict) and publisher and publisher != PLACENET_PUBLISHER:
        dataset["publisher"] = publisher
    if isinstance(package.get("license"), str) and package["license"].strip():
        dataset["license"] = package["license"].strip()
    return dataset or None


def grant_values(grant: Row) -> Row:
    """A grant's column values. `standard` keeps, as published, every standard field no column holds
    (and any value a column cannot hold exactly); `extra` keeps the fields the standard does not define.
    The published values are shared, not copied: only the first planned dates and programme are
    changed here, and those are copied first."""
    known = grant_field_names()
    standard = {key: value for key, value in grant.items() if key in known}
    extra = {key: value for key, value in grant.items() if key not in known}
    values: Row = {"identifier": standard.pop("id"), "name": grant["title"][:NAME_LENGTH]}
    if len(grant["title"]) <= NAME_LENGTH:
        del standard["title"]
    values["description"] = standard.pop("description", None) or None
    values["currency"] = standard.pop("currency", None)
    for name, column in MONEY_FIELDS:
        values[column] = validate.money(grant.get(name))
        if values[column] is not None:
            del standard[name]
    values["awarded_on"] = validate.date_of(grant.get("awardDate"))
    if values["awarded_on"] is not None:
        del standard["awardDate"]
    values["planned_start_on"], values["planned_end_on"] = _planned_dates(standard)
    for name, column, length in TEXT_FIELDS:
        value = grant.get(name)
        fits = isinstance(value, str) and len(value) <= length
        values[column] = value if fits else None
        if fits:
            del standard[name]
    values["from_open_call"] = {"Yes": True, "No": False}.get(grant.get("fromOpenCall", ""))
    if values["from_open_call"] is not None:
        del standard["fromOpenCall"]
    values["programme"] = _programme(standard)
    values["standard"] = standard or None
    values["extra"] = extra or None
    return values


def _planned_dates(standard: Row) -> tuple[datetime.date | None, datetime.date | None]:
    """The first planned dates' start and end, taken out of `standard` when they are whole dates."""
    planned = standard.get("plannedDates")
    if not planned or not isinstance(planned[0], dict):
        return None, None
    first = dict(planned[0])
    standard["plannedDates"] = [first, *planned[1:]]
    start, end = validate.date_of(first.get("startDate")), validate.date_of(first.get("endDate"))
    if start is not None:
        del first["startDate"]
    if end is not None:
        del first["endDate"]
    if not first and len(planned) == 1:
        del standard["plannedDates"]
    return start, end


def _programme(standard: Row) -> str | None:
    programmes = standard.get("grantProgramme")
    if not programmes or not isinstance(programmes[0], dict):
        return None
    title = programmes[0].get("title")
    if not isinstance(title, str) or not title or len(title) > NAME_LENGTH:
        return None
    first = {key: value for key, value in programmes[0].items() if key != "title"}
    standard["grantProgramme"] = [first, *programmes[1:]]
    if not first and len(programmes) == 1:
        del standard["grantProgramme"]
    return title


# Planning against the database ----------------------------------------------------------------------------


async def _plan(
    grants: list[GrantPlan],
    organisations: dict[str, OrganisationPlan],
    converted: Converted,
    issues: Issues,
    retire_missing: bool = False,
) -> Plan:
    plan = Plan(grants, organisations, retiring=retire_missing)
    await _match_organisations(organisations)
    _warn_of_names(organisations, converted, issues)
    plan.places = await _match_places(grants, issues, converted.where)
    plan.coverage = _coverage(grants)
    await _match_grants(grants)
    plan.missing = await _missing_grants(grants, organisations, issues, retire_missing)
    for grant in grants:
        grant.values["funder"] = organisations[grant.funder].id
        grant.values["recipient"] = organisations[grant.recipient].id
        grant.values["unmatched_locations"] = grant.unmatched_locations()
        grant.values["matched_locations"] = grant.matched_locations()
    await _compare(grants)
    await _assign_slugs(
        Grant,
        [
            (g, [records.slugify(g.identifier), records.slugify(f"{g.identifier} {g.values['name']}")])
            for g in grants
            if g.existing is None
        ],
        "grant",
    )
    return plan


async def _match_organisations(organisations: dict[str, OrganisationPlan]) -> None:
    """Each organisation's stored record, by org-id; by slug for Placenet's own `360G-placenet-<slug>`
    identifiers and for the shared individual recipients."""
    by_slug = {
        key.removeprefix(orgids.PLACENET_PREFIX) if key != INDIVIDUALS_SLUG else key: key
        for key in organisations
        if key.startswith(orgids.PLACENET_PREFIX) or key == INDIVIDUALS_SLUG
    }
    org_ids = [key for key in organisations if key != INDIVIDUALS_SLUG]
    for row in await ORGANISATIONS_BY_ORG_ID.rows(listed(org_ids)):
        organisations[row["org_id"]].id = row["id"]
        organisations[row["org_id"]].held_name = row["name"]
    for row in await ORGANISATIONS_BY_SLUG.rows(listed(by_slug)):
        found = organisations[by_slug[row["slug"]]]
        if found.id is None:
            found.id, found.held_name = row["id"], row["name"]
    new = [plan for plan in organisations.values() if plan.id is None]
    for plan in new:
        plan.id, plan.new = uuid.uuid4(), True
    await _assign_slugs(
        Organisation,
        [(p, [records.slugify(p.name), records.slugify(f"{p.name} {p.org_id or ''}")]) for p in new],
        "organisation",
    )


def _warn_of_names(organisations: dict[str, OrganisationPlan], converted: Converted, issues: Issues) -> None:
    """A warning for each org-id the file gives two or more names, naming them and the one kept: an
    organisation already held keeps its own name (a file never renames it); a new one takes the first
    name the file gives it, as the file's first grant to name it is the one read first."""
    for plan in organisations.values():
        if len(plan.names) < 2:
            continue
        shown = list(plan.names.items())[:5]
        given = "; ".join(f"'{quoted(name)}' ({count} grant{'s' if count != 1 else ''})" for name, count in shown)
        more = f" and {len(plan.names) - len(shown)} more" if len(plan.names) > len(shown) else ""
        if plan.new:
            kept = f"'{quoted(plan.name)}' was kept, the first name the file gives it, for the new organisation"
        else:
            kept = (
                f"Placenet already holds it as '{quoted(plan.held_name)}', which was kept: an import never renames an "
                "organisation"
            )
        issues.warn(
            "org_id_names",
            f"The org-id {plan.key} has {len(plan.names)} names in the file: {given}{more}. {kept}.",
            None,
            converted.where(plan.first_other_name) if plan.first_other_name else None,
        )


async def _assign_slugs(table: type[Table], wanted: list[tuple[Any, list[str]]], fallback: str) -> None:
    """A slug for each new record: its first candidate not taken (in the database or this file), else
    the last candidate numbered."""
    candidates = sorted({c for _, options in wanted for c in options if c})
    taken = {row["slug"] for row in await SLUGS_TAKEN[table].rows(listed(candidates))}
    for record, options in wanted:
        free = [c for c in options if c and c not in taken]
        last = next((c for c in reversed(options) if c), fallback)
        choice = free[0] if free else await crud.free_slug(table, last, taken)
        taken.add(choice)
        record.slug = choice


async def _match_places(
    grants: list[GrantPlan],
    issues: Issues,
    where_in_file: Callable[[tuple[Any, ...]], str | None],
    names: gazetteer.Gazetteer | None = None,
) -> PlaceCounts:
    """Each location's place by GSS code, current or former; a location with no code, by its name through
    the gazetteer (a name that names several places is not guessed). A code that names no place stays on
    the grant as an unmatched location, with a warning, and is not overruled by the name beside it: the
    code is what the publisher chose. A grant none of whose locations names a place is placed by its
    recipient's address, when that names one (`_match_address`). Places are never created from a file.
    `names` is the gazetteer, when the caller has it already."""
    codes = sorted({loc.code for g in grants for loc in g.locations if loc.code and geocodes.is_gss(loc.code)})
    found: dict[str, UUID] = {}
    for code_chunk in chunks(codes):
        found.update(await records.resolve_many(records.PLACE, code_chunk))
    places: dict[UUID, Row] = {}
    for id_chunk in chunks(list(set(found.values()))):
        rows = await Place.select(Place.id, Place.gss_code, Place.name).where(Place.id.is_in(id_chunk))
        places.update({row["id"]: row for row in rows})
    former = {code for code, place_id in found.items() if places[place_id]["gss_code"] != code}
    # The gazetteer is read only when a name is to be matched: a file placed wholly by code never reads it.
    if names is None and any(
        any(loc.code is None for loc in g.locations)
        or (g.address is not None and not any(loc.code in found for loc in g.locations))
        for g in grants
    ):
        names = await _gazetteer()
    unknown: set[str] = set()
    without_code = 0
    for grant in grants:
        for position, loc in enumerate(grant.locations):
            where = functools.partial(
                where_in_file, ("grants", grant.index, "beneficiaryLocation", position, "geoCode")
            )
            if loc.code is None:
                without_code += 1
                assert names is not None
                _match_name(
                    loc,
                    names,
                    grant.identifier,
                    issues,
                    functools.partial(where_in_file, ("grants", grant.index, "beneficiaryLocation", position, "name")),
                )
            elif loc.code in found:
                loc.place = found[loc.code]
                loc.matched_by = "code"
                if loc.code in former:
                    loc.matched_by = "former_code"
                    place = places[loc.place]
                    issues.warn(
                        "geo_code_former",
                        f"{loc.code} is a former code of {place['name']} ({place['gss_code']}); the grant is linked "
                        "to the current place and keeps the code as published.",
                        grant.identifier,
                        where(),
                    )
            else:
                unknown.add(loc.code)
                if geocodes.is_gss(loc.code):
                    issues.warn(
                        "geo_code_unknown",
                        f"{geocodes.describe(loc.code)} names no place Placenet knows; it is kept on the grant as "
                        "an unmatched location.",
                        grant.identifier,
                        where(),
                    )
        grant.address_match = None
        if grant.address is not None and not grant.placed_by_location():
            assert names is not None
            grant.address_match = _match_address(grant.address, names)
    return PlaceCounts(matched=len(found), by_former_code=len(former), unknown=len(unknown), without_code=without_code)


async def _gazetteer() -> gazetteer.Gazetteer:
    """The places a name may name, as the database holds them now (two statements)."""
    levels = listed(gazetteer.LEVEL_DEPTH)
    within: dict[UUID, set[UUID]] = defaultdict(set)
    for row in await GAZETTEER_ANCESTORS.rows(levels):
        within[_uuid(row["place"])].add(_uuid(row["ancestor"]))
    return gazetteer.build(
        gazetteer.GazetteerPlace(
            id=(place_id := _uuid(row["id"])),
            gss_code=row["gss_code"],
            name=row["name"],
            level=row["level"],
            within=frozenset(within[place_id] | {place_id}),
        )
        for row in await GAZETTEER_PLACES.rows(levels)
    )


def _uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def _match_name(
    loc: Location, names: gazetteer.Gazetteer, identifier: str, issues: Issues, where: Callable[[], str | None]
) -> None:
    """A location without a code, matched by its name, or warned of: ambiguous, or naming no place."""
    if loc.name is None:
        issues.warn(
            "location_without_code",
            "A beneficiary location has neither a geographic code nor a name, so it matches no place; it is kept "
            "on the grant.",
            identifier,
            where(),
        )
        return
    match = names.match(loc.name, publisher_prefix(identifier))
    if match.place is not None:
        loc.place, loc.matched_by = match.place.id, match.matched_by
        if match.matched_by == "near_name":
            place = match.place
            issues.warn(
                "location_misspelt",
                f"The beneficiary location '{quoted(loc.name)}' has no geographic code and names no place as "
                f"written; it is read as {place.name}{f' ({place.gss_code})' if place.gss_code else ''}, the one "
                "place whose name it is a letter or two from. Give its GSS code, or correct the name, to be sure.",
                identifier,
                where(),
            )
    elif match.ambiguous:
        loc.candidates = match.candidates
        listed_candidates = ", ".join(f"{p.name} ({p.gss_code})" for p in match.candidates)
        issues.warn(
            "location_ambiguous",
            f"The beneficiary location '{quoted(loc.name)}' has no geographic code and its name may mean any of "
            f"{listed_candidates}: it is not guessed, and is kept on the grant. Give its GSS code to place it "
            "(or, for a publisher that always means one of them, add a reviewed hint to "
            "fixtures/places/aliases.json `publisher_hints`).",
            identifier,
            where(),
        )
    else:
        issues.warn(
            "location_without_code",
            f"The beneficiary location '{quoted(loc.name)}' has no geographic code and its name names no place "
            "Placenet knows (names are matched apart from case, punctuation and council words, and a misspelling only "
            "when one place is clearly meant); it is kept on the grant.",
            identifier,
            where(),
        )


def _match_address(address: Address, names: gazetteer.Gazetteer) -> AddressMatch:
    """The place a recipient's address names, by name through the gazetteer as a composite
    'town, county' (the town is the specific part; the county breaks ties, and a town the gazetteer does
    not know places nothing, rather than the county: a postal county is often not the council). A
    nation given as the country breaks ties too ('Newport, Wales'); the UK, which every candidate is in,
    is left out. An address that names only a country, or places only at the UK's or a nation's level,
    places nothing (`address_country_only`): a recipient being in the UK says nothing of where its grant
    goes. A postcode alone places nothing either (`address_postcode_only`)."""
    specific = [part for part in (address.locality, address.region) if part]
    if not specific:
        reason = "address_country_only" if address.country else "address_postcode_only"
        return AddressMatch(address.text, reason=reason)
    nation = names.match(address.country).place if address.country else None
    context = [address.country] if address.country and nation is not None and nation.level != "uk" else []
    match = names.match(", ".join([*specific, *context]))
    if match.place is not None:
        if match.place.level in TOO_BROAD_FOR_AN_ADDRESS:
            return AddressMatch(address.text, reason="address_country_only")
        return AddressMatch(address.text, place=match.place.id)
    if match.ambiguous:
        return AddressMatch(address.text, reason="address_ambiguous", candidates=match.candidates)
    return AddressMatch(address.text, reason="address_unrecognised")


def _unmatched(loc: Location) -> Row:
    if loc.code is not None:
        reason = "unknown_code" if geocodes.is_gss(loc.code) else "not_a_gss_code"
    else:
        reason = "ambiguous_name" if loc.candidates else "no_code"
    derived = geocodes.code_type(loc.code)
    published = loc.published
    return {
        "name": published.get("name") if isinstance(published.get("name"), str) else None,
        "geo_code": published.get("geoCode") if isinstance(published.get("geoCode"), str) else None,
        "geo_code_type": published.get("geoCodeType") if isinstance(published.get("geoCodeType"), str) else None,
        "area_type": derived[1] if derived else None,
        "reason": reason,
    }


def _matched(loc: Location) -> Row:
    published = loc.published
    return {
        "name": published.get("name") if isinstance(published.get("name"), str) else None,
        "geo_code": published.get("geoCode") if isinstance(published.get("geoCode"), str) else None,
        "place": str(loc.place),
        "matched_by": loc.matched_by,
    }


def _coverage(grants: Iterable[GrantPlan]) -> Coverage:
    """How much of the file reaches the map (CoverageTally)."""
    tally = CoverageTally()
    for grant in grants:
        tally.add(grant)
    return tally.coverage()


@dataclass
class _Money:
    grants: int = 0
    amounts: dict[str, Decimal] = field(default_factory=dict)

    def add(self, grant: GrantPlan) -> None:
        """One more grant, and its amount awarded in its currency (a grant with no amount adds none)."""
        self.grants += 1
        amount, currency = grant.values.get("amount"), grant.values.get("currency")
        if amount is not None and isinstance(currency, str):
            self.amounts[currency] = self.amounts.get(currency, Decimal(0)) + Decimal(str(amount))

    def counted(self) -> CoverageCount:
        return CoverageCount(grants=self.grants, amounts=dict(sorted(self.amounts.items())))


@dataclass
class CoverageTally:
    """Coverage counted a grant at a time (a file's grants, or stored grants a chunk at a time): grants
    and money placed, by the surest way each grant was placed, and unplaced; what was left unplaced and
    why (every location that placed nothing, the recipient's address of each grant it did not place, and
    each unplaced grant with neither), counted by reason and the commonest listed; the ambiguous names."""

    placed: dict[str, _Money] = field(default_factory=lambda: {how: _Money() for how in MATCH_ORDER})
    everyone: _Money = field(default_factory=_Money)
    unplaced: _Money = field(default_factory=_Money)
    without_location: int = 0
    strings: Counter[tuple[str, str]] = field(default_factory=Counter)
    ambiguous: dict[str, tuple[int, tuple[gazetteer.GazetteerPlace, ...]]] = field(default_factory=dict)

    def add(self, grant: GrantPlan) -> None:
        ways = {loc.matched_by for loc in grant.locations if loc.place is not None}
        if grant.address_match is not None and grant.address_match.place is not None:
            ways.add("recipient_address")
        if ways:
            self.placed[next(how for how in MATCH_ORDER if how in ways)].add(grant)
            self.everyone.add(grant)
        else:
            self.unplaced.add(grant)
            self.without_location += not grant.locations
        for loc in grant.locations:
            if loc.place is not None:
                continue
            unmatched = _unmatched(loc)
            self.strings[(loc.name or unmatched["geo_code"] or "", unmatched["reason"])] += 1
            if loc.candidates and loc.name is not None:
                self._ambiguous(loc.name, loc.candidates)
        address = grant.address_match
        if address is not None and address.place is None and address.reason is not None:
            # A postcode alone is counted as one string: each is different, and none places anything yet.
            self.strings[("" if address.reason == "address_postcode_only" else address.text, address.reason)] += 1
            if address.candidates:
                self._ambiguous(address.text, address.candidates)
        elif not ways and not grant.locations:
            self.strings[("", "no_location")] += 1

    def _ambiguous(self, name: str, candidates: tuple[gazetteer.GazetteerPlace, ...]) -> None:
        count, _ = self.ambiguous.get(name, (0, ()))
        self.ambiguous[name] = (count + 1, candidates)

    def coverage(self) -> Coverage:
        reasons: Counter[str] = Counter()
        for (_, reason), count in self.strings.items():
            reasons[reason] += count
        return Coverage(
            placed=self.everyone.counted(),
            by_code=self.placed["code"].counted(),
            by_former_code=self.placed["former_code"].counted(),
            by_name=self.placed["name"].counted(),
            by_alias=self.placed["alias"].counted(),
            by_near_name=self.placed["near_name"].counted(),
            by_recipient_address=self.placed["recipient_address"].counted(),
            unplaced=self.unplaced.counted(),
            unplaced_without_location=self.without_location,
            unplaced_reasons=dict(sorted(reasons.items())),  # type: ignore[arg-type]
            unplaced_locations=[
                UnplacedLocation(location=text, reason=reason, count=count)  # type: ignore[arg-type]
                for (text, reason), count in sorted(self.strings.items(), key=lambda item: (-item[1], item[0]))[
                    :LISTED_UNPLACED
                ]
            ],
            ambiguous=[
                AmbiguousLocation(
                    name=name,
                    count=count,
                    candidates=[PlaceCandidate(gss_code=p.gss_code, name=p.name, level=p.level) for p in candidates],
                )
                for name, (count, candidates) in sorted(
                    self.ambiguous.items(), key=lambda item: (-item[1][0], item[0])
                )[:LISTED_AMBIGUOUS]
            ],
        )


async def _match_grants(grants: list[GrantPlan]) -> None:
    """Each grant's stored record by 360Giving identifier; Placenet's own `360G-placenet-<uuid>`
    identifiers (given to grants that had none) find the grant they were made for."""
    by_identifier = {g.identifier: g for g in grants}
    for row in await GRANTS_BY_IDENTIFIER.rows(listed(by_identifier)):
        by_identifier[row["identifier"]].existing = row["id"]
    own = {UUID(m[1]): g for g in grants if g.existing is None and (m := PLACENET_GRANT.match(g.identifier))}
    for id_chunk in chunks(list(own)):
        rows = await Grant.select(Grant.id).where(Grant.id.is_in(id_chunk), Grant.identifier.is_null())
        for row in rows:
            own[row["id"]].existing = row["id"]
            del own[row["id"]].values["identifier"]


def publisher_prefix(identifier: str) -> str | None:
    """The publisher's registered prefix an identifier begins with (`360G-blagravetrust-`), if any."""
    found = PUBLISHER_PREFIX.match(identifier)
    return found.group(1).lower() if found else None


async def _missing_grants(
    grants: list[GrantPlan], organisations: dict[str, OrganisationPlan], issues: Issues, retire: bool = False
) -> list[str]:
    """The grants held from the file's publisher that the file no longer has, with a warning for each funder that
    has some; nothing is deleted unless the import was asked to retire them (`retire`). "From the publisher"
    means: the grant's funder is one of the file's funders (by org-id), it was last written by a 360Giving
    import (source `360giving`), and its identifier has a publisher prefix the file uses for that funder's
    grants. So grants typed in through the API, and another publisher's grants naming the same funder, are
    never reported; a publisher that splits its grants across files (one a year) sees the other files' grants
    listed."""
    in_file = {g.identifier for g in grants}
    prefixes: dict[UUID, set[str]] = {}
    names: dict[UUID, str] = {}
    for grant in grants:
        funder = organisations[grant.funder]
        prefix = publisher_prefix(grant.identifier)
        if funder.id is not None and not funder.new and prefix is not None:
            prefixes.setdefault(funder.id, set()).add(prefix)
            names[funder.id] = funder.key
    missing: dict[UUID, list[str]] = {}
    for funder_chunk in chunks(list(prefixes)):
        rows = await Grant.select(Grant.identifier, Grant.funder).where(
            Grant.funder.is_in(funder_chunk), Grant.source == "360giving", Grant.identifier.is_not_null()
        )
        for row in rows:
            identifier = row["identifier"]
            if identifier not in in_file and publisher_prefix(identifier) in prefixes[row["funder"]]:
                missing.setdefault(row["funder"], []).append(identifier)
    for funder_id, identifiers in missing.items():
        identifiers.sort()
        quoted = ", ".join(identifiers[:QUOTED_MISSING])
        more = f" and {len(identifiers) - QUOTED_MISSING} more" if len(identifiers) > QUOTED_MISSING else ""
        count = f"{len(identifiers)} grant" + ("s" if len(identifiers) != 1 else "")
        issues.warn(
            "grants_missing",
            f"{count} of {names[funder_id]} held from earlier files of this publisher "
            f"({', '.join(sorted(prefixes[funder_id]))}...) are not in this file: {quoted}{more}. "
            + (
                "Asked to retire missing grants, the import deletes them; each deletion is in the change feed and "
                "the grant's history."
                if retire
                else "Nothing was deleted; if the publisher withdrew them, import the file again with "
                "retire_missing=true (--retire-missing), or delete or correct them through the API."
            ),
        )
    return sorted(identifier for identifiers in missing.values() for identifier in identifiers)


async def _compare(grants: list[GrantPlan]) -> None:
    """Which stored grants the file would change: column by column, and their places as a set."""
    existing = {g.existing: g for g in grants if g.existing is not None}
    ids = list(existing)
    for chunk in chunks(ids):
        rows = {row["id"]: row for row in await Grant.select().where(Grant.id.is_in(list(chunk)))}
        links: dict[UUID, set[UUID]] = {grant_id: set() for grant_id in chunk}
        for link in await GrantPlace.select(GrantPlace.grant, GrantPlace.place).where(
            GrantPlace.grant.is_in(list(chunk))
        ):
            links[link["grant"]].add(link["place"])
        for grant_id in chunk:
            plan = existing[grant_id]
            same = _same_values(rows[grant_id], plan.values) and links[grant_id] == set(plan.place_ids())
            plan.action = "unchanged" if same else "update"


def _same_values(row: Row, values: Row) -> bool:
    for column, wanted in values.items():
        stored = row[column]
        if column in JSON_COLUMNS and isinstance(stored, str):
            stored = json.loads(stored)
        elif column in MONEY_COLUMNS:
            stored, wanted = _cents(stored), _cents(wanted)
        if stored != wanted:
            return False
    return True


def _cents(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(validate.CENTS)


# Writing ---------------------------------------------------------------------------------------------------


def _for_database(values: Row) -> Row:
    return {
        column: json.dumps(value, ensure_ascii=False) if column in JSON_COLUMNS and value is not None else value
        for column, value in values.items()
    }


async def _write(plan: Plan, work: Work, progress: Progress | None) -> None:
    """The new organisations, then every new and changed grant and its places, inside the caller's unit of
    work, and one change-feed entry for each, as any other write makes; the rows are prepared here and
    handed to the unit of work, so they go in by COPY."""
    changed = plan.changed()
    new_organisations = [o for o in plan.organisations.values() if o.new]
    if not changed and not new_organisations:
        return
    tick = progress(len(changed)) if progress else (lambda: None)
    actor, at, stamp = work.actor, work.at, work.stamp()
    updated = [g for g in changed if g.action == "update"]
    before = await _fetch_grants([g.existing for g in updated if g.existing])
    organisation_rows = [
        {
            "id": o.id,
            "slug": o.slug,
            "name": o.name,
            "org_id": o.org_id,
            "kind": o.kind,
            "description": o.description,
            "website": o.website,
            "home_place": None,
            **stamp,
        }
        for o in new_organisations
    ]
    await insert_rows(Organisation, organisation_rows)
    new_grants = [g for g in changed if g.action == "create"]
    for grant in new_grants:
        grant.existing = uuid.uuid4()
    logged = await _write_new(organisation_rows, new_grants, stamp, work, tick)
    for grant in updated:
        columns: dict[Any, Any] = {Grant._meta.get_column_by_name(k): v for k, v in _for_database(grant.values).items()}
        columns[Grant.updated_at] = columns[Grant.imported_at] = at
        columns[Grant.version] = Grant.version + 1
        columns[Grant.source], columns[Grant.source_url] = actor.source, actor.source_url
        await Grant.update(columns).where(Grant.id == grant.existing)
        tick()
    for update_chunk in chunks(updated):
        await GrantPlace.delete().where(GrantPlace.grant.is_in([g.existing for g in update_chunk]))
    await insert_rows(GrantPlace, [{"grant": g.existing, "place": place} for g in updated for place in g.place_ids()])
    after = await _fetch_grants([g.existing for g in updated if g.existing])
    updates: list[changes.Entry] = [("update", before[g.existing], after[g.existing]) for g in updated if g.existing]
    update_rows = changes.entry_rows(collection="grants", entries=updates, actor=actor, at=at)
    logged.update((g.existing, pair) for g, pair in zip(updated, zip(updates, update_rows, strict=True), strict=True))
    # In the file's order: its organisations, then its grants.
    for ids in ([o["id"] for o in organisation_rows], [g.existing for g in changed]):
        work.logged([logged[i][1] for i in ids], [logged[i][0] for i in ids])


Logged = dict[UUID | None, tuple[changes.Entry, Row]]  # a record's change-feed entry, and its row


async def _retire(plan: Plan, work: Work) -> None:
    """The publisher's grants the file no longer has, deleted when the import was asked to retire them: each
    a deletion in the change feed (and the grant's history), as a DELETE through the API makes; their
    places go with them."""
    if not plan.retiring or not plan.missing:
        return
    ids = [row["id"] for row in await GRANTS_BY_IDENTIFIER.rows(listed(plan.missing))]
    before = await _fetch_grants(ids)
    for id_chunk in chunks(ids):
        await Grant.delete().where(Grant.id.is_in(id_chunk))
    entries: list[changes.Entry] = [("delete", before[grant_id], None) for grant_id in ids]
    work.logged(changes.entry_rows(collection="grants", entries=entries, actor=work.actor, at=work.at), entries)


async def _write_new(
    organisation_rows: list[Row], new_grants: list[GrantPlan], stamp: Row, work: Work, tick: Callable[[], None]
) -> Logged:
    """The new grants and their places written, and the change-feed entries of them and of the new
    organisations made meanwhile: everything the entries need from the database is read first, then
    they are made in turns with the COPY of the grants, so that Python works while PostgreSQL does (an
    import waited on it for a fifth of its time). A made record is shown from the row written, named as a
    read names it, not read back."""
    created = [{"id": g.existing, "slug": g.slug, **g.values, **stamp, "imported_at": work.at} for g in new_grants]
    organisation_names = await records.names_for(organisations.RESOURCE, organisation_rows)
    grant_names = await records.names_for(grants.RESOURCE, created, linked={"places": await _places_named(new_grants)})
    writing = asyncio.create_task(_copy_new_grants(new_grants, created, tick))
    try:
        logged = await _made(organisations.RESOURCE, "organisations", organisation_rows, organisation_names, work)
        logged.update(await _made(grants.RESOURCE, "grants", created, grant_names, work))
    finally:
        await writing
    return logged


async def _copy_new_grants(new_grants: list[GrantPlan], created: list[Row], tick: Callable[[], None]) -> None:
    for start in range(0, len(created), BULK_CHUNK):
        await insert_rows(Grant, created[start : start + BULK_CHUNK])
        for _ in created[start : start + BULK_CHUNK]:
            tick()
    await insert_rows(
        GrantPlace, [{"grant": g.existing, "place": place} for g in new_grants for place in g.place_ids()]
    )


async def _made(
    resource: records.Resource[Any], collection: str, rows: list[Row], names: records.Names, work: Work
) -> Logged:
    """The change-feed entries of records just made, a chunk at a time, letting the COPY go on between."""
    logged: Logged = {}
    for chunk in chunks(rows):
        entries: list[changes.Entry] = [("create", None, made) for made in records.structs(resource, chunk, names)]
        made_rows = changes.entry_rows(collection=collection, entries=entries, actor=work.actor, at=work.at)
        logged.update((row["id"], pair) for row, pair in zip(chunk, zip(entries, made_rows, strict=True), strict=True))
        await asyncio.sleep(0)
    return logged


async def _places_named(new_grants: list[GrantPlan]) -> dict[UUID, list[Row]]:
    """Each new grant's places as a read names them: id, slug and name, in name order as the database
    orders names."""
    rows = await PLACES_NAMED.rows(listed({place for g in new_grants for place in g.place_ids()}))
    position = {row["id"]: index for index, row in enumerate(rows)}
    named = {row["id"]: row for row in rows}
    return {
        g.existing: [named[p] for p in sorted(g.place_ids(), key=position.__getitem__)]
        for g in new_grants
        if g.existing
    }


async def _fetch_grants(ids: list[UUID]) -> dict[UUID, Any]:
    found: dict[UUID, Any] = {}
    for chunk in chunks(ids):
        found.update({grant.id: grant for grant in await records.fetch(grants.RESOURCE, chunk)})
    return found


async def _authorise_updates(plan: Plan, actor: Actor) -> None:
    """A partner updates only the grants its organisation contributed; an admin, any. Checked on the plan,
    before anything is written, so a dry run is refused exactly where the real run would be."""
    if actor.is_admin:
        return
    updated = {g.existing: g.identifier for g in plan.grants if g.action == "update" and g.existing is not None}
    if plan.retiring:
        updated.update({row["id"]: row["identifier"] for row in await GRANTS_BY_IDENTIFIER.rows(listed(plan.missing))})
    contributors: dict[UUID, UUID | None] = {}
    for id_chunk in chunks(list(updated)):
        rows = await Grant.select(Grant.id, Grant.contributed_by).where(Grant.id.is_in(id_chunk))
        contributors.update((row["id"], row["contributed_by"]) for row in rows)
    others = [
        identifier
        for grant_id, identifier in updated.items()
        if contributors.get(grant_id) is None or contributors[grant_id] != actor.organisation_id
    ]
    if others:
        named = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
        raise Forbidden(
            f"The file would update (or retire) grants another organisation contributed ({named}): only that "
            "organisation or an admin may change them."
        )


# The report ------------------------------------------------------------------------------------------------


def _report(
    plan: Plan, issues: Issues, file_name: str, file_format: FileFormat, url: str, dry_run: bool
) -> ImportReport:
    actions = [g.action for g in plan.grants]
    organisations = plan.organisations.values()
    return ImportReport(
        file=file_name,
        format=file_format,
        source_url=url,
        dry_run=dry_run,
        written=not dry_run
        and (bool(plan.changed()) or any(o.new for o in organisations) or (plan.retiring and bool(plan.missing))),
        grants=GrantCounts(
            in_file=len(actions),
            created=actions.count("create"),
            updated=actions.count("update"),
            unchanged=actions.count("unchanged"),
        ),
        organisations=OrganisationCounts(
            matched=sum(not o.new for o in organisations), created=sum(o.new for o in organisations)
        ),
        places=plan.places,
        coverage=plan.coverage,
        missing_grants=MissingGrants(
            count=len(plan.missing),
            identifiers=plan.missing[:LISTED_MISSING],
            retired=len(plan.missing) if plan.retiring else 0,
        ),
        warning_counts=issues.warning_counts(),
        warnings=issues.warnings[:LISTED_WARNINGS],
        warnings_omitted=max(0, len(issues.warnings) - LISTED_WARNINGS),
    )


def _money(count: CoverageCount) -> str:
    return "".join(f", {currency} {amount:,.2f}" for currency, amount in count.amounts.items())


def report_lines(report: ImportReport) -> Iterable[str]:
    """The report as a person reads it on a terminal."""
    g, o, p = report.grants, report.organisations, report.places
    yield f"{report.file} ({report.format}), recorded as from {report.source_url}"
    yield f"grants: {g.in_file} in the file: {g.created} created, {g.updated} updated, {g.unchanged} unchanged"
    yield f"organisations: {o.matched} matched, {o.created} created"
    yield (
        f"places: {p.matched} codes matched ({p.by_former_code} by a former code), {p.unknown} unknown codes, "
        f"{p.without_code} locations without a code"
    )
    c = report.coverage
    yield (
        f"coverage: {c.placed.grants} of {g.in_file} grants placed{_money(c.placed)} (by code {c.by_code.grants}, "
        f"former code {c.by_former_code.grants}, name {c.by_name.grants}, alias {c.by_alias.grants}, "
        f"near name {c.by_near_name.grants}, recipient address {c.by_recipient_address.grants}); "
        f"{c.unplaced.grants} unplaced{_money(c.unplaced)}, {c.unplaced_without_location} of them with no location"
    )
    if c.unplaced_reasons:
        yield "  unplaced by reason: " + ", ".join(f"{reason} {count}" for reason, count in c.unplaced_reasons.items())
    for unplaced in c.unplaced_locations:
        yield f"  unplaced: {unplaced.location or '(none)'!r} x{unplaced.count} ({unplaced.reason})"
    for ambiguous in c.ambiguous:
        yield (
            f"  ambiguous: {ambiguous.name!r} x{ambiguous.count} may mean "
            + ", ".join(f"{p.name} ({p.gss_code})" for p in ambiguous.candidates)
        )
    if report.missing_grants.count:
        retired = report.missing_grants.retired
        yield (
            f"missing: {report.missing_grants.count} grants held from this publisher are not in the file "
            + (f"({retired} retired)" if retired else "(nothing deleted; see the grants_missing warning)")
        )
    total = sum(report.warning_counts.values())
    yield f"warnings: {total}" + (
        " (" + ", ".join(f"{kind} {count}" for kind, count in report.warning_counts.items()) + ")" if total else ""
    )
    if report.dry_run:
        yield "dry run: nothing written"
    elif not report.written:
        yield "nothing to change"
