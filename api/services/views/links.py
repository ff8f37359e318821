"""The network's links, kept: for every scope (the whole network, `EVERYWHERE`, and every place: the
records linked to it or to a place inside it, by any path, each record once), every pair of organisations
the records in scope link (by the rules in `network.TIES`, over all time), with the summed weight, how many
records and of which kind; every organisation taking part in a record in scope, in how many, and its degree
and strength there; and each scope's totals. So that the network, a place's network and an organisation's
neighbourhood are read a page at a time from kept rows, never rebuilt from every record.

How they stay true, as the map's tallies do (tally.py): `settle` is an after-write step of the unit of
work (installed by api/services/wiring.py). For each record a write logged, what it adds now (its pairs
and their weights, its parties and its own places, from which its scopes follow) is compared with what it
added when last counted (`NetworkRecord`), and only the difference moves. A co-funding arrangement's
parties include the partners of the research it paid for, so a write to a piece of research settles the
arrangement it feeds, and the one it fed. A place moved under another parent changes the scopes of
everything below it, so it counts every link again, as it does every tally."""

from __future__ import annotations

import asyncio
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar
from uuid import UUID

import msgspec
from piccolo.table import Table

from api.services.platform.actors import Actor
from api.services.platform.sql import Statement, insert_rows, listed
from api.services.records.unit_of_work import Written, unit_of_work
from api.services.views import tally
from api.services.views.activity import EVERYWHERE, GROUPS, PARTIES, as_uuid
from api.services.views.measures import micro
from api.services.views.network import ties
from models.tables import NetworkEdge, NetworkNode, NetworkRecord, NetworkScope

# The change feed's collections, as the kinds of record whose ties they change.
COLLECTIONS = {
    "interest-groups": "interest_group",
    "memberships": "interest_group",
    "co-funding": "co_funding",
    "contributions": "co_funding",
    "research": "research",
    "grants": "grant",
    "engagements": "engagement",
}
CHILDREN = {"memberships", "contributions"}  # rows that belong to a record: the record is their owner
CHUNK = 2000
WRITE_CHUNK = 20_000  # rows written at once when counting everything again
YIELD_EVERY = 500
KINDS = tuple(GROUPS)  # the order of an edge's counts by kind
KIND_COLUMNS = tuple(GROUPS[kind] for kind in KINDS)

# Each kind's own table, as the tallies name them: every kind of record but organisations makes links.
TABLES = {kind: table for kind, table in tally.TABLES.items() if kind in PARTIES}
# Every party of a kind's records, all time, for a list of records: the views' own parts, each narrowed to
# the records on its own table.
PARTIES_OF = {
    kind: Statement(
        "WITH p (kind, record_id, organisation, role, joined_on, left_on) AS ("
        + " UNION ALL ".join(
            f"{part.select} WHERE {' AND '.join((*part.conditions, f'{part.record} {{in}}'))}" for part in parts
        )
        + ") SELECT record_id, organisation, role FROM p"
    )
    for kind, parts in PARTIES.items()
}
PARTY_LISTS = {kind: PARTIES_OF[kind].template.count("{in}") for kind in PARTIES_OF}
FEEDS = Statement("SELECT id, funded_by FROM research WHERE id {in} AND funded_by IS NOT NULL")
EVERY_RECORD = {kind: Statement(f"SELECT id FROM {table}") for kind, table in TABLES.items()}
RECORDED = Statement('SELECT "key", ties FROM network_record WHERE "key" {in}')
FORGET_RECORDS = Statement('DELETE FROM network_record WHERE "key" {in}')
EDGES = Statement(f'SELECT "key", weight, records, {", ".join(KIND_COLUMNS)} FROM network_edge WHERE "key" {{in}}')
FORGET_EDGES = Statement('DELETE FROM network_edge WHERE "key" {in}')
KEEP_EDGE = Statement(
    f'INSERT INTO network_edge ("key", scope, source, target, weight, rank, records, {", ".join(KIND_COLUMNS)}) '
    f'VALUES ({", ".join(["{}"] * (7 + len(KINDS)))}) ON CONFLICT ("key") DO UPDATE SET weight = excluded.weight, '
    "rank = excluded.rank, records = excluded.records, "
    + ", ".join(f"{column} = excluded.{column}" for column in KIND_COLUMNS)
)
NODES = Statement('SELECT "key", records, degree, strength FROM network_node WHERE "key" {in}')
FORGET_NODES = Statement('DELETE FROM network_node WHERE "key" {in}')
KEEP_NODE = Statement(
    'INSERT INTO network_node ("key", scope, organisation, records, degree, strength) VALUES ({}, {}, {}, {}, {}, {}) '
    'ON CONFLICT ("key") DO UPDATE SET records = excluded.records, degree = excluded.degree, '
    "strength = excluded.strength"
)
SCOPES = Statement("SELECT scope, nodes, edges FROM network_scope WHERE scope {in}")
FORGET_SCOPES = Statement("DELETE FROM network_scope WHERE scope {in}")
KEEP_SCOPE = Statement(
    "INSERT INTO network_scope (scope, nodes, edges) VALUES ({}, {}, {}) "
    "ON CONFLICT (scope) DO UPDATE SET nodes = excluded.nodes, edges = excluded.edges"
)
FORGET_EVERYTHING = tuple(
    Statement(f"DELETE FROM {table}") for table in ("network_edge", "network_node", "network_scope", "network_record")
)


