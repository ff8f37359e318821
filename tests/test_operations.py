"""What operators see and rely on: the shared store both backends implement, the rate limit, request
ids and structured logs, and Prometheus metrics. Across real worker processes: test_processes.py."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import re
import uuid
import warnings
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from litestar import Litestar

from api.app import create_app
from api.http.observability import JsonFormatter, request_id
from api.http.ratelimit import RateLimit
from api.services.platform.store import DatabaseStore, RedisStore, Store
from api.settings import Settings
from tests.conftest import make_client

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(params=["database", "redis"])
async def store(request: pytest.FixtureRequest, empty_database: None) -> AsyncIterator[Store]:
    """Each backend; the Redis one under a prefix of its own, removed afterwards."""
    if request.param == "database":
        yield DatabaseStore()
        return
    prefix = f"placenet-test-{uuid.uuid4().hex[:8]}:"
    redis_store = RedisStore(REDIS_URL, prefix)
    yield redis_store
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL)
    keys = [key async for key in client.scan_iter(f"{prefix}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()
    await redis_store.close()


class TestSharedStore:
    async def test_claim_is_first_come_and_reports_what_it_holds(self, store: Store) -> None:
        assert await store.claim("k", b"first", ttl=60) is None
        assert await store.claim("k", b"second", ttl=60) == b"first"
        assert await store.get("k") == b"first"

    async def test_put_replaces_and_drop_forgets(self, store: Store) -> None:
        await store.put("k", b"one", ttl=60)
        await store.put("k", b"two", ttl=60)
        assert await store.get("k") == b"two"
        await store.drop("k")
        assert await store.get("k") is None
        assert await store.claim("k", b"three", ttl=60) is None

    async def test_entries_expire(self, store: Store) -> None:
        await store.put("k", b"short", ttl=0.2)
        assert await store.claim("c", b"short", ttl=0.2) is None
        await asyncio.sleep(0.35)
        assert await store.get("k") is None
        assert await store.claim("c", b"again", ttl=60) is None, "an expired claim can be taken again"

    async def test_concurrent_hits_are_each_counted_once(self, store: Store) -> None:
        counts = await asyncio.gather(*(store.hit("rate:x", window=60) for _ in range(40)))
        assert sorted(count for count, _ in counts) == list(range(1, 41))
        assert all(0 < resets_in <= 60 for _, resets_in in counts)

    async def test_a_window_starts_again_once_it_has_passed(self, store: Store) -> None:
        assert (await store.hit("rate:y", window=0.3))[0] == 1
        assert (await store.hit("rate:y", window=0.3))[0] == 2
        await asyncio.sleep(0.45)
        assert (await store.hit("rate:y", window=0.3))[0] == 1

    async def test_concurrent_claims_have_one_winner(self, store: Store) -> None:
        held = await asyncio.gather(*(store.claim("once", str(i).encode(), ttl=60) for i in range(20)))
        assert held.count(None) == 1
        winner = await store.get("once")
        assert all(value == winner for value in held if value is not None)


class TestRateLimitSetting:
    @pytest.mark.parametrize(
        ("text", "limit"),
        [("600/minute", RateLimit(600, 60, "minute")), (" 5 / second ", RateLimit(5, 1, "second")), ("", None)],
    )
    def test_parses(self, text: str, limit: RateLimit | None) -> None:
        assert RateLimit.parse(text) == limit

    @pytest.mark.parametrize("text", ["600", "0/minute", "ten/minute", "5/fortnight", "-1/hour"])
    def test_refuses_what_it_cannot_read(self, text: str) -> None:
        with pytest.raises(ValueError, match="RATE_LIMIT must look like 600/minute"):
            RateLimit.parse(text)


@pytest.fixture(params=["database", "redis"])
async def limited_app(request: pytest.FixtureRequest, empty_database: None) -> AsyncIterator[Litestar]:
    """The app with a limit of 3 requests a minute, counted in each backend."""
    from api.services.platform import store as shared

    redis_url = REDIS_URL if request.param == "redis" else ""
    prefix = f"placenet-test-{uuid.uuid4().hex[:8]}:"
    app = create_app(dataclasses.replace(Settings.from_env(), rate_limit="3/minute"))
    shared.open_store(redis_url, prefix)
    yield app
    await shared.close_store()


class TestRateLimit:
    async def test_the_fourth_request_in_a_minute_is_refused_with_when_to_retry(self, limited_app: Litestar) -> None:
        async with make_client(limited_app) as anonymous:
            answers = [await anonymous.get("/v1/places") for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert [a.headers["ratelimit-remaining"] for a in answers] == ["2", "1", "0", "0"]
        refused = answers[-1]
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["status"] == 429
        assert "More than 3 requests in a minute" in refused.json()["detail"]
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert refused.headers["ratelimit-limit"] == "3"

    async def test_each_caller_has_its_own_count(self, limited_app: Litestar, admin_key: str) -> None:
        async with make_client(limited_app) as anonymous, make_client(limited_app, admin_key) as keyed:
            for _ in range(3):
                assert (await anonymous.get("/v1/places")).status_code == 200
            assert (await anonymous.get("/v1/places")).status_code == 429
            assert (await keyed.get("/v1/places")).status_code == 200, "the key is counted apart from the address"

    async def test_a_key_is_looked_up_once_per_request(
        self, limited_app: Litestar, admin_key: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The rate limit, Idempotency-Key and the write's `actor` all need the key: one lookup serves them."""
        from api.services.resources import keys

        lookups = []
        authenticate = keys.authenticate

        async def counted(token: str) -> Any:
            lookups.append(token)
            return await authenticate(token)

        monkeypatch.setattr(keys, "authenticate", counted)
        async with make_client(limited_app, admin_key) as keyed:
            created = await keyed.post(
                "/v1/organisations",
                json={"name": "Looked Up Once Trust", "kind": "foundation"},
                headers={"Idempotency-Key": "once"},
            )
        assert created.status_code == 201, created.text
        assert len(lookups) == 1

    async def test_invented_keys_do_not_escape_the_limit_of_the_address(self, limited_app: Litestar) -> None:
        async with make_client(limited_app) as anonymous:
            statuses = [
                (await anonymous.get("/v1/places", headers={"Authorization": f"Bearer made-up-{i}"})).status_code
                for i in range(4)
            ]
        assert statuses == [200, 200, 200, 429]

    async def test_operations_endpoints_are_not_limited(self, limited_app: Litestar) -> None:
        async with make_client(limited_app) as anonymous:
            statuses = {(await anonymous.get(path)).status_code for path in ["/health", "/ready", "/metrics"] * 3}
        assert statuses == {200}


