"""Which database node answers a request's reads. With read replicas, a GET may be served from a
replica that lags the primary by a moment, except for a client that has just written: for
READ_YOUR_WRITES_SECONDS after any write, reads with the same credentials go to the primary, so a
partner always sees its own changes. The marker lives in the shared store, so it holds on every worker."""

from __future__ import annotations

from typing import Any

from litestar.types import ASGIApp

from api.asgi import Message, Receive, Scope, Send, caller
from api.engines import lagging_reads_allowed
from api.services.shared import store

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
            fresh_writer = who.startswith("key:") and await store().get(marker) is not None
            with lagging_reads_allowed(not fresh_writer):
                await app(scope, receive, send)
            return

        async def mark_then_send(message: Message) -> None:
            # Marked before the response leaves, so the client's next read cannot overtake the marker; only
            # for a write that succeeded, which took a valid key, so invented keys cannot fill the store.
            if message["type"] == "http.response.start" and who.startswith("key:") and message["status"] < 400:
                await store().put(marker, b"1", read_your_writes_seconds)
            await send(message)

        await app(scope, receive, mark_then_send)

    return middleware
