"""Every collaboration record seen the same way, in SQL: who takes part and in what role, where it is,
when, and its money; and from that, the story of a place (what is in it, who funds there) and of an
organisation (everything it takes part in). The map and the network read the same views.

The views are common table expressions over the collection tables, so a request runs a fixed number of
queries however much data there is; a place includes every place in it by any path (`place_ancestor`),
each once."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid5

import msgspec
from piccolo.querystring import QueryString

from api.schemas.activity import (
    ActivityRecord,
    BasedOrganisation,
    Funder,
    FunderCoverage,
    FunderTotals,
    FundingLeftOut,
    GrantsPlaced,
    OrganisationActivity,
    OrganisationActivityRecord,
    OrganisationGroup,
    OrganisationRecordGroup,
    OrganisationSummary,
    Participant,
    PlaceActivity,
    PlaceFunders,
    RecordGroup,
)
from api.schemas.common import FieldError, Money, Reference
from api.services.platform.errors import Unprocessable
from api.services.platform.sql import all_of, is_in, join, sql, where
from api.services.records.resource import CENTS, ORGANISATION, PLACE, Row, one, resolve, resolve_filter
from models.tables import Organisation, Place

KINDS = ("interest_group", "co_funding", "research", "grant", "engagement")
# The map's tallies (api/services/views/tally.py) also count, under ids no place has, the records with no
# place at all (NOWHERE), those with one (EVERYWHERE), and for each level those in a place of that level
# or inside one (`at_level`), and the same within each place (`at_level(level, within)`): so a map, of
# everywhere or of one region, can say what it leaves out without counting every record.
NOWHERE = UUID(int=0)
EVERYWHERE = UUID(int=1)


def at_level(level: str, within: UUID | str | None = None) -> UUID:
    """The tally of the records in a place of `level` or inside one; with `within`, of those in a place of
    `level` that is `within` or inside it."""
    if within is None:
        return uuid5(NOWHERE, f"placenet:level:{level}")
    return uuid5(NOWHERE, f"placenet:level:{level}:{as_uuid(within)}")


# The plural names the kinds go by in grouped answers.
GROUPS = {
    "interest_group": "interest_groups",
    "co_funding": "co_funding",
    "research": "research",
    "grant": "grants",
    "engagement": "engagements",
}
# The order an organisation's roles are listed in.
ROLE_ORDER = ("convenor", "lead", "commissioner", "funder", "member", "observer", "partner", "recipient", "participant")


@dataclass(frozen=True)
class Part:
    """One SELECT of a view: its columns and tables, its own conditions, and the column holding its record,
    so that a region can narrow it to the records in it (`in_region`)."""

    select: str
    record: str
    conditions: tuple[str, ...] = ()


# Each kind's records with the span the date filters read. An empty date is open-ended; a grant's time
# starts at its planned start or, failing that, its award; research's ends at its publication.
RECORDS = {
    "interest_group": Part(
        "SELECT 'interest_group' AS kind, id AS record_id, slug, name, starts_on AS starts, ends_on AS ends "
        "FROM interest_group",
        "id",
    ),
    "co_funding": Part("SELECT 'co_funding', id, slug, name, starts_on, ends_on FROM co_funding", "id"),
    "research": Part("SELECT 'research', id, slug, name, CAST(NULL AS DATE), published_on FROM research", "id"),
    "grant": Part(
        "SELECT 'grant', id, slug, name, COALESCE(planned_start_on, awarded_on), planned_end_on FROM \"grant\"", "id"
    ),
    "engagement": Part("SELECT 'engagement', id, slug, name, starts_on, ends_on FROM engagement", "id"),
}
# Who takes part in each kind's records, as what, and (for memberships) from when to when. A co-funding
# arrangement's recipients are the partners carrying out research it paid for.
NO_DATES = "CAST(NULL AS DATE), CAST(NULL AS DATE)"
PARTIES: dict[str, tuple[Part, ...]] = {
    "interest_group": (
        Part(
            f"SELECT 'interest_group', id, convenor, 'convenor', {NO_DATES} FROM interest_group",
            "id",
            ("convenor IS NOT NULL",),
        ),
        Part(
            "SELECT 'interest_group', interest_group, organisation, role, joined_on, left_on FROM membership",
            "interest_group",
        ),
    ),
    "co_funding": (
        Part(f"SELECT 'co_funding', id, lead, 'lead', {NO_DATES} FROM co_funding", "id", ("lead IS NOT NULL",)),
        Part(f"SELECT 'co_funding', co_funding, funder, 'funder', {NO_DATES} FROM contribution", "co_funding"),
        Part(
            f"SELECT 'co_funding', r.funded_by, rp.organisation, 'recipient', {NO_DATES} FROM research r "
            "JOIN research_party rp ON rp.research = r.id",
            "r.funded_by",
            ("r.funded_by IS NOT NULL", "rp.role = 'partner'"),
        ),
    ),
    "research": (Part(f"SELECT 'research', research, organisation, role, {NO_DATES} FROM research_party", "research"),),
    "grant": (
        Part(f"SELECT 'grant', id, funder, 'funder', {NO_DATES} FROM \"grant\"", "id"),
        Part(f"SELECT 'grant', id, recipient, 'recipient', {NO_DATES} FROM \"grant\"", "id"),
    ),
    "engagement": (
        Part(
            f"SELECT 'engagement', id, convenor, 'convenor', {NO_DATES} FROM engagement",
            "id",
            ("convenor IS NOT NULL",),
        ),
        Part(
            f"SELECT 'engagement', engagement, organisation, 'participant', {NO_DATES} FROM engagement_participant",
            "engagement",
        ),
    ),
}
# The table linking each kind's records to places, and its column naming the record. The live counts
# here and the map's tallies (api/services/views/tally.py) both read these, so they cannot disagree.
LINKS = {
    "interest_group": ("interest_group_place", "interest_group"),
    "co_funding": ("co_funding_place", "co_funding"),
    "research": ("research_place", "research"),
    "grant": ("grant_place", '"grant"'),
    "engagement": ("engagement_place", "engagement"),
}
# The places each kind's records are linked to.
PLACES = {
    kind: f"SELECT '{kind}' AS kind, {record} AS record_id, place FROM {table}"
    for kind, (table, record) in LINKS.items()
}
# The money in each kind's records: a grant's amount; the contributions to an arrangement. Each is the
# table holding the amounts and its column naming the record.
MONEY_TABLES = {"grant": ('"grant"', "id"), "co_funding": ("contribution", "co_funding")}


def money(kind: str, *conditions: str) -> str:
    """The amounts of a kind's records (record_id, currency, amount), with any further conditions."""
    table, record = MONEY_TABLES[kind]
    return (
        f"SELECT {record} AS record_id, COALESCE(currency, 'GBP') AS currency, amount FROM {table} "
        f"WHERE {' AND '.join(('amount IS NOT NULL', *conditions))}"
    )