class TestRequestIds:
    async def test_every_response_carries_a_fresh_request_id(self, anonymous: httpx.AsyncClient) -> None:
        first, second = await anonymous.get("/health"), await anonymous.get("/v1/nowhere")
        assert len(first.headers["x-request-id"]) == 32
        assert first.headers["x-request-id"] != second.headers["x-request-id"]
        assert second.status_code == 404 and "x-request-id" in second.headers

    async def test_a_sane_request_id_from_the_caller_is_kept(self, anonymous: httpx.AsyncClient) -> None:
        response = await anonymous.get("/health", headers={"X-Request-Id": "partner-sync.2026-11-26:42"})
        assert response.headers["x-request-id"] == "partner-sync.2026-11-26:42"

    @pytest.mark.parametrize("sent", ["has spaces", "x" * 129, "new\\nline", "<script>"])
    async def test_an_unsafe_request_id_is_replaced(self, anonymous: httpx.AsyncClient, sent: str) -> None:
        response = await anonymous.get("/health", headers={"X-Request-Id": sent})
        assert response.headers["x-request-id"] != sent
        assert len(response.headers["x-request-id"]) == 32


class TestLogs:
    def test_a_json_line_carries_the_request_id_and_extra_fields(self) -> None:
        record = logging.LogRecord("placenet.access", logging.INFO, __file__, 1, "GET %s", ("/health",), None)
        record.fields = {"status": 200}
        token = request_id.set("abc123")
        try:
            line = json.loads(JsonFormatter().format(record))
        finally:
            request_id.reset(token)
        assert line["message"] == "GET /health"
        assert line["request_id"] == "abc123"
        assert line["status"] == 200
        assert line["level"] == "info" and line["logger"] == "placenet.access"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", line["time"]), line["time"]

    async def test_each_request_writes_one_access_line(self, anonymous: httpx.AsyncClient) -> None:
        class Collect(logging.Handler):
            records: list[logging.LogRecord] = []

            def emit(self, record: logging.LogRecord) -> None:
                self.records.append(record)

        collect = Collect()
        logging.getLogger("placenet.access").addHandler(collect)
        try:
            response = await anonymous.get("/v1/places?limit=1", headers={"X-Request-Id": "one-line"})
        finally:
            logging.getLogger("placenet.access").removeHandler(collect)
        assert len(collect.records) == 1
        line = collect.records[0].__dict__["fields"]
        assert line["status"] == response.status_code == 200
        assert line["path"] == "/v1/places"
        assert line["duration_ms"] >= 0


