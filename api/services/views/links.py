"""The network's links, kept: for every pair of organisations and kind of record, the summed weight of the
records of that kind that link them (by the rules in `network.TIES`, over all time) and how many there
are, kept true by the writes so that the network is read from links, not rebuilt from every record.

How they stay true, as the map's tallies do (tally.py): `settle` is an after-write step of the unit of
work (installed by api/services/wiring.py). For each record a write logged, what it adds now (its pairs
and their weights, from its parties) is compared with what it added when last counted (`NetworkRecord`),
and only the difference moves. A co-funding arrangement's parties include the partners of the research
it paid for, so a write to a piece of research settles the arrangement it feeds, and the one it fed."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable, Sequence
from uuid import UUID

import msgspec

from api.services.platform.actors import Actor
from api.services.platform.sql import Statement, insert_rows, listed
from api.services.records.unit_of_work import Written, unit_of_work
from api.services.views import tally
from api.services.views.activity import PARTIES, as_uuid
from api.services.views.network import ties
from models.tables import NetworkRecord

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
YIELD_EVERY = 500

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
LINKS = Statement('SELECT "key", weight, records FROM network_link WHERE "key" {in}')
FORGET_LINKS = Statement('DELETE FROM network_link WHERE "key" {in}')
KEEP_LINK = Statement(
    'INSERT INTO network_link ("key", source, target, kind, weight, records) VALUES ({}, {}, {}, {}, {}, {}) '
    'ON CONFLICT ("key") DO UPDATE SET weight = excluded.weight, records = excluded.records'
)
FORGET_EVERYTHING = (Statement("DELETE FROM network_link"), Statement("DELETE FROM network_record"))


class Share(msgspec.Struct, array_like=True, frozen=True):
    """What one record adds: each pair it links ("a b", a < b) and the weight; for research, the
    co-funding arrangement it feeds."""

    pairs: dict[str, float] = {}
    feeds: str | None = None


Pair = tuple[str, str, str]  # source, target, kind


def _key(*parts: object) -> str:
    return "/".join(str(part) for part in parts)


async def shares(kind: str, record_ids: Sequence[UUID]) -> dict[UUID, Share]:
    """What each record adds now (nothing, for a record that no longer exists)."""
    parties: dict[UUID, dict[UUID, set[str]]] = defaultdict(lambda: defaultdict(set))
    for row in await PARTIES_OF[kind].records(*[listed(record_ids)] * PARTY_LISTS[kind]):
        parties[as_uuid(row["record_id"])][as_uuid(row["organisation"])].add(row["role"])
    feeds: dict[UUID, str] = {}
    if kind == "research":
        feeds = {as_uuid(row["id"]): str(row["funded_by"]) for row in await FEEDS.records(listed(record_ids))}
    found = {}
    for record_id in record_ids:
        added = ties(kind, parties.get(record_id, {}))
        found[record_id] = Share({f"{a} {b}": weight for (a, b), weight in added.items()}, feeds.get(record_id))
    return found


class Moves:
    """Changes to the links: for each (source, target, kind), weight and records in or out."""

    def __init__(self) -> None:
        self.weights: dict[Pair, float] = defaultdict(float)
        self.records: dict[Pair, int] = defaultdict(int)

    def add(self, kind: str, share: Share, sign: int) -> None:
        for pair, weight in share.pairs.items():
            source, target = pair.split()
            self.weights[source, target, kind] += sign * weight
            self.records[source, target, kind] += sign

    async def apply(self) -> None:
        moved = [pair for pair in self.records if self.records[pair] or self.weights[pair]]
        for start in range(0, len(moved), CHUNK):
            chunk = {_key(*pair): pair for pair in moved[start : start + CHUNK]}
            current = {row["key"]: row for row in await LINKS.records(listed(list(chunk)))}
            kept, emptied = [], []
            for key, (source, target, kind) in chunk.items():
                row = current.get(key)
                records = (row["records"] if row else 0) + self.records[source, target, kind]
                weight = (row["weight"] if row else 0.0) + self.weights[source, target, kind]
                if records > 0:
                    kept.append((key, UUID(source), UUID(target), kind, weight, records))
                elif row:
                    # The last record linking them is gone: the row goes, and with it any rounding left over.
                    emptied.append(key)
            if emptied:
                await FORGET_LINKS.execute(listed(emptied))
            await KEEP_LINK.run_many(kept)


def _affected(written: Iterable[Written]) -> dict[str, set[UUID]]:
    by_kind: dict[str, set[UUID]] = defaultdict(set)
    for w in written:
        kind = COLLECTIONS.get(w.collection)
        if kind is not None:
            by_kind[kind].add(w.owner_id if w.collection in CHILDREN and w.owner_id else w.record_id)
    return by_kind


async def settle(written: Iterable[Written]) -> None:
    """Move the links of the records a write transaction wrote; called just before it commits."""
    by_kind = _affected(written)
    moves = Moves()
    if "research" in by_kind:
        # Research first: the arrangements it feeds, before and after, are settled with the others.
        by_kind.setdefault("co_funding", set()).update(await _settle("research", by_kind.pop("research"), moves))
    for kind, record_ids in by_kind.items():
        await _settle(kind, record_ids, moves)
    await moves.apply()


async def _settle(kind: str, record_ids: set[UUID], moves: Moves) -> set[UUID]:
    """Move one kind's records into `moves` and remember them; the arrangements research fed or feeds."""
    fed: set[UUID] = set()
    ordered = sorted(record_ids)
    for start in range(0, len(ordered), CHUNK):
        chunk = ordered[start : start + CHUNK]
        keys = {_key(kind, record_id): record_id for record_id in chunk}
        before = {
            keys[row["key"]]: msgspec.json.decode(row["ties"], type=Share)
            for row in await RECORDED.records(listed(list(keys)))
        }
        now = await shares(kind, chunk)
        fed.update(UUID(share.feeds) for share in (*before.values(), *now.values()) if share.feeds)
        changed = [record_id for record_id in chunk if now[record_id] != before.get(record_id, Share())]
        for done, record_id in enumerate(changed, start=1):
            moves.add(kind, before.get(record_id, Share()), -1)
            moves.add(kind, now[record_id], +1)
            if done % YIELD_EVERY == 0:
                await asyncio.sleep(0)
        await _record(kind, {record_id: now[record_id] for record_id in changed}, before)
    return fed


