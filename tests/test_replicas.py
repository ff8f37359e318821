"""Beyond one database server, against real PostgreSQL clusters the tests make and remove themselves
(ops/postgres.py): a primary and a streaming replica made with pg_basebackup. Reads that may lag go to
the replica, a client's reads right after its own write go to the primary, a replica that is down never
fails a read, and a primary stopped and restarted under load gives 503s (never a 500) and then service
resumes on its own. Run with the PostgreSQL suite (PLACENET_TEST_DATABASE=postgres)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from ops.postgres import LocalCluster, pause_replay, replicated_pair, resume_replay, wait_for_replay
from tests.servers import PLACENET, served

pytestmark = pytest.mark.skipif(
    os.environ.get("PLACENET_TEST_DATABASE") != "postgres",
    reason="needs PostgreSQL's server programs: make test-postgres",
)


@dataclass(frozen=True)
class Pair:
    primary: LocalCluster
    replica: LocalCluster
    admin_key: str

    def environment(self, *, replicas: bool = True, **extra: str) -> dict[str, str]:
        return {
            "DATABASE_URL": self.primary.url("placenet"),
            "DATABASE_REPLICA_URLS": self.replica.url("placenet") if replicas else "",
            "REDIS_URL": "",
            **extra,
        }


def placenet(*args: str, database_url: str) -> str:
    done = subprocess.run(
        [PLACENET, *args], env={**os.environ, "DATABASE_URL": database_url}, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    with replicated_pair() as (primary, replica):
        primary.create_database("placenet")
        url = primary.url("placenet")
        placenet("migrate", database_url=url)
        key = placenet("keys", "create", "--role", "admin", "--name", "replica tests", database_url=url)
        wait_for_replay(primary, replica)
        yield Pair(primary, replica, key)


def new_organisation() -> dict[str, str]:
    return {"name": f"Replica Test Trust {uuid.uuid4().hex[:8]}", "kind": "foundation"}


def test_reads_may_lag_on_the_replica_but_a_writer_reads_its_own_writes(pair: Pair) -> None:
    with (
        served(pair.environment(READ_YOUR_WRITES_SECONDS="2"), workers=2) as server,
        httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {pair.admin_key}"}) as keyed,
        httpx.Client(base_url=server.url) as anonymous,
    ):
        pause_replay(pair.replica)
        try:
            created = keyed.post("/v1/organisations", json=new_organisation())
            assert created.status_code == 201, created.text
            path = f"/v1/organisations/{created.json()['slug']}"
            assert keyed.get(path).status_code == 200, "the writer reads its own write from the primary"
            assert anonymous.get(path).status_code == 404, "other readers are served by the replica, still behind"
            time.sleep(2.5)
            assert keyed.get(path).status_code == 404, "once the allowance has passed, the writer's reads lag too"
        finally:
            resume_replay(pair.replica)
        wait_for_replay(pair.primary, pair.replica)
        assert anonymous.get(path).status_code == 200, "the replica has caught up"


def test_a_replica_that_is_down_never_fails_a_read(pair: Pair) -> None:
    with served(pair.environment(), workers=1) as server:
        pair.replica.stop()
        try:
            statuses = [httpx.get(f"{server.url}/v1/organisations").status_code for _ in range(10)]
        finally:
            pair.replica.start()
        assert statuses == [200] * 10
        wait_for_replay(pair.primary, pair.replica)


async def _load(url: str, key: str, stop: asyncio.Event, answers: list[tuple[float, httpx.Response]]) -> None:
    """Reads and writes from 6 clients, as fast as they are answered, until told to stop."""

    async def client() -> None:
        async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as http:
            while not stop.is_set():
                for request in (
                    http.get("/v1/organisations?limit=5"),
                    http.post("/v1/organisations", json=new_organisation()),
                ):
                    answers.append((time.monotonic(), await request))

    await asyncio.gather(*(client() for _ in range(6)))


async def test_a_primary_restart_under_load_gives_503s_never_500s_and_service_resumes(pair: Pair) -> None:
    answers: list[tuple[float, httpx.Response]] = []
    with served(pair.environment(replicas=False), workers=2) as server:
        stop = asyncio.Event()
        load = asyncio.create_task(_load(server.url, pair.admin_key, stop, answers))
        await asyncio.sleep(2)
        await asyncio.to_thread(pair.primary.stop, "fast")
        await asyncio.sleep(3)
        await asyncio.to_thread(pair.primary.start)
        restarted = time.monotonic()
        # Service resumes on its own: the load goes on until 20 answers in a row after the restart succeed.
        resumed = False
        while not resumed and time.monotonic() - restarted < 60:
            await asyncio.sleep(0.5)
            since = [answer.status_code for at, answer in answers if at > restarted]
            resumed = len(since) >= 20 and set(since[-20:]) <= {200, 201}
        stop.set()
        await load
        wait_for_replay(pair.primary, pair.replica)

    statuses = [answer.status_code for _, answer in answers]
    assert resumed, f"service had not resumed 60 s after the restart: {statuses[-40:]}"
    assert set(statuses) <= {200, 201, 503}, f"only success or 503, never a 500: {set(statuses)}"
    unavailable = [answer for _, answer in answers if answer.status_code == 503]
    assert unavailable, "the load ran while the primary was down"
    for answer in unavailable:
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["retry-after"] == "5"
