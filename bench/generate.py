"""Bulk generator of a realistic network for the benchmarks.

Writes straight into a database that `placenet migrate` created and that `placenet fixtures load
fixtures/places/uk.json fixtures/places/councils.json fixtures/places/neighbourhoods.json` populated
(the UK's places and its councils as organisations). Adds organisations up to `--organisations`
(default 10,000), `--grants N` grants (each with a funder, a recipient and one or two places), and the
collaborations around them, the same at every grant scale: `--interest-groups` groups with their places
and 5-30 memberships each, `--co-funding` arrangements with their places and 2-8 contributions,
`--research` pieces (a third paid for by an arrangement) with commissioners, partners and places, and
`--engagements` with their participants and places. Every table of models/tables.py that the map and the
network read is filled, through the fastest path each engine has: COPY (asyncpg `copy_records_to_table`)
on PostgreSQL, one `executemany` per table in one transaction on SQLite. On PostgreSQL the grant and
grant_place indexes that back no constraint are dropped for the COPY and built again after it
(`--keep-indexes` to load through them instead).

Re-runnable: rows it made before (source_url = 'bench/generate.py') are deleted first. Deterministic for a seed.
Writes `bench/data/<label>.json` with the refs the runner asks for (an organisation, the busiest
funder, a region).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/placenet_bench python bench/generate.py --grants 10000
    DATABASE_URL=sqlite:///bench/data/bench-10k.sqlite3 python bench/generate.py --grants 10000
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import datetime
import itertools
import json
import os
import random
import sqlite3
import sys
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SOURCE = "fixture"  # one of the API's source kinds
MARK = "bench/generate.py"  # source_url of every generated row: how a re-run finds them

ORG_COLUMNS = [
    "id", "contributed_by", "source", "source_url", "created_at", "updated_at", "version",
    "slug", "name", "org_id", "kind", "description", "website", "home_place",
]  # fmt: skip
GRANT_COLUMNS = [
    "id", "contributed_by", "source", "source_url", "created_at", "updated_at", "version",
    "slug", "identifier", "name", "description", "funder", "recipient", "amount", "currency",
    "awarded_on", "planned_start_on", "planned_end_on", "programme", "amount_applied_for",
    "amount_disbursed", "url", "data_source", "from_open_call", "regrant_type", "location_scope",
    "standard", "extra", "unmatched_locations",
]  # fmt: skip
GRANT_PLACE_COLUMNS = ["id", "grant", "place"]
PROVENANCE = ["id", "contributed_by", "source", "source_url", "created_at", "updated_at", "version"]
COLUMNS = {
    "organisation": ORG_COLUMNS,
    "grant": GRANT_COLUMNS,
    "grant_place": GRANT_PLACE_COLUMNS,
    "interest_group": [*PROVENANCE, "slug", "name", "description", "convenor", "starts_on", "ends_on"],
    "interest_group_place": ["id", "interest_group", "place"],
    "membership": [*PROVENANCE, "interest_group", "organisation", "role", "joined_on", "left_on"],
    "co_funding": [*PROVENANCE, "slug", "name", "description", "purpose", "lead", "starts_on", "ends_on"],
    "co_funding_place": ["id", "co_funding", "place"],
    "contribution": [*PROVENANCE, "co_funding", "funder", "amount", "currency", "in_kind", "description"],
    "research": [*PROVENANCE, "slug", "name", "kind", "summary", "published_on", "url", "funded_by"],
    "research_party": ["id", "research", "organisation", "role"],
    "research_place": ["id", "research", "place"],
    "engagement": [
        *PROVENANCE, "slug", "name", "kind", "convenor", "starts_on", "ends_on", "summary", "outputs",
        "people_involved",
    ],
    "engagement_participant": ["id", "engagement", "organisation"],
    "engagement_place": ["id", "engagement", "place"],
}  # fmt: skip
# Parents before children: the order COPY fills the tables in (and the reverse, deletes them).
ORDER = [
    "organisation", "grant", "grant_place", "interest_group", "interest_group_place", "membership",
    "co_funding", "co_funding_place", "contribution", "research", "research_party", "research_place",
    "engagement", "engagement_participant", "engagement_place",
]  # fmt: skip
RESEARCH_KINDS = ["literature_review", "study", "evaluation", "co_design", "other"]
ENGAGEMENT_KINDS = ["meeting", "meeting_series", "discussion_series", "consultation", "workshop", "other"]
BATCH = 100_000  # grants generated and copied at a time, so 1M grants never sit in memory at once

WORDS = [
    "community",
    "health",
    "youth",
    "arts",
    "housing",
    "climate",
    "food",
    "poverty",
    "inclusion",
    "learning",
    "care",
    "older",
    "people",
    "families",
    "recovery",
    "homelessness",
    "wellbeing",
    "digital",
    "skills",
    "justice",
    "neighbourhood",
    "coast",
    "rural",
    "city",
    "green",
    "energy",
    "transport",
    "water",
    "sport",
    "music",
    "heritage",
    "carers",
    "refugees",
    "women",
    "men",
    "children",
    "nature",
    "advice",
    "money",
    "debt",
    "jobs",
    "enterprise",
    "mental",
    "physical",
    "activity",
    "play",
    "safety",
    "loneliness",
    "voice",
    "power",
]
PROGRAMMES = ["Awards for All", "Reaching Communities", "Place Fund", "Local Connections", "Core Grants",
              "Research Fund", "Systems Change", "Emergency Fund", "Capital Fund", "Growth Fund"]  # fmt: skip
FUNDER_KINDS = ["foundation"] * 3 + ["funder"]
OTHER_KINDS = ["charity"] * 6 + ["community_group"] * 3 + ["social_enterprise"] * 2 + [
    "university", "research_institute", "think_tank", "consultancy", "lived_experience_forum", "other"
]  # fmt: skip


def words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def new_id(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


EPOCH = datetime.datetime(2015, 1, 1, tzinfo=datetime.UTC)


def moment(rng: random.Random) -> datetime.datetime:
    return EPOCH + datetime.timedelta(seconds=rng.randrange(10 * 365 * 86400))


class Network:
    """The generated rows, made on demand in a fixed order from one seed: organisations, then grants in
    batches, then the collaborations (from their own seed, so they are the same at every grant scale)."""

    def __init__(self, existing: list[uuid.UUID], places: list[tuple[uuid.UUID, str]], args: argparse.Namespace):
        self.args = args
        self.rng = random.Random(args.seed)
        self.existing = existing
        self.local = [pid for pid, level in places if level in ("local_authority", "neighbourhood")]
        self.wide = [pid for pid, level in places if level in ("region", "county", "combined_authority")]
        self.funder_ids: list[uuid.UUID] = []
        self.other_ids: list[uuid.UUID] = []
        self.busiest: collections.Counter[uuid.UUID] = collections.Counter()

    def organisations(self) -> list[tuple[Any, ...]]:
        rng, orgs = self.rng, []
        n_orgs = max(0, self.args.organisations - len(self.existing))
        n_funders = max(10, n_orgs // 16)
        for i in range(n_orgs):
            funder = i < n_funders
            oid, at = new_id(rng), moment(rng)
            name = f"{words(rng, 2).title()} {'Foundation' if funder else 'Trust'} {i}"
            orgs.append((
                oid, None, SOURCE, MARK, at, at, 1, f"bench-org-{i}", name, f"GB-BENCH-{i:06d}",
                rng.choice(FUNDER_KINDS if funder else OTHER_KINDS), words(rng, 12), f"https://example.org/{i}",
                rng.choice(self.local),
            ))  # fmt: skip
            (self.funder_ids if funder else self.other_ids).append(oid)
        return orgs

    def grant_batches(self) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
        """Grants and their place links, BATCH at a time. Funders' grant counts follow a power law: a few
        big funders, a long tail."""
        rng, local = self.rng, self.local
        weights = list(itertools.accumulate(1.0 / (rank + 1) ** 1.1 for rank in range(len(self.funder_ids))))
        for start in range(0, self.args.grants, BATCH):
            count = min(BATCH, self.args.grants - start)
            funders = rng.choices(self.funder_ids, cum_weights=weights, k=count)
            self.busiest.update(funders)
            rows, links = [], []
            for n in range(count):
                i = start + n
                gid, at = new_id(rng), moment(rng)
                awarded = at.date()
                amount = Decimal(rng.randrange(500, 500_000)).quantize(Decimal("0.01"))
                rows.append((
                    gid, None, SOURCE, MARK, at, at, 1, f"bench-grant-{i}", f"360G-bench-{i:08d}",
                    f"{words(rng, 3).capitalize()} {i}", words(rng, 25), funders[n], rng.choice(self.other_ids),
                    amount, "GBP", awarded, awarded, awarded + datetime.timedelta(days=365 * rng.randint(1, 3)),
                    rng.choice(PROGRAMMES), None, None, None, None, rng.random() < 0.5, None, None, None, None, None,
                ))  # fmt: skip
                for place in rng.sample(local, rng.choice((1, 1, 2))):
                    links.append((new_id(rng), gid, place))
            yield rows, links

    def _places(self, rng: random.Random, owner: uuid.UUID, low: int, high: int) -> list[tuple[Any, ...]]:
        """One to a few places for a collaboration record: mostly local, one in ten a wider area."""
        chosen = {
            rng.choice(self.wide) if rng.random() < 0.1 else rng.choice(self.local)
            for _ in range(rng.randint(low, high))
        }
        return [(new_id(rng), owner, place) for place in sorted(chosen)]

    def collaborations(self) -> dict[str, list[tuple[Any, ...]]]:
        rng = random.Random(self.args.seed + 1)
        funders, everyone = self.funder_ids, self.existing + self.funder_ids + self.other_ids
        out: dict[str, list[tuple[Any, ...]]] = collections.defaultdict(list)

        def record(prefix: str, i: int) -> tuple[Any, ...]:
            at = moment(rng)
            return (new_id(rng), None, SOURCE, MARK, at, at, 1, f"bench-{prefix}-{i}")

        def span() -> tuple[datetime.date, datetime.date | None]:
            starts = moment(rng).date()
            ends = None if rng.random() < 0.3 else starts + datetime.timedelta(days=rng.randint(90, 4 * 365))
            return starts, ends

        for i in range(self.args.interest_groups):
            head, (starts, ends) = record("group", i), span()
            convenor = rng.choice(everyone)
            out["interest_group"].append(
                (*head, f"{words(rng, 3).title()} Group {i}", words(rng, 20), convenor, starts, ends)
            )
            out["interest_group_place"] += self._places(rng, head[0], 1, 3)
            for member in rng.sample(everyone, rng.randint(5, 30)):
                at = moment(rng)
                joined = starts + datetime.timedelta(days=rng.randint(0, 60))
                left = joined + datetime.timedelta(days=rng.randint(30, 900)) if rng.random() < 0.15 else None
                role = "observer" if rng.random() < 0.1 else "member"
                out["membership"].append(
                    (new_id(rng), None, SOURCE, MARK, at, at, 1, head[0], member, role, joined, left)
                )
        co_funding_ids = []
        for i in range(self.args.co_funding):
            head, (starts, ends) = record("co-funding", i), span()
            co_funding_ids.append(head[0])
            lead = rng.choice(funders)
            out["co_funding"].append(
                (*head, f"{words(rng, 3).title()} Fund {i}", words(rng, 20), words(rng, 8), lead, starts, ends)
            )
            out["co_funding_place"] += self._places(rng, head[0], 1, 3)
            for funder in rng.sample(funders, rng.randint(2, 8)):
                at, in_kind = moment(rng), rng.random() < 0.1
                amount = None if in_kind else Decimal(rng.randrange(5_000, 2_000_000)).quantize(Decimal("0.01"))
                out["contribution"].append(
                    (new_id(rng), None, SOURCE, MARK, at, at, 1, head[0], funder, amount, None if in_kind else "GBP",
                     in_kind, words(rng, 6))
                )  # fmt: skip
        for i in range(self.args.research):
            head = record("research", i)
            funded_by = rng.choice(co_funding_ids) if co_funding_ids and rng.random() < 1 / 3 else None
            published = moment(rng).date() if rng.random() < 0.8 else None
            out["research"].append(
                (*head, f"{words(rng, 4).capitalize()} {i}", rng.choice(RESEARCH_KINDS), words(rng, 30), published,
                 f"https://example.org/research/{i}", funded_by)
            )  # fmt: skip
            commissioners = rng.sample(funders, rng.randint(1, 2))
            partners = [o for o in rng.sample(self.other_ids, rng.randint(1, 3)) if o not in commissioners]
            out["research_party"] += [(new_id(rng), head[0], o, "commissioner") for o in commissioners]
            out["research_party"] += [(new_id(rng), head[0], o, "partner") for o in partners]
            out["research_place"] += self._places(rng, head[0], 1, 2)
        for i in range(self.args.engagements):
            head = record("engagement", i)
            starts = moment(rng).date()
            ends = starts + datetime.timedelta(days=rng.choice((0, 0, 1, 30, 180)))
            convenor = rng.choice(everyone)
            out["engagement"].append(
                (*head, f"{words(rng, 3).capitalize()} {i}", rng.choice(ENGAGEMENT_KINDS), convenor, starts, ends,
                 words(rng, 20), words(rng, 10), rng.randint(5, 300))
            )  # fmt: skip
            participants = [o for o in rng.sample(everyone, rng.randint(3, 20)) if o != convenor]
            out["engagement_participant"] += [(new_id(rng), head[0], o) for o in participants]
            out["engagement_place"] += self._places(rng, head[0], 1, 2)
        return out


DELETE_ORDER = ["research", "engagement", "interest_group", "co_funding", "grant", "organisation"]  # children cascade


def sqlite_value(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime.datetime):
        return str(value.astimezone(datetime.UTC))
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bool):
        return int(value)
    return value


def insert_sql(table: str, columns: list[str]) -> str:
    names = ", ".join(f'"{c}"' for c in columns)
    return f'INSERT INTO "{table}" ({names}) VALUES ({", ".join("?" for _ in columns)})'


def run_sqlite(path: str, args: argparse.Namespace) -> dict[str, Any]:
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA foreign_keys=ON")  # so that deleting a generated record deletes its links
    with db:
        for table in DELETE_ORDER:
            db.execute(f'DELETE FROM "{table}" WHERE source_url = ?', (MARK,))
    existing = [uuid.UUID(i) for (i,) in db.execute("SELECT id FROM organisation ORDER BY id")]
    places = [(uuid.UUID(i), level) for i, level in db.execute("SELECT id, level FROM place ORDER BY id")]
    network = Network(existing, places, args)
    timings: dict[str, float] = collections.defaultdict(float)
    started = time.perf_counter()
    counts: dict[str, int] = collections.defaultdict(int)

    def load(table: str, rows: list[tuple[Any, ...]]) -> None:
        t = time.perf_counter()
        db.executemany(insert_sql(table, COLUMNS[table]), ([sqlite_value(v) for v in row] for row in rows))
        timings["load"] += time.perf_counter() - t
        counts[table] += len(rows)

    with db:
        orgs = network.organisations()
        load("organisation", orgs)
        for rows, links in network.grant_batches():
            load("grant", rows)
            load("grant_place", links)
        collaborations = network.collaborations()
        for table in ORDER[3:]:
            load(table, collaborations[table])
    t = time.perf_counter()
    db.execute("ANALYZE")
    timings["analyze"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - started
    region = db.execute(REGION).fetchone()[0]
    db.close()
    return {"organisations": orgs, "counts": counts, "timings": timings, "network": network, "region": region}


# The region the runner's map and network cases ask for: London, the region with the most local authorities.
REGION = "SELECT gss_code FROM place WHERE level = 'region' ORDER BY gss_code <> 'E12000007', gss_code LIMIT 1"
# Indexes that back no constraint on the big tables: dropped for the COPY, built again after it.
SECONDARY_INDEXES = """
SELECT i.indexname, i.indexdef FROM pg_indexes i
WHERE i.schemaname = current_schema() AND i.tablename = ANY($1::text[])
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
ORDER BY i.tablename, i.indexname
"""


async def run_postgres(dsn: str, args: argparse.Namespace) -> dict[str, Any]:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    timings: dict[str, float] = collections.defaultdict(float)
    counts: dict[str, int] = collections.defaultdict(int)
    try:
        async with conn.transaction():
            for table in DELETE_ORDER:
                await conn.execute(f'DELETE FROM "{table}" WHERE source_url = $1', MARK)
        existing = [r["id"] for r in await conn.fetch("SELECT id FROM organisation ORDER BY id")]
        places = [(r["id"], r["level"]) for r in await conn.fetch("SELECT id, level FROM place ORDER BY id")]
        network = Network(existing, places, args)
        started = time.perf_counter()

        async def load(table: str, rows: list[tuple[Any, ...]]) -> None:
            t = time.perf_counter()
            await conn.copy_records_to_table(table, records=rows, columns=COLUMNS[table])
            timings["copy"] += time.perf_counter() - t
            counts[table] += len(rows)

        async with conn.transaction():
            await conn.execute("SET LOCAL maintenance_work_mem = '512MB'")
            dropped = [] if args.keep_indexes else await conn.fetch(SECONDARY_INDEXES, ["grant", "grant_place"])
            for row in dropped:
                await conn.execute(f'DROP INDEX "{row["indexname"]}"')
            orgs = network.organisations()
            await load("organisation", orgs)
            for rows, links in network.grant_batches():
                await load("grant", rows)
                await load("grant_place", links)
            collaborations = network.collaborations()
            for table in ORDER[3:]:
                await load(table, collaborations[table])
            t = time.perf_counter()
            for row in dropped:
                await conn.execute(row["indexdef"])
            timings["indexes"] = time.perf_counter() - t
        t = time.perf_counter()
        await conn.execute("ANALYZE")
        timings["analyze"] = time.perf_counter() - t
        timings["total"] = time.perf_counter() - started
        region = await conn.fetchval(REGION)
    finally:
        await conn.close()
    return {"organisations": orgs, "counts": counts, "timings": timings, "network": network, "region": region}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--grants", type=int, default=10_000)
    parser.add_argument("--organisations", type=int, default=10_000, help="total organisations, fixtures included")
    parser.add_argument("--interest-groups", type=int, default=3_000)
    parser.add_argument("--co-funding", type=int, default=2_000)
    parser.add_argument("--research", type=int, default=2_000)
    parser.add_argument("--engagements", type=int, default=3_000)
    parser.add_argument("--seed", type=int, default=360)
    parser.add_argument("--keep-indexes", action="store_true", help="PostgreSQL: COPY through the indexes")
    parser.add_argument("--label", help="name of bench/data/<label>.json [default: from the database]")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL") or "sqlite:///placenet.sqlite3"
    if url.startswith("sqlite:///"):
        data = run_sqlite(url.removeprefix("sqlite:///"), args)
    else:
        data = asyncio.run(run_postgres(url, args))
    orgs, network = data["organisations"], data["network"]
    busiest = network.busiest.most_common(1)[0][0] if network.busiest else None
    label = args.label or ("sqlite" if url.startswith("sqlite") else "postgres") + f"-{args.grants}"
    refs = {
        "database_url": url,
        "grants": args.grants,
        "organisation": orgs[len(orgs) // 2][9] if orgs else None,  # an org-id
        "busiest_funder": next((o[9] for o in orgs if o[0] == busiest), None),
        "region": data["region"],
        "rows": dict(data["counts"]),
        "seconds": {k: round(v, 2) for k, v in data["timings"].items()},
    }
    out = HERE / "data" / f"{label}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(refs, indent=1) + "\n")
    rows = sum(data["counts"].values())
    timings = ", ".join(f"{k} {v:.1f}s" for k, v in data["timings"].items())
    print(
        f"{rows:,} rows ({', '.join(f'{t} {n:,}' for t, n in data['counts'].items())}) generated and written in "
        f"{data['timings']['total']:.1f}s ({rows / max(data['timings']['total'], 1e-9):,.0f} rows/s; {timings}); "
        f"refs in {out}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
