"""State every API process must share, so four workers (or four machines) behave exactly like one:
idempotency keys and the responses they replay, rate-limit counters, and read-your-writes markers.

Redis holds it when REDIS_URL is set; otherwise the database does (the `shared_entry` table), which is
already shared by every process that uses it. Both stores make each operation a single atomic step, so
two workers counting the same client at the same moment never lose a count.

When Redis does not answer, its operations raise StoreUnavailable at once, and each feature degrades as
the README says (rate limits skipped, idempotent POSTs refused with 503, reads from the primary) rather
than the whole service answering 503. After a failure Redis is tried again only every RECHECK_SECONDS,
so a Redis that hangs rather than refuses delays one request a second per worker, not every request."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from piccolo.querystring import QueryString

from api.services.platform.connections import engine
from models.tables import SharedEntry

# How often a process sweeps dead entries out of the database store.
SWEEP_SECONDS = 60.0
# Redis answers in well under a millisecond; one that takes a second to connect or reply counts as down.
REDIS_TIMEOUT_SECONDS = 1.0
# After Redis failed, how long a process goes without asking it again.
RECHECK_SECONDS = 1.0

log = logging.getLogger("placenet")
T = TypeVar("T")


class StoreUnavailable(Exception):
    """The shared store (Redis) does not answer."""


class Store(Protocol):
    async def claim(self, key: str, value: bytes, ttl: float) -> bytes | None:
        """Set `key` to `value` unless it holds a live value; None when claimed, else the value it holds."""

    async def put(self, key: str, value: bytes, ttl: float) -> None: ...

    async def get(self, key: str) -> bytes | None: ...

    async def drop(self, key: str) -> None: ...

    async def hit(self, key: str, window: float) -> tuple[int, float]:
        """Count one hit in the key's current window: the count so far and the seconds until it resets."""

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


class DatabaseStore:
    def __init__(self) -> None:
        self._swept_at = 0.0

    async def _run(self, sql: str, *args: object) -> list[dict[str, object]]:
        rows: list[dict[str, object]] = await engine().run_querystring(QueryString(sql, *args))
        return rows

    async def _sweep(self, now: float) -> None:
        if now - self._swept_at > SWEEP_SECONDS:
            self._swept_at = now
            await SharedEntry.delete().where(SharedEntry.expires_at <= now)

    async def claim(self, key: str, value: bytes, ttl: float) -> bytes | None:
        now = time.time()
        await self._sweep(now)
        # Inserted, or an expired entry taken over: either way a row comes back and the key is ours.
        claimed = await self._run(
            "INSERT INTO shared_entry (key, value, hits, expires_at) VALUES ({}, {}, 0, {}) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at "
            "WHERE shared_entry.expires_at <= {} RETURNING key",
            key,
            value,
            now + ttl,
            now,
        )
        if claimed:
            return None
        held = await self.get(key)
        return held if held is not None else await self.claim(key, value, ttl)

    async def put(self, key: str, value: bytes, ttl: float) -> None:
        await self._run(
            "INSERT INTO shared_entry (key, value, hits, expires_at) VALUES ({}, {}, 0, {}) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at",
            key,
            value,
            time.time() + ttl,
        )

    async def get(self, key: str) -> bytes | None:
        row = await (
            SharedEntry.select(SharedEntry.value)
            .where(SharedEntry.key == key, SharedEntry.expires_at > time.time())
            .first()
        )
        return bytes(row["value"]) if row else None

    async def drop(self, key: str) -> None:
        await SharedEntry.delete().where(SharedEntry.key == key)

    async def hit(self, key: str, window: float) -> tuple[int, float]:
        now = time.time()
        await self._sweep(now)
        rows = await self._run(
            "INSERT INTO shared_entry (key, value, hits, expires_at) VALUES ({}, {}, 1, {}) "
            "ON CONFLICT (key) DO UPDATE SET "
            "hits = CASE WHEN shared_entry.expires_at <= {} THEN 1 ELSE shared_entry.hits + 1 END, "
            "expires_at = CASE WHEN shared_entry.expires_at <= {} THEN excluded.expires_at "
            "ELSE shared_entry.expires_at END "
            "RETURNING hits, expires_at",
            key,
            b"",
            now + window,
            now,
            now,
        )
        count, expires_at = rows[0]["hits"], rows[0]["expires_at"]
        assert isinstance(count, int) and isinstance(expires_at, float)
        return count, max(expires_at - time.time(), 0.0)

    async def ping(self) -> None:
        await self._run("SELECT 1")

    async def close(self) -> None:
        return None


class RedisStore:
    def __init__(self, url: str, prefix: str) -> None:
        from redis.asyncio import Redis

        self._redis = Redis.from_url(
            url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS, socket_timeout=REDIS_TIMEOUT_SECONDS
        )
        self._prefix = prefix
        self._down_until = 0.0  # monotonic time before which Redis is not asked; 0 while it answers

    async def _call(self, operation: Callable[[], Awaitable[T]]) -> T:
        """The operation's result, or StoreUnavailable when Redis does not answer or refuses (a read-only
        replica after a failover, out of memory), or failed a moment ago."""
        from redis.exceptions import RedisError

        if self._down_until and time.monotonic() < self._down_until:
            raise StoreUnavailable("Redis did not answer a moment ago")
        try:
            result = await operation()
        except (RedisError, OSError) as error:
            if not self._down_until:
                log.warning("shared store (Redis) unavailable, degrading until it answers: %s", error)
            self._down_until = time.monotonic() + RECHECK_SECONDS
            raise StoreUnavailable(str(error)) from error
        if self._down_until:
            log.warning("shared store (Redis) answers again")
            self._down_until = 0.0
        return result

    async def claim(self, key: str, value: bytes, ttl: float) -> bytes | None:
        # SET NX GET: set only if absent, and say what was there, in one step (Redis 7).
        held = await self._call(lambda: self._redis.set(self._prefix + key, value, px=_ms(ttl), nx=True, get=True))
        return bytes(held) if isinstance(held, bytes) else None

    async def put(self, key: str, value: bytes, ttl: float) -> None:
        await self._call(lambda: self._redis.set(self._prefix + key, value, px=_ms(ttl)))

    async def get(self, key: str) -> bytes | None:
        value = await self._call(lambda: self._redis.get(self._prefix + key))
        return bytes(value) if isinstance(value, bytes) else None

    async def drop(self, key: str) -> None:
        await self._call(lambda: self._redis.delete(self._prefix + key))

    async def hit(self, key: str, window: float) -> tuple[int, float]:
        return await self._call(lambda: self._hit(self._prefix + key, window))

    async def _hit(self, name: str, window: float) -> tuple[int, float]:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(name)
            pipe.pexpire(name, _ms(window), nx=True)  # the window starts with its first hit
            pipe.pttl(name)
            count, _, remaining_ms = await pipe.execute()
        return int(count), max(int(remaining_ms), 0) / 1000

    async def ping(self) -> None:
        await self._call(self._redis.ping)

    async def close(self) -> None:
        await self._redis.aclose()


def _ms(seconds: float) -> int:
    return max(int(seconds * 1000), 1)


_store: Store | None = None


def open_store(redis_url: str = "", prefix: str = "placenet:") -> Store:
    global _store
    _store = RedisStore(redis_url, prefix) if redis_url else DatabaseStore()
    return _store


def store() -> Store:
    """The process's store; the database until the app has opened another."""
    return _store if _store is not None else open_store()


async def close_store() -> None:
    global _store
    if _store is not None:
        await _store.close()
    _store = None
