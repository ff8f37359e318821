"""Small helpers for the ASGI middlewares: read a header, name the caller, answer with a problem."""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec

from api.errors import PROBLEM_BASE, PROBLEM_MEDIA_TYPE
from api.schemas.common import FieldError, Problem
from api.services import keys
from api.services.actors import Actor

# Plain dicts: ASGI messages are built and rewritten here, which the TypedDicts do not allow for.
Message = dict[str, Any]
Scope = Any
Receive = Any
Send = Any


def header(scope: Scope, name: bytes) -> bytes | None:
    return next((value for key, value in scope.get("headers", []) if key.lower() == name), None)


def credentials_id(authorization: bytes | None) -> str:
    """A stable name for the credentials on a request that never reveals them."""
    return hashlib.sha256(authorization or b"").hexdigest()[:32]


def caller(scope: Scope) -> str:
    """Who is asking: the credentials when there are any, else the client's address. Unchecked: for
    what only the caller itself can be affected by (which database node serves its reads)."""
    authorization = header(scope, b"authorization")
    if authorization:
        return "key:" + credentials_id(authorization)
    return address(scope)


def address(scope: Scope) -> str:
    client = scope.get("client") or ("unknown", 0)
    return f"ip:{client[0]}"


async def bearer_actor(scope: Scope) -> Actor | None:
    """The actor a request's bearer key stands for, or None. Looked up once per request and kept in the
    scope's state: the rate limit, Idempotency-Key and the `actor` dependency all ask."""
    state = scope.setdefault("state", {})
    if "placenet_actor" not in state:
        scheme, _, token = (header(scope, b"authorization") or b"").decode("latin-1").partition(" ")
        valid = scheme.lower() == "bearer" and token.strip()
        state["placenet_actor"] = await keys.authenticate(token.strip()) if valid else None
    actor: Actor | None = state["placenet_actor"]
    return actor


async def verified_caller(scope: Scope) -> str:
    """Who is asking, for what must not be escaped by inventing credentials (a rate limit): a valid
    key, else the client's address, whatever Authorization header it sends."""
    if await bearer_actor(scope) is not None:
        return "key:" + credentials_id(header(scope, b"authorization"))
    return address(scope)


async def send_problem(
    send: Send,
    status: int,
    title: str,
    detail: str,
    field: str | None = None,
    headers: list[tuple[bytes, bytes]] = (),  # type: ignore[assignment]
) -> None:
    errors = [FieldError(field=field, message=detail, location="header")] if field else None
    body = msgspec.json.encode(
        Problem(
            type=PROBLEM_BASE + title.lower().replace(" ", "-"),
            title=title,
            status=status,
            detail=detail,
            errors=errors,
        )
    )
    start_headers = [
        (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
        *headers,
    ]
    await send({"type": "http.response.start", "status": status, "headers": start_headers})
    await send({"type": "http.response.body", "body": body})
