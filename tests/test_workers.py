"""The server survives its workers: `placenet serve` replaces a worker that dies (here SIGKILLed, as the
kernel's out-of-memory killer would), and requests go on being answered by the same server process."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import socket
import time
from pathlib import Path

import httpx
import pytest

from tests.servers import Served, served
from tests.test_processes import burst, metric

DEADLINE_SECONDS = 120.0  # a new worker imports the app afresh; slow on a busy machine


def parent_of(pid: int) -> int:
    # /proc/<pid>/stat: "pid (name) state ppid ..."; the name may hold spaces, so read after its ")".
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[1])


def is_running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


async def answering_pids(server: Served, tag: str, count: int = 20) -> tuple[list[int], set[int]]:
    """Send a burst of reads; their statuses (0 for a connection that failed) and the workers that answered."""
    ids = [f"{tag}-{i}" for i in range(count)]
    try:
        answers = await burst(server, [("GET", "/v1/places?limit=1", {"X-Request-Id": i}, None) for i in ids])
        statuses = [answer.status_code for answer in answers]
    except Exception:  # a connection the dying worker held, or the moment before the new one listens
        statuses = [0]
    return statuses, server.pids_for(set(ids))


# A connection the killed worker held dies under httpx mid-request, and asyncio may then warn, when the
# transport (or its socket) is collected, that it was never closed (fd no longer registered). That is the
# kill, not the server: it is collected here (`gc.collect()` at the end), where these warnings are expected.
@pytest.mark.filterwarnings(
    "ignore:Exception ignored in. <function _SelectorTransport.__del__:pytest.PytestUnraisableExceptionWarning"
)
@pytest.mark.filterwarnings("ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("workers", [1, 2])
async def test_a_killed_worker_is_replaced_and_requests_go_on(workers: int) -> None:
    with served({"REDIS_URL": ""}, workers=workers) as server:
        before: set[int] = set()
        for round_number in range(20):
            statuses, pids = await answering_pids(server, f"before-{round_number}")
            assert set(statuses) == {200}, f"before the kill: {statuses}"
            before |= pids
            if len(before) >= workers:
                break
        assert len(before) == workers, "every worker answered"
        victim = min(before)
        main = parent_of(victim)
        assert is_running(main)

        stop = asyncio.Event()
        load = asyncio.create_task(keep_reading(server, stop))
        await asyncio.sleep(0.5)  # the kill lands under load
        os.kill(victim, signal.SIGKILL)

        # Answered again, by a worker started after the kill, while the same server process lives on.
        deadline = time.monotonic() + DEADLINE_SECONDS
        round_number = 0
        while True:
            round_number += 1
            statuses, pids = await answering_pids(server, f"after-{round_number}")
            if set(statuses) == {200} and pids - before:
                break
            assert is_running(main), f"the server exited:\n{server.log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, (
                f"no new worker answered ({statuses}, {pids}, before {before}):\n{server.log.read_text()[-3000:]}"
            )
            await asyncio.sleep(0.2)
        stop.set()
        read = await load
        assert not is_running(victim)
        assert is_running(main)
        assert parent_of(next(iter(pids - before))) == main
        # The load went on through the kill: nothing but answers and the connections the dead worker held.
        assert set(read) <= {0, 200}, read
        assert read[-1] == 200
    gc.collect()


async def keep_reading(server: Served, stop: asyncio.Event) -> list[int]:
    """Reads one after another, each on a connection of its own, until told to stop: their statuses (0 for a
    connection that failed)."""
    statuses = []
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=30) as http:
        while not stop.is_set():
            try:
                statuses.append((await http.get("/v1/places?limit=1")).status_code)
            except httpx.TransportError:
                statuses.append(0)
    return statuses


def in_progress_by_worker(directory: Path) -> dict[int, float]:
    """Each worker's own `placenet_requests_in_progress{method="POST"}`, from its file in the metrics directory."""
    from prometheus_client.multiprocess import MultiProcessCollector

    found = {}
    for path in directory.glob("gauge_livesum_*.db"):
        pid = int(path.stem.rsplit("_", 1)[1])
        metrics = MultiProcessCollector.merge([str(path)])  # type: ignore[no-untyped-call]  # unannotated upstream
        found[pid] = sum(
            sample.value
            for metric in metrics
            if metric.name == "placenet_requests_in_progress"
            for sample in metric.samples
            if sample.labels.get("method") == "POST"
        )
    return found


async def test_a_killed_worker_s_requests_in_progress_are_not_summed_for_ever(tmp_path: Path) -> None:
    """Killed mid-request, a worker never takes back its in-progress count; its replacement drops it."""
    environment = {"REDIS_URL": "", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "BODY_READ_TIMEOUT": "600"}
    with served(environment, workers=2) as server:
        before: set[int] = set()
        for round_number in range(20):  # both workers, known from the requests they answer
            before |= (await answering_pids(server, f"before-{round_number}"))[1]
            if len(before) == 2:
                break
        assert len(before) == 2, "both workers answered"
        host, port = server.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=30) as stalled:
            # Headers and half a body: the request stays in progress on whichever worker took it.
            stalled.sendall(
                b"POST /v1/organisations HTTP/1.1\r\nHost: placenet.test\r\nContent-Type: application/json\r\n"
                b"Content-Length: 200\r\n\r\n{"
            )
            deadline = time.monotonic() + DEADLINE_SECONDS
            while not (holding := [pid for pid, count in in_progress_by_worker(tmp_path).items() if count == 1]):
                assert time.monotonic() < deadline, "the stalled request never showed as in progress"
                await asyncio.sleep(0.1)
            (victim,) = holding
            os.kill(victim, signal.SIGKILL)

            while True:  # until the replacement has answered (it looks for dead workers as it starts)
                statuses, pids = await answering_pids(server, f"after-{time.monotonic()}")
                if set(statuses) == {200} and pids - before:
                    break
                assert time.monotonic() < deadline, f"no replacement:\n{server.log.read_text()[-3000:]}"
                await asyncio.sleep(0.2)
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            text = (await http.get("/metrics")).text
        assert metric(text, "placenet_requests_in_progress", method="POST") == 0
