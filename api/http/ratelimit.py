"""A fixed-window rate limit per caller (its valid key, or else its address) on every
`/v1` request, counted in the shared store so the limit holds however many processes serve. Every
answer says where the caller stands (`RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset`);
past the limit the answer is 429 with `Retry-After`. While Redis does not answer the limit fails open:
requests are served uncounted, without those headers, and counted in `placenet_degraded_total`."""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from typing import Any

from litestar.types import ASGIApp

from api.http.asgi import Message, Receive, Scope, Send, send_problem, verified_caller
from api.http.observability import degraded
from api.services.platform.store import StoreUnavailable, store

log = logging.getLogger("placenet")

WINDOWS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
LIMIT = re.compile(r"^\s*(\d+)\s*/\s*(second|minute|hour|day)\s*$")


@dataclass(frozen=True)
class RateLimit:
    requests: int
    window: int  # seconds
    unit: str

    @classmethod
    def parse(cls, text: str) -> RateLimit | None:
        """`600/minute` → 600 requests a minute; empty → no limit."""
        if not text.strip():
            return None
        match = LIMIT.match(text)
        if not match or int(match[1]) < 1:
            raise ValueError(f"RATE_LIMIT must look like 600/minute (per second, minute, hour or day), not {text!r}")
        return cls(int(match[1]), WINDOWS[match[2]], match[2])


def rate_limit_middleware(app: Any, limit: RateLimit) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await app(scope, receive, send)
            return
        try:
            count, resets_in = await store().hit(f"rate:{await verified_caller(scope)}", limit.window)
        except StoreUnavailable:
            # Open, not closed: refusing every request because the counter is away would be the outage
            # the limit exists to prevent.
            degraded("rate_limit")
            await app(scope, receive, send)
            return
        reset = str(max(math.ceil(resets_in), 1)).encode()
        headers = [
            (b"ratelimit-limit", str(limit.requests).encode()),
            (b"ratelimit-remaining", str(max(limit.requests - count, 0)).encode()),
            (b"ratelimit-reset", reset),
        ]
        if count > limit.requests:
            detail = (
                f"More than {limit.requests} requests in a {limit.unit} from these credentials or this address; "
                f"retry after {reset.decode()} s."
            )
            await send_problem(send, 429, detail, headers=[*headers, (b"retry-after", reset)])
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *headers]}
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware
