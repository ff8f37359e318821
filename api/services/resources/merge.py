"""Merging organisations that are one body: every reference to the merged ones moves to the survivor, in
one unit of work (so the change feed, the history, the map's tallies and the network's links follow), and
their refs (UUID, slug, org-id) are kept as aliases that resolve to the survivor."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

import msgspec
from piccolo.columns import Column, Integer
from piccolo.table import Table

from api.schemas.common import FieldError, Reference
from api.schemas.organisations import MergeMove, MergeReport
from api.schemas.organisations import Organisation as OrganisationRead
from api.services.platform.actors import Actor
from api.services.platform.clock import now
from api.services.platform.errors import Conflict, Forbidden, Unprocessable
from api.services.records import resource as records
from api.services.records.changes import Entry, entry_row
from api.services.records.children import Children
from api.services.records.resource import ORGANISATION, Resource, Row
from api.services.records.unit_of_work import Work, unit_of_work
from api.services.resources import co_funding, engagements, grants, interest_groups, organisations, research
from models.tables import (
    ApiKey,
    Change,
    CoFunding,
    Contribution,
    Engagement,
    EngagementParticipant,
    Grant,
    ImportJob,
    InterestGroup,
    Membership,
    Organisation,
    OrganisationAlias,
    ResearchParty,
)

# Every foreign key to an organisation, by table and column, and how a merge moves it. A new one must be
# added here: `handled_references` is compared with the tables' own list by the tests.
RECORD_COLUMNS: dict[tuple[type[Table], str], Resource[Any]] = {
    (Grant, "funder"): grants.RESOURCE,
    (Grant, "recipient"): grants.RESOURCE,
    (InterestGroup, "convenor"): interest_groups.RESOURCE,
    (CoFunding, "lead"): co_funding.RESOURCE,
    (Engagement, "convenor"): engagements.RESOURCE,
}
# Rows that list an organisation in a record (a party, a participant): one row per organisation (and role).
LINK_ROWS: dict[type[Table], tuple[str, tuple[str, ...], Resource[Any], str]] = {
    ResearchParty: ("research", ("role",), research.RESOURCE, "parties"),
    EngagementParticipant: ("engagement", (), engagements.RESOURCE, "participants"),
}
CHILD_ROWS: dict[type[Table], Children[Any]] = {
    Membership: interest_groups.MEMBERS,
    Contribution: co_funding.CONTRIBUTIONS,
}
# Who wrote what: moved in bulk and counted (the records are the same records, now the survivor's).
BULK = {(ApiKey, "organisation"): "api_keys", (Change, "organisation"): "changes_written"}
ALIASES = (OrganisationAlias, "organisation")
Outcome = Literal["moved", "dropped", "combined"]


def handled_references() -> set[tuple[str, str]]:
    """Every (table, column) a merge moves that is a foreign key to an organisation."""
    handled = {(table._meta.tablename, column) for table, column in RECORD_COLUMNS}
    handled |= {(table._meta.tablename, "organisation") for table in LINK_ROWS}
    handled |= {(children.resource.table._meta.tablename, children.key) for children in CHILD_ROWS.values()}
    handled |= {(table._meta.tablename, column) for table, column in BULK}
    handled |= {(ALIASES[0]._meta.tablename, ALIASES[1])}
    # Every record's provenance: moved in bulk on every table that has it.
    handled |= {(table._meta.tablename, "contributed_by") for table in _provenance_tables()}
    return handled


def _provenance_tables() -> list[type[Table]]:
    return [
        column._meta.table
        for column in Organisation._meta.foreign_key_references
        if column._meta.name == "contributed_by"
    ]


class _Preview(Exception):
    """Raised inside the unit of work to undo a dry run, carrying its report."""

    def __init__(self, report: MergeReport) -> None:
        super().__init__("merge preview")
        self.report = report


@dataclass
class _Plan:
    survivor: UUID
    losers: list[UUID]
    moves: list[MergeMove] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    # Records to log as updated, by collection, with how they looked before (and each collection's resource).
    before: dict[str, dict[UUID, Any]] = field(default_factory=lambda: defaultdict(dict))
    resources: dict[str, Resource[Any]] = field(default_factory=dict)


async def merge(*, ref: str, merge: Sequence[str], actor: Actor, dry_run: bool = False) -> MergeReport:
    """Merge the organisations `merge` names into the one `ref` names (admins only)."""
    if not actor.is_admin:
        raise Forbidden("Only an admin key may merge organisations.")
    try:
        async with unit_of_work(actor) as work:
            report = await _merge(ref, list(merge), work, dry_run)
            if dry_run:
                raise _Preview(report)
    except _Preview as preview:
        return preview.report
    return report


async def _losers(survivor: UUID, refs: list[str]) -> list[UUID]:
    found = await records.resolve_many(ORGANISATION, refs)
    errors = [
        FieldError(field=f"merge[{i}]", message=f"there is no organisation '{ref}'", location="body")
        for i, ref in enumerate(refs)
        if ref not in found
    ]
    errors += [
        FieldError(field=f"merge[{i}]", message=f"'{ref}' is the organisation being merged into", location="body")
        for i, ref in enumerate(refs)
        if found.get(ref) == survivor
    ]
    if errors:
        raise Unprocessable("Some organisations to merge cannot be merged into this one.", errors)
    return list(dict.fromkeys(found[ref] for ref in refs))


async def _merge(ref: str, refs: list[str], work: Work, dry_run: bool) -> MergeReport:
    survivor = await records.resolve(ORGANISATION, ref)
    losers = await _losers(survivor, refs)
    (survivor_before,) = await records.fetch(organisations.RESOURCE, [survivor])
    loser_structs = await records.fetch(organisations.RESOURCE, losers)
    plan = _Plan(survivor, losers)
    await _record_columns(plan)
    await _link_rows(plan)
    await _child_rows(plan, work)
    await _bulk(plan)
    # A survivor with no org-id takes the first merged one's; the others' stay as aliases.
    taken = None if survivor_before.org_id else next((loser.org_id for loser in loser_structs if loser.org_id), None)
    aliases = await _aliases(plan, survivor_before.org_id or taken, loser_structs)
    await _bump_and_log(plan, work)
    await Organisation.delete().where(Organisation.id.is_in(losers))
    if taken is not None:
        await Organisation.update({Organisation.org_id: taken}).where(Organisation.id == survivor)
    await _bump(Organisation, [survivor])
    (survivor_after,) = await records.fetch(organisations.RESOURCE, [survivor])
    _log_merge(work, survivor_before, survivor_after, loser_structs)
    return MergeReport(
        survivor=survivor_after,
        merged=[Reference(id=loser.id, slug=loser.slug, name=loser.name) for loser in loser_structs],
        dry_run=dry_run,
        aliases=aliases,
        moved=plan.moves,
        also_moved=dict(sorted(plan.counts.items())),
    )


def _reference(row: Row, label: str = "name") -> Reference:
    return Reference(id=row["id"], slug=row["slug"], name=row[label])


async def _record_columns(plan: _Plan) -> None:
    """Grants' funders and recipients, groups' and engagements' convenors, arrangements' leads."""
    for (table, name), resource in RECORD_COLUMNS.items():
        column = table._meta.get_column_by_name(name)
        key = table._meta.primary_key
        rows = await table.select(
            key, table._meta.get_column_by_name("slug"), table._meta.get_column_by_name("name")
        ).where(column.is_in(plan.losers))
        if not rows:
            continue
        await _remember(plan, resource, [row["id"] for row in rows])
        await table.update({column: plan.survivor}).where(column.is_in(plan.losers))
        plan.moves += [
            MergeMove(collection=resource.kind.collection, record=_reference(row), field=name, outcome="moved")
            for row in rows
        ]


async def _remember(plan: _Plan, resource: Resource[Any], ids: list[UUID]) -> None:
    collection = resource.kind.collection
    plan.resources[collection] = resource
    wanted = [record_id for record_id in dict.fromkeys(ids) if record_id not in plan.before[collection]]
    for struct in await records.fetch(resource, wanted):
        plan.before[collection][struct.id] = struct


async def _link_rows(plan: _Plan) -> None:
    """Research parties and engagement participants: a row the survivor already has is dropped."""
    for table, (owner, keys, resource, label) in LINK_ROWS.items():
        columns = [table._meta.get_column_by_name(name) for name in ("id", owner, "organisation", *keys)]
        organisation = table._meta.get_column_by_name("organisation")
        rows = await table.select(*columns).where(organisation.is_in([plan.survivor, *plan.losers]))
        if not any(row["organisation"] != plan.survivor for row in rows):
            continue
        held = {(row[owner], *(row[k] for k in keys)) for row in rows if row["organisation"] == plan.survivor}
        await _remember(plan, resource, [row[owner] for row in rows if row["organisation"] != plan.survivor])
        named = {
            row["id"]: row
            for row in await resource.table.select(
                resource.table._meta.primary_key, resource.column("slug"), resource.column("name")
            ).where(resource.table._meta.primary_key.is_in(list(plan.before[resource.kind.collection])))
        }
        drop: list[UUID] = []
        move: list[UUID] = []
        for row in rows:
            if row["organisation"] == plan.survivor:
                continue
            place = (row[owner], *(row[k] for k in keys))
            (drop if place in held else move).append(row["id"])
            held.add(place)
            field_name = f"{label}.{row['role']}" if "role" in keys else label
            outcome: Outcome = "dropped" if row["id"] in drop else "moved"
            plan.moves.append(
                MergeMove(
                    collection=resource.kind.collection,
                    record=_reference(named[row[owner]]),
                    field=field_name,
                    outcome=outcome,
                )
            )
        primary = table._meta.primary_key
        if drop:
            await table.delete().where(primary.is_in(drop))
        if move:
            await table.update({organisation: plan.survivor}).where(primary.is_in(move))


async def _child_rows(plan: _Plan, work: Work) -> None:
    """Memberships and contributions, each logged in its own collection as the API writes them: one per
    organisation in a group or arrangement, so the survivor's own stays (a contribution adds the other's
    amount when the currencies agree)."""
    for table, children in CHILD_ROWS.items():
        resource, owner, key = children.resource, children.owner, children.key
        key_column = table._meta.get_column_by_name(key)
        rows = await table.select(table._meta.primary_key, table._meta.get_column_by_name(owner), key_column).where(
            key_column.is_in([plan.survivor, *plan.losers])
        )
        if not any(row[key] != plan.survivor for row in rows):
            continue
        parent_ids = {row[owner] for row in rows if row[key] != plan.survivor}
        rows = [row for row in rows if row[owner] in parent_ids]
        befores = {struct.id: struct for struct in await records.fetch(resource, [row["id"] for row in rows])}
        parent = children.parent
        parents = {
            row["id"]: row
            for row in await parent.table.select(
                parent.table._meta.primary_key, parent.column("slug"), parent.column("name")
            ).where(parent.table._meta.primary_key.is_in(list(parent_ids)))
        }
        kept = {row[owner]: row["id"] for row in rows if row[key] == plan.survivor}
        touched, dropped = set(), set()
        for row in rows:
            if row[key] == plan.survivor:
                continue
            outcome: Outcome = "moved"
            if row[owner] in kept:
                outcome = "dropped"
                if table is Contribution:
                    outcome = await _combine(kept[row[owner]], row["id"], befores)
                    touched.add(kept[row[owner]])
                await table.delete().where(table._meta.primary_key == row["id"])
                dropped.add(row["id"])
            else:
                await table.update({key_column: plan.survivor}).where(table._meta.primary_key == row["id"])
                kept[row[owner]] = row["id"]
                touched.add(row["id"])
            plan.moves.append(
                MergeMove(
                    collection=resource.kind.collection,
                    record=_reference(parents[row[owner]]),
                    field=key,
                    outcome=outcome,
                )
            )
        await _bump(table, list(touched))
        afters = {struct.id: struct for struct in await records.fetch(resource, list(touched))}
        for row in rows:
            before = befores[row["id"]]
            if row["id"] in dropped:
                work.log(resource.kind.collection, "delete", before, None, owner_id=row[owner])
            elif row["id"] in touched and _differs(before, afters[row["id"]]):
                work.log(resource.kind.collection, "update", before, afters[row["id"]], owner_id=row[owner])


async def _combine(kept_id: UUID, dropped_id: UUID, befores: dict[UUID, Any]) -> Outcome:
    kept, dropped = befores[kept_id], befores[dropped_id]
    if dropped.amount is None:
        return "dropped"
    if kept.amount is not None and kept.amount.currency != dropped.amount.currency:
        raise Conflict(
            "Both organisations contribute to the same arrangement in different currencies; change one "
            "contribution first.",
            [FieldError(field="merge", message=f"contributions {kept_id} and {dropped_id} differ in currency")],
        )
    total = Decimal(dropped.amount.amount) + (Decimal(kept.amount.amount) if kept.amount is not None else Decimal(0))
    await Contribution.update({Contribution.amount: total, Contribution.currency: dropped.amount.currency}).where(
        Contribution.id == kept_id
    )
    return "combined"


async def _bulk(plan: _Plan) -> None:
    """Who contributed what, who wrote which change, whose keys: the survivor's now."""
    for table in _provenance_tables():
        column = table._meta.get_column_by_name("contributed_by")
        count = await table.count().where(column.is_in(plan.losers))
        if count:
            await table.update({column: plan.survivor}).where(column.is_in(plan.losers))
            plan.counts["contributed_records"] += count
    for (table, name), label in BULK.items():
        column = table._meta.get_column_by_name(name)
        count = await table.count().where(column.is_in(plan.losers))
        if count:
            await table.update({column: plan.survivor}).where(column.is_in(plan.losers))
            plan.counts[label] += count
    jobs = await ImportJob.count().where(ImportJob.organisation.is_in(plan.losers))
    if jobs:
        await ImportJob.update({ImportJob.organisation: plan.survivor}).where(ImportJob.organisation.is_in(plan.losers))
        plan.counts["import_jobs"] += jobs


