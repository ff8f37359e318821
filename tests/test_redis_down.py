"""Degrade, don't fall over: with REDIS_URL set and Redis not answering (a closed port), reads and writes
go on; the rate limit fails open, a POST with an Idempotency-Key is refused with 503 and Retry-After (never
applied unprotected), a client's reads go to the primary, and each is counted in /metrics."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from litestar import Litestar

from api.app import create_app
from api.services.platform import store as shared
from api.settings import Settings
from ops.postgres import free_port
from tests.conftest import make_client
from tests.test_processes import metric

ORGANISATION = {"name": "Degraded Times Trust", "kind": "foundation"}


@pytest.fixture
async def app_without_redis() -> AsyncIterator[Litestar]:
    """The app with a rate limit of 3 a minute, a replica to route reads to (so read-your-writes is on), and
    REDIS_URL naming a port nobody listens on."""
    settings = dataclasses.replace(
        Settings.from_env(), rate_limit="3/minute", replica_urls=("postgresql://placenet@127.0.0.1:1/replica",)
    )
    app = create_app(settings)
    shared.open_store(f"redis://127.0.0.1:{free_port()}/0", "placenet-test:")
    yield app
    await shared.close_store()


async def degraded_counts(app: Litestar) -> dict[str, float]:
    async with make_client(app) as anonymous:  # counted for the rate limit only
        text = (await anonymous.get("/metrics")).text
    return {
        feature: metric(text, "placenet_degraded_total", feature=feature)
        for feature in ("rate_limit", "idempotency", "read_your_writes")
    }


async def test_reads_answer_past_the_rate_limit_uncounted(app_without_redis: Litestar) -> None:
    async with make_client(app_without_redis) as anonymous:
        before = await degraded_counts(app_without_redis)
        answers = [await anonymous.get("/v1/places") for _ in range(5)]
        after = await degraded_counts(app_without_redis)
    assert [a.status_code for a in answers] == [200] * 5, "fails open: more than the limit, all answered"
    assert all("ratelimit-remaining" not in a.headers for a in answers), "nothing was counted, so nothing is said"
    assert after["rate_limit"] - before["rate_limit"] == 5


async def test_ready_says_degraded_not_503(app_without_redis: Litestar) -> None:
    async with make_client(app_without_redis) as anonymous:
        ready = await anonymous.get("/ready")
        alive = await anonymous.get("/health")
    assert (ready.status_code, ready.json()) == (200, {"status": "degraded"})
    assert alive.status_code == 200


async def test_a_post_with_an_idempotency_key_is_503_and_not_applied(
    app_without_redis: Litestar, admin_key: str
) -> None:
    async with make_client(app_without_redis, admin_key) as client:
        before = await degraded_counts(app_without_redis)
        refused = await client.post("/v1/organisations", json=ORGANISATION, headers={"Idempotency-Key": "k-1"})
        after = await degraded_counts(app_without_redis)
        found = await client.get("/v1/organisations", params={"q": "Degraded Times"})
    assert refused.status_code == 503
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["retry-after"] == "5"
    assert "Idempotency-Keys cannot be honoured right now" in refused.json()["detail"]
    assert found.json()["items"] == [], "refused, not applied without its replay protection"
    assert after["idempotency"] - before["idempotency"] == 1


async def test_writes_without_a_key_and_a_writer_s_reads_go_on(app_without_redis: Litestar, admin_key: str) -> None:
    async with make_client(app_without_redis, admin_key) as client:
        before = await degraded_counts(app_without_redis)
        created = await client.post("/v1/organisations", json=ORGANISATION)
        read = await client.get(f"/v1/organisations/{created.json()['slug']}")
        after = await degraded_counts(app_without_redis)
    assert created.status_code == 201, created.text
    assert read.status_code == 200
    # The write could not be marked, and the keyed read could not ask whether it had been: both counted.
    assert after["read_your_writes"] - before["read_your_writes"] == 2


async def test_a_writer_s_reads_go_to_the_primary_while_redis_is_down() -> None:
    from api.http.routing import _wrote_recently

    shared.open_store(f"redis://127.0.0.1:{free_port()}/0", "placenet-test:")
    try:
        assert await _wrote_recently("wrote:key:abc") is True
    finally:
        await shared.close_store()


async def test_after_a_failure_redis_is_not_asked_again_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Redis that hangs instead of refusing must not cost every request its timeout."""
    monkeypatch.setattr(shared, "RECHECK_SECONDS", 3600.0)
    store = shared.RedisStore(f"redis://127.0.0.1:{free_port()}/0", "placenet-test:")
    asked = []
    real_get = store._redis.get

    async def counted_get(*args: Any) -> Any:
        asked.append(args)
        return await real_get(*args)

    monkeypatch.setattr(store._redis, "get", counted_get)
    try:
        for _ in range(3):
            with pytest.raises(shared.StoreUnavailable):
                await store.get("k")
        assert len(asked) == 1
    finally:
        await store.close()


async def test_degradation_is_in_the_metrics_from_the_start(anonymous: httpx.AsyncClient) -> None:
    text = (await anonymous.get("/metrics")).text
    for feature in ("rate_limit", "idempotency", "read_your_writes"):
        assert f'placenet_degraded_total{{feature="{feature}"}}' in text