class Share(msgspec.Struct, array_like=True, frozen=True):
    """What one record adds: each pair it links ("a b", a < b) and the weight; for research, the
    co-funding arrangement it feeds; the organisations taking part; its own places (its scopes are they,
    every place above them, and the whole network)."""

    pairs: dict[str, float] = {}
    feeds: str | None = None
    parties: tuple[str, ...] = ()
    places: tuple[str, ...] = ()


T = TypeVar("T")
EdgeKey = tuple[str, str, str]  # scope, source, target
NodeKey = tuple[str, str]  # scope, organisation


def _key(*parts: object) -> str:
    return "/".join(str(part) for part in parts)


async def shares(kind: str, record_ids: Sequence[UUID]) -> dict[UUID, Share]:
    """What each record adds now (nothing, for a record that no longer exists)."""
    parties: dict[UUID, dict[UUID, set[str]]] = defaultdict(lambda: defaultdict(set))
    for row in await PARTIES_OF[kind].records(*[listed(record_ids)] * PARTY_LISTS[kind]):
        parties[as_uuid(row["record_id"])][as_uuid(row["organisation"])].add(row["role"])
    places: dict[UUID, set[str]] = defaultdict(set)
    for row in await tally.RECORD_PLACES[kind].records(listed(record_ids)):
        places[as_uuid(row["record_id"])].add(str(row["place"]))
    feeds: dict[UUID, str] = {}
    if kind == "research":
        feeds = {as_uuid(row["id"]): str(row["funded_by"]) for row in await FEEDS.records(listed(record_ids))}
    found = {}
    for record_id in record_ids:
        taking_part = parties.get(record_id, {})
        added = ties(kind, taking_part)
        found[record_id] = Share(
            {f"{a} {b}": weight for (a, b), weight in added.items()},
            feeds.get(record_id),
            tuple(sorted(str(party) for party in taking_part)),
            tuple(sorted(places.get(record_id, ()))) if taking_part else (),
        )
    return found