MONEY = {kind: money(kind) for kind in MONEY_TABLES}


# SQL building ----------------------------------------------------------------------------------------------


def union(parts: dict[str, str], kinds: Iterable[str]) -> str:
    return " UNION ALL ".join(parts[kind] for kind in kinds if kind in parts)


def narrowed(part: Part, kind: str, region: bool, records: tuple[UUID, ...] | None = None) -> QueryString:
    """The part of a view, kept to the records of its kind linked to the region's places when there is a
    region, and to `records` when they are given. Each part is narrowed on its own table, from its own
    kind's links: a filter on the union as a whole is a join the planner cannot push into its parts, so it
    would read every record of every part and only then keep the region's (or the few asked for)."""
    conditions = [sql(condition) for condition in part.conditions]
    if region:
        table, link = LINKS[kind]
        conditions.append(
            sql(f"{part.record} IN (SELECT {link} FROM {table} WHERE place IN (SELECT id FROM region_places))")
        )
    if records is not None:
        conditions.append(is_in(part.record, records))
    return sql(f"{part.select}{{}}", where(conditions))


async def run(query: QueryString) -> list[Row]:
    rows: list[Row] = await Organisation.raw("{}", query)
    return rows


def as_uuid(value: Any) -> UUID:
    """A UUID from a raw row: asyncpg gives its own UUID type (a uuid.UUID), SQLite gives text."""
    return value if isinstance(value, UUID) else UUID(value)


