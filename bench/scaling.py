"""Issue 9's figures: the same requests against the service as 1 and as 4 granian workers, over a
PostgreSQL primary alone and over a primary with a streaming read replica, with the shared state in
the database or in Redis. Everything runs on loopback, made and removed here: a primary and replica
from ops/postgres.py, migrated and loaded with the places and seed network (863 records), plus a
throwaway Redis on a free port.

Each configuration is measured with wrk (-t1 -c16) on each case, configurations interleaved round by
round so machine noise hits them alike; medians over rounds are reported and written to
bench/results/<date>-<time>-scaling.md.

    .venv/bin/python bench/scaling.py --rounds 3 --seconds 4
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.run import Figures, wrk  # noqa: E402
from ops.postgres import free_port, replicated_pair, wait_for_replay  # noqa: E402
from tests.servers import PLACENET, Served, served  # noqa: E402

FIXTURES = ["fixtures/places/uk.json", "fixtures/places/councils.json", "fixtures/seed/place-action-inquiry.yaml"]
CASES = {
    "organisation by ref": "/v1/organisations/ivar",
    "page of 50 places": "/v1/places?limit=50",
    "grants of a funder": "/v1/grants?funder=lankelly-chase-foundation",
}


@dataclass(frozen=True)
class Configuration:
    name: str
    workers: int
    replica: bool
    redis: bool


CONFIGURATIONS = [
    Configuration("1 worker, primary", 1, replica=False, redis=False),
    Configuration("4 workers, primary", 4, replica=False, redis=False),
    Configuration("4 workers, reads on the replica", 4, replica=True, redis=False),
    Configuration("4 workers, replica, Redis, rate limit", 4, replica=True, redis=True),
]


@contextmanager
def redis_server() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            if subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).returncode == 0:
                break
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()

    with ExitStack() as stack:
        primary, replica = stack.enter_context(replicated_pair())
        redis_url = stack.enter_context(redis_server())
        primary.create_database("placenet")
        env = {**os.environ, "DATABASE_URL": primary.url("placenet")}
        subprocess.run([PLACENET, "migrate"], env=env, check=True, capture_output=True)
        subprocess.run([PLACENET, "fixtures", "load", *FIXTURES], env=env, check=True, capture_output=True, cwd=ROOT)
        wait_for_replay(primary, replica)

        servers: dict[str, Served] = {}
        for configuration in CONFIGURATIONS:
            environment = {
                "DATABASE_URL": primary.url("placenet"),
                "DATABASE_REPLICA_URLS": replica.url("placenet") if configuration.replica else "",
                "REDIS_URL": redis_url if configuration.redis else "",
                # High enough never to refuse: what is measured is the cost of counting every request.
                "RATE_LIMIT": "100000000/minute" if configuration.redis else "",
                "LOG_LEVEL": "INFO",
            }
            servers[configuration.name] = stack.enter_context(served(environment, workers=configuration.workers))

        results: dict[tuple[str, str], list[Figures]] = {}
        for server in servers.values():  # warm up
            for path in CASES.values():
                wrk(server.url + path, 1, args.connections, 1)
        for round_number in range(args.rounds):
            for case, path in CASES.items():
                for name, server in servers.items():
                    results.setdefault((case, name), []).append(
                        wrk(server.url + path, args.seconds, args.connections, 1)
                    )
            print(f"round {round_number + 1} of {args.rounds} done", file=sys.stderr)

    lines = [
        f"# Placenet beyond one process, {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"- machine: `{' '.join(platform.uname())}`; nproc {os.cpu_count()}",
        f"- wrk -t1 -c{args.connections}, {args.seconds:g} s per run, {args.rounds} interleaved rounds, medians",
        "- data: the UK's places, the councils and the seed network (863 records), on a local primary and its "
        "streaming replica (ops/postgres.py); access logs on (JSON, INFO)",
        "",
        "| case | configuration | req/s | p50 ms | p99 ms | vs 1 worker | errors |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for case in CASES:
        one = statistics.median(f.rps for f in results[(case, CONFIGURATIONS[0].name)])
        for configuration in CONFIGURATIONS:
            figures = results[(case, configuration.name)]
            rps = statistics.median(f.rps for f in figures)
            p50 = statistics.median(f.p50_ms for f in figures)
            p99 = statistics.median(f.p99_ms for f in figures)
            errors = sum(f.errors for f in figures)
            lines.append(
                f"| {case} | {configuration.name} | {rps:,.0f} | {p50:.2f} | {p99:.2f} | {rps / one:.2f}x | {errors} |"
            )
    text = "\n".join(lines) + "\n"
    print(text)
    out = ROOT / "bench" / "results" / f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d-%H%M}-scaling.md"
    out.write_text(text)
    print(f"written to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