class Moves:
    """Changes to the kept network: for each edge, weight, records and records of each kind in or out
    (`edges`: [weight, records, *by kind]); for each organisation in a scope, records in or out."""

    def __init__(self) -> None:
        self.edges: dict[EdgeKey, list[float]] = {}
        self.taking_part: dict[NodeKey, int] = defaultdict(int)

    def add(self, kind: str, share: Share, sign: int, ancestries: tally.Ancestries) -> None:
        if not share.parties:
            return
        scopes = {str(EVERYWHERE)}
        for place in share.places:
            scopes |= ancestries.above.get(place, {place})
        column = 2 + KINDS.index(kind)
        pairs = []
        for pair, weight in share.pairs.items():
            source, target = pair.split()
            pairs.append((sys.intern(source), sys.intern(target), weight))
        parties = [sys.intern(party) for party in share.parties]
        for scope in map(sys.intern, scopes):
            for party in parties:
                self.taking_part[scope, party] += sign
            for source, target, weight in pairs:
                edge = self.edges.get((scope, source, target))
                if edge is None:
                    edge = self.edges[scope, source, target] = [0.0] * (2 + len(KINDS))
                edge[0] += sign * weight
                edge[1] += sign
                edge[column] += sign

    async def apply(self, *, fresh: bool = False) -> None:
        """Write the changes; `fresh` when the tables are empty (everything counted again): nothing is
        read first, and rows go in by bulk insert."""
        degree: dict[NodeKey, int] = defaultdict(int)
        strength: dict[NodeKey, float] = defaultdict(float)
        scope_edges: dict[str, int] = defaultdict(int)
        moved = sorted(key for key, edge in self.edges.items() if any(edge))
        for chunk in _chunks(moved, WRITE_CHUNK if fresh else CHUNK):
            current = {} if fresh else {row["key"]: row for row in await EDGES.records(listed(map(_edge_key, chunk)))}
            kept, emptied = [], []
            for scope, source, target in chunk:
                key = _key(scope, source, target)
                change = self.edges[scope, source, target]
                row = current.get(key)
                before = (
                    [row["weight"], row["records"], *(row[c] for c in KIND_COLUMNS)] if row else [0.0] * len(change)
                )
                now = [b + c for b, c in zip(before, change, strict=True)]
                if now[1] > 0:
                    kept.append(
                        (
                            key,
                            UUID(scope),
                            UUID(source),
                            UUID(target),
                            now[0],
                            micro(now[0]),
                            *(int(n) for n in now[1:]),
                        )
                    )
                    moved_weight = now[0] - before[0]
                    if row is None:
                        scope_edges[scope] += 1
                        degree[scope, source] += 1
                        degree[scope, target] += 1
                elif row:
                    # The last record linking them is gone: the row goes, and with it any rounding left over.
                    emptied.append(key)
                    moved_weight = -before[0]
                    scope_edges[scope] -= 1
                    degree[scope, source] -= 1
                    degree[scope, target] -= 1
                else:
                    continue
                strength[scope, source] += moved_weight
                strength[scope, target] += moved_weight
            if emptied:
                await FORGET_EDGES.execute(listed(emptied))
            await _keep(NetworkEdge, KEEP_EDGE, kept, fresh)
        scope_nodes = await self._apply_nodes(degree, strength, fresh)
        await _apply_scopes(scope_nodes, scope_edges, fresh)

    async def _apply_nodes(
        self, degree: dict[NodeKey, int], strength: dict[NodeKey, float], fresh: bool
    ) -> dict[str, int]:
        """Write each organisation's part in each scope; how many organisations each scope gained or lost."""
        scope_nodes: dict[str, int] = defaultdict(int)
        moved = sorted(
            {key for key, n in self.taking_part.items() if n} | {k for k, n in degree.items() if n} | set(strength)
        )
        for chunk in _chunks(moved, WRITE_CHUNK if fresh else CHUNK):
            current = {} if fresh else {row["key"]: row for row in await NODES.records(listed(_key(*k) for k in chunk))}
            kept, emptied = [], []
            for scope, organisation in chunk:
                key = _key(scope, organisation)
                row = current.get(key)
                records = (row["records"] if row else 0) + self.taking_part.get((scope, organisation), 0)
                links = (row["degree"] if row else 0) + degree.get((scope, organisation), 0)
                summed = (row["strength"] if row else 0.0) + strength.get((scope, organisation), 0.0)
                if records > 0:
                    kept.append((key, UUID(scope), UUID(organisation), records, links, summed if links else 0.0))
                    scope_nodes[scope] += 0 if row else 1
                elif row:
                    emptied.append(key)
                    scope_nodes[scope] -= 1
            if emptied:
                await FORGET_NODES.execute(listed(emptied))
            await _keep(NetworkNode, KEEP_NODE, kept, fresh)
        return scope_nodes


async def _apply_scopes(nodes: dict[str, int], edges: dict[str, int], fresh: bool) -> None:
    moved = sorted(scope for scope in {*nodes, *edges} if nodes.get(scope) or edges.get(scope))
    for chunk in _chunks(moved, CHUNK):
        current = {} if fresh else {str(row["scope"]): row for row in await SCOPES.records(listed(chunk))}
        kept, emptied = [], []
        for scope in chunk:
            row = current.get(scope)
            totals = (
                (row["nodes"] if row else 0) + nodes.get(scope, 0),
                (row["edges"] if row else 0) + edges.get(scope, 0),
            )
            if totals[0] > 0:
                kept.append((UUID(scope), *totals))
            elif row:
                emptied.append(scope)
        if emptied:
            await FORGET_SCOPES.execute(listed(emptied))
        await _keep(NetworkScope, KEEP_SCOPE, kept, fresh)


async def _keep(table: type[Table], upsert: Statement, rows: list[tuple[Any, ...]], fresh: bool) -> None:
    """Rows (in the table's column order) into a table: upserted, or, into an empty table, in bulk."""
    if not fresh:
        await upsert.run_many(rows)
        return
    columns = [column._meta.name for column in table._meta.columns]
    await insert_rows(table, [dict(zip(columns, row, strict=True)) for row in rows])


def _edge_key(edge: EdgeKey) -> str:
    return _key(*edge)


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _affected(written: Iterable[Written]) -> dict[str, set[UUID]]:
    by_kind: dict[str, set[UUID]] = defaultdict(set)
    for w in written:
        kind = COLLECTIONS.get(w.collection)
        if kind is not None:
            by_kind[kind].add(w.owner_id if w.collection in CHILDREN and w.owner_id else w.record_id)
    return by_kind


