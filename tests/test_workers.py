"""The server survives its workers: `placenet serve` replaces a worker that dies (here SIGKILLed, as the
kernel's out-of-memory killer would), and requests go on being answered by the same server process."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest

from tests.servers import Served, served
from tests.test_processes import burst

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
        victim = min(before)
        main = parent_of(victim)
        assert is_running(main)

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
        assert not is_running(victim)
        assert is_running(main)
        assert parent_of(next(iter(pids - before))) == main
