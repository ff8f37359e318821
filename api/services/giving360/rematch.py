"""Matching stored grants' locations to places again, after the gazetteer improves (a reviewed alias, an
official name, a place added): every grant a 360Giving import wrote is matched from what its file
published, kept with the grant (`standard`: its beneficiary locations and its recipient's address),
exactly as an import would match it today (importer._match_places), and each grant whose places, or the
record of how they were matched, change is written through the unit of work: a change-feed entry each,
and the map's tallies follow. Matching is deterministic, so running it again changes nothing.

A published location that still names no place stays in `unmatched_locations`: nothing published is
dropped. A grant whose places were set by hand since its import (its places are not those its stored
matches name) is left alone and reported, so a correction made through the API is never undone."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from api.schemas.imports import RematchReport, SkippedGrants
from api.services.giving360 import gazetteer, geocodes
from api.services.giving360.importer import (
    Address,
    CoverageTally,
    GrantPlan,
    Location,
    Progress,
    _fetch_grants,
    _for_database,
    _gazetteer,
    _match_places,
    chunks,
)
from api.services.giving360.issues import Issues
from api.services.platform.actors import Actor
from api.services.platform.errors import Forbidden
from api.services.platform.sql import insert_rows
from api.services.records import changes
from api.services.records.unit_of_work import Work, unit_of_work
from models.tables import Grant, GrantPlace

# Grants read, matched and compared at a time.
CHUNK = 2000
LISTED_SKIPPED = 100
Row = dict[str, Any]


@dataclass
class Rematch:
    """What matching again found: the grants to write, and the counts the report gives."""

    examined: int = 0
    unchanged: int = 0
    changed: list[GrantPlan] = field(default_factory=list)
    places_changed: list[GrantPlan] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    coverage: CoverageTally = field(default_factory=CoverageTally)
    replaced: CoverageTally = field(default_factory=CoverageTally)


async def rematch(*, actor: Actor, dry_run: bool = False, progress: Progress | None = None) -> RematchReport:
    """Match every imported grant's locations to places again and write what changed (nothing, dry).
    Only an admin (or the operator's command line) may: it rewrites every organisation's grants. A dry
    run matches and compares exactly as the real run does, and stops before writing. `progress` is
    called twice: for the grants examined, then for the grants written."""
    if not actor.is_admin:
        raise Forbidden(
            "Matching the stored grants' places again rewrites every organisation's grants: only an admin key may."
        )
    if dry_run:
        found = await _find(progress)
    else:
        # Read, matched and written in one transaction, so no write in between is overwritten.
        async with unit_of_work(actor) as work:
            found = await _find(progress)
            await _write(found, work, progress)
    return RematchReport(
        dry_run=dry_run,
        written=not dry_run and bool(found.changed),
        examined=found.examined,
        changed=len(found.changed),
        places_changed=len(found.places_changed),
        unchanged=found.unchanged,
        skipped=SkippedGrants(count=len(found.skipped), identifiers=sorted(found.skipped)[:LISTED_SKIPPED]),
        replaced=found.replaced.coverage(),
        coverage=found.coverage.coverage(),
    )


async def _find(progress: Progress | None) -> Rematch:
    found = Rematch()
    total = await Grant.count().where(Grant.standard.is_not_null())
    tick = progress(total) if progress else (lambda: None)
    names = await _gazetteer() if total else None
    last: UUID | None = None
    while True:
        query = Grant.select(
            Grant.id,
            Grant.identifier,
            Grant.slug,
            Grant.amount,
            Grant.currency,
            Grant.standard,
            Grant.matched_locations,
            Grant.unmatched_locations,
        ).where(Grant.standard.is_not_null())
        if last is not None:
            query = query.where(Grant.id > last)
        rows = await query.order_by(Grant.id).limit(CHUNK)
        if not rows:
            return found
        last = rows[-1]["id"]
        await _compare(rows, names, found, tick)


async def _compare(
    rows: list[Row], names: gazetteer.Gazetteer | None, found: Rematch, tick: Callable[[], None]
) -> None:
    """One chunk of stored grants matched again and compared with what they hold."""
    plans = [_plan(row) for row in rows]
    await _match_places(plans, Issues(), lambda _: None, names)
    current: dict[UUID, set[UUID]] = {row["id"]: set() for row in rows}
    for link in await GrantPlace.select(GrantPlace.grant, GrantPlace.place).where(
        GrantPlace.grant.is_in(list(current))
    ):
        current[link["grant"]].add(link["place"])
    for row, plan in zip(rows, plans, strict=True):
        tick()
        found.examined += 1
        places = current[row["id"]]
        stored_matched = _json(row["matched_locations"])
        now = set(plan.place_ids())
        if _set_by_hand(places, stored_matched, now):
            found.skipped.append(row["identifier"] or row["slug"])
            continue
        found.coverage.add(plan)
        plan.values["matched_locations"] = plan.matched_locations()
        plan.values["unmatched_locations"] = plan.unmatched_locations()
        same = (
            places == now
            and plan.values["matched_locations"] == stored_matched
            and plan.values["unmatched_locations"] == _json(row["unmatched_locations"])
        )
        if same:
            found.unchanged += 1
            continue
        found.changed.append(plan)
        if places != now:
            found.places_changed.append(plan)
            found.replaced.add(plan)


def _set_by_hand(places: set[UUID], stored_matched: list[Row] | None, now: set[UUID]) -> bool:
    """Whether a grant's places were set by hand since its import: they are not the places its stored
    matches name; or, for a grant imported before matches were kept, one is a place no match gives."""
    if stored_matched is not None:
        return places != {UUID(str(m["place"])) for m in stored_matched if m.get("place")}
    return not places <= now


def _plan(row: Row) -> GrantPlan:
    """A stored grant as the importer plans one: its published locations and its recipient's address."""
    standard = _json(row["standard"]) or {}
    locations = [
        Location(dict(loc), geocodes.normalise(loc.get("geoCode")))
        for loc in standard.get("beneficiaryLocation") or []
        if isinstance(loc, dict)
    ]
    recipients = standard.get("recipientOrganization") or [None]
    return GrantPlan(
        index=0,
        identifier=row["identifier"] or row["slug"],
        values={"amount": row["amount"], "currency": row["currency"]},
        funder="",
        recipient="",
        locations=locations,
        existing=row["id"],
        address=Address.of(recipients[0] if isinstance(recipients, list) and recipients else None),
    )


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


async def _write(found: Rematch, work: Work, progress: Progress | None) -> None:
    """The changed grants' matches and places, a chunk at a time, each with its change-feed entry; the
    grants' provenance (source, source URL, contributor) is theirs still: only their matching changed."""
    if not found.changed:
        return
    tick = progress(len(found.changed)) if progress else (lambda: None)
    moved = {plan.existing for plan in found.places_changed}
    for chunk in chunks(found.changed):
        ids = [plan.existing for plan in chunk if plan.existing is not None]
        before = await _fetch_grants(ids)
        for plan in chunk:
            values = _for_database({key: plan.values[key] for key in ("matched_locations", "unmatched_locations")})
            await Grant.update(
                {
                    Grant.matched_locations: values["matched_locations"],
                    Grant.unmatched_locations: values["unmatched_locations"],
                    Grant.updated_at: work.at,
                    Grant.version: Grant.version + 1,
                }
            ).where(Grant.id == plan.existing)
            tick()
        replaced = [plan for plan in chunk if plan.existing in moved]
        if replaced:
            await GrantPlace.delete().where(GrantPlace.grant.is_in([plan.existing for plan in replaced]))
            await insert_rows(
                GrantPlace,
                [{"grant": plan.existing, "place": place} for plan in replaced for place in plan.place_ids()],
            )
        after = await _fetch_grants(ids)
        entries: list[changes.Entry] = [("update", before[i], after[i]) for i in ids]
        work.logged(changes.entry_rows(collection="grants", entries=entries, actor=work.actor, at=work.at), entries)


def report_lines(report: RematchReport) -> list[str]:
    """The report as a person reads it on a terminal."""
    c = report.coverage
    lines = [
        f"grants: {report.examined} from 360Giving imports examined: {report.changed} changed "
        f"({report.places_changed} placed differently), {report.unchanged} unchanged, {report.skipped.count} "
        "left alone (places set by hand)",
    ]
    r = report.replaced
    if report.places_changed:
        lines.append(
            f"placed differently: by code {r.by_code.grants}, former code {r.by_former_code.grants}, name "
            f"{r.by_name.grants}, alias {r.by_alias.grants}, recipient address {r.by_recipient_address.grants}; "
            f"{r.unplaced.grants} no longer placed"
        )
    lines.append(
        f"coverage: {c.placed.grants} placed (by code {c.by_code.grants}, former code {c.by_former_code.grants}, "
        f"name {c.by_name.grants}, alias {c.by_alias.grants}, recipient address {c.by_recipient_address.grants}); "
        f"{c.unplaced.grants} unplaced, {c.unplaced_without_location} of them with no location"
    )
    if c.unplaced_reasons:
        lines.append("  unplaced by reason: " + ", ".join(f"{k} {v}" for k, v in c.unplaced_reasons.items()))
    lines.extend(f"  unplaced: {u.location or '(none)'!r} x{u.count} ({u.reason})" for u in c.unplaced_locations)
    lines.extend(
        f"  ambiguous: {a.name!r} x{a.count} may mean " + ", ".join(f"{p.name} ({p.gss_code})" for p in a.candidates)
        for a in c.ambiguous
    )
    if report.skipped.identifiers:
        lines.append("  left alone: " + ", ".join(report.skipped.identifiers[:10]))
    if report.dry_run:
        lines.append("dry run: nothing written")
    elif not report.written:
        lines.append("nothing to change")
    return lines
