"""EXPLAIN (ANALYZE, BUFFERS) of the SQL one request runs, as the service builds it.

Calls the service's own code for a path (the map, the network, or a place's funders), records every raw statement it sends
through `api.services.views.activity.run`, and runs each again under EXPLAIN ANALYZE on the same database, so
the plan is the plan of the exact query the endpoint runs. `--setup` runs SQL first, in the same
transaction, rolled back afterwards (e.g. `CREATE INDEX ...` to measure an index before proposing it).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/placenet_bench_1000000 \\
        python bench/explain.py map --place E12000007 --level local_authority
    python bench/explain.py network --place E12000007 --no-analyze
    python bench/explain.py map --place '' --level region        # the whole map
    python bench/explain.py funders --place E12000007            # /v1/places/E12000007/funders
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


async def capture(args: argparse.Namespace) -> list[tuple[str, list[Any]]]:
    """The statements the endpoint's service sends through `activity.run`, compiled for PostgreSQL."""
    from api.services.views import activity, map, network
    from api.services.views.activity import ScopeFilters

    captured: list[tuple[str, list[Any]]] = []
    real_run = activity.run

    async def recording_run(query: Any) -> Any:
        captured.append(query.compile_string(engine_type="postgres"))
        return await real_run(query)

    for module in (activity, map, network):
        module.run = recording_run  # type: ignore[attr-defined]
    # `--place ''` for no place (the whole map, the whole network).
    filters = ScopeFilters(place=args.place or None)
    if args.endpoint == "map":
        await map.feature_collection(
            level=args.level, filters=filters, bbox=None, geometry="boundary", with_records=False
        )
    elif args.endpoint == "funders":
        await activity.place_funders(ref=args.place, filters=ScopeFilters(), rank_by="count", limit=50)
    else:
        # What /v1/network sends: the organisations in scope and the links among them.
        await network.get_network(filters=filters)
    return captured


async def main_async(args: argparse.Namespace) -> None:
    import asyncpg

    statements = await capture(args)
    conn = await asyncpg.connect(os.environ["DATABASE_URL"])
    try:
        for number, (text, values) in enumerate(statements, 1):
            print(f"-- statement {number} of {len(statements)} ({len(values)} parameters: {values!r})\n{text};\n")
            transaction = conn.transaction()
            await transaction.start()
            try:
                for setup in args.setup or []:
                    started = time.perf_counter()
                    await conn.execute(setup)
                    print(f"-- setup ({time.perf_counter() - started:.1f}s): {setup}")
                options = "ANALYZE, BUFFERS" if args.analyze else "COSTS"
                plan = await conn.fetch(f"EXPLAIN ({options}) {text}", *values)
                print("\n".join(row[0] for row in plan) + "\n")
            finally:
                await transaction.rollback()
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("endpoint", choices=["map", "network", "funders"])
    parser.add_argument("--place", default="E12000007")
    parser.add_argument("--level", default="local_authority")
    parser.add_argument("--no-analyze", dest="analyze", action="store_false", help="plans only, not run")
    parser.add_argument("--setup", action="append", help="SQL run first in the same (rolled back) transaction")
    args = parser.parse_args()
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
