"""The map's tallies: for every place, how many records of each kind are linked to it or to a place
below it (each record once), and their money per currency, kept up to date by the writes.

Counting them at read time costs what the region holds: the map of London read 180k links and 180k
grants at 1M grants (bench/results/2026-11-26-scale-findings.md). Kept here, the unfiltered map reads one
row per place, kind and currency, whatever the number of records.

How they stay true: `settle` is an after-write step of the unit of work (installed by
api/services/wiring.py): before every write commits, it is given the records the write logged. For
each, what it adds now (its places, and so every place above them, and its money) is compared with
what it added when last counted (`TallyRecord`), and only the difference moves. A place moved under
another parent changes the ancestry of everything below it, so it rebuilds every tally (rare: places
are reference data that admins change; a place with records in it cannot be deleted). Between moves
the ancestry of a place is fixed, so a record keeps only its own places and their ancestors (by any
path: `place_ancestor`) are read when it changes; a place above a record's places by several paths
counts it once.

Besides the places, rows under ids no place has (api/services/views/activity.py) say what a map leaves
out: the records with no place, those with one, and for each level L those at it, as a whole and within
each place A (`at_level(L, A)`: some place of level L holding one of the record's places is A or inside
A). A record under a chain of k places (its own and those above) moves about k(k+1)/2 of these, besides
the k places."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from uuid import UUID

import msgspec

from api.services.platform.actors import Actor
from api.services.platform.sql import Statement, insert_rows, listed
from api.services.records.unit_of_work import Written, unit_of_work
from api.services.views import activity
from api.services.views.activity import EVERYWHERE, NOWHERE, as_uuid, at_level
from models.tables import TallyRecord

log = logging.getLogger("placenet.tally")

ORGANISATION = "organisation"
# The change feed's collections, as the kinds they tally; a contribution is its arrangement's money.
COLLECTIONS = {
    "interest-groups": "interest_group",
    "co-funding": "co_funding",
    "research": "research",
    "grants": "grant",
    "engagements": "engagement",
    "organisations": ORGANISATION,
    "contributions": "co_funding",
}
# Read in chunks: a bulk import names tens of thousands of records at once.
CHUNK = 5000
YIELD_EVERY = 500
COUNT = ""  # the currency of a count row


@dataclass
class Share:
    """What one record adds: its own places (and through them every place above; with none, it counts
    `NOWHERE`) and its money. A record that does not exist adds nothing (`counted` is False)."""

    places: frozenset[str] = frozenset()
    money: dict[str, Decimal] = field(default_factory=dict)
    counted: bool = False

    def encode(self) -> tuple[str, str]:
        return " ".join(sorted(self.places)), msgspec.json.encode({c: str(a) for c, a in self.money.items()}).decode()

    @classmethod
    def decode(cls, places: str, money: str) -> Share:
        amounts = msgspec.json.decode(money) if money else {}
        return cls(frozenset(places.split()), {currency: Decimal(amount) for currency, amount in amounts.items()}, True)


# Where each kind's records are linked to places: (table, record column, place column), as the live
# counts read them (activity.LINKS), and an organisation's home place.
LINKS = {
    **{kind: (table, record, "place") for kind, (table, record) in activity.LINKS.items()},
    ORGANISATION: ("organisation", "id", "home_place"),
}
# The money of each kind's records, as the live counts read it (activity.money), for a list of records.
AMOUNTS = {
    kind: Statement(activity.money(kind, f"{record} {{in}}")) for kind, (_, record) in activity.MONEY_TABLES.items()
}
RECORD_PLACES = {
    kind: Statement(
        f"SELECT x.{record} AS record_id, x.{place} AS place FROM {table} AS x "
        f"WHERE x.{record} {{in}} AND x.{place} IS NOT NULL"
    )
    for kind, (table, record, place) in LINKS.items()
}
# Each kind's own table: its records exist, with places or without.
TABLES = {
    "interest_group": "interest_group",
    "co_funding": "co_funding",
    "research": "research",
    "grant": '"grant"',
    "engagement": "engagement",
    ORGANISATION: "organisation",
}
EXISTING = {kind: Statement(f"SELECT id AS record_id FROM {table} WHERE id {{in}}") for kind, table in TABLES.items()}
FORGET_EVERYTHING = Statement("DELETE FROM place_tally")
FORGET_EVERY_RECORD = Statement("DELETE FROM tally_record")
EVERY_RECORD = {kind: Statement(f"SELECT id AS record_id FROM {table}") for kind, table in TABLES.items()}
# The ancestors of the given places and of every place above them (a place is its own ancestor, so the
# given places are among them), with their levels: what `Moves.add` needs, in one query.
PLACE_ANCESTORS = Statement(
    "SELECT a.place, a.ancestor, p.level FROM place_ancestor a JOIN place p ON p.id = a.ancestor "
    "WHERE a.place IN (SELECT b.ancestor FROM place_ancestor b WHERE b.place {in})"
)
RECORDED = Statement('SELECT "key", places, money FROM tally_record WHERE "key" {in}')
TALLIES = Statement('SELECT "key", records, amount FROM place_tally WHERE "key" {in}')
FORGET_RECORDS = Statement('DELETE FROM tally_record WHERE "key" {in}')
FORGET_TALLIES = Statement('DELETE FROM place_tally WHERE "key" {in}')
KEEP_TALLY = Statement(
    'INSERT INTO place_tally ("key", place, kind, currency, records, amount) VALUES ({}, {}, {}, {}, {}, {}) '
    'ON CONFLICT ("key") DO UPDATE SET records = excluded.records, amount = excluded.amount'
)


@dataclass
class Ancestries:
    """Places' ancestors: each place id, it and every place above it by any path; and their levels. A
    place's own ancestors are read with those of every place above it, which `at_levels` needs."""

    above: dict[str, set[str]] = field(default_factory=dict)
    levels: dict[str, str] = field(default_factory=dict)
    _at_levels: dict[str, frozenset[str]] = field(default_factory=dict)

    def at_levels(self, place: str) -> frozenset[str]:
        """The level tallies a record in `place` (or below it) counts in because of it: with `place` at
        level L, `at_level(L)` and `at_level(L, A)` for `place` and every place A above it; none for a
        place with no level known."""
        found = self._at_levels.get(place)
        if found is None:
            level = self.levels.get(place)
            found = (
                frozenset(
                    {str(at_level(level)), *(str(at_level(level, within)) for within in self.above.get(place, {place}))}
                )
                if level is not None
                else frozenset()
            )
            self._at_levels[place] = found
        return found


