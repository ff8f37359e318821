"""What every resource shares on the way out: how a collection is described (`Kind`, `Resource`), refs
to ids, rows to Structs, keyset pages and the filters they take. Writes are crud.py's. Each resource
module describes itself with a `Resource` and adds only its own rules and filters."""

from __future__ import annotations

import datetime
import functools
import operator
import re
import unicodedata
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any, Generic, TypeVar
from uuid import UUID

import msgspec
from piccolo.columns import JSON, Column
from piccolo.custom_types import Combinable
from piccolo.table import Table

from api.schemas.common import FieldError, Page
from api.services.platform.errors import NotFound, Unprocessable
from api.services.platform.sql import Statement, listed
from api.services.records.cursors import decode_list_cursor, encode_list_cursor
from api.services.records.unit_of_work import Work
from models.tables import CoFunding, Grant, Organisation, OrganisationAlias, Place, PlaceAncestor, PlaceFormerCode

Read = TypeVar("Read", bound=msgspec.Struct)
PageT = TypeVar("PageT", bound=Page[Any])
Row = dict[str, Any]
Expander = Callable[[list[UUID]], Awaitable[Mapping[UUID, Row]]]
# What a resource writes beyond its table's own columns, in the same unit of work (a group's memberships).
AfterWrite = Callable[[UUID, Row, Work], Awaitable[None]]

CENTS = Decimal("0.01")


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:100].rstrip("-")


def any_of(conditions: Iterable[Combinable]) -> Combinable:
    return functools.reduce(operator.or_, conditions)


@dataclass(frozen=True)
class Kind:
    """A collection that refs point into: its table, what to call a record, and its natural keys."""

    table: type[Table]
    label: str
    natural_keys: tuple[str, ...] = ()
    # The collection's name in URLs and in the change feed.
    collection: str = ""

    @cached_property
    def naming(self) -> Statement:
        """Rows whose slug, natural key or id is one of the refs (arguments: the refs once per text key,
        then the refs that are UUIDs)."""
        keys = ("slug", *self.natural_keys)
        columns = ", ".join(f'"{key}"' for key in ("id", *keys))
        where = " OR ".join(f'"{key}" {{in}}' for key in (*keys, "id"))
        return Statement(f'SELECT {columns} FROM "{self.table._meta.tablename}" WHERE {where}')

    @cached_property
    def names(self) -> Statement:
        return Statement(f'SELECT "id", "slug", "name" FROM "{self.table._meta.tablename}" WHERE "id" {{in}}')


ORGANISATION = Kind(Organisation, "organisation", ("org_id",), "organisations")
PLACE = Kind(Place, "place", ("gss_code",), "places")
CO_FUNDING = Kind(CoFunding, "co-funding arrangement", (), "co-funding")
GRANT = Kind(Grant, "grant", ("identifier",), "grants")


@dataclass(frozen=True)
class LinkSet:
    """A list field stored in a join table: `field` lists the `target` records of one record."""

    field: str
    table: type[Table]
    owner: str
    target: str
    kind: Kind
    role: str | None = None

    def owner_column(self) -> Column:
        return self.table._meta.get_column_by_name(self.owner)

    def target_column(self) -> Column:
        return self.table._meta.get_column_by_name(self.target)

    @cached_property
    def _named_targets(self) -> Statement:
        role = "" if self.role is None else ' AND l."role" = {}'
        return Statement(
            f'SELECT l."{self.owner}" AS "owner", x."id" AS "id", x."slug" AS "slug", x."name" AS "name" '
            f'FROM "{self.table._meta.tablename}" AS l JOIN "{self.kind.table._meta.tablename}" AS x '
            f'ON x."id" = l."{self.target}" WHERE l."{self.owner}" {{in}}{role} ORDER BY x."name", x."id"'
        )

    async def named_targets(self, owner_ids: Sequence[UUID]) -> dict[UUID, list[Row]]:
        """Each owner's targets, named (id, slug, name) and in name order, in one statement."""
        args = [listed(owner_ids)] + ([] if self.role is None else [self.role])
        by_owner: dict[UUID, list[Row]] = defaultdict(list)
        for row in await self._named_targets.records(*args):
            by_owner[row["owner"]].append({"id": row["id"], "slug": row["slug"], "name": row["name"]})
        return by_owner


