"""The benchmark runner: the service as production starts it against the bare baseline, interleaved.

For each engine it starts `placenet serve --port P --workers W` (granian, as production) and the
baseline (`bench/baseline_app.py` under granian, same worker count) on another port, both on
127.0.0.1 against the same database, checks they answer each case with 200, warms both up, then for
`--rounds` rounds runs `wrk` on each case against the service and then the baseline, back to back.
The median over rounds of requests/s, p50 and p99 is reported with the ratios, and written to
`bench/results/<date>-<host>.md` with `uname -a` and `nproc`.

    python bench/run.py --engine postgres --engine sqlite

The databases are the ones `bench/generate.py` wrote: `bench/data/<engine>-<grants>.json` names the
DATABASE_URL and the refs asked for.

`--scales 10000 1000000` measures instead how the service scales with the data (PostgreSQL): one
`placenet serve` per scale, each against its own database, and the cases whose target is a ratio of
scales (the map and the network of a region), interleaved scale by scale in each round. The baseline
of a case is the same service at the smallest scale. A case whose warm request takes longer than
`--slow` seconds is timed with `--samples` sequential requests per round instead of wrk.

    python bench/run.py --scales 10000 1000000 --case map --case network
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BIN = ROOT / ".venv" / "bin"
HOST = "127.0.0.1"


@dataclass
class Figures:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def get(url: str, timeout: float = 10) -> tuple[int, bytes, dict[str, str]]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


def wait_ready(url: str, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server for {url} exited with {process.returncode}")
        try:
            get(url, timeout=2)
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {seconds}s")


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def parse_wrk(text: str) -> Figures:
    def latency(percent: str) -> float:
        match = re.search(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M)
        if not match:
            raise ValueError(f"no {percent}% line in wrk output:\n{text}")
        return float(match.group(1)) * UNITS[match.group(2)]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))  # type: ignore[union-attr]
    errors = 0
    if match := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text):
        errors += int(match.group(1))
    if match := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text):
        errors += sum(map(int, match.groups()))
    return Figures(rps, latency("50"), latency("99"), errors)


def wrk(url: str, seconds: float, connections: int, threads: int) -> Figures:
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--latency",
            "--timeout",
            "10s",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return parse_wrk(out)


def timed(url: str, samples: int) -> Figures:
    """`samples` requests one after another: p50 the median, p99 the slowest (too few for a real p99)."""
    seconds, errors = [], 0
    for _ in range(samples):
        started = time.perf_counter()
        status, _, _ = get(url, timeout=1800)
        seconds.append(time.perf_counter() - started)
        errors += status != 200
    return Figures(samples / sum(seconds), statistics.median(seconds) * 1000, max(seconds) * 1000, errors)


def median(figures: list[Figures]) -> Figures:
    return Figures(
        statistics.median(f.rps for f in figures),
        statistics.median(f.p50_ms for f in figures),
        statistics.median(f.p99_ms for f in figures),
        sum(f.errors for f in figures),
    )


def deep_cursor_path(base: str, first: str, pages: int) -> tuple[str, int]:
    """Follow next_cursor from `first` for `pages - 1` pages; the path of the last page reached."""
    path, reached = first, 1
    while reached < pages:
        status, body, _ = get(base + path)
        if status != 200:
            raise SystemExit(f"{path}: {status} {body[:300]!r}")
        cursor = json.loads(body)["next_cursor"]
        if cursor is None:
            break
        sep = "&" if "?" in first else "?"
        path, reached = f"{first}{sep}cursor={cursor}", reached + 1
    return path, reached


def bench_engine(engine: str, refs: dict[str, str | int | None], args: argparse.Namespace) -> list[dict[str, object]]:
    env = {**os.environ, "DATABASE_URL": str(refs["database_url"]), "PYTHONPATH": str(ROOT)}
    logs = HERE / "results" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    service_port, baseline_port = free_port(), free_port()
    service_command = [
        str(BIN / "placenet"),
        "serve",
        "--host",
        HOST,
        "--port",
        str(service_port),
        "--workers",
        str(args.workers),
    ]
    if args.service_app:  # an experiment: the service's app changed from outside (bench/experiments.py)
        service_command = [
            str(BIN / "granian"), "--interface", "asgi", "--factory", "--host", HOST, "--port", str(service_port),
            "--workers", str(args.workers), args.service_app,
        ]  # fmt: skip
    service = start(
        service_command,
        env,
        logs / f"{engine}-service.log",
    )
    baseline = start(
        [
            str(BIN / "granian"),
            "--interface",
            "asgi",
            "--factory",
            "--host",
            HOST,
            "--port",
            str(baseline_port),
            "--workers",
            str(args.workers),
            "--no-ws",
            "--log-level",
            "warning",
            "bench.baseline_app:create_app",
        ],
        env,
        logs / f"{engine}-baseline.log",
    )
    servers = {"service": f"http://{HOST}:{service_port}", "baseline": f"http://{HOST}:{baseline_port}"}
    try:
        for url in servers.values():
            wait_ready(
                url + "/v1/organisations/" + str(refs["organisation"]), service if "service" in url else baseline
            )
        wait_ready(servers["service"] + "/v1/grants?limit=1", service)
        wait_ready(servers["baseline"] + "/v1/grants?limit=1", baseline)
        deep, reached = deep_cursor_path(servers["service"], "/v1/grants?limit=50", args.deep_page)
        cases = {
            "organisation by ref": f"/v1/organisations/{refs['organisation']}",
            "50 grants of a funder": f"/v1/grants?limit=50&funder={refs['busiest_funder']}",
            "grants page 1": "/v1/grants?limit=50",
            f"grants page {reached}": deep,
        }
        if args.case:
            cases = {n: p for n, p in cases.items() if any(c in n for c in args.case)}
        for name, path in cases.items():
            for who, base in servers.items():
                status, body, _ = get(base + path)
                if status != 200:
                    raise SystemExit(f"{engine} {who} {name}: {status} {body[:300]!r}")
            _, a, _ = get(servers["service"] + path)
            _, b, _ = get(servers["baseline"] + path)
            if a != b:
                print(f"warning: {engine} {name}: the baseline's body differs from the service's", file=sys.stderr)
        for path in cases.values():  # warm-up
            for base in servers.values():
                wrk(base + path, args.warmup, args.connections, args.threads)
        results: dict[str, dict[str, list[Figures]]] = {n: {"service": [], "baseline": []} for n in cases}
        for round_ in range(args.rounds):
            for name, path in cases.items():
                for who, base in servers.items():
                    figures = wrk(base + path, args.seconds, args.connections, args.threads)
                    results[name][who].append(figures)
                    print(
                        f"{engine} round {round_ + 1} {name:<24} {who:<8} {figures.rps:9.0f} req/s  "
                        f"p50 {figures.p50_ms:7.2f} ms  p99 {figures.p99_ms:7.2f} ms",
                        file=sys.stderr,
                    )
    finally:
        stop(service)
        stop(baseline)
    rows = []
    for name, path in cases.items():
        s, b = median(results[name]["service"]), median(results[name]["baseline"])
        rows.append({"engine": engine, "case": name, "path": path, "service": s, "baseline": b})
    return rows


def targets(rows: list[dict[str, object]]) -> list[str]:
    """The issue's targets that these cases measure, each with its figure and verdict."""
    out = []
    by = {(r["engine"], r["case"]): r for r in rows}

    def ratio(engine: str, case: str) -> float | None:
        r = by.get((engine, case))
        return None if r is None else r["service"].rps / r["baseline"].rps  # type: ignore[union-attr]

    for engine, case, floor in (
        ("postgres", "organisation by ref", 0.75),
        ("postgres", "50 grants of a funder", 0.6),
        ("sqlite", "organisation by ref", 0.5),
    ):
        if (value := ratio(engine, case)) is not None:
            out.append(
                f"{engine} {case}: {value:.2f}x baseline (target >= {floor}x): {'MET' if value >= floor else 'NOT MET'}"
            )
    for engine in ("postgres", "sqlite"):
        deep = next(
            (
                r
                for r in rows
                if r["engine"] == engine and str(r["case"]).startswith("grants page") and r["case"] != "grants page 1"
            ),
            None,
        )
        first = by.get((engine, "grants page 1"))
        if deep and first:
            value = deep["service"].p50_ms / first["service"].p50_ms  # type: ignore[union-attr]
            out.append(
                f"{engine} {deep['case']} p50 / page 1 p50: {value:.2f}x (target <= 1.2x): {'MET' if value <= 1.2 else 'NOT MET'}"
            )
    for r in rows:
        value = r["service"].p99_ms / r["baseline"].p99_ms  # type: ignore[union-attr]
        out.append(
            f"{r['engine']} {r['case']} p99 / baseline p99: {value:.2f}x (target <= 3x): {'MET' if value <= 3 else 'NOT MET'}"
        )
    return out