async def shares(kind: str, record_ids: Sequence[UUID]) -> dict[UUID, Share]:
    """What each record adds now; a record that no longer exists adds nothing."""
    existing = {as_uuid(row["record_id"]) for row in await EXISTING[kind].records(listed(record_ids))}
    places: dict[UUID, set[str]] = defaultdict(set)
    for row in await RECORD_PLACES[kind].records(listed(record_ids)):
        places[as_uuid(row["record_id"])].add(str(row["place"]))
    money: dict[UUID, dict[str, Decimal]] = defaultdict(dict)
    if kind in AMOUNTS:
        for row in await AMOUNTS[kind].records(listed(record_ids)):
            record_money = money[as_uuid(row["record_id"])]
            record_money[row["currency"]] = record_money.get(row["currency"], Decimal(0)) + Decimal(str(row["amount"]))
    return {
        record_id: Share(frozenset(places.get(record_id, ())), money.get(record_id, {}), True)
        if record_id in existing
        else Share()
        for record_id in record_ids
    }


async def add_ancestries(places: Iterable[str], ancestries: Ancestries) -> None:
    """The ancestors of these places (ids), added to `ancestries` where it does not have them."""
    missing = {place for place in places if place not in ancestries.above}
    for start in range(0, len(missing), CHUNK) if missing else ():
        chunk = sorted(missing)[start : start + CHUNK]
        for place in chunk:
            ancestries.above.setdefault(place, {place})
        for row in await PLACE_ANCESTORS.records(listed(chunk)):
            ancestor = str(row["ancestor"])
            ancestries.above.setdefault(str(row["place"]), set()).add(ancestor)
            ancestries.levels[ancestor] = row["level"]


def _key(*parts: Any) -> str:
    return "/".join(str(part) for part in parts)


Tally = tuple[str, str, str]  # place id, kind, currency