@dataclass(frozen=True)
class Resource(Generic[Read]):
    """How one collection maps between its table and its Structs."""

    kind: Kind
    read: type[Read]
    references: Mapping[str, Kind] = field(default_factory=dict)
    links: tuple[LinkSet, ...] = ()
    money: bool = False
    slug_from: tuple[str, ...] = ("name",)
    # Whether a slug made from a name that is taken is numbered (`core-costs-2`): records such as grants
    # share titles. Where a second record of the same name is more likely the same body (an
    # organisation, a place), it stays a 409, so the client looks before it duplicates.
    number_taken_slugs: bool = True
    # Fields beyond the table's own columns: read (`expand`) and written (`after_write`, in the
    # same transaction) by the resource's module.
    expand: Expander | None = None
    # Fields worked out from the row's own columns alone (no query).
    derive: Callable[[Row], Row] | None = None
    after_write: AfterWrite | None = None
    # Reference data (places) that only admins change; other records are changed by the
    # organisation that contributed them, or an admin.
    admin_only: bool = False

    @property
    def table(self) -> type[Table]:
        return self.kind.table

    def column(self, name: str) -> Column:
        return self.table._meta.get_column_by_name(name)

    @cached_property
    def json_columns(self) -> list[str]:
        return [c._meta.name for c in self.table._meta.columns if isinstance(c, JSON)]

    @cached_property
    def named(self) -> dict[str, Kind]:
        """The reference fields, each named (id, slug, name) in a read: who contributed it, and the rest."""
        return {"contributed_by": ORGANISATION, **self.references}

    @cached_property
    def _select(self) -> str:
        """The table's columns with each reference's id, slug and name joined in, as `field.name`."""
        columns = [f't."{c._meta.db_column_name}" AS "{c._meta.name}"' for c in self.table._meta.columns]
        joins = []
        for n, (name, kind) in enumerate(self.named.items()):
            columns += [f'r{n}."{key}" AS "{name}.{key}"' for key in ("id", "slug", "name")]
            target, column = kind.table._meta.tablename, self.column(name)._meta.db_column_name
            joins.append(f'LEFT JOIN "{target}" AS r{n} ON r{n}."id" = t."{column}"')
        return f'SELECT {", ".join(columns)} FROM "{self.table._meta.tablename}" AS t {" ".join(joins)}'

    @cached_property
    def by_ref(self) -> Statement:
        """Rows whose slug, natural key or id is the ref (arguments: the ref once per text key, then its
        UUID or None)."""
        keys = " OR ".join(f't."{key}" = {{}}' for key in ("slug", *self.kind.natural_keys))
        return Statement(f'{self._select} WHERE {keys} OR t."id" = {{}}')

    @cached_property
    def by_ids(self) -> Statement:
        return Statement(f'{self._select} WHERE t."id" {{in}}')


# Refs ------------------------------------------------------------------------------------------------


def _as_uuid(ref: str) -> UUID | None:
    try:
        return UUID(ref)
    except ValueError:
        return None


async def one(query: Any) -> Row:
    """The single row a query must find: one the caller has just resolved or written."""
    row: Row | None = await query.first()
    if row is None:
        raise LookupError("a row that was just resolved has gone")
    return row


def _named_by(kind: Kind, rows: Iterable[Row], wanted: set[str]) -> dict[str, Row]:
    found: dict[str, Row] = {}
    for row in rows:
        for value in (str(row["id"]), row["slug"], *(row[key] for key in kind.natural_keys)):
            if value in wanted:
                found[value] = row
    return found