def as_date(value: Any) -> datetime.date | None:
    if value is None or isinstance(value, datetime.date):
        return value
    return datetime.date.fromisoformat(str(value))


def as_decimal(value: Any) -> Decimal:
    """A sum from SQL as cents: exact on PostgreSQL; SQLite stores numerics as floats, so round there."""
    return Decimal(str(value)).quantize(CENTS)


def money_list(totals: dict[str, Decimal]) -> list[Money]:
    return [Money(amount=str(totals[currency].quantize(CENTS)), currency=currency) for currency in sorted(totals)]


def summary(row: Row, prefix: str = "organisation_") -> OrganisationSummary:
    return OrganisationSummary(
        id=as_uuid(row[f"{prefix}id"]), slug=row[f"{prefix}slug"], name=row[f"{prefix}name"], kind=row[f"{prefix}kind"]
    )


def ordered_roles(roles: Iterable[str]) -> list[str]:
    return sorted(set(roles), key=ROLE_ORDER.index)


# Which records a request is about -------------------------------------------------------------------------


@dataclass(frozen=True)
class ScopeFilters:
    """The filters a request names its records by, as its query gives them: these kinds (every kind when
    None or empty), that this organisation takes part in and linked to this place or a place below it (each
    a UUID, slug or natural key), whose time includes the day `active_on` and overlaps `date_from`..`date_to`.
    `selection` checks them and resolves the refs into a `Selection`."""

    kinds: Sequence[str] | None = None
    organisation: str | None = None
    place: str | None = None
    active_on: datetime.date | None = None
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None


@dataclass(frozen=True)
class Selection:
    """The collaboration records a request is about, resolved from its `ScopeFilters`: of these kinds, that
    this organisation (by id) takes part in, linked to the place `region` (an id) or a place in it, whose
    time includes `active_on` and overlaps `starts`..`ends`, and (when given) among `records`. Empty filters
    let everything through; `views` is the SQL that selects them."""

    kinds: tuple[str, ...] = KINDS
    organisation: UUID | None = None
    region: UUID | None = None
    active_on: datetime.date | None = None
    starts: datetime.date | None = None
    ends: datetime.date | None = None
    records: tuple[UUID, ...] | None = None

    def in_time(self, starts: str, ends: str) -> list[QueryString]:
        """Conditions that a span from `starts` to `ends` (columns; empty is open-ended) meets the dates."""
        conditions = []
        if self.active_on is not None:
            conditions.append(
                sql(
                    f"({starts} IS NULL OR {starts} <= {{}}) AND ({ends} IS NULL OR {ends} >= {{}})",
                    self.active_on,
                    self.active_on,
                )
            )
        if self.starts is not None:
            conditions.append(sql(f"({ends} IS NULL OR {ends} >= {{}})", self.starts))
        if self.ends is not None:
            conditions.append(sql(f"({starts} IS NULL OR {starts} <= {{}})", self.ends))
        return conditions

    def views(self, *extra: QueryString) -> QueryString:
        """`WITH record_places, [region_places,] records, every_party, parties, selected, *extra`: the views,
        with `selected` the records in scope (kind, record_id, slug, name, starts, ends) and `parties` those
        taking part within the dates (a member that left before them, or joined after, is not one).

        With a place, `region_places` is it and the places below it, and `records` and `every_party` hold
        only the records linked to one of them (`narrowed`), so `selected` needs no place condition of its
        own; so too with `records` (a condition on `selected` as well would only make the planner expect
        no rows, and scan). Every reader of `parties` only asks about records in `selected`, so parties of
        records outside the region are never missed."""
        region = self.region is not None
        conditions = self.in_time("starts", "ends")
        party_conditions = self.in_time("joined_on", "left_on")
        if self.organisation is not None:
            conditions.append(
                sql("record_id IN (SELECT record_id FROM parties WHERE organisation = {})", self.organisation)
            )
        records = join(
            [narrowed(RECORDS[kind], kind, region, self.records) for kind in self.kinds if kind in RECORDS],
            " UNION ALL ",
        )
        every_party = join(
            [narrowed(part, kind, region, self.records) for kind in self.kinds for part in PARTIES.get(kind, ())],
            " UNION ALL ",
        )
        views = [sql(f"record_places (kind, record_id, place) AS ({union(PLACES, self.kinds)})")]
        if region:
            views.append(
                sql("region_places AS (SELECT place AS id FROM place_ancestor WHERE ancestor = {})", self.region)
            )
        views += [
            sql("records (kind, record_id, slug, name, starts, ends) AS ({})", records),
            sql("every_party (kind, record_id, organisation, role, joined_on, left_on) AS ({})", every_party),
            sql(
                "parties AS (SELECT kind, record_id, organisation, role FROM every_party WHERE {})",
                all_of(party_conditions),
            ),
            sql(
                "selected AS (SELECT kind, record_id, slug, name, starts, ends FROM records WHERE {})",
                all_of(conditions),
            ),
            *extra,
        ]
        return sql("WITH {}", join(views, ", "))