class Moves:
    """Changes to the tallies: for each (place, kind, currency), records and money in or out."""

    def __init__(self) -> None:
        self.records: dict[Tally, int] = defaultdict(int)
        self.amounts: dict[Tally, Decimal] = defaultdict(Decimal)

    def add(self, kind: str, share: Share, sign: int, ancestries: Ancestries) -> None:
        if not share.counted:
            return
        every_place = {above for place in share.places for above in ancestries.above.get(place, {place})}
        if every_place:
            # Besides EVERYWHERE, every level the record is at, as a whole and within each place holding the
            # place of that level it is in: so the map of any region at any level reads what it leaves out
            # as the region's tally less `at_level(level, region)`, as the whole map does with EVERYWHERE.
            at_levels = {tally for place in every_place for tally in ancestries.at_levels(place)}
            every_place |= {str(EVERYWHERE), *at_levels}
        else:
            every_place = {str(NOWHERE)}
        for place in every_place:
            self.records[place, kind, COUNT] += sign
            for currency, amount in share.money.items():
                self.records[place, kind, currency] += sign
                self.amounts[place, kind, currency] += sign * amount

    async def apply(self) -> None:
        tallies = [tally for tally, records in self.records.items() if records or self.amounts.get(tally)]
        for start in range(0, len(tallies), CHUNK):
            chunk = {_key(*tally): tally for tally in tallies[start : start + CHUNK]}
            current = {row["key"]: row for row in await TALLIES.records(listed(chunk))}
            kept, emptied = [], []
            for key, (place, kind, currency) in chunk.items():
                row = current.get(key)
                records = (row["records"] if row else 0) + self.records[place, kind, currency]
                amount = (Decimal(row["amount"]) if row else Decimal(0)) + self.amounts.get((place, kind, currency), 0)
                if records < 0:
                    # Only data written past the API can do this; the write itself is still right.
                    log.error("the map's tally %s would go below zero: run `placenet recount`", key)
                if records > 0:
                    kept.append((key, UUID(place), kind, currency, records, str(amount)))
                elif row:
                    emptied.append(key)
            if emptied:
                await FORGET_TALLIES.execute(listed(emptied))
            await KEEP_TALLY.run_many(kept)


async def settle(written: Iterable[Written]) -> None:
    """Move the tallies of the records a write transaction wrote; called just before it commits."""
    written = list(written)
    if any(w.reparented for w in written):
        await rebuild()
        return
    by_kind: dict[str, set[UUID]] = defaultdict(set)
    for w in written:
        kind = COLLECTIONS.get(w.collection)
        if kind is not None:
            by_kind[kind].add(w.owner_id if w.collection == "contributions" and w.owner_id else w.record_id)
    moves = Moves()
    for kind, ids in by_kind.items():
        ordered = sorted(ids)
        for start in range(0, len(ordered), CHUNK):
            chunk = ordered[start : start + CHUNK]
            keys = {_key(kind, record_id): record_id for record_id in chunk}
            before = {
                keys[row["key"]]: Share.decode(row["places"], row["money"])
                for row in await RECORDED.records(listed(list(keys)))
            }
            now = await shares(kind, chunk)
            changed = [record_id for record_id in chunk if now[record_id] != before.get(record_id, Share())]
            ancestries = Ancestries()
            moved = [*(now[r] for r in changed), *(before[r] for r in changed if r in before)]
            await add_ancestries((place for share in moved for place in share.places), ancestries)
            for done, record_id in enumerate(changed, start=1):
                moves.add(kind, before.get(record_id, Share()), -1, ancestries)
                moves.add(kind, now[record_id], +1, ancestries)
                if done % YIELD_EVERY == 0:
                    # A large import settles tens of thousands of records at once: let the reads the event
                    # loop holds go first (bench/import_latency.py measured 0.7 s without a break).
                    await asyncio.sleep(0)
            await _record(kind, {record_id: now[record_id] for record_id in changed}, before)
    await moves.apply()


async def _record(kind: str, now: dict[UUID, Share], recorded: Iterable[UUID] = ()) -> None:
    """Remember what each record adds, for the next write to compare with (`recorded`: the records
    remembered before, whose rows go first)."""
    if not now:
        return
    forget = [_key(kind, record_id) for record_id in recorded if record_id in now]
    if forget:
        await FORGET_RECORDS.execute(listed(forget))
    rows = []
    for record_id, share in now.items():
        if share.counted:
            places, money = share.encode()
            rows.append({"key": _key(kind, record_id), "places": places, "money": money})
    await insert_rows(TallyRecord, rows)


async def rebuild() -> None:
    """Count every tally again from the records (a place moved, a migration that needs it, or `placenet
    recount`)."""
    async with unit_of_work(Actor()):
        await FORGET_EVERYTHING.execute()
        await FORGET_EVERY_RECORD.execute()
        moves = Moves()
        ancestries = Ancestries()
        for kind in LINKS:
            ids = sorted(as_uuid(row["record_id"]) for row in await EVERY_RECORD[kind].records())
            for start in range(0, len(ids), CHUNK):
                now = await shares(kind, ids[start : start + CHUNK])
                await add_ancestries((place for share in now.values() for place in share.places), ancestries)
                for share in now.values():
                    moves.add(kind, share, +1, ancestries)
                await _record(kind, now)
        await moves.apply()
