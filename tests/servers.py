"""The service as production runs it: `placenet serve` with granian workers in processes of their own,
for the tests that must prove what holds across processes or survives a database restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import msgspec

from ops.postgres import free_port

PLACENET = str(Path(sys.executable).with_name("placenet"))


@dataclass(frozen=True)
class Served:
    url: str
    log: Path

    def access_log(self) -> list[dict[str, object]]:
        """The JSON access-log lines the workers have written so far."""
        lines = [line for line in self.log.read_text().splitlines() if line.startswith("{")]
        records = [msgspec.json.decode(line) for line in lines]
        return [record for record in records if record.get("logger") == "placenet.access"]

    def pids_for(self, request_ids: set[str]) -> set[int]:
        """Which worker processes answered these requests (each log line carries its pid)."""
        return {int(str(r["pid"])) for r in self.access_log() if r.get("request_id") in request_ids}


@contextmanager
def served(environment: dict[str, str], workers: int = 2, timeout: float = 60.0) -> Iterator[Served]:
    port = free_port()
    log = Path(tempfile.mkdtemp(prefix="placenet-served-")) / "api.log"
    env = {**os.environ, "LOG_FORMAT": "json", "PROMETHEUS_MULTIPROC_DIR": "", **environment}
    with log.open("wb") as output:
        process = subprocess.Popen(
            [PLACENET, "serve", "--port", str(port), "--workers", str(workers)],
            env={k: v for k, v in env.items() if v != ""},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # one signal stops granian and every worker
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"placenet serve exited {process.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"placenet serve did not answer in {timeout:.0f}s:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield Served(url=url, log=log)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