async def _aliases(plan: _Plan, own_org_id: str | None, losers: list[OrganisationRead]) -> list[str]:
    """Each merged organisation's refs, and those merged into it before, as aliases of the survivor."""
    await OrganisationAlias.update({OrganisationAlias.organisation: plan.survivor}).where(
        OrganisationAlias.organisation.is_in(plan.losers)
    )
    rows = []
    for loser in losers:
        refs = [(str(loser.id), "id"), (loser.slug, "slug")] + ([(loser.org_id, "org_id")] if loser.org_id else [])
        rows += [
            OrganisationAlias(organisation=plan.survivor, alias=alias, kind=kind, merged_id=loser.id)
            for alias, kind in refs
            if alias != own_org_id
        ]
    if rows:
        await OrganisationAlias.insert(*rows)
    return [row.alias for row in rows]


async def _bump(table: type[Table], ids: list[UUID]) -> None:
    if not ids:
        return
    version: Column = table._meta.get_column_by_name("version")
    assert isinstance(version, Integer)
    await table.update({table._meta.get_column_by_name("updated_at"): now(), version: version + 1}).where(
        table._meta.primary_key.is_in(ids)
    )


async def _bump_and_log(plan: _Plan, work: Work) -> None:
    """Each record that named a merged organisation, logged as an update of its own collection."""
    for collection, befores in plan.before.items():
        resource = plan.resources[collection]
        ids = list(befores)
        await _bump(resource.table, ids)
        for after in await records.fetch(resource, ids):
            work.log(resource.kind.collection, "update", befores[after.id], after)