async def _record(kind: str, now: dict[UUID, Share], recorded: Iterable[UUID] = ()) -> None:
    """Remember what each record adds, for the next write to compare with."""
    forget = [_key(kind, record_id) for record_id in recorded if record_id in now]
    if forget:
        await FORGET_RECORDS.execute(listed(forget))
    rows = [
        {"key": _key(kind, record_id), "ties": msgspec.json.encode(share).decode()}
        for record_id, share in now.items()
        if share.pairs or share.feeds
    ]
    await insert_rows(NetworkRecord, rows)


async def computed() -> dict[Pair, tuple[float, int]]:
    """Every link counted afresh from the records, without writing: what the kept links must equal."""
    moves = Moves()
    for kind in TABLES:
        ids = sorted(as_uuid(row["id"]) for row in await EVERY_RECORD[kind].records())
        for start in range(0, len(ids), CHUNK):
            for share in (await shares(kind, ids[start : start + CHUNK])).values():
                moves.add(kind, share, +1)
    return {pair: (moves.weights[pair], records) for pair, records in moves.records.items() if records}


async def rebuild() -> None:
    """Count every link again from the records (a migration that needs it, or `placenet recount`)."""
    async with unit_of_work(Actor()):
        for statement in FORGET_EVERYTHING:
            await statement.execute()
        moves = Moves()
        for kind in TABLES:
            ids = sorted(as_uuid(row["id"]) for row in await EVERY_RECORD[kind].records())
            for start in range(0, len(ids), CHUNK):
                now = await shares(kind, ids[start : start + CHUNK])
                for share in now.values():
                    moves.add(kind, share, +1)
                await _record(kind, now)
        await moves.apply()
