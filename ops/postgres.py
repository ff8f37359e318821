"""Throwaway local PostgreSQL clusters on loopback: a primary and real streaming replicas.

For tests that need a read replica or a database that stops and comes back, and for the loopback
topology (`python -m ops.topology`). Standard library only, so it works before the project is
installed and from any test process.

We usually run as root and initdb/pg_ctl refuse root, so the server programs run as the `postgres`
OS user (`runuser`) in directories it owns. Clients (psql, pg_isready) connect over TCP to
127.0.0.1 with trust auth, so they run as whoever we are. Unix sockets are switched off, so nothing
collides with the system cluster's socket or another throwaway cluster's.

    base = make_base()
    primary = create_primary(base, 5441)
    replica = create_replica(primary, base, 5442)
    primary.psql("CREATE TABLE t (id int)")
    wait_for_replay(primary, replica)
    destroy(replica); destroy(primary); remove_base(base)

`python -m ops.postgres --self-check` runs that and more, printing each step.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

SERVER_USER = "postgres"
HOST = "127.0.0.1"
LOG_TAIL_LINES = 40

# Written into every new primary's postgresql.conf; a replica copies them with the base backup.
BASE_SETTINGS: dict[str, str] = {
    "listen_addresses": f"'{HOST}'",
    # No Unix sockets: the system cluster owns /var/run/postgresql, and socket paths have a length limit.
    "unix_socket_directories": "''",
    "wal_level": "replica",
    "max_wal_senders": "10",
    "max_replication_slots": "10",
    # Keeps enough WAL for a replica that was stopped or paused to catch up without a slot, so a
    # destroyed replica never pins WAL on its primary.
    "wal_keep_size": "'256MB'",
    "hot_standby": "on",
    # Long reads on a replica are not cancelled by the primary's vacuum.
    "hot_standby_feedback": "on",
    # A replica whose primary restarted reconnects within a second, not the default five.
    "wal_retrieve_retry_interval": "'1s'",
    # Throwaway data: an OS crash may lose it, a server crash (stop -m immediate) may not, so
    # synchronous_commit stays on and an acknowledged commit survives an immediate stop.
    "fsync": "off",
    "max_connections": "200",
    # Several clusters share one machine.
    "shared_buffers": "'64MB'",
    "log_line_prefix": "'%m [%p] '",
}


class ClusterError(RuntimeError):
    """A cluster did not do what was asked; the message carries the command output or the server log."""


class ClusterTimeout(ClusterError, TimeoutError):
    """A cluster did not get there in time (not ready, replica not caught up, not stopped)."""


def bin_dir() -> Path:
    """The newest installed server's programs, e.g. /usr/lib/postgresql/15/bin (PG_BIN overrides)."""
    override = os.environ.get("PG_BIN")
    if override:
        return Path(override)
    root = Path("/usr/lib/postgresql")
    found = sorted(root.glob("*/bin/initdb"), key=lambda p: _version_key(p.parent.parent.name))
    if not found:
        raise ClusterError(f"no PostgreSQL server programs under {root} (apt-get install postgresql)")
    return found[-1].parent


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def _as_server(args: Sequence[str]) -> list[str]:
    """The server programs refuse root: as root, run them as the postgres user."""
    if os.geteuid() == 0:
        return ["runuser", "-u", SERVER_USER, "--", *args]
    return list(args)