class TestMetrics:
    async def test_requests_are_counted_by_route_template_and_status(self, anonymous: httpx.AsyncClient) -> None:
        await anonymous.get("/v1/organisations/no-such-organisation")
        text = (await anonymous.get("/metrics")).text
        assert (
            'placenet_requests_total{app_name="placenet",method="GET",path="/v1/organisations/{ref}",'
            'status_code="404"}' in text
        )
        assert "placenet_request_duration_seconds_bucket" in text
        assert "no-such-organisation" not in text, "raw paths would explode the label space"

    async def test_a_path_no_route_matches_is_counted_without_its_raw_path(self, anonymous: httpx.AsyncClient) -> None:
        def unmatched(text: str) -> float:
            prefix = 'placenet_requests_total{app_name="placenet",method="GET",path="<unmatched>",status_code="404"} '
            return sum(float(line.removeprefix(prefix)) for line in text.splitlines() if line.startswith(prefix))

        before = unmatched((await anonymous.get("/metrics")).text)
        assert (await anonymous.get("/v1/nothing-here-at-all")).status_code == 404
        text = (await anonymous.get("/metrics")).text
        assert unmatched(text) == before + 1
        assert "nothing-here-at-all" not in text
        assert 'path="/metrics"' not in text, "the scrapes themselves are not counted"

    async def test_a_method_http_does_not_define_is_counted_as_other(self, anonymous: httpx.AsyncClient) -> None:
        assert (await anonymous.request("BREW", "/v1/places")).status_code == 405
        text = (await anonymous.get("/metrics")).text
        assert 'method="OTHER",path="<unmatched>",status_code="405"' in text
        assert "BREW" not in text

    async def test_the_database_pool_is_reported_on_postgresql(self, anonymous: httpx.AsyncClient) -> None:
        from api.services.platform.connections import is_sqlite

        await anonymous.get("/v1/places?limit=1")
        text = (await anonymous.get("/metrics")).text
        pool_lines = [line for line in text.splitlines() if line.startswith("placenet_database_pool_connections{")]
        if is_sqlite():
            assert pool_lines == [], "SQLite has no pool"
        else:
            assert {'node="primary",state="idle"', 'node="primary",state="busy"'} <= {
                line.split("{", 1)[1].split("}")[0] for line in pool_lines
            }
            assert "placenet_database_pool_max_connections" in text


async def test_postgresql_connections_never_jit_compile(anonymous: httpx.AsyncClient) -> None:
    from api.services.platform.connections import is_sqlite
    from api.services.platform.sql import Statement

    if is_sqlite():
        pytest.skip("PostgreSQL's setting")
    await anonymous.get("/v1/places?limit=1")  # the pool is open
    assert await Statement("SELECT current_setting('jit') AS jit").rows() == [{"jit": "off"}]


def test_every_read_of_one_request_goes_to_one_replica() -> None:
    """A page is a keyset query and then the rows it names: both must see the same replica's moment.
    Requests still take the replicas in turn."""
    from api.services.platform.engines import ReplicaRoutingPostgresEngine, lagging_reads_allowed

    with warnings.catch_warnings():  # Piccolo asks each server for its version when made; nobody answers
        warnings.simplefilter("ignore")
        engine = ReplicaRoutingPostgresEngine(
            "postgresql://placenet@127.0.0.1:1/primary",
            replica_urls=("postgresql://placenet@127.0.0.1:1/a", "postgresql://placenet@127.0.0.1:1/b"),
        )
    chosen = []
    for _ in range(2):
        with lagging_reads_allowed():
            chosen.append({id(engine._replica_for_request()) for _ in range(5)})
    assert [len(replicas) for replicas in chosen] == [1, 1]
    assert chosen[0] != chosen[1]