def check_dates(date_from: datetime.date | None, date_to: datetime.date | None) -> None:
    """Two well-formed dates that make no range: 422, like any other filter that cannot match."""
    if date_from is not None and date_to is not None and date_from > date_to:
        raise Unprocessable(
            "The date range ends before it starts.",
            [FieldError(field="to", message=f"is before from ({date_from.isoformat()})", location="query")],
        )


async def selection(filters: ScopeFilters) -> Selection:
    """The records the filters name: an unknown ref or a backwards range is a 422 naming the parameter."""
    check_dates(filters.date_from, filters.date_to)
    kinds, organisation, place = filters.kinds, filters.organisation, filters.place
    wanted = tuple(kind for kind in KINDS if kinds is None or not kinds or kind in kinds)
    organisation_id = await resolve_filter(ORGANISATION, organisation, "organisation") if organisation else None
    region = await resolve_filter(PLACE, place, "place") if place else None
    return Selection(
        kinds=wanted,
        organisation=organisation_id,
        region=region,
        active_on=filters.active_on,
        starts=filters.date_from,
        ends=filters.date_to,
    )


async def reference(kind_table: Any, record_id: UUID) -> Reference:
    row = await one(
        kind_table.select(kind_table.id, kind_table.slug, kind_table.name).where(kind_table.id == record_id)
    )
    return msgspec.convert(row, Reference)


# Records with their details -----------------------------------------------------------------------------------


async def _ranked(scope: Selection, limit: int) -> list[Row]:
    """The first `limit` records of each kind in scope, by name, each with its kind's total."""
    ranked = sql(
        "ranked AS (SELECT kind, record_id, slug, name, starts, ends, "
        "ROW_NUMBER() OVER (PARTITION BY kind ORDER BY name, record_id) AS position, "
        "COUNT(*) OVER (PARTITION BY kind) AS total FROM selected)"
    )
    return await run(
        sql("{} SELECT * FROM ranked WHERE position <= {} ORDER BY kind, position", scope.views(ranked), limit)
    )


