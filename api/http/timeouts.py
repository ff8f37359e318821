"""A request body must keep arriving: when none of it comes for BODY_READ_TIMEOUT seconds (30 by
default) the request is answered 408, so a client that sends its headers and then stalls, or trickles
nothing more, does not hold a request open for ever. granian times out the headers (30 s) but has no
timeout for the body; this is that timeout, counted afresh for each part of the body that arrives, so a
large upload on a slow line is fine as long as it keeps moving."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar.types import ASGIApp

from api.http.asgi import Message, Receive, Scope, Send
from api.services.platform.errors import ServiceError


class BodyReadTimeout(ServiceError):
    status = 408
    title = "Request timeout"
    slug = "request-timeout"


def body_timeout_middleware(app: Any, seconds: float) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        body_done = False

        async def receive_in_time() -> Message:
            nonlocal body_done
            if body_done:  # after the body, receive() waits for the client to go away: no timeout then
                message: Message = await receive()
                return message
            try:
                async with asyncio.timeout(seconds):
                    message = await receive()
            except TimeoutError:
                raise BodyReadTimeout(
                    f"No part of the request body arrived for {seconds:g} s; the request was not applied. "
                    "Send it again."
                ) from None
            body_done = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        await app(scope, receive_in_time, send)

    return middleware
