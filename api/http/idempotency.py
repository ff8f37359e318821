"""POST with an `Idempotency-Key` header: a retry within 24 hours replays the first response; the
same key with a different request is a 422. Keys are scoped to the credentials that sent them.
One middleware, for every POST.

While Redis does not answer, a POST with an Idempotency-Key is refused with 503 and `Retry-After`, not
applied without the protection: the client sent the key because it means to retry, and a retry that is not
recognised would apply the request twice (a second grant, a second membership). Retried once Redis is
back, it is processed as a first request. Counted in `placenet_degraded_total{feature="idempotency"}`."""

from __future__ import annotations

import hashlib
import logging
import re
from typing import Any

from litestar.types import ASGIApp

from api.http.asgi import (
    Message,
    Receive,
    Scope,
    Send,
    bearer_actor,
    bearer_token,
    credentials_id,
    header,
    send_problem,
)
from api.http.observability import degraded
from api.services.platform import idempotency
from api.services.platform.store import StoreUnavailable

KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,200}$")
# The first request with a key is usually done within a second.
PENDING_RETRY_AFTER = b"1"
STORE_RETRY_AFTER = b"5"
log = logging.getLogger("placenet")


def idempotency_middleware(app: Any) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        raw_key = header(scope, b"idempotency-key") if scope.get("method") == "POST" else None
        if raw_key is None or await bearer_actor(scope) is None:
            # Without valid credentials the request is refused (401) before anything is kept.
            await app(scope, receive, send)
            return
        client_key = raw_key.decode("latin-1")
        if not KEY_PATTERN.match(client_key):
            detail = "Idempotency-Key must be 1 to 200 visible ASCII characters, such as a UUID."
            await send_problem(send, 400, detail, "Idempotency-Key")
            return

        handler = scope.get("route_handler")
        limit = handler.resolve_request_max_body_size() if handler is not None else None
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":  # the client left: a partial body is never applied
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if limit is not None and size > limit:  # what Litestar would refuse, refused before it is all held
                detail = f"The body is larger than {limit:,} bytes, the most this operation takes."
                await send_problem(send, 413, detail)
                return
            more = message.get("more_body", False)
        body = b"".join(chunks)
        credentials = credentials_id(bearer_token(scope) or "")
        key = f"{credentials}:{client_key}"
        request_hash = hashlib.sha256(
            b"\n".join([scope["path"].encode(), scope.get("query_string", b""), body])
        ).hexdigest()

        try:
            outcome = await idempotency.begin(key=key, request_hash=request_hash)
        except StoreUnavailable:
            degraded("idempotency")
            detail = (
                "Idempotency-Keys cannot be honoured right now (the shared store is not answering), so the request "
                "was not applied. Retry shortly with the same key."
            )
            await send_problem(send, 503, detail, headers=[(b"retry-after", STORE_RETRY_AFTER)])
            return
        if outcome == "mismatch":
            detail = "This Idempotency-Key was first used with a different request; use a new key for a new request."
            await send_problem(send, 422, detail, "Idempotency-Key")
            return
        if outcome == "pending":
            detail = "The first request with this Idempotency-Key is still being processed; retry shortly."
            retry = [(b"retry-after", PENDING_RETRY_AFTER)]
            await send_problem(send, 409, detail, "Idempotency-Key", headers=retry)
            return
        if (
            isinstance(outcome, idempotency.Stored)
            and outcome.status == 201
            and await idempotency.was_deleted(outcome.body)
        ):
            detail = "The record this Idempotency-Key created has since been deleted; use a new key to create it again."
            await send_problem(send, 409, detail, "Idempotency-Key")
            return
        if isinstance(outcome, idempotency.Stored):
            headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in outcome.headers]
            await send(
                {
                    "type": "http.response.start",
                    "status": outcome.status,
                    "headers": [*headers, (b"idempotent-replayed", b"true")],
                }
            )
            await send({"type": "http.response.body", "body": outcome.body})
            return

        replayed = False

        async def receive_body() -> Message:
            nonlocal replayed
            if replayed:
                message: Message = await receive()
                return message
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        start: dict[str, Any] = {}
        response_chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                response_chunks.append(message.get("body", b""))
            await send(message)

        try:
            await app(scope, receive_body, capture)
        except BaseException:
            await _abandon(key)
            raise
        status = int(start.get("status", 500))
        if status >= 500:
            await _abandon(key)
            return
        response_headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in start.get("headers", [])]
        try:
            await idempotency.complete(
                key=key,
                request_hash=request_hash,
                status=status,
                headers=response_headers,
                body=b"".join(response_chunks),
            )
        except StoreUnavailable:
            # Answered already; the key stays claimed ("still being processed", 409) until the claim lapses.
            degraded("idempotency")
            log.warning("the response to an Idempotency-Key was not kept: the shared store is not answering")

    return middleware


async def _abandon(key: str) -> None:
    try:
        await idempotency.abandon(key=key)
    except StoreUnavailable:  # the claim lapses by itself (PENDING_TTL_SECONDS)
        degraded("idempotency")