async def _details(
    scope: Selection,
    record_ids: list[UUID],
) -> tuple[dict[UUID, list[Row]], dict[UUID, list[Reference]], dict[UUID, dict[str, Decimal]]]:
    """Each record's parties (with the organisations named), places and money: three queries for all."""
    if not record_ids:
        return {}, {}, {}
    party_rows = await run(
        sql(
            "{} SELECT p.record_id, p.role, o.id AS organisation_id, o.slug AS organisation_slug, "
            "o.name AS organisation_name, o.kind AS organisation_kind FROM parties p "
            "JOIN organisation o ON o.id = p.organisation WHERE {} ORDER BY o.name, o.id",
            scope.views(),
            is_in("p.record_id", record_ids),
        )
    )
    place_rows = await run(
        sql(
            "{} SELECT rp.record_id, p.id, p.slug, p.name FROM record_places rp JOIN place p ON p.id = rp.place "
            "WHERE {} ORDER BY p.name, p.id",
            scope.views(),
            is_in("rp.record_id", record_ids),
        )
    )
    money_rows = await run(
        sql(
            "SELECT record_id, currency, SUM(amount) AS amount FROM ({}) m WHERE {} GROUP BY record_id, currency",
            sql(" UNION ALL ".join(MONEY.values())),
            is_in("record_id", record_ids),
        )
    )
    parties: dict[UUID, list[Row]] = defaultdict(list)
    for row in party_rows:
        parties[as_uuid(row["record_id"])].append(row)
    places: dict[UUID, list[Reference]] = defaultdict(list)
    for row in place_rows:
        places[as_uuid(row["record_id"])].append(Reference(id=as_uuid(row["id"]), slug=row["slug"], name=row["name"]))
    money: dict[UUID, dict[str, Decimal]] = defaultdict(dict)
    for row in money_rows:
        money[as_uuid(row["record_id"])][row["currency"]] = as_decimal(row["amount"])
    return parties, places, money


def participants(rows: list[Row]) -> list[Participant]:
    roles: dict[UUID, set[str]] = defaultdict(set)
    named: dict[UUID, OrganisationSummary] = {}
    for row in rows:
        organisation = summary(row)
        named.setdefault(organisation.id, organisation)
        roles[organisation.id].add(row["role"])
    return [
        Participant(organisation=organisation, roles=ordered_roles(roles[organisation_id]))  # type: ignore[arg-type]
        for organisation_id, organisation in named.items()
    ]


async def _groups(scope: Selection, limit: int, organisation_id: UUID | None = None) -> dict[str, Any]:
    """Each kind's total and first records, in full; with an organisation, its own roles in each."""
    rows = await _ranked(scope, limit)
    parties, places, money = await _details(scope, [as_uuid(row["record_id"]) for row in rows])
    totals: dict[str, int] = {}
    items: dict[str, list[ActivityRecord]] = defaultdict(list)
    for row in rows:
        record_id = as_uuid(row["record_id"])
        fields: dict[str, Any] = {
            "id": record_id,
            "slug": row["slug"],
            "name": row["name"],
            "kind": row["kind"],
            "starts_on": as_date(row["starts"]),
            "ends_on": as_date(row["ends"]),
            "money": money_list(money.get(record_id, {})),
            "places": places.get(record_id, []),
            "participants": participants(parties.get(record_id, [])),
        }
        totals[row["kind"]] = int(row["total"])
        if organisation_id is None:
            items[row["kind"]].append(ActivityRecord(**fields))
        else:
            own = [r["role"] for r in parties.get(record_id, []) if as_uuid(r["organisation_id"]) == organisation_id]
            items[row["kind"]].append(OrganisationActivityRecord(**fields, roles=ordered_roles(own)))  # type: ignore[arg-type]
    group = RecordGroup if organisation_id is None else OrganisationRecordGroup
    return {GROUPS[kind]: group(total=totals.get(kind, 0), items=items[kind]) for kind in KINDS}  # type: ignore[arg-type]