def table(rows: list[dict[str, object]]) -> str:
    lines = [
        "| engine | case | service req/s | baseline req/s | ratio | service p50 ms | baseline p50 ms | service p99 ms | baseline p99 ms | p99 ratio | errors |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        s, b = r["service"], r["baseline"]
        lines.append(
            f"| {r['engine']} | {r['case']} | {s.rps:,.0f} | {b.rps:,.0f} | {s.rps / b.rps:.2f} | {s.p50_ms:.2f} | "  # type: ignore[union-attr]
            f"{b.p50_ms:.2f} | {s.p99_ms:.2f} | {b.p99_ms:.2f} | {s.p99_ms / b.p99_ms:.2f} | {s.errors + b.errors} |"  # type: ignore[union-attr]
        )
    return "\n".join(lines)


def bench_scales(refs: dict[int, dict[str, object]], args: argparse.Namespace) -> list[dict[str, object]]:
    """The service at each scale, the smallest the baseline: same cases, interleaved scale by scale."""
    logs = HERE / "results" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    servers: dict[int, str] = {}
    processes = []
    try:
        for scale, ref in refs.items():
            port = free_port()
            env = {**os.environ, "DATABASE_URL": str(ref["database_url"]), "PYTHONPATH": str(ROOT)}
            command = [
                str(BIN / "placenet"),
                "serve",
                "--host",
                HOST,
                "--port",
                str(port),
                "--workers",
                str(args.workers),
            ]
            processes.append(start(command, env, logs / f"postgres-{scale}-service.log"))
            servers[scale] = f"http://{HOST}:{port}"
            wait_ready(servers[scale] + "/v1/grants?limit=1", processes[-1])
        # Each server measures the whole network in the background when it starts (a process of its own,
        # minutes at 1M): wait for that, so that it neither takes the cores from the timed rounds nor leaves
        # the unfiltered network unmeasured.
        for scale, base in servers.items():
            started = time.perf_counter()
            while True:
                status, body, _ = get(base + "/v1/network?limit=1", timeout=600)
                if status == 200 and json.loads(body).get("measured_at_change") is not None:
                    break
                if time.perf_counter() - started > args.measure_wait:
                    raise SystemExit(f"{scale}: the network was not measured within {args.measure_wait} s")
                time.sleep(5)
            print(f"scales {scale}: the network measured after {time.perf_counter() - started:.0f} s", file=sys.stderr)
        first = next(iter(refs.values()))
        funder = first["busiest_funder"]
        cases = {
            "map of a region": f"/v1/map?place={first['region']}&level=local_authority",
            "network of a region": f"/v1/network?place={first['region']}",
            "network (default)": "/v1/network",
            "neighbourhood, depth 2": f"/v1/organisations/{funder}/network?depth=2",
            "collaborators": f"/v1/organisations/{funder}/collaborators",
            # the busiest funder to an organisation of the other half of the generated list
            "path": f"/v1/network/path?from={funder}&to={first['organisation']}",
        }
        if args.case:
            cases = {n: p for n, p in cases.items() if any(c in n for c in args.case)}
        slow: dict[str, bool] = {}
        sizes: dict[tuple[str, int], int] = {}
        for name, path in cases.items():  # check, and warm up: the first request of each
            took = 0.0
            for scale, base in servers.items():
                started = time.perf_counter()
                status, body, _ = get(base + path, timeout=1800)
                took = max(took, time.perf_counter() - started)
                sizes[name, scale] = len(body)
                if status != 200:
                    raise SystemExit(f"{scale} {name}: {status} {body[:300]!r}")
            slow[name] = took > args.slow
            print(f"scales {name}: first request {took:.2f}s at the slowest scale", file=sys.stderr)
        results: dict[str, dict[int, list[Figures]]] = {n: {s: [] for s in servers} for n in cases}
        for round_ in range(args.rounds):
            for name, path in cases.items():
                for scale, base in servers.items():
                    if slow[name]:
                        figures = timed(base + path, args.samples)
                    else:
                        figures = wrk(base + path, args.seconds, args.scale_connections, args.threads)
                    results[name][scale].append(figures)
                    print(
                        f"scales round {round_ + 1} {name:<22} {scale:>8} {figures.rps:9.2f} req/s  "
                        f"p50 {figures.p50_ms:9.2f} ms  p99 {figures.p99_ms:9.2f} ms",
                        file=sys.stderr,
                    )
    finally:
        for process in processes:
            stop(process)
    rows = []
    smallest = min(servers)
    for name, path in cases.items():
        for scale in servers:
            if scale == smallest:
                continue
            rows.append({
                "engine": "postgres", "case": f"{name} ({scale:,} vs {smallest:,} grants)", "path": path,
                "service": median(results[name][scale]), "baseline": median(results[name][smallest]),
                "method": f"{args.samples} sequential requests per round" if slow[name] else
                f"wrk -t{args.threads} -c{args.scale_connections} -d{args.seconds}s",
                "bytes": sizes[name, scale], "baseline_bytes": sizes[name, smallest],
            })  # fmt: skip
    return rows


# The network's own targets at the largest scale (issue 20): p50 in ms, and at most 1 MB an answer.
NETWORK_P50_MS = {
    "network of a region": 300,
    "network (default)": 300,
    "neighbourhood, depth 2": 300,
    "collaborators": 100,
    "path": 300,
}
MAX_BYTES = 1_000_000


def scale_targets(rows: list[dict[str, object]]) -> list[str]:
    out = []
    for r in rows:
        value = r["service"].p50_ms / r["baseline"].p50_ms  # type: ignore[attr-defined]
        out.append(
            f"{r['case']}: p50 {value:.2f}x (target <= 1.5x): {'MET' if value <= 1.5 else 'NOT MET'} ({r['method']})"
        )
        name = str(r["case"]).rsplit(" (", 1)[0]
        if name in NETWORK_P50_MS:
            p50, size = r["service"].p50_ms, int(r["bytes"])  # type: ignore[attr-defined, call-overload]
            met = p50 <= NETWORK_P50_MS[name] and size <= MAX_BYTES
            out.append(
                f"{r['case']}: p50 {p50:,.1f} ms (target <= {NETWORK_P50_MS[name]} ms), {size:,} bytes "
                f"(target <= {MAX_BYTES:,}): {'MET' if met else 'NOT MET'}"
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engine", action="append", choices=["postgres", "sqlite"], help="[default: both]")
    parser.add_argument(
        "--grants", type=int, default=10_000, help="which generated scale (bench/data/<engine>-<grants>.json)"
    )
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=4, help="per wrk run (whole seconds)")
    parser.add_argument("--warmup", type=int, default=1, help="seconds per case and server, before the rounds")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--deep-page", type=int, default=100, help="follow cursors to this page (or the last)")
    parser.add_argument("--case", action="append", help="only cases whose name contains this [default: all]")
    parser.add_argument("--service-app", help="granian factory to run instead of `placenet serve` (an experiment)")
    parser.add_argument(
        "--scales", type=int, nargs="+", help="measure the service across these scales (PostgreSQL) instead"
    )
    parser.add_argument("--slow", type=float, default=1.0, help="scales: time cases slower than this (s) by hand")
    parser.add_argument("--samples", type=int, default=3, help="scales: sequential requests per round, slow cases")
    parser.add_argument(
        "--measure-wait", type=int, default=1800, help="scales: seconds to wait for the network's background measure"
    )
    parser.add_argument("--scale-connections", type=int, default=1, help="scales: wrk connections, fast cases")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    rows: list[dict[str, object]] = []
    if args.scales:
        scales = sorted(args.scales)
        refs = {n: json.loads((HERE / "data" / f"postgres-{n}.json").read_text()) for n in scales}
        rows = bench_scales(refs, args)
        write_scales(rows, scales, args)
        return
    for engine in args.engine or ["postgres", "sqlite"]:
        refs = json.loads((HERE / "data" / f"{engine}-{args.grants}.json").read_text())
        rows += bench_engine(engine, refs, args)
    now = datetime.datetime.now(datetime.UTC)
    report = "\n".join(
        [
            f"# Placenet benchmark, {now:%Y-%m-%d %H:%M} UTC",
            "",
            f"- machine: `{subprocess.run(['uname', '-a'], capture_output=True, text=True).stdout.strip()}`",
            f"- nproc: {os.cpu_count()}; python {platform.python_version()}",
            f"- scale: {args.grants:,} grants; workers {args.workers} (service and baseline alike); wrk -t{args.threads} "
            f"-c{args.connections}, {args.seconds:g}s per run, {args.rounds} interleaved rounds, medians shown",
            f"- service: {'EXPERIMENT ' + args.service_app if args.service_app else 'placenet serve'}",
            "- ratio = service req/s / baseline req/s; p99 ratio = service p99 / baseline p99",
            "",
            table(rows),
            "",
            "## Targets",
            "",
            *[f"- {line}" for line in targets(rows)],
            "",
        ]
    )
    print(report)
    tag = f"-{args.service_app.rpartition(':')[2]}" if args.service_app else ""
    out = HERE / "results" / f"{now:%Y-%m-%d-%H%M}-{platform.node()}{tag}.md"
    out.write_text(report)
    print(f"written to {out}", file=sys.stderr)


def write_scales(rows: list[dict[str, object]], scales: list[int], args: argparse.Namespace) -> None:
    now = datetime.datetime.now(datetime.UTC)
    lines = [
        "| case | path | p50 ms | baseline p50 ms | p50 ratio | p99 ms | baseline p99 ms | req/s | baseline req/s | bytes | baseline bytes | errors | method |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        s, b = r["service"], r["baseline"]
        lines.append(
            f"| {r['case']} | `{r['path']}` | {s.p50_ms:,.1f} | {b.p50_ms:,.1f} | {s.p50_ms / b.p50_ms:.2f} | "  # type: ignore[attr-defined]
            f"{s.p99_ms:,.1f} | {b.p99_ms:,.1f} | {s.rps:,.2f} | {b.rps:,.2f} | {r['bytes']:,} | {r['baseline_bytes']:,} | "  # type: ignore[attr-defined]
            f"{s.errors + b.errors} | {r['method']} |"  # type: ignore[attr-defined]
        )
    report = "\n".join([
        f"# Placenet benchmark across scales, {now:%Y-%m-%d %H:%M} UTC",
        "",
        f"- machine: `{subprocess.run(['uname', '-a'], capture_output=True, text=True).stdout.strip()}`",
        f"- nproc: {os.cpu_count()}; python {platform.python_version()}",
        f"- scales: {', '.join(f'{n:,}' for n in scales)} grants (PostgreSQL); the baseline of each case is the "
        f"same service at {scales[0]:,} grants; workers {args.workers}; {args.rounds} interleaved rounds, medians shown",
        "",
        *lines,
        "",
        "## Targets",
        "",
        *[f"- {line}" for line in scale_targets(rows)],
        "",
    ])  # fmt: skip
    print(report)
    out = HERE / "results" / f"{now:%Y-%m-%d-%H%M}-{platform.node()}-scales.md"
    out.write_text(report)
    print(f"written to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
