"""The docker-compose topology as processes on loopback, without Docker.

    python -m ops.topology up [--workers 4] [--base DIR]    # start what is not running, migrate, seed, serve
    python -m ops.topology status [--json]                  # each part, exit 0 only when all are up
    python -m ops.topology down [--purge]                   # stop everything; --purge also removes the data

Each compose service has its counterpart here (ops/README.md has the table):

    postgres          -> a primary cluster (ops.postgres) on 127.0.0.1:5451, database `placenet`
    postgres-replica  -> its streaming replica (pg_basebackup -R) on 127.0.0.1:5452
    redis             -> redis-server on 127.0.0.1:6380, no persistence (never the shared 6379)
    migrate, fixtures -> `placenet migrate` and `placenet fixtures load ...`, once per `up`
    api               -> `placenet serve --workers N` on 127.0.0.1:8100, in the background

with the same environment the compose file gives the API: DATABASE_URL, DATABASE_REPLICA_URLS,
REDIS_URL, REDIS_PREFIX, RATE_LIMIT (default 600/minute; set it empty for no limit) and
LOG_FORMAT=json. Everything lives under the base directory (default /tmp/placenet-topology, or
PLACENET_TOPOLOGY_DIR): the data directories, pidfiles, logs and `topology.json` with the ports, so
`status` and `down` find what `up` started.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ops.postgres import (
    HOST,
    ClusterError,
    LocalCluster,
    create_primary,
    create_replica,
    make_base,
    port_in_use,
    process_alive,
)

REPO = Path(__file__).resolve().parent.parent
DEFAULT_BASE = Path(os.environ.get("PLACENET_TOPOLOGY_DIR") or "/tmp/placenet-topology")
DATABASE = "placenet"
FIXTURES = ("fixtures/places/uk.json", "fixtures/places/councils.json", "fixtures/seed/place-action-inquiry.yaml")
DEFAULT_RATE_LIMIT = "600/minute"
STATE_FILE = "topology.json"


class TopologyError(RuntimeError):
    """A part would not start or stop; the message says which and shows its log."""


@dataclass
class Ports:
    """Away from the shared services (PostgreSQL 5432, Redis 6379, `make run` 8000) and from the
    ports a test would pick for its own clusters."""

    primary: int = 5451
    replica: int = 5452
    redis: int = 6380
    api: int = 8100


@dataclass
class Topology:
    base: Path
    ports: Ports
    workers: int = 4

    # Where each part lives under base.
    @property
    def primary(self) -> LocalCluster:
        return LocalCluster(self.base / "primary", self.ports.primary)

    @property
    def replica(self) -> LocalCluster:
        return LocalCluster(self.base / "replica", self.ports.replica)

    @property
    def redis_pidfile(self) -> Path:
        return self.base / "redis.pid"

    @property
    def api_pidfile(self) -> Path:
        return self.base / "api.pid"

    @property
    def api_log(self) -> Path:
        return self.base / "api.log"

    @property
    def api_url(self) -> str:
        return f"http://{HOST}:{self.ports.api}"

    def environment(self) -> dict[str, str]:
        """What the compose file's x-placenet environment gives the migrate, fixtures and api services."""
        env = dict(os.environ)
        env.update(
            DATABASE_URL=self.primary.url(DATABASE),
            DATABASE_REPLICA_URLS=self.replica.url(DATABASE),
            REDIS_URL=f"redis://{HOST}:{self.ports.redis}/0",
            REDIS_PREFIX=os.environ.get("REDIS_PREFIX", "placenet:"),
            # Unset means the compose default; set and empty means no limit, as in compose's ${RATE_LIMIT-...}.
            RATE_LIMIT=os.environ.get("RATE_LIMIT", DEFAULT_RATE_LIMIT),
            LOG_FORMAT="json",
            PYTHONUNBUFFERED="1",
        )
        return env

    def save(self) -> None:
        state = {"ports": asdict(self.ports), "workers": self.workers}
        (self.base / STATE_FILE).write_text(json.dumps(state, indent=2) + "\n")

    @classmethod
    def load(cls, base: Path) -> Topology | None:
        try:
            state: dict[str, Any] = json.loads((base / STATE_FILE).read_text())
        except FileNotFoundError:
            return None
        return cls(base, Ports(**state["ports"]), int(state["workers"]))


def placenet_command() -> str:
    """The placenet script of the interpreter running us, else the repository's .venv, else PATH."""
    for candidate in (Path(sys.executable).parent / "placenet", REPO / ".venv" / "bin" / "placenet"):
        if candidate.exists():
            return str(candidate)
    found = shutil.which("placenet")
    if found is None:
        raise TopologyError("no placenet command: run `make install` first")
    return found


def read_pid(pidfile: Path) -> int | None:
    """The live process named by a pidfile, or None (no file, junk, or the process has gone)."""
    try:
        text = pidfile.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() and process_alive(int(text)) else None


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no {path})"