async def _based_in(region: UUID, organisation_id: UUID | None, limit: int) -> OrganisationGroup:
    """The organisations based in the place or a place in it, by name, with how many there are."""
    conditions = [sql("p.id IN (SELECT place FROM place_ancestor WHERE ancestor = {})", region)]
    if organisation_id is not None:
        conditions.append(sql("o.id = {}", organisation_id))
    rows = await run(
        sql(
            "SELECT o.id, o.slug, o.name, o.kind, p.id AS place_id, p.slug AS place_slug, p.name AS place_name, "
            "COUNT(*) OVER () AS total FROM organisation o JOIN place p ON p.id = o.home_place "
            "{} ORDER BY o.name, o.id LIMIT {}",
            where(conditions),
            limit,
        )
    )
    items = [
        BasedOrganisation(
            id=as_uuid(row["id"]),
            slug=row["slug"],
            name=row["name"],
            kind=row["kind"],
            home_place=Reference(id=as_uuid(row["place_id"]), slug=row["place_slug"], name=row["place_name"]),
        )
        for row in rows
    ]
    return OrganisationGroup(total=int(rows[0]["total"]) if rows else 0, items=items)


# A place's story --------------------------------------------------------------------------------------------


async def place_activity(*, ref: str, filters: ScopeFilters, limit: int) -> PlaceActivity:
    """The place's story; the place is the one `ref` names (`filters.place` is not read)."""
    place_id = await resolve(PLACE, ref)
    in_scope = await selection(replace(filters, place=None))
    in_scope = replace(in_scope, region=place_id)
    based = (
        await _based_in(place_id, in_scope.organisation, limit)
        if not filters.kinds or "organisation" in filters.kinds
        else OrganisationGroup(total=0, items=[])
    )
    groups = (
        await _groups(in_scope, limit)
        if in_scope.kinds
        else {name: RecordGroup(total=0, items=[]) for name in GROUPS.values()}
    )
    return PlaceActivity(place=await reference(Place, place_id), organisations=based, **groups)


async def place_funders(*, ref: str, filters: ScopeFilters, rank_by: str, limit: int) -> PlaceFunders:
    """Grant funders and contributors to co-funding arrangements linked to the place or below it, within
    the dates of `filters` (its kinds, organisation and place are not read)."""
    place_id = await resolve(PLACE, ref)
    in_scope = await selection(
        ScopeFilters(
            kinds=["grant", "co_funding"],
            active_on=filters.active_on,
            date_from=filters.date_from,
            date_to=filters.date_to,
        )
    )
    in_scope = replace(in_scope, region=place_id)
    funding = sql(
        "funding (kind, organisation, currency, amount) AS ("
        "SELECT 'grant', g.funder, COALESCE(g.currency, 'GBP'), g.amount "
        'FROM "grant" g WHERE g.id IN (SELECT record_id FROM selected) '
        "UNION ALL SELECT 'co_funding', c.funder, COALESCE(c.currency, 'GBP'), c.amount FROM contribution c "
        "WHERE c.co_funding IN (SELECT record_id FROM selected))"
    )
    rows = await run(
        sql(
            "{} SELECT f.organisation AS organisation_id, o.slug AS organisation_slug, o.name AS organisation_name, "
            "o.kind AS organisation_kind, f.kind, f.currency, COUNT(*) AS n, SUM(f.amount) AS amount "
            "FROM funding f JOIN organisation o ON o.id = f.organisation "
            "GROUP BY f.organisation, o.slug, o.name, o.kind, f.kind, f.currency",
            in_scope.views(funding),
        )
    )
    counts: dict[UUID, dict[str, int]] = defaultdict(lambda: {"grant": 0, "co_funding": 0})
    sums: dict[UUID, dict[str, dict[str, Decimal]]] = defaultdict(lambda: {"grant": {}, "co_funding": {}})
    named: dict[UUID, OrganisationSummary] = {}
    for row in rows:
        organisation = summary(row)
        named[organisation.id] = organisation
        counts[organisation.id][row["kind"]] += int(row["n"])
        if row["amount"] is not None:
            sums[organisation.id][row["kind"]][row["currency"]] = as_decimal(row["amount"])

    def gbp(organisation_id: UUID) -> Decimal:
        return sum((sums[organisation_id][kind].get("GBP", Decimal(0)) for kind in ("grant", "co_funding")), Decimal(0))

    def key(organisation_id: UUID) -> tuple[Any, ...]:
        count = sum(counts[organisation_id].values())
        first, second = (count, gbp(organisation_id)) if rank_by == "count" else (gbp(organisation_id), count)
        return (-first, -second, named[organisation_id].name, str(organisation_id))

    ranked = sorted(named, key=key)
    funders = [
        Funder(
            rank=position,
            organisation=named[organisation_id],
            grants=counts[organisation_id]["grant"],
            awarded=money_list(sums[organisation_id]["grant"]),
            contributions=counts[organisation_id]["co_funding"],
            contributed=money_list(sums[organisation_id]["co_funding"]),
        )
        for position, organisation_id in enumerate(ranked[:limit], start=1)
    ]
    totals = FunderTotals(
        funders=len(ranked),
        grants=sum(c["grant"] for c in counts.values()),
        awarded=money_list(_add(s["grant"] for s in sums.values())),
        contributions=sum(c["co_funding"] for c in counts.values()),
        contributed=money_list(_add(s["co_funding"] for s in sums.values())),
    )
    return PlaceFunders(
        place=await reference(Place, place_id),
        totals=totals,
        funders=funders,
        left_out=await _funding_left_out(in_scope, place_id),
    )


