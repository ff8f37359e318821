"""How long a read waits while a large 360Giving import runs in the same worker (issue 16: "a large import
stalls reads for seconds"). Not a test: a measurement, to compare two versions of the code.

Imports a generated file of `--grants` grants (bench/import_bench.py's generator) into a fresh database
with the places loaded, in the process and event loop that also answers `GET /v1/organisations?limit=1`
every 20 ms through the app (in-process ASGI), and reports the reads' latencies while the import ran.

    DATABASE_URL=sqlite:////tmp/latency.sqlite3 python bench/import_latency.py --grants 20000
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/latency python bench/import_latency.py

The database named must be empty (or not exist yet, for SQLite): it is migrated and loaded here.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


async def main(grants: int) -> None:
    import httpx

    from api.app import create_app
    from api.cli import run_migrations
    from api.services.giving360 import importer
    from api.services.platform import connections as database
    from api.services.platform.actors import Actor
    from bench.import_bench import write_file
    from fixtures.loader import load

    path = HERE / "data" / f"360giving-{grants}.json"
    if not path.exists():
        path.parent.mkdir(exist_ok=True)
        write_file(path, grants, seed=1)
    await run_migrations()
    await database.open()
    await load([HERE.parent / "fixtures" / "places" / "uk.json"])
    app = create_app()
    content = path.read_bytes()
    latencies: list[float] = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
        await client.get("/v1/organisations", params={"limit": 1})
        # A worker that has imported before: its modules loaded (and, where there is one, its sandbox's
        # forkserver started), as in a server that has been up a while.
        sample = HERE.parent / "tests" / "data" / "360giving" / "360G-blagravetrust-2016.json"
        await importer.import_file(sample.read_bytes(), file_format="json", file_name=sample.name, actor=Actor())
        started = time.perf_counter()
        task = asyncio.create_task(
            importer.import_file(content, file_format="json", file_name=path.name, actor=Actor())
        )
        while not task.done():
            sent = time.perf_counter()
            response = await client.get("/v1/organisations", params={"limit": 1})
            assert response.status_code == 200
            latencies.append((time.perf_counter() - sent) * 1000)
            await asyncio.sleep(0.02)
        report = await task
        took = time.perf_counter() - started
    await database.close()
    latencies.sort()
    print(f"import of {report.grants.in_file} grants: {took:.1f} s; {len(latencies)} reads during it")
    print(
        f"read latency ms: median {statistics.median(latencies):.1f}, p95 {latencies[int(len(latencies) * 0.95)]:.1f}, p99 {latencies[int(len(latencies) * 0.99)]:.1f}, max {latencies[-1]:.1f}; reads over 100 ms: {sum(v > 100 for v in latencies)}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grants", type=int, default=20_000)
    asyncio.run(main(parser.parse_args().grants))