async def settle(written: Iterable[Written]) -> None:
    """Move the links of the records a write transaction wrote; called just before it commits."""
    written = list(written)
    if any(w.reparented for w in written):
        await rebuild()
        return
    by_kind = _affected(written)
    moves = Moves()
    ancestries = tally.Ancestries()
    if "research" in by_kind:
        # Research first: the arrangements it feeds, before and after, are settled with the others.
        fed = await _settle("research", by_kind.pop("research"), moves, ancestries)
        by_kind.setdefault("co_funding", set()).update(fed)
    for kind, record_ids in by_kind.items():
        await _settle(kind, record_ids, moves, ancestries)
    await moves.apply()


async def _settle(kind: str, record_ids: set[UUID], moves: Moves, ancestries: tally.Ancestries) -> set[UUID]:
    """Move one kind's records into `moves` and remember them; the arrangements research fed or feeds."""
    fed: set[UUID] = set()
    for chunk in _chunks(sorted(record_ids), CHUNK):
        keys = {_key(kind, record_id): record_id for record_id in chunk}
        before = {
            keys[row["key"]]: msgspec.json.decode(row["ties"], type=Share)
            for row in await RECORDED.records(listed(list(keys)))
        }
        now = await shares(kind, chunk)
        fed.update(UUID(share.feeds) for share in (*before.values(), *now.values()) if share.feeds)
        changed = [record_id for record_id in chunk if now[record_id] != before.get(record_id, Share())]
        await _scopes(ancestries, [*(now[r] for r in changed), *(before[r] for r in changed if r in before)])
        for done, record_id in enumerate(changed, start=1):
            moves.add(kind, before.get(record_id, Share()), -1, ancestries)
            moves.add(kind, now[record_id], +1, ancestries)
            if done % YIELD_EVERY == 0:
                await asyncio.sleep(0)
        await _record(kind, {record_id: now[record_id] for record_id in changed}, before)
    return fed


async def _scopes(ancestries: tally.Ancestries, shares: Iterable[Share]) -> None:
    """The places above the shares' places, read into `ancestries` (the tallies' reading of them)."""
    await tally.add_ancestries((place for share in shares for place in share.places), ancestries)


async def _record(kind: str, now: dict[UUID, Share], recorded: Iterable[UUID] = ()) -> None:
    """Remember what each record adds, for the next write to compare with."""
    forget = [_key(kind, record_id) for record_id in recorded if record_id in now]
    if forget:
        await FORGET_RECORDS.execute(listed(forget))
    rows = [
        {"key": _key(kind, record_id), "ties": msgspec.json.encode(share).decode()}
        for record_id, share in now.items()
        if share.parties or share.feeds
    ]
    await insert_rows(NetworkRecord, rows)


async def _count_everything(remember: bool) -> Moves:
    moves = Moves()
    ancestries = tally.Ancestries()
    for kind in TABLES:
        ids = sorted(as_uuid(row["id"]) for row in await EVERY_RECORD[kind].records())
        for chunk in _chunks(ids, CHUNK):
            now = await shares(kind, chunk)
            await _scopes(ancestries, now.values())
            for share in now.values():
                moves.add(kind, share, +1, ancestries)
            if remember:
                await _record(kind, now)
    return moves


Kept = tuple[dict[EdgeKey, tuple[float, int, tuple[int, ...]]], dict[NodeKey, tuple[int, int, float]]]


async def computed() -> Kept:
    """Every edge (weight, records, records of each kind) and every organisation's part in each scope
    (records, degree, strength) counted afresh from the records, without writing: what the kept rows
    must equal."""
    moves = await _count_everything(remember=False)
    edges = {
        key: (edge[0], int(edge[1]), tuple(int(n) for n in edge[2:])) for key, edge in moves.edges.items() if edge[1]
    }
    degree: dict[NodeKey, int] = defaultdict(int)
    strength: dict[NodeKey, float] = defaultdict(float)
    for (scope, source, target), (weight, _, _) in edges.items():
        for end in (source, target):
            degree[scope, end] += 1
            strength[scope, end] += weight
    nodes = {key: (records, degree[key], strength[key]) for key, records in moves.taking_part.items() if records}
    return edges, nodes


async def rebuild() -> None:
    """Count every link again from the records (a place moved, a migration that needs it, or `placenet
    recount`)."""
    async with unit_of_work(Actor()):
        for statement in FORGET_EVERYTHING:
            await statement.execute()
        moves = await _count_everything(remember=True)
        await moves.apply(fresh=True)
        # Millions of rows went in at once: let the planner know before the first read.
        for table in ("network_edge", "network_node", "network_scope"):
            await Statement(f"ANALYZE {table}").execute()