# The money a place's funders leave out: each kind with its place links, its span (as the views read
# it) and the table holding its money.
FUNDING = {
    "grant": ('"grant"', "grant_place", '"grant"', "COALESCE(r.planned_start_on, r.awarded_on)", "r.planned_end_on"),
    "co_funding": ("co_funding", "co_funding_place", "co_funding", "r.starts_on", "r.ends_on"),
}


async def _funding_left_out(scope: Selection, place_id: UUID) -> list[FundingLeftOut]:
    """Grants and co-funding within the scope's dates that the place's totals do not count: placed at places
    holding it and at nothing inside it (`broader`), or at no place (`unplaced`: read from the map's tallies
    when no dates narrow them, so a request does not count every record). One statement."""
    dated = scope.active_on is not None or scope.starts is not None or scope.ends is not None
    left_out = []
    for kind, (table, links, record, starts, ends) in FUNDING.items():
        broader = [
            *scope.in_time(starts, ends),
            sql("x.place IN (SELECT id FROM holding)"),
            sql(
                f"NOT EXISTS (SELECT 1 FROM {links} y WHERE y.{record} = x.{record} "
                "AND y.place IN (SELECT id FROM inside))"
            ),
        ]
        left_out.append(
            sql(
                f"SELECT DISTINCT 'broader', '{kind}', r.id FROM {links} x JOIN {table} r ON r.id = x.{record}{{}}",
                where(broader),
            )
        )
        if dated:
            nowhere = [
                *scope.in_time(starts, ends),
                sql(f"NOT EXISTS (SELECT 1 FROM {links} y WHERE y.{record} = r.id)"),
            ]
            left_out.append(sql(f"SELECT 'unplaced', '{kind}', r.id FROM {table} r{{}}", where(nowhere)))
    money = (
        "SELECT l.reason, l.kind, COALESCE(m.currency, 'GBP') AS currency, COUNT(DISTINCT l.record_id) AS n, "
        "CAST(SUM(m.amount) AS VARCHAR(40)) AS amount FROM left_out l JOIN {table} m ON m.{record} = l.record_id "
        "WHERE l.kind = '{kind}' AND m.amount IS NOT NULL GROUP BY l.reason, l.kind, COALESCE(m.currency, 'GBP')"
    )
    statement = [
        sql(
            "WITH holding AS (SELECT ancestor AS id FROM place_ancestor WHERE place = {} AND ancestor <> {}), "
            "inside AS (SELECT place AS id FROM place_ancestor WHERE ancestor = {}), "
            "left_out (reason, kind, record_id) AS ({}) "
            "SELECT reason, kind, '' AS currency, COUNT(*) AS n, NULL AS amount FROM left_out GROUP BY reason, kind",
            place_id,
            place_id,
            place_id,
            join(left_out, " UNION ALL "),
        ),
        sql(money.format(table='"grant"', record="id", kind="grant")),
        sql(money.format(table="contribution", record="co_funding", kind="co_funding")),
    ]
    if not dated:
        statement.append(
            sql(
                "SELECT 'unplaced', kind, currency, records, amount FROM place_tally WHERE place = {} AND {}",
                NOWHERE,
                is_in("kind", list(FUNDING)),
            )
        )
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"grant": 0, "co_funding": 0})
    sums: dict[str, dict[str, dict[str, Decimal]]] = defaultdict(lambda: {"grant": {}, "co_funding": {}})
    for row in await run(join(statement, " UNION ALL ")):
        if not row["currency"]:
            counts[row["reason"]][row["kind"]] += int(row["n"])
        elif row["amount"] is not None:
            sums[row["reason"]][row["kind"]][row["currency"]] = as_decimal(row["amount"])
    return [
        FundingLeftOut(
            reason=reason,
            grants=counts[reason]["grant"],
            awarded=money_list(sums[reason]["grant"]),
            co_funding=counts[reason]["co_funding"],
            contributed=money_list(sums[reason]["co_funding"]),
        )
        for reason in ("broader", "unplaced")
        if any(counts[reason].values())
    ]