async def resolve_many(kind: Kind, refs: Iterable[str]) -> dict[str, UUID]:
    """Each ref that names a record (by UUID, slug, natural key or, for places, a former GSS code; for
    organisations, a ref of one merged into it) mapped to its id, in at most two queries. Refs that name
    nothing are left out."""
    wanted = set(refs)
    if not wanted:
        return {}
    text_refs = listed(wanted)
    uuids = listed(u for u in map(_as_uuid, wanted) if u is not None)
    rows = await kind.naming.rows(*[text_refs] * (1 + len(kind.natural_keys)), uuids)
    found = {ref: row["id"] for ref, row in _named_by(kind, rows, wanted).items()}
    missing = wanted - found.keys()
    if kind.table is Place and missing:
        former = await PlaceFormerCode.select(PlaceFormerCode.code, PlaceFormerCode.place).where(
            PlaceFormerCode.code.is_in(list(missing))
        )
        found.update({row["code"]: row["place"] for row in former})
    if kind.table is Organisation and missing:
        # An organisation merged into another: its UUID, slug and org-id name the one it was merged into.
        aliases = await OrganisationAlias.select(OrganisationAlias.alias, OrganisationAlias.organisation).where(
            OrganisationAlias.alias.is_in(list(missing))
        )
        found.update({row["alias"]: row["organisation"] for row in aliases})
    return found


async def resolve(kind: Kind, ref: str) -> UUID:
    """The id of the record a path names, or 404."""
    found = await resolve_many(kind, [ref])
    if ref not in found:
        raise NotFound(f"There is no {kind.label} '{ref}'.")
    return found[ref]


async def resolve_filter(kind: Kind, ref: str, parameter: str) -> UUID:
    """The id of the record a query parameter names, or 422 naming the parameter."""
    found = await resolve_many(kind, [ref])
    if ref not in found:
        raise Unprocessable(
            f"The {parameter} filter names no {kind.label}.",
            [FieldError(field=parameter, message=f"there is no {kind.label} '{ref}'", location="query")],
        )
    return found[ref]


async def references(kind: Kind, ids: Iterable[UUID | None]) -> dict[UUID, Row]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {row["id"]: row for row in await kind.names.rows(listed(wanted))}


# Rows to Structs ---------------------------------------------------------------------------------------


def money_out(amount: Decimal | None, currency: str | None) -> Row | None:
    if amount is None:
        return None
    return {"amount": str(Decimal(amount).quantize(CENTS)), "currency": currency or "GBP"}


def _named(row: Row, field: str) -> Row | None:
    """A reference joined into the row (`field.id`, `field.slug`, `field.name`), or None when empty."""
    named = {key: row.pop(f"{field}.{key}") for key in ("id", "slug", "name")}
    return named if named["id"] is not None else None


@dataclass(frozen=True)
class Names:
    """What rows of a resource need from other tables to become Structs: their references' names (by
    kind), each link set's named targets (by field, then owner) and the resource's expanded fields."""

    references: Mapping[Kind, Mapping[UUID, Row]]
    linked: Mapping[str, Mapping[UUID, list[Row]]]
    extra: Mapping[UUID, Row]


async def names_for(
    resource: Resource[Read], rows: list[Row], linked: Mapping[str, Mapping[UUID, list[Row]]] | None = None
) -> Names:
    """Everything `structs` needs looked up for these rows, in a fixed number of queries however many
    rows there are. A link set the caller already knows (`linked`, by field) is not read."""
    ids = [row["id"] for row in rows]
    found: dict[Kind, Mapping[UUID, Row]] = {}
    if rows and "contributed_by.id" not in rows[0]:
        wanted: dict[Kind, set[UUID | None]] = defaultdict(set)
        for name, kind in resource.named.items():
            wanted[kind].update(row[name] for row in rows)
        found = {kind: await references(kind, kind_ids) for kind, kind_ids in wanted.items()}
    given = linked or {}
    links = {
        link.field: given[link.field] if link.field in given else await link.named_targets(ids)
        for link in resource.links
    }
    extra = await resource.expand(ids) if resource.expand else {}
    return Names(found, links, extra)


def structs(resource: Resource[Read], rows: list[Row], names: Names) -> list[Read]:
    """Rows of the resource's table to its Read Struct, with what `names_for` looked up for them. Rows
    read by the resource's own statements (`by_ref`, `by_ids`) carry their references' names already."""
    joined = bool(rows) and "contributed_by.id" in rows[0]
    out_structs = []
    for row in rows:
        out = dict(row)
        if joined:
            out.update({field: _named(out, field) for field in resource.named})
        else:
            out.update({name: names.references[kind].get(out[name]) for name, kind in resource.named.items()})
        for link in resource.links:
            out[link.field] = names.linked[link.field].get(out["id"], [])
        for name in resource.json_columns:
            if isinstance(out[name], str):
                out[name] = msgspec.json.decode(out[name])
        if resource.money:
            out["amount"] = money_out(out["amount"], out["currency"])
        if resource.derive:
            out.update(resource.derive(out))
        out.update(names.extra.get(out["id"], {}))
        out_structs.append(msgspec.convert(out, resource.read))
    return out_structs


