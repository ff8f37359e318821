"""Many worker processes, one behaviour: the service runs as `placenet serve --workers N` (granian), and
what one process knows every process knows: rate limits, idempotency keys, metrics. Each test runs
with the state in Redis and in the database, and checks from the workers' own logs that more than one
process answered, so the proof does not rest on luck."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.servers import Served, served

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(params=["redis", "database"])
def shared_state(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    if request.param == "database":
        yield {"REDIS_URL": ""}
        return
    prefix = f"placenet-test-{uuid.uuid4().hex[:8]}:"
    yield {"REDIS_URL": REDIS_URL, "REDIS_PREFIX": prefix}
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


async def burst(server: Served, requests: list[tuple[str, str, dict[str, str], object]]) -> list[httpx.Response]:
    """Send requests at once, each on a connection of its own, so the kernel spreads them over workers."""
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=30) as http:
        return await asyncio.gather(
            *(http.request(method, path, headers=headers, json=body) for method, path, headers, body in requests)
        )


def metric(text: str, name: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include these."""
    total = 0.0
    for line in text.splitlines():
        match = re.match(rf"^{name}{{(.*)}} (\S+)$", line)
        if match and all(f'{k}="{v}"' in match[1] for k, v in labels.items()):
            total += float(match[2])
    return total


@pytest.mark.parametrize("workers", [1, 4])
async def test_a_rate_limit_holds_across_workers(shared_state: dict[str, str], workers: int) -> None:
    with served({**shared_state, "RATE_LIMIT": "25/minute"}, workers=workers) as server:
        answers: list[httpx.Response] = []
        ids: list[str] = []
        # Bursts of 30 at once until at least two workers have answered (which one accepts a connection
        # is the kernel's choice), then the count must be exactly the limit across all of them.
        for burst_number in range(10):
            chunk = [f"rate-{burst_number}-{i}" for i in range(30)]
            ids += chunk
            answers += await burst(server, [("GET", "/v1/places?limit=1", {"X-Request-Id": i}, None) for i in chunk])
            if len(server.pids_for(set(ids))) >= min(workers, 2):
                break
        statuses = [a.status_code for a in answers]
        assert len(server.pids_for(set(ids))) >= min(workers, 2), "more than one worker answered"
        assert statuses.count(200) == 25, statuses
        assert statuses.count(429) == len(statuses) - 25, statuses

        # Metrics from whichever worker answers cover every worker's requests.
        (metrics,) = await burst(server, [("GET", "/metrics", {}, None)])
        text = metrics.text
        assert metric(text, "placenet_requests_total", path="/v1/places", status_code="200") == 25
        assert metric(text, "placenet_requests_total", path="/v1/places", status_code="429") == len(statuses) - 25


async def test_an_idempotent_retry_landing_on_another_worker_replays(
    shared_state: dict[str, str], admin_key: str
) -> None:
    with served(shared_state, workers=4) as server:
        key = {"Authorization": f"Bearer {admin_key}", "Idempotency-Key": str(uuid.uuid4())}
        body = {"name": "Retried Community Trust", "kind": "foundation"}
        (first,) = await burst(server, [("POST", "/v1/organisations", {**key, "X-Request-Id": "first"}, body)])
        assert first.status_code == 201, first.text
        retries: list[httpx.Response] = []
        retry_ids: list[str] = []
        for burst_number in range(10):  # until a worker other than the first's has replayed
            chunk = [f"retry-{burst_number}-{i}" for i in range(24)]
            retry_ids += chunk
            retries += await burst(
                server, [("POST", "/v1/organisations", {**key, "X-Request-Id": i}, body) for i in chunk]
            )
            if server.pids_for(set(retry_ids)) - server.pids_for({"first"}):
                break
        assert server.pids_for(set(retry_ids)) - server.pids_for({"first"}), "a worker other than the first replayed"
        assert {r.status_code for r in retries} == {201}
        assert {r.headers.get("idempotent-replayed") for r in retries} == {"true"}
        assert {r.json()["id"] for r in retries} == {first.json()["id"]}

        (found,) = await burst(server, [("GET", "/v1/organisations?q=Retried%20Community%20Trust", {}, None)])
        assert len(found.json()["items"]) == 1, "one record, however many workers saw the retries"
