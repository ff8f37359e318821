"""Bulk generator of a realistic network for the benchmarks.

Writes straight into a database that `placenet migrate` created and that `placenet fixtures load
fixtures/places/uk.json fixtures/places/councils.json fixtures/places/neighbourhoods.json` populated
(the UK's places and its councils as organisations). Adds organisations up to `--organisations`
(default 10,000) and `--grants N` grants, each with a funder, a recipient and one or two places, through
the fastest path each engine has: COPY (asyncpg `copy_records_to_table`) on PostgreSQL, one
`executemany` per table in one transaction on SQLite.

Re-runnable: rows it made before (source_url = 'bench/generate.py') are deleted first. Deterministic for a seed.
Writes `bench/data/<label>.json` with the refs the runner asks for (an organisation, the busiest
funder, a region).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/placenet_bench python bench/generate.py --grants 10000
    DATABASE_URL=sqlite:///bench/data/bench-10k.sqlite3 python bench/generate.py --grants 10000
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import random
import sqlite3
import sys
import time
import uuid
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


def build(
    existing_orgs: int, places: list[tuple[uuid.UUID, str]], organisations: int, grants: int, seed: int
) -> dict[str, Any]:
    rng = random.Random(seed)
    epoch = datetime.datetime(2015, 1, 1, tzinfo=datetime.UTC)
    local = [pid for pid, level in places if level in ("local_authority", "neighbourhood")]
    n_orgs = max(0, organisations - existing_orgs)
    n_funders = max(10, n_orgs // 16)
    orgs, funder_ids, other_ids = [], [], []
    for i in range(n_orgs):
        funder = i < n_funders
        oid = uuid.UUID(int=rng.getrandbits(128), version=4)
        at = epoch + datetime.timedelta(seconds=rng.randrange(10 * 365 * 86400))
        name = f"{words(rng, 2).title()} {'Foundation' if funder else 'Trust'} {i}"
        orgs.append((
            oid, None, SOURCE, MARK, at, at, 1, f"bench-org-{i}", name, f"GB-BENCH-{i:06d}",
            rng.choice(FUNDER_KINDS if funder else OTHER_KINDS), words(rng, 12), f"https://example.org/{i}",
            rng.choice(local),
        ))  # fmt: skip
        (funder_ids if funder else other_ids).append(oid)
    # Funders' grant counts follow a power law: a few big funders, a long tail.
    weights = [1.0 / (rank + 1) ** 1.1 for rank in range(len(funder_ids))]
    funders = rng.choices(funder_ids, weights=weights, k=grants)
    rows, links = [], []
    for i in range(grants):
        gid = uuid.UUID(int=rng.getrandbits(128), version=4)
        at = epoch + datetime.timedelta(seconds=rng.randrange(10 * 365 * 86400))
        awarded = at.date()
        amount = Decimal(rng.randrange(500, 500_000)).quantize(Decimal("0.01"))
        rows.append((
            gid, None, SOURCE, MARK, at, at, 1, f"bench-grant-{i}", f"360G-bench-{i:08d}",
            f"{words(rng, 3).capitalize()} {i}", words(rng, 25), funders[i], rng.choice(other_ids), amount, "GBP",
            awarded, awarded, awarded + datetime.timedelta(days=365 * rng.randint(1, 3)), rng.choice(PROGRAMMES),
            None, None, None, None, rng.random() < 0.5, None, None, None, None, None,
        ))  # fmt: skip
        for place in rng.sample(local, rng.choice((1, 1, 2))):
            links.append((uuid.UUID(int=rng.getrandbits(128), version=4), gid, place))
    busiest = max(set(funders), key=funders.count) if funders else None
    return {"organisations": orgs, "grants": rows, "grant_places": links, "busiest_funder": busiest}


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
    with db:
        db.execute('DELETE FROM grant_place WHERE "grant" IN (SELECT id FROM "grant" WHERE source_url = ?)', (MARK,))
        db.execute('DELETE FROM "grant" WHERE source_url = ?', (MARK,))
        db.execute("DELETE FROM organisation WHERE source_url = ?", (MARK,))
    existing = db.execute("SELECT count(*) FROM organisation").fetchone()[0]
    places = [(uuid.UUID(i), level) for i, level in db.execute("SELECT id, level FROM place")]
    data = build(existing, places, args.organisations, args.grants, args.seed)
    started = time.perf_counter()
    with db:
        for table, columns, key in (
            ("organisation", ORG_COLUMNS, "organisations"),
            ("grant", GRANT_COLUMNS, "grants"),
            ("grant_place", GRANT_PLACE_COLUMNS, "grant_places"),
        ):
            db.executemany(insert_sql(table, columns), ([sqlite_value(v) for v in row] for row in data[key]))
    db.execute("ANALYZE")
    data["seconds"] = time.perf_counter() - started
    region = db.execute("SELECT gss_code FROM place WHERE level = 'region' ORDER BY gss_code LIMIT 1").fetchone()[0]
    db.close()
    data["region"] = region
    return data


async def run_postgres(dsn: str, args: argparse.Namespace) -> dict[str, Any]:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            await conn.execute(
                'DELETE FROM grant_place WHERE "grant" IN (SELECT id FROM "grant" WHERE source_url = $1)', MARK
            )
            await conn.execute('DELETE FROM "grant" WHERE source_url = $1', MARK)
            await conn.execute("DELETE FROM organisation WHERE source_url = $1", MARK)
        existing = await conn.fetchval("SELECT count(*) FROM organisation")
        places = [(r["id"], r["level"]) for r in await conn.fetch("SELECT id, level FROM place")]
        data = build(existing, places, args.organisations, args.grants, args.seed)
        started = time.perf_counter()
        async with conn.transaction():
            await conn.copy_records_to_table("organisation", records=data["organisations"], columns=ORG_COLUMNS)
            await conn.copy_records_to_table("grant", records=data["grants"], columns=GRANT_COLUMNS)
            await conn.copy_records_to_table("grant_place", records=data["grant_places"], columns=GRANT_PLACE_COLUMNS)
        await conn.execute("ANALYZE")
        data["seconds"] = time.perf_counter() - started
        data["region"] = await conn.fetchval(
            "SELECT gss_code FROM place WHERE level = 'region' ORDER BY gss_code LIMIT 1"
        )
    finally:
        await conn.close()
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--grants", type=int, default=10_000)
    parser.add_argument("--organisations", type=int, default=10_000, help="total organisations, fixtures included")
    parser.add_argument("--seed", type=int, default=360)
    parser.add_argument("--label", help="name of bench/data/<label>.json [default: from the database]")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL") or "sqlite:///placenet.sqlite3"
    if url.startswith("sqlite:///"):
        data = run_sqlite(url.removeprefix("sqlite:///"), args)
    else:
        data = asyncio.run(run_postgres(url, args))
    orgs = data["organisations"]
    label = args.label or ("sqlite" if url.startswith("sqlite") else "postgres") + f"-{args.grants}"
    refs = {
        "database_url": url,
        "grants": args.grants,
        "organisation": orgs[len(orgs) // 2][9] if orgs else None,  # an org-id
        "busiest_funder": next((o[9] for o in orgs if o[0] == data["busiest_funder"]), None),
        "region": data["region"],
    }
    out = HERE / "data" / f"{label}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(refs, indent=1) + "\n")
    rows = len(orgs) + len(data["grants"]) + len(data["grant_places"])
    print(
        f"{len(orgs)} organisations, {len(data['grants'])} grants, {len(data['grant_places'])} grant places "
        f"written in {data['seconds']:.2f}s ({rows / max(data['seconds'], 1e-9):,.0f} rows/s); refs in {out}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
