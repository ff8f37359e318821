"""360Giving import throughput against a raw COPY of the same rows (PostgreSQL).

1. Writes a deterministic 360Giving JSON file of `--grants` grants (`bench/data/360giving-<N>.json`):
   ~200 funders by a power law, ~5,000 recipient charities, one or two local-authority beneficiary
   locations each (real GSS codes from fixtures/places/uk.json), programmes, planned dates.
2. Builds a template database once (`placenet_bench_import_template`: migrated, fixtures/places/uk.json
   loaded), then for each of `--rounds` rounds, interleaved:
   - the import: a fresh copy of the template, `placenet import 360giving FILE --json`, timed wall-clock
     (the CLI's start-up included, as an operator sees it);
   - the raw COPY: the same rows, read back from the imported database (its new organisations, grants
     and grant places), copied with asyncpg `copy_records_to_table` into another fresh copy of the
     template: the organisations first, untimed, then the grants and their places in one transaction,
     timed. Only what the import writes to `grant` and `grant_place` is timed on both sides' row count;
     the import also writes organisations and the change feed, which is its own cost.
3. Reports medians and the ratio import throughput / COPY throughput (target >= 0.2), and writes
   `bench/results/<date>-<time>-<host>-import.md`. `--profile` runs one more import under py-spy and
   summarises it with bench/fold.py.

    python bench/import_bench.py --grants 20000 --rounds 3 [--profile]
    python bench/import_bench.py --rounds 0 --profile      # the profile alone

Databases it makes (all `placenet_bench_import*`) are dropped at the end, except the template.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BIN = ROOT / ".venv" / "bin"
PG = os.environ.get("PG", "postgresql://postgres@127.0.0.1:5432")
TEMPLATE = "placenet_bench_import_template"
IMPORTED = "placenet_bench_import_run"
COPIED = "placenet_bench_import_copy"
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
    "families",
    "recovery",
]
PROGRAMMES = ["Main Grants", "Small Grants", "Place Fund", "Core Funding", "Capital"]


def write_file(path: Path, grants: int, seed: int) -> None:
    rng = random.Random(seed)
    places = json.loads((ROOT / "fixtures" / "places" / "uk.json").read_text())["places"]
    local = [p for p in places if p["level"] == "local_authority" and p.get("gss_code")]
    funders = [(f"GB-CHC-{2000000 + i}", f"{rng.choice(WORDS).title()} Foundation {i}") for i in range(200)]
    weights = [1.0 / (rank + 1) ** 1.1 for rank in range(len(funders))]
    recipients = [(f"GB-CHC-{1000000 + i}", f"{rng.choice(WORDS).title()} Charity {i}") for i in range(5000)]
    out = []
    for i in range(grants):
        funder = rng.choices(funders, weights=weights)[0]
        recipient = rng.choice(recipients)
        awarded = datetime.date(2016, 1, 1) + datetime.timedelta(days=rng.randrange(3000))
        ends = awarded + datetime.timedelta(days=365 * rng.randint(1, 3))
        out.append({
            "id": f"360G-bench-import-{i:07d}",
            "title": " ".join(rng.choice(WORDS) for _ in range(4)).capitalize(),
            "description": " ".join(rng.choice(WORDS) for _ in range(30)).capitalize() + ".",
            "currency": "GBP",
            "amountAwarded": rng.randrange(500, 250_000),
            "awardDate": f"{awarded.isoformat()}T00:00:00+00:00",
            "plannedDates": [{"startDate": awarded.isoformat(), "endDate": ends.isoformat()}],
            "recipientOrganization": [
                {"id": recipient[0], "name": recipient[1], "charityNumber": recipient[0].removeprefix("GB-CHC-")}
            ],
            "fundingOrganization": [{"id": funder[0], "name": funder[1]}],
            "beneficiaryLocation": [
                {"name": p["name"], "geoCode": p["gss_code"]} for p in rng.sample(local, rng.choice((1, 1, 2)))
            ],
            "grantProgramme": [{"title": rng.choice(PROGRAMMES)}],
            "dateModified": "2026-01-01T00:00:00+00:00",
        })  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"grants": out}, indent=1))


def psql(*sql: str) -> None:
    command = ["psql", f"{PG}/postgres", "-qX", "-v", "ON_ERROR_STOP=1"]
    for statement in sql:
        command += ["-c", statement]
    subprocess.run(command, check=True, capture_output=True)


def fresh(name: str) -> str:
    psql(f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
    return f"{PG}/{name}"


def ensure_template() -> None:
    found = subprocess.run(
        ["psql", f"{PG}/postgres", "-XAtc", f"SELECT 1 FROM pg_database WHERE datname = '{TEMPLATE}'"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if found:
        return
    psql(f"CREATE DATABASE {TEMPLATE}")
    env = {**os.environ, "DATABASE_URL": f"{PG}/{TEMPLATE}"}
    subprocess.run([str(BIN / "placenet"), "migrate"], env=env, check=True, cwd=ROOT, capture_output=True)
    places = str(ROOT / "fixtures" / "places" / "uk.json")
    subprocess.run(
        [str(BIN / "placenet"), "fixtures", "load", places], env=env, check=True, cwd=ROOT, capture_output=True
    )


def run_import(path: Path, url: str, profile: Path | None = None) -> tuple[float, dict[str, Any]]:
    env = {**os.environ, "DATABASE_URL": url}
    command = [str(BIN / "placenet"), "import", "360giving", str(path), "--json"]
    if profile is not None:
        pyspy = shutil.which("py-spy", path=str(BIN)) or "py-spy"
        command = [pyspy, "record", "--rate", "250", "--format", "raw", "--output", str(profile), "--", *command]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"import failed: {done.stderr[-2000:]}")
    report = json.loads(done.stdout[done.stdout.index("{") :]) if profile is None else {}
    return took, report


async def read_rows(url: str) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        out = {}
        for table, where in (
            ("organisation", "source = '360giving'"),
            ("grant", "source = '360giving'"),
            ("grant_place", "true"),
        ):
            rows = await conn.fetch(f'SELECT * FROM "{table}" WHERE {where}')
            columns = list(rows[0].keys()) if rows else []
            out[table] = (columns, [tuple(r) for r in rows])
        return out
    finally:
        await conn.close()


async def copy_rows(url: str, rows: dict[str, tuple[list[str], list[tuple[Any, ...]]]]) -> float:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        columns, records = rows["organisation"]
        await conn.copy_records_to_table("organisation", records=records, columns=columns)
        started = time.perf_counter()
        async with conn.transaction():
            for table in ("grant", "grant_place"):
                columns, records = rows[table]
                await conn.copy_records_to_table(table, records=records, columns=columns)
        return time.perf_counter() - started
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--grants", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=360)
    parser.add_argument("--profile", action="store_true", help="one more import under py-spy (pip install py-spy)")
    args = parser.parse_args()
    path = HERE / "data" / f"360giving-{args.grants}.json"
    if not path.exists():
        write_file(path, args.grants, args.seed)
    ensure_template()
    imports, copies, report, rows = [], [], {}, {}
    try:
        for round_ in range(args.rounds):
            took, report = run_import(path, fresh(IMPORTED))
            imports.append(took)
            rows = asyncio.run(read_rows(f"{PG}/{IMPORTED}"))
            copies.append(asyncio.run(copy_rows(fresh(COPIED), rows)))
            print(
                f"round {round_ + 1}: import {imports[-1]:.2f}s, COPY {copies[-1]:.3f}s "
                f"(ratio {copies[-1] / imports[-1]:.3f})",
                file=sys.stderr,
            )
        profile_note = []
        if args.profile:
            folded = HERE / "results" / f"profile-import-360giving-{args.grants}.folded"
            took, _ = run_import(path, fresh(IMPORTED), folded)
            summary = subprocess.run(
                [str(BIN / "python"), str(HERE / "fold.py"), str(folded), "40"], capture_output=True, text=True
            ).stdout
            folded.with_suffix(".txt").write_text(summary)
            profile_note = [f"- profile (py-spy, one more import, {took:.1f}s under the profiler): `{folded.name}`, "
                            f"summary `{folded.with_suffix('.txt').name}`"]  # fmt: skip
    finally:
        psql(f"DROP DATABASE IF EXISTS {IMPORTED}", f"DROP DATABASE IF EXISTS {COPIED}")
    if not imports:  # --rounds 0 --profile: the profile only
        print("\n".join(profile_note), file=sys.stderr)
        return
    grants = len(rows["grant"][1])
    links = len(rows["grant_place"][1])
    imp, cop = statistics.median(imports), statistics.median(copies)
    ratio = cop / imp
    now = datetime.datetime.now(datetime.UTC)
    text = "\n".join([
        f"# 360Giving import vs raw COPY, {now:%Y-%m-%d %H:%M} UTC",
        "",
        f"- machine: `{subprocess.run(['uname', '-a'], capture_output=True, text=True).stdout.strip()}`",
        f"- nproc: {os.cpu_count()}; python {platform.python_version()}; PostgreSQL at {PG}",
        f"- file: `{path.relative_to(ROOT)}` ({path.stat().st_size / 1e6:.1f} MB, {grants:,} grants, {links:,} "
        f"grant places, {len(rows['organisation'][1]):,} new organisations); {args.rounds} interleaved rounds, "
        "medians shown",
        f"- import report: {json.dumps(report.get('grants'))}, organisations {json.dumps(report.get('organisations'))}",
        "",
        "| path | seconds (median) | all rounds | grants/s |",
        "| --- | ---: | --- | ---: |",
        f"| `placenet import 360giving` (wall, CLI start-up included) | {imp:.2f} | "
        f"{', '.join(f'{t:.2f}' for t in imports)} | {grants / imp:,.0f} |",
        f"| asyncpg COPY of the same grant + grant_place rows | {cop:.3f} | "
        f"{', '.join(f'{t:.3f}' for t in copies)} | {grants / cop:,.0f} |",
        "",
        f"- import throughput / COPY throughput: **{ratio:.3f}x** (target >= 0.2x): {'MET' if ratio >= 0.2 else 'NOT MET'}",
        *profile_note,
        "",
    ])  # fmt: skip
    print(text)
    out = HERE / "results" / f"{now:%Y-%m-%d-%H%M}-{platform.node()}-import.md"
    out.write_text(text)
    print(f"written to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
