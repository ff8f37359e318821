"""Small helpers for the ASGI middlewares: read a header, name the caller, answer with a problem."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import msgspec

from api.http.errors import PROBLEM_MEDIA_TYPE
from api.schemas.common import FieldError, problem
from api.services.platform.actors import Actor
from api.services.resources import keys

# Plain dicts: ASGI messages are built and rewritten here, which the TypedDicts do not allow for.
Message = dict[str, Any]
Scope = Any
Receive = Any
Send = Any


def header(scope: Scope, name: bytes) -> bytes | None:
    return next((value for key, value in scope.get("headers", []) if key.lower() == name), None)


# RFC 7235 credentials: `auth-scheme 1*SP token68`; the scheme is case-insensitive.
_CREDENTIALS = re.compile(r"^(?P<scheme>[!#$%&'*+.^_`|~0-9A-Za-z-]+) +(?P<token>[A-Za-z0-9._~+/-]+=*)$")


def bearer_token(scope: Scope) -> str | None:
    """The key in `Authorization: Bearer <key>`, parsed once per request as RFC 7235 reads it: `bearer`,
    `BEARER` and extra spaces all name the same key, so nothing counted per key (the rate limit) can be
    escaped by re-spelling the header. None when there is no bearer token."""
    state = scope.setdefault("state", {})
    if "placenet_token" not in state:
        raw = header(scope, b"authorization")
        match = _CREDENTIALS.match(raw.decode("latin-1").strip(" \t")) if raw else None
        state["placenet_token"] = match["token"] if match and match["scheme"].lower() == "bearer" else None
    token: str | None = state["placenet_token"]
    return token


def credentials_id(token: str) -> str:
    """A stable name for a bearer token that never reveals it."""
    return hashlib.sha256(token.encode()).hexdigest()[:32]


def caller(scope: Scope) -> str:
    """Who is asking: the credentials when there are any, else the client's address. Unchecked: for
    what only the caller itself can be affected by (which database node serves its reads)."""
    token = bearer_token(scope)
    return "key:" + credentials_id(token) if token else address(scope)


def address(scope: Scope) -> str:
    client = scope.get("client") or ("unknown", 0)
    return f"ip:{client[0]}"


async def bearer_actor(scope: Scope) -> Actor | None:
    """The actor a request's bearer key stands for, or None. Looked up once per request and kept in the
    scope's state: the rate limit, Idempotency-Key and the `actor` dependency all ask."""
    state = scope.setdefault("state", {})
    if "placenet_actor" not in state:
        token = bearer_token(scope)
        state["placenet_actor"] = await keys.authenticate(token) if token else None
    actor: Actor | None = state["placenet_actor"]
    return actor


async def verified_caller(scope: Scope) -> str:
    """Who is asking, for what must not be escaped by inventing credentials (a rate limit): a valid
    key, else the client's address, whatever Authorization header it sends."""
    if await bearer_actor(scope) is not None:
        return "key:" + credentials_id(bearer_token(scope) or "")
    return address(scope)


async def send_problem(
    send: Send,
    status: int,
    detail: str,
    field: str | None = None,
    headers: list[tuple[bytes, bytes]] = (),  # type: ignore[assignment]
) -> None:
    errors = [FieldError(field=field, message=detail, location="header")] if field else None
    body = msgspec.json.encode(problem(status, detail, errors))
    start_headers = [
        (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
        *headers,
    ]
    await send({"type": "http.response.start", "status": status, "headers": start_headers})
    await send({"type": "http.response.body", "body": body})