def _add(totals: Iterable[dict[str, Decimal]]) -> dict[str, Decimal]:
    added: dict[str, Decimal] = defaultdict(Decimal)
    for by_currency in totals:
        for currency, amount in by_currency.items():
            added[currency] += amount
    return dict(added)


# An organisation's story ------------------------------------------------------------------------------------


async def organisation_activity(*, ref: str, filters: ScopeFilters, limit: int) -> OrganisationActivity:
    """The organisation's story; the organisation is the one `ref` names (`filters.organisation` is not read)."""
    organisation_id = await resolve(ORGANISATION, ref)
    in_scope = await selection(replace(filters, organisation=None))
    in_scope = replace(in_scope, organisation=organisation_id)
    groups = await _groups(in_scope, limit, organisation_id)
    return OrganisationActivity(
        organisation=await reference(Organisation, organisation_id),
        **groups,
        coverage=await _coverage(organisation_id, in_scope),
    )


async def _coverage(funder_id: UUID, scope: Selection) -> FunderCoverage:
    """The grants the funder made within the scope's dates, with a place and without (one statement)."""
    _, _, _, starts, ends = FUNDING["grant"]
    conditions = [sql("r.funder = {}", funder_id), *scope.in_time(starts, ends)]
    rows = await run(
        sql(
            "SELECT CASE WHEN EXISTS (SELECT 1 FROM grant_place p WHERE p.\"grant\" = r.id) THEN 'placed' "
            "ELSE 'unplaced' END AS placed, COALESCE(r.currency, 'GBP') AS currency, COUNT(*) AS n, "
            'SUM(r.amount) AS amount FROM "grant" r{} GROUP BY 1, 2',
            where(conditions),
        )
    )
    counts: dict[str, int] = defaultdict(int)
    sums: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for row in rows:
        counts[row["placed"]] += int(row["n"])
        if row["amount"] is not None:
            sums[row["placed"]][row["currency"]] = as_decimal(row["amount"])
    return FunderCoverage(
        **{how: GrantsPlaced(grants=counts[how], awarded=money_list(sums[how])) for how in ("placed", "unplaced")}
    )
