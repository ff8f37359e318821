"""The `Allow` header of an automatic OPTIONS answer names every method of the path.

Litestar 2.25 lists only one handler's methods when several handlers share a path (litestar#4169,
fixed only in 3.0); its 405 answers are right. One middleware mends it for every path."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, Message, Receive, Scope, Send


def index_allowed_methods(app: Litestar) -> None:
    """Record, for each handler, the methods its path answers to (read by the middleware)."""
    app.state.allowed_methods = {
        id(handler): ", ".join(sorted(route.methods))
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for handler in route.route_handlers
    }


def allow_header_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("method") != "OPTIONS":
            await app(scope, receive, send)
            return
        allowed: dict[int, str] = scope["litestar_app"].state.get("allowed_methods", {})
        allow = allowed.get(id(scope.get("route_handler")))

        async def send_with_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and allow:
                headers: list[Any] = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
                message = {**message, "headers": [*headers, (b"allow", allow.encode())]}
            await send(message)

        await app(scope, receive, send_with_allow)

    return middleware