def say(part: str, message: str) -> None:
    print(f"{part:<17} {message}", flush=True)


# -- Redis -----------------------------------------------------------------------------------------


def redis_ping(port: int) -> bool:
    """A RESP PING by hand, so this needs neither redis-cli nor a client library."""
    try:
        with socket.create_connection((HOST, port), timeout=1.0) as connection:
            connection.sendall(b"*1\r\n$4\r\nPING\r\n")
            return connection.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def start_redis(topology: Topology, timeout: float = 15.0) -> None:
    port = topology.ports.redis
    if read_pid(topology.redis_pidfile) is not None and redis_ping(port):
        say("redis", f"already running on {HOST}:{port}")
        return
    if port_in_use(port):
        raise TopologyError(f"port {port} is taken by something this topology did not start")
    log = topology.base / "redis.log"
    # No RDB and no AOF: the topology's Redis holds rate-limit windows and idempotency keys for a
    # session, and must never write into the working tree.
    command = ["redis-server", "--bind", HOST, "--port", str(port), "--save", "", "--appendonly", "no"]
    command += ["--daemonize", "yes", "--pidfile", str(topology.redis_pidfile), "--logfile", str(log)]
    command += ["--dir", str(topology.base)]
    subprocess.run(command, check=True, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while not redis_ping(port):
        if time.monotonic() > deadline:
            raise TopologyError(f"redis did not answer PING on {port}:\n{tail(log)}")
        time.sleep(0.1)
    say("redis", f"redis://{HOST}:{port}/0 (pid {read_pid(topology.redis_pidfile)})")


def stop_process(pidfile: Path, name: str, *, group: bool, timeout: float = 20.0) -> None:
    """SIGTERM (the whole process group for the API, so granian's workers go too), then SIGKILL."""
    pid = read_pid(pidfile)
    if pid is None:
        say(name, "not running")
        pidfile.unlink(missing_ok=True)
        return

    def send(signum: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            if group:
                os.killpg(pid, signum)
            else:
                os.kill(pid, signum)

    send(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if process_alive(pid):
        say(name, f"pid {pid} ignored SIGTERM for {timeout:.0f}s: SIGKILL")
    # For a group this also takes any worker that outlived its parent.
    send(signal.SIGKILL)
    pidfile.unlink(missing_ok=True)
    say(name, f"stopped (pid {pid})")


# -- The one-off services and the API --------------------------------------------------------------


def run_once(topology: Topology, name: str, args: Sequence[str]) -> None:
    """Like a compose one-off service: run to completion, fail `up` when it fails."""
    log = topology.base / f"{name}.log"
    with log.open("w") as output:
        result = subprocess.run(
            [placenet_command(), *args],
            cwd=REPO,
            env=topology.environment(),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if result.returncode != 0:
        raise TopologyError(f"{name} exited {result.returncode}:\n{tail(log)}")
    say(name, f"done (log {log})")


def http_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def start_api(topology: Topology, timeout: float = 120.0) -> None:
    pid = read_pid(topology.api_pidfile)
    if pid is not None:
        say("api", f"already running at {topology.api_url} (pid {pid}); `down` first to change --workers")
        return
    if port_in_use(topology.ports.api):
        raise TopologyError(f"port {topology.ports.api} is taken by something this topology did not start")
    command = [placenet_command(), "serve", "--host", HOST, "--port", str(topology.ports.api)]
    command += ["--workers", str(topology.workers)]
    with topology.api_log.open("ab") as log:
        # Its own session (process group) so it outlives us and `down` can signal granian and its workers at once.
        process = subprocess.Popen(
            command,
            cwd=REPO,
            env=topology.environment(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    topology.api_pidfile.write_text(f"{process.pid}\n")
    deadline = time.monotonic() + timeout
    while http_status(f"{topology.api_url}/ready") != 200:
        if process.poll() is not None:
            topology.api_pidfile.unlink(missing_ok=True)
            raise TopologyError(f"the API exited {process.returncode}:\n{tail(topology.api_log)}")
        if time.monotonic() > deadline:
            raise TopologyError(f"the API is not ready after {timeout:.0f}s:\n{tail(topology.api_log)}")
        time.sleep(0.2)
    say("api", f"{topology.api_url} (workers {topology.workers}, pid {process.pid}, log {topology.api_log})")


# -- Commands --------------------------------------------------------------------------------------


def start_cluster(cluster: LocalCluster, name: str, create: Callable[[], LocalCluster]) -> None:
    """Start an existing cluster, or make it with `create` (a compose service's first `up`)."""
    if (cluster.data_dir / "PG_VERSION").exists():
        if not cluster.is_running() and port_in_use(cluster.port):
            raise TopologyError(f"port {cluster.port} is taken by something this topology did not start")
        cluster.start()
    else:
        if port_in_use(cluster.port):
            raise TopologyError(f"port {cluster.port} is taken by something this topology did not start")
        create()
    say(name, f"{cluster.url(DATABASE)} (pid {cluster.pid()})")


def up(topology: Topology) -> None:
    make_base(topology.base)
    topology.save()
    primary, replica = topology.primary, topology.replica
    start_cluster(primary, "postgres", lambda: create_primary(topology.base, primary.port))
    # compose's POSTGRES_DB: made on the primary before the replica, which then has it from the start.
    primary.create_database(DATABASE)
    start_cluster(replica, "postgres-replica", lambda: create_replica(primary, topology.base, replica.port))
    start_redis(topology)
    run_once(topology, "migrate", ["migrate"])
    run_once(topology, "fixtures", ["fixtures", "load", *FIXTURES])
    start_api(topology)


def down(topology: Topology, purge: bool) -> None:
    # The reverse of up: nothing is left talking to a part that has stopped.
    stop_process(topology.api_pidfile, "api", group=True)
    stop_process(topology.redis_pidfile, "redis", group=False)
    for cluster, name in ((topology.replica, "postgres-replica"), (topology.primary, "postgres")):
        pid = cluster.pid()
        cluster.stop("fast")
        say(name, f"stopped (pid {pid})" if pid else "not running")
    if purge:
        shutil.rmtree(topology.base)
        say("data", f"removed {topology.base}")


def cluster_status(cluster: LocalCluster) -> dict[str, Any]:
    status: dict[str, Any] = {"url": cluster.url(DATABASE), "pid": cluster.pid(), "ready": cluster.is_ready()}
    if status["ready"]:
        with contextlib.suppress(ClusterError):
            status["in_recovery"] = cluster.is_in_recovery()
    return status


def status(topology: Topology) -> dict[str, Any]:
    primary, replica = cluster_status(topology.primary), cluster_status(topology.replica)
    if primary["ready"] and replica["ready"]:
        with contextlib.suppress(ClusterError):
            replayed = topology.replica.psql("SELECT pg_last_wal_replay_lsn()")
            replica["lag_bytes"] = int(
                topology.primary.psql(f"SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '{replayed}')")
            )
            replica["replay"] = topology.replica.psql("SELECT pg_get_wal_replay_pause_state()")
            replica["streaming"] = topology.primary.psql("SELECT count(*) FROM pg_stat_replication") != "0"
    redis_pid = read_pid(topology.redis_pidfile)
    redis = {"url": f"redis://{HOST}:{topology.ports.redis}/0", "pid": redis_pid}
    redis["ready"] = redis_pid is not None and redis_ping(topology.ports.redis)
    api_pid = read_pid(topology.api_pidfile)
    api: dict[str, Any] = {"url": topology.api_url, "pid": api_pid, "workers": topology.workers}
    api["health"] = http_status(f"{topology.api_url}/health") if api_pid else None
    api["ready_status"] = http_status(f"{topology.api_url}/ready") if api_pid else None
    api["ready"] = api["ready_status"] == 200
    return {"postgres": primary, "postgres-replica": replica, "redis": redis, "api": api}


def print_status(parts: dict[str, Any]) -> None:
    for name, part in parts.items():
        state = "up" if part["ready"] else ("starting or failing" if part["pid"] else "down")
        details = ", ".join(f"{key} {value}" for key, value in part.items() if key not in ("ready", "url"))
        say(name, f"{state:<6} {part['url']}  ({details})")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.topology", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("up", "down", "status"))
    parser.add_argument("--base", type=Path, default=DEFAULT_BASE, help=f"state directory [default: {DEFAULT_BASE}]")
    parser.add_argument("--workers", type=int, help="API worker processes for up [default: 4, or the last up's]")
    parser.add_argument("--api-port", type=int, help=f"the API's port for up [default: {Ports.api}]")
    parser.add_argument("--purge", action="store_true", help="down: also remove the data (compose down -v)")
    parser.add_argument("--json", action="store_true", help="status: print JSON")
    args = parser.parse_args(argv)
    base: Path = args.base.resolve()

    saved = Topology.load(base)
    if args.command == "up":
        topology = saved or Topology(base, Ports())
        if args.workers:
            topology.workers = args.workers
        if args.api_port:
            topology.ports.api = args.api_port
        try:
            up(topology)
        except (TopologyError, ClusterError, subprocess.CalledProcessError) as error:
            print(f"up failed: {error}\n(`python -m ops.topology down` stops what did start)", file=sys.stderr)
            return 1
        print(f"up: {topology.api_url}/v1/organisations (docs at {topology.api_url}/docs)")
        return 0

    if saved is None:
        print(f"nothing here: {base / STATE_FILE} does not exist (run up first)", file=sys.stderr)
        return 3 if args.command == "status" else 0
    if args.command == "down":
        down(saved, args.purge)
        return 0
    parts = status(saved)
    if args.json:
        print(json.dumps(parts, indent=2))
    else:
        print_status(parts)
    # As an init script's status: 0 when everything is up, 3 when anything is not.
    return 0 if all(part["ready"] for part in parts.values()) else 3


if __name__ == "__main__":
    sys.exit(main())