def _client_env() -> dict[str, str]:
    """Our environment without PG* variables, so a PGHOST or PGOPTIONS left in a shell changes nothing."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    env["PGCONNECT_TIMEOUT"] = "5"
    return env


def _run(
    args: Sequence[str],
    *,
    server: bool = False,
    cwd: Path | None = None,
    input: str | None = None,
    timeout: float = 120.0,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run a program with its output captured; a failure raises ClusterError naming the command and output."""
    command = _as_server(args) if server else list(args)
    try:
        result = subprocess.run(
            command,
            cwd=cwd,
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=_client_env(),
            stdin=None if input is not None else subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as error:
        raise ClusterTimeout(f"{' '.join(command)} took longer than {timeout:.0f}s") from error
    if check and result.returncode != 0:
        output = (result.stdout + result.stderr).strip()
        raise ClusterError(f"{' '.join(command)} exited {result.returncode}:\n{output}")
    return result


def process_alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie (a reaped-late postmaster must count as stopped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # The state follows the command name in parentheses, which may itself contain spaces.
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")


@dataclass
class LocalCluster:
    """One local PostgreSQL cluster: its data directory and the loopback port it listens on."""

    data_dir: Path
    port: int

    @property
    def log_file(self) -> Path:
        """The server log, beside the data directory so a base backup never copies it."""
        return self.data_dir.with_name(self.data_dir.name + ".log")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SERVER_USER}@{HOST}:{self.port}/{database}"

    def pid(self) -> int | None:
        """The postmaster's pid while it runs, from postmaster.pid; None when stopped."""
        try:
            first_line = (self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0]
        except OSError:
            return None
        pid = int(first_line) if first_line.strip().isdigit() else None
        return pid if pid is not None and process_alive(pid) else None

    def is_running(self) -> bool:
        return self.pid() is not None

    def is_ready(self) -> bool:
        """Running and accepting connections (a hot standby counts once it is consistent)."""
        if not self.is_running():
            return False
        probe = [str(bin_dir() / "pg_isready"), "-q", "-h", HOST, "-p", str(self.port), "-t", "2"]
        return _run(probe, check=False, timeout=10).returncode == 0

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    def start(self, timeout: float = 60.0) -> None:
        """Start the server and wait until it accepts connections; a no-op when it already runs."""
        deadline = time.monotonic() + timeout
        if not self.is_running():
            if not (self.data_dir / "PG_VERSION").exists():
                raise ClusterError(f"{self.data_dir} is not a PostgreSQL data directory")
            command = [
                str(bin_dir() / "pg_ctl"),
                "start",
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-w",
                "-t",
                str(max(1, int(timeout))),
                # The port on the command line wins over postgresql.conf, so the dataclass is the truth.
                "-o",
                f"-p {self.port}",
            ]
            result = _run(command, server=True, cwd=self.data_dir.parent, timeout=timeout + 10, check=False)
            if result.returncode != 0:
                output = (result.stdout + result.stderr).strip()
                raise ClusterError(
                    f"PostgreSQL in {self.data_dir} did not start on port {self.port}:\n{output}\n"
                    f"-- last lines of {self.log_file}:\n{self.log_tail()}"
                )
        self._wait_ready(deadline)

    def _wait_ready(self, deadline: float) -> None:
        while not self.is_ready():
            if not self.is_running():
                raise ClusterError(
                    f"PostgreSQL in {self.data_dir} exited while starting:\n"
                    f"-- last lines of {self.log_file}:\n{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise ClusterTimeout(
                    f"PostgreSQL in {self.data_dir} is not accepting connections on port {self.port}:\n"
                    f"-- last lines of {self.log_file}:\n{self.log_tail()}"
                )
            time.sleep(0.1)

    def stop(self, mode: str = "fast", timeout: float = 60.0) -> None:
        """Stop the server (smart, fast or immediate); a no-op when it is not running.

        A shutdown that does not finish in time is escalated to immediate, then to SIGKILL, so no
        process is ever left behind.
        """
        if mode not in ("smart", "fast", "immediate"):
            raise ValueError(f"mode must be smart, fast or immediate, not {mode!r}")
        pid = self.pid()
        if pid is None:
            return
        for attempt in (mode, "immediate"):
            command = [str(bin_dir() / "pg_ctl"), "stop", "-D", str(self.data_dir), "-m", attempt, "-w"]
            command += ["-t", str(max(1, int(timeout)))]
            _run(command, server=True, cwd=self.data_dir.parent, timeout=timeout + 10, check=False)
            if self._wait_gone(pid, timeout=5.0):
                return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        if not self._wait_gone(pid, timeout=10.0):
            raise ClusterTimeout(f"PostgreSQL (pid {pid}) in {self.data_dir} would not stop")

    @staticmethod
    def _wait_gone(pid: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while process_alive(pid):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def restart(self, mode: str = "fast", timeout: float = 60.0) -> None:
        self.stop(mode, timeout)
        self.start(timeout)

    def psql(self, sql: str, database: str = "postgres", timeout: float = 30.0) -> str:
        """Run SQL (one or more statements, each in its own transaction) and return the unaligned output.

        Rows come back one a line with `|` between columns; the first error stops and raises.
        """
        command = [str(bin_dir() / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]
        command += ["-h", HOST, "-p", str(self.port), "-U", SERVER_USER, "-d", database, "-f", "-"]
        return _run(command, input=sql, timeout=timeout).stdout.strip()

    def is_in_recovery(self) -> bool:
        return self.psql("SELECT pg_is_in_recovery()") == "t"

    def create_database(self, name: str) -> None:
        """Create a database unless it exists (on a primary; a replica gets it by streaming)."""
        exists = self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'")
        if not exists:
            self.psql(f'CREATE DATABASE "{name}"')


def _server_uid_gid() -> tuple[int, int]:
    entry = pwd.getpwnam(SERVER_USER)
    return entry.pw_uid, entry.pw_gid


def make_base(base: Path | None = None) -> Path:
    """A directory the postgres user owns, to hold clusters (a new temporary one when base is None)."""
    path = Path(tempfile.mkdtemp(prefix="placenet-pg-")) if base is None else base
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        uid, gid = _server_uid_gid()
        os.chown(path, uid, gid)
        # initdb and pg_basebackup write here as postgres: a parent it cannot enter fails late and obscurely.
        probe = _run(["test", "-w", str(path), "-a", "-x", str(path)], server=True, check=False, timeout=10)
        if probe.returncode != 0:
            raise ClusterError(f"the {SERVER_USER} user cannot write {path}: is a parent directory private?")
    return path


def remove_base(base: Path) -> None:
    """Remove a base directory made by make_base; stop its clusters first (destroy)."""
    shutil.rmtree(base, ignore_errors=True)


def _append_settings(cluster: LocalCluster, settings: Mapping[str, str], heading: str) -> None:
    # Later lines win in postgresql.conf, so appending overrides whatever initdb or the backup wrote.
    lines = [f"\n# {heading}\n", *(f"{key} = {value}\n" for key, value in settings.items())]
    with (cluster.data_dir / "postgresql.conf").open("a") as conf:
        conf.writelines(lines)


def create_primary(
    base: Path,
    port: int,
    *,
    name: str = "primary",
    settings: Mapping[str, str] | None = None,
    timeout: float = 60.0,
) -> LocalCluster:
    """initdb a new cluster in base/name (trust auth on 127.0.0.1, replication allowed) and start it.

    `settings` are extra postgresql.conf lines (values as PostgreSQL wants them, strings quoted).
    """
    base = make_base(base)
    cluster = LocalCluster(base / name, port)
    if cluster.data_dir.exists():
        raise ClusterError(f"{cluster.data_dir} exists: destroy() it, or start it with LocalCluster(...).start()")
    initdb = [str(bin_dir() / "initdb"), "-D", str(cluster.data_dir), "-U", SERVER_USER, "--auth=trust"]
    initdb += ["-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]
    _run(initdb, server=True, cwd=base)
    # Only loopback TCP, every database and replication, no passwords: these clusters are throwaway
    # and listen on 127.0.0.1 only.
    (cluster.data_dir / "pg_hba.conf").write_text(
        "# ops.postgres: a throwaway cluster on loopback\n"
        f"host all all {HOST}/32 trust\n"
        f"host replication all {HOST}/32 trust\n"
    )
    _append_settings(cluster, {**BASE_SETTINGS, "port": str(port), **(settings or {})}, "ops.postgres")
    cluster.start(timeout)
    return cluster


def create_replica(
    primary: LocalCluster,
    base: Path,
    port: int,
    *,
    name: str = "replica",
    timeout: float = 120.0,
) -> LocalCluster:
    """A streaming hot standby of primary in base/name: pg_basebackup -R, then start it.

    The replica connects as application_name=<name>, so pg_stat_replication on the primary names it.
    """
    if not primary.is_ready():
        raise ClusterError(f"the primary on port {primary.port} is not accepting connections")
    base = make_base(base)
    replica = LocalCluster(base / name, port)
    if replica.data_dir.exists():
        raise ClusterError(f"{replica.data_dir} exists: destroy() it, or start it with LocalCluster(...).start()")
    conninfo = f"host={HOST} port={primary.port} user={SERVER_USER} application_name={name}"
    # -R writes standby.signal and primary_conninfo; -X stream carries the WAL written during the copy.
    backup = [str(bin_dir() / "pg_basebackup"), "-d", conninfo, "-D", str(replica.data_dir)]
    backup += ["-R", "-X", "stream", "-c", "fast", "--no-sync"]
    _run(backup, server=True, cwd=base, timeout=timeout)
    _append_settings(replica, {"port": str(port), "hot_standby": "on"}, f"ops.postgres: replica of port {primary.port}")
    replica.start(timeout)
    # Ready is not yet streaming: wait until the primary sees the replica's WAL receiver, so a test
    # that writes at once is measuring replication and not the connection handshake.
    deadline = time.monotonic() + timeout
    query = f"SELECT state FROM pg_stat_replication WHERE application_name = '{name}'"
    while (state := primary.psql(query)) != "streaming":
        if time.monotonic() > deadline:
            raise ClusterTimeout(
                f"the replica on port {port} is not streaming from port {primary.port} (state {state!r}):\n"
                f"-- last lines of {replica.log_file}:\n{replica.log_tail()}"
            )
        time.sleep(0.05)
    return replica


def wait_for_replay(primary: LocalCluster, replica: LocalCluster, timeout: float = 30.0) -> str:
    """Wait until the replica has replayed everything the primary has written so far; return that LSN."""
    target = primary.psql("SELECT pg_current_wal_lsn()")
    deadline = time.monotonic() + timeout
    while replica.psql(f"SELECT coalesce(pg_last_wal_replay_lsn() >= '{target}'::pg_lsn, false)") != "t":
        if time.monotonic() > deadline:
            state = replica.psql("SELECT pg_last_wal_replay_lsn(), pg_get_wal_replay_pause_state()")
            raise ClusterTimeout(
                f"the replica on port {replica.port} has not replayed up to {target} in {timeout:.0f}s "
                f"(replayed, pause state: {state})"
            )
        time.sleep(0.05)
    return target


def pause_replay(replica: LocalCluster, timeout: float = 30.0) -> None:
    """Stop applying WAL on the replica (it keeps receiving it): reads there go stale until resumed.

    pg_wal_replay_pause() only requests a pause; the records already being applied may still land, so
    this waits until the replica reports `paused`.
    """
    replica.psql("SELECT pg_wal_replay_pause()")
    deadline = time.monotonic() + timeout
    while replica.psql("SELECT pg_get_wal_replay_pause_state()") != "paused":
        if time.monotonic() > deadline:
            raise ClusterTimeout(f"replay on port {replica.port} did not pause within {timeout:.0f}s")
        time.sleep(0.05)


def resume_replay(replica: LocalCluster) -> None:
    replica.psql("SELECT pg_wal_replay_resume()")


def destroy(cluster: LocalCluster, timeout: float = 60.0) -> None:
    """Stop the cluster (fast, escalating if need be) and remove its data directory and log."""
    cluster.stop("fast", timeout)
    shutil.rmtree(cluster.data_dir, ignore_errors=True)
    cluster.log_file.unlink(missing_ok=True)


def free_port() -> int:
    """A loopback TCP port nobody listens on right now (the OS picks it; racy, but fine for tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        return probe.connect_ex((HOST, port)) == 0


@contextlib.contextmanager
def replicated_pair(
    base: Path | None = None, primary_port: int | None = None, replica_port: int | None = None
) -> Iterator[tuple[LocalCluster, LocalCluster]]:
    """A primary and its streaming replica for the length of a with block; everything is removed after."""
    owned = base is None
    base = make_base(base)
    primary = create_primary(base, primary_port or free_port())
    try:
        replica = create_replica(primary, base, replica_port or free_port())
        try:
            yield primary, replica
        finally:
            destroy(replica)
    finally:
        destroy(primary)
        if owned:
            remove_base(base)


def _expect(condition: bool, message: str) -> None:
    # Not assert: python -O would skip the checks.
    if not condition:
        raise AssertionError(message)


def _rows(cluster: LocalCluster) -> str:
    return cluster.psql("SELECT string_agg(id::text, ',' ORDER BY id) FROM self_check")


def self_check(primary_port: int | None = None, replica_port: int | None = None) -> None:
    """What the tests rely on, by hand: replication, paused replay, restart, clean removal."""

    def step(message: str) -> None:
        print(f"ok   {message}", flush=True)

    base = make_base()
    print(f"base {base} (server programs in {bin_dir()})", flush=True)
    pids: list[int] = []
    try:
        with replicated_pair(base, primary_port, replica_port) as (primary, replica):
            pids += [pid for pid in (primary.pid(), replica.pid()) if pid is not None]
            step(f"primary {primary.url()} (pid {primary.pid()}), replica {replica.url()} (pid {replica.pid()})")
            _expect(not primary.is_in_recovery(), "the primary is in recovery")
            _expect(replica.is_in_recovery(), "the replica is not in recovery")
            streaming = primary.psql("SELECT application_name, state FROM pg_stat_replication")
            _expect(streaming == "replica|streaming", f"pg_stat_replication: {streaming!r}")
            step(f"the replica is in recovery; pg_stat_replication on the primary: {streaming}")

            primary.psql("CREATE TABLE self_check (id int PRIMARY KEY); INSERT INTO self_check VALUES (1)")
            lsn = wait_for_replay(primary, replica)
            _expect(_rows(replica) == "1", f"replica rows: {_rows(replica)!r}")
            step(f"a table made on the primary is on the replica (replayed to {lsn})")

            try:
                replica.psql("INSERT INTO self_check VALUES (99)")
                raise AssertionError("the replica accepted a write")
            except ClusterError as error:
                _expect("read-only transaction" in str(error), str(error))
            step("the replica refuses writes")

            pause_replay(replica)
            primary.psql("INSERT INTO self_check VALUES (2)")
            time.sleep(0.5)
            _expect(_rows(primary) == "1,2" and _rows(replica) == "1", f"replica rows while paused: {_rows(replica)}")
            try:
                wait_for_replay(primary, replica, timeout=1.0)
                raise AssertionError("wait_for_replay returned while replay was paused")
            except ClusterTimeout:
                pass
            step("replay paused: the new row is on the primary, not the replica, and wait_for_replay times out")
            resume_replay(replica)
            wait_for_replay(primary, replica)
            _expect(_rows(replica) == "1,2", f"replica rows after resume: {_rows(replica)}")
            step("replay resumed: the replica has it")

            old_pid = primary.pid()
            primary.stop()
            primary.stop()  # idempotent
            _expect(not primary.is_running() and not primary.is_ready(), "the primary still runs")
            try:
                primary.psql("SELECT 1")
                raise AssertionError("a stopped primary answered")
            except ClusterError:
                pass
            _expect(_rows(replica) == "1,2", "the replica lost rows")
            step(f"primary stopped (pid {old_pid}), a second stop is a no-op; the replica still serves reads")
            primary.start()
            primary.start()  # idempotent
            pids.append(primary.pid() or 0)
            primary.psql("INSERT INTO self_check VALUES (3)")
            wait_for_replay(primary, replica)
            _expect(_rows(replica) == "1,2,3", f"replica rows after restart: {_rows(replica)}")
            step(f"primary restarted (pid {primary.pid()}); the replica reconnected and streams again")

            primary.stop("immediate")
            primary.start()
            pids.append(primary.pid() or 0)
            _expect(_rows(primary) == "1,2,3", f"primary rows after a crash: {_rows(primary)}")
            step("after an immediate stop (a crash) the primary recovers with every committed row")

            replica.start()  # starting a running cluster is a no-op
            try:
                clash = create_primary(base, primary.port, name="clash", timeout=20)
                destroy(clash)
                raise AssertionError("a second cluster started on a port already taken")
            except ClusterError as error:
                _expect("Address already in use" in str(error), f"the error lacks the server log: {error}")
                step("a second cluster on a taken port fails, with the server log in the error")
            finally:
                destroy(LocalCluster(base / "clash", primary.port))
    finally:
        remove_base(base)
    leftovers = [pid for pid in pids if pid and process_alive(pid)]
    _expect(not leftovers, f"processes left behind: {leftovers}")
    _expect(not base.exists(), f"{base} is still there")
    step("both destroyed: no postmaster left, base directory removed")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.postgres", description=__doc__.split("\n\n")[0])
    parser.add_argument("--self-check", action="store_true", help="make a primary and replica, exercise, remove")
    parser.add_argument("--port", type=int, help="the primary's port for --self-check (the replica's is +1)")
    args = parser.parse_args(argv)
    if not args.self_check:
        parser.print_help()
        return 2
    try:
        self_check(args.port, args.port + 1 if args.port else None)
    except (ClusterError, AssertionError) as error:
        print(f"FAIL {error}", file=sys.stderr)
        return 1
    print("self-check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
