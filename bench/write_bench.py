"""What a write costs, and what keeping the map's tallies and the network's links adds to it (PostgreSQL).

The service's app is called in-process (httpx's ASGI transport: no server, no network), one request at
a time, on a copy of a bench database (`bench/data/postgres-<N>.json` names it): `--writes` grants are
created (POST, with two places each) and then each is changed (PATCH of its amount and places), in
rounds alternating between the service as it is (every after-write step: the tallies and the kept
links), the same with only the tallies' step (`api.services.views.tally.settle`), and with neither.
Reports p50 and p99 of each, the difference, and the statements each write sends (counted where
asyncpg sends them), and writes `bench/results/<date>-<time>-<host>-writes.md`.

    python bench/write_bench.py --grants 10000 --writes 200 --rounds 3

The copy (`placenet_bench_writes`) is dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PG = os.environ.get("PG", "postgresql://postgres@127.0.0.1:5432")
COPY = "placenet_bench_writes"


def psql(*sql: str) -> None:
    command = ["psql", f"{PG}/postgres", "-qX", "-v", "ON_ERROR_STOP=1"]
    for statement in sql:
        command += ["-c", statement]
    subprocess.run(command, check=True, capture_output=True)


MODES = ("tallies and links", "tallies only", "neither")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def measure(args: argparse.Namespace, refs: dict[str, Any]) -> dict[str, dict[str, list[float]]]:
    os.environ["DATABASE_URL"] = f"{PG}/{COPY}"
    sys.path.insert(0, str(ROOT))
    import asyncpg
    import httpx

    from api import app as app_module
    from api.services.platform import connections as database
    from api.services.records import unit_of_work
    from api.services.resources import keys
    from api.services.views import links, tally
    from api.settings import Settings

    # Every statement sent, counted where asyncpg sends it: Piccolo's queries, and the executemany and
    # COPY the tallies and bulk writes use past Piccolo.
    statements = [0]

    def counting(method: Any) -> Any:
        async def counted(self: Any, *a: Any, **k: Any) -> Any:
            statements[0] += 1
            return await method(self, *a, **k)

        return counted

    for name in ("fetch", "execute", "executemany", "copy_records_to_table"):
        setattr(asyncpg.Connection, name, counting(getattr(asyncpg.Connection, name)))
    app = app_module.create_app(Settings.from_env())
    steps = unit_of_work.installed()
    assert set(steps) == {tally.settle, links.settle}, steps
    installs = {"tallies and links": steps, "tallies only": (tally.settle,), "neither": ()}
    figures: dict[str, dict[str, list[float]]] = {
        mode: {"POST": [], "PATCH": [], "POST statements": [], "PATCH statements": []} for mode in MODES
    }
    rng = random.Random(7)
    places = refs["places"]
    funder, recipient = refs["funder"], refs["recipient"]
    await database.open()
    try:
        _, token = await keys.create_key(organisation=None, role="admin", name="write bench")
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", headers=headers) as client:
            for round_ in range(args.rounds):
                for mode in MODES if round_ % 2 == 0 else MODES[::-1]:
                    unit_of_work.install(*installs[mode])
                    made = []
                    for i in range(args.writes):
                        body = {
                            "name": f"Write bench {round_}-{mode}-{i}",
                            "funder": funder,
                            "recipient": recipient,
                            "amount": {"amount": str(rng.randrange(1000, 90000)), "currency": "GBP"},
                            "places": rng.sample(places, 2),
                        }
                        statements[0] = 0
                        started = time.perf_counter()
                        response = await client.post("/v1/grants", json=body)
                        figures[mode]["POST"].append((time.perf_counter() - started) * 1000)
                        figures[mode]["POST statements"].append(statements[0])
                        if response.status_code != 201:
                            raise SystemExit(f"POST answered {response.status_code}: {response.text[:500]}")
                        made.append(response.json())
                    for grant in made:
                        change = {"amount": {"amount": "12345", "currency": "GBP"}, "places": rng.sample(places, 2)}
                        statements[0] = 0
                        started = time.perf_counter()
                        response = await client.patch(
                            f"/v1/grants/{grant['id']}", json=change, headers={"If-Match": f'"{grant["version"]}"'}
                        )
                        figures[mode]["PATCH"].append((time.perf_counter() - started) * 1000)
                        figures[mode]["PATCH statements"].append(statements[0])
                        if response.status_code != 200:
                            raise SystemExit(f"PATCH answered {response.status_code}: {response.text[:500]}")
    finally:
        await database.close()
        unit_of_work.install(*steps)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--grants", type=int, default=10_000)
    parser.add_argument("--writes", type=int, default=200, help="grants created, then changed, per round and mode")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    refs_file = HERE / "data" / f"postgres-{args.grants}.json"
    if not refs_file.exists():
        raise SystemExit(f"{refs_file} is missing: make -f bench/Makefile {refs_file.relative_to(ROOT)}")
    bench = json.loads(refs_file.read_text())
    source = bench["database_url"].rsplit("/", 1)[-1]
    codes = subprocess.run(
        ["psql", f"{PG}/{source}", "-XAtc", "SELECT gss_code FROM place WHERE level = 'local_authority' "
         "AND gss_code IS NOT NULL ORDER BY gss_code LIMIT 60"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    refs = {"funder": bench["busiest_funder"], "recipient": bench["organisation"], "places": codes}
    psql(f"DROP DATABASE IF EXISTS {COPY}", f"CREATE DATABASE {COPY} TEMPLATE {source}")
    try:
        figures = asyncio.run(measure(args, refs))
    finally:
        psql(f"DROP DATABASE IF EXISTS {COPY}")
    now = datetime.datetime.now(datetime.UTC)
    lines = [
        f"# What a write costs, with and without the map's tallies and the network's links, {now:%Y-%m-%d %H:%M} UTC",
        "",
        f"- machine: `{' '.join(platform.uname())}`",
        f"- nproc: {os.cpu_count()}; python {platform.python_version()}; PostgreSQL at {PG}",
        f"- a copy of the {args.grants:,}-grant bench database; the app in-process (httpx ASGI transport), one "
        f"request at a time; {args.writes} POSTs then {args.writes} PATCHes of grants per round and mode, "
        f"{args.rounds} rounds, the modes alternating; figures over all rounds",
        "",
        "| write | mode | p50 ms | p99 ms | statements |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for write in ("POST", "PATCH"):
        for mode in MODES:
            times = figures[mode][write]
            lines.append(
                f"| {write} /v1/grants | {mode} | {percentile(times, 0.5):.2f} | {percentile(times, 0.99):.2f} | "
                f"{statistics.median(figures[mode][write + ' statements']):.0f} |"
            )
    lines.append("")
    for write in ("POST", "PATCH"):
        both, tallies, neither = (percentile(figures[m][write], 0.5) for m in MODES)
        lines.append(f"- {write}: the tallies add {tallies - neither:.2f} ms at p50 ({tallies / neither:.2f}x)")
        lines.append(f"- {write}: the kept links add {both - tallies:.2f} ms at p50 ({both / tallies:.2f}x)")
    report = "\n".join(lines) + "\n"
    print(report)
    out = HERE / "results" / f"{now:%Y-%m-%d-%H%M}-{platform.node()}-writes.md"
    out.write_text(report)
    print(f"written to {out}")


if __name__ == "__main__":
    main()