async def to_structs(resource: Resource[Read], rows: list[Row]) -> list[Read]:
    """Rows of the resource's table to its Read Struct, with every reference named, in a fixed number
    of queries however many rows there are."""
    if not rows:
        return []
    return structs(resource, rows, await names_for(resource, rows))


async def fetch(resource: Resource[Read], ids: Sequence[UUID]) -> list[Read]:
    """The records with these ids, in the order given."""
    rows = await resource.by_ids.rows(listed(ids))
    order = {record_id: index for index, record_id in enumerate(ids)}
    return await to_structs(resource, sorted(rows, key=lambda row: order[row["id"]]))


async def get(resource: Resource[Read], ref: str) -> Read:
    """One record by any of its refs: found, read and its references named in one statement (a former
    GSS code, rarer, takes the longer way through resolve)."""
    rows = await resource.by_ref.rows(*[ref] * (1 + len(resource.kind.natural_keys)), _as_uuid(ref))
    row = _named_by(resource.kind, rows, {ref}).get(ref)
    if row is None:
        (struct,) = await fetch(resource, [await resolve(resource.kind, ref)])
        return struct
    (struct,) = await to_structs(resource, [row])
    return struct


# Pages -------------------------------------------------------------------------------------------------


async def list_page(
    resource: Resource[Read],
    page: type[PageT],
    *,
    where: Sequence[Combinable] = (),
    sort: str = "name",
    limit: int = 50,
    cursor: str | None = None,
) -> PageT:
    """One page in a stable order (the sort column, then the id), after the cursor's last row. A
    keyset page never skips or repeats a row that existed when the walk began, whatever is inserted
    meanwhile, and page 1,000 costs what page 1 does."""
    table = resource.table
    ascending = not sort.startswith("-")
    column = resource.column(sort.lstrip("-"))
    key = table._meta.primary_key
    conditions = list(where)
    if cursor:
        value, last_id = decode_list_cursor(cursor, sort)
        # The outer bound lets the index seek straight to the cursor; without it the OR makes both
        # engines scan from the start of the index, and page 1,000 costs 1,000 pages (bench/).
        if ascending:
            conditions.append((column >= value) & ((column > value) | ((column == value) & (key > last_id))))
        else:
            conditions.append((column <= value) & ((column < value) | ((column == value) & (key < last_id))))
    query = table.select(key, column).order_by(column, ascending=ascending).order_by(key, ascending=ascending)
    if conditions:
        query = query.where(*conditions)
    rows = await query.limit(limit + 1)
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_list_cursor(sort, last[column._meta.name], last["id"])
    return page(items=await fetch(resource, [row["id"] for row in rows]), next_cursor=next_cursor)


# Filters -------------------------------------------------------------------------------------------------


async def places_within(ref: str, parameter: str = "place") -> Any:
    """A subquery of the place a ref names and every place in it, by any path."""
    place_id = await resolve_filter(PLACE, ref, parameter)
    return PlaceAncestor.select(PlaceAncestor.place).where(PlaceAncestor.ancestor == place_id)


def linked_to(resource: Resource[Any], link_field: str, targets: Any) -> Combinable:
    """Records whose link set `link_field` includes one of `targets` (ids or a subquery)."""
    link = next(link for link in resource.links if link.field == link_field)
    owners = link.table.select(link.owner_column()).where(link.target_column().is_in(targets))
    if link.role is not None:
        owners = owners.where(link.table._meta.get_column_by_name("role") == link.role)
    return resource.table._meta.primary_key.is_in(owners)


def active_on(
    resource: Resource[Any], day: datetime.date, starts: str = "starts_on", ends: str = "ends_on"
) -> Combinable:
    """Records whose dates include the day; an empty date is open-ended."""
    start, end = resource.column(starts), resource.column(ends)
    return (start.is_null() | (start <= day)) & (end.is_null() | (end >= day))