def _differs(before: Any, after: Any) -> bool:
    stamps = {"version": before.version, "updated_at": before.updated_at, "contributed_by": before.contributed_by}
    return bool(msgspec.structs.replace(after, **stamps) != before)


def _log_merge(work: Work, before: OrganisationRead, after: OrganisationRead, losers: list[OrganisationRead]) -> None:
    """The survivor's `merge` entry, naming what was merged into it, and each merged one's deletion, naming
    the survivor."""
    rows: list[Row] = []
    entries: list[Entry] = []
    for loser in losers:
        row = entry_row("organisations", "delete", loser, None, work.actor, at=work.at)
        row["fields"] = _with_field(row["fields"], "merged_into", after.slug)
        rows.append(row)
        entries.append(("delete", loser, None))
    row = entry_row("organisations", "merge", before, after, work.actor, at=work.at)
    row["fields"] = _with_field(row["fields"], "merged", [loser.slug for loser in losers])
    rows.append(row)
    entries.append(("merge", before, after))
    work.logged(rows, entries)


def _with_field(fields: str, name: str, value: Any) -> str:
    decoded = msgspec.json.decode(fields)
    decoded[name] = {"before": None, "after": value}
    return msgspec.json.encode(dict(sorted(decoded.items()))).decode()


def merge_lines(report: MergeReport) -> list[str]:
    """The report in words, for the command line."""
    verb = "would merge" if report.dry_run else "merged"
    lines = [f"{verb} {', '.join(m.slug for m in report.merged)} into {report.survivor.slug}"]
    lines += [f"  {m.collection} {m.record.slug}: {m.field} {m.outcome}" for m in report.moved]
    lines += [f"  {label}: {count}" for label, count in report.also_moved.items()]
    lines.append(f"  aliases: {', '.join(report.aliases) or 'none'}")
    return lines
