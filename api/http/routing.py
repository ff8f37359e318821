"""Which database node answers a request's reads. With read replicas, a GET may be served from a
replica that lags the primary by a moment, except for a client that has just written: for
READ_YOUR_WRITES_SECONDS after any write, reads with the same credentials go to the primary, so a
partner always sees its own changes. The marker lives in the shared store, so it holds on every worker.
While Redis does not answer, a keyed client's reads all go to the primary (never a stale read of its own
write) and a write is not marked; both are counted in `placenet_degraded_total`."""

from __future__ import annotations

from typing import Any

from litestar.types import ASGIApp

from api.http.asgi import Message, Receive, Scope, Send, caller
from api.http.observability import degraded
from api.services.platform.engines import lagging_reads_allowed
from api.services.platform.store import StoreUnavailable, store

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def read_routing_middleware(app: Any, read_your_writes_seconds: float) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        who = caller(scope)
        marker = f"wrote:{who}"
        if scope["method"] in SAFE_METHODS:
            # Without credentials a client cannot write, so it never needs the primary.
            fresh_writer = who.startswith("key:") and await _wrote_recently(marker)
            with lagging_reads_allowed(not fresh_writer):
                await app(scope, receive, send)
            return

        async def mark_then_send(message: Message) -> None:
            # Marked before the response leaves, so the client's next read cannot overtake the marker; only
            # for a write that succeeded, which took a valid key, so invented keys cannot fill the store.
            if message["type"] == "http.response.start" and who.startswith("key:") and message["status"] < 400:
                try:
                    await store().put(marker, b"1", read_your_writes_seconds)
                except StoreUnavailable:
                    # The write is done and must be answered; while Redis is away the reads go to the primary.
                    degraded("read_your_writes")
            await send(message)

        await app(scope, receive, mark_then_send)

    return middleware


async def _wrote_recently(marker: str) -> bool:
    try:
        return await store().get(marker) is not None
    except StoreUnavailable:
        degraded("read_your_writes")
        return True  # the primary: never lagging, and it answers whatever Redis is doing
