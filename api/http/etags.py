"""Every single-record response carries an ETag (its version), and a GET whose If-None-Match names
that version is answered 304 with no body. One middleware, for every record of every collection:
a JSON object with `id` and `version` is a record."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar.types import ASGIApp

# Plain dicts: ASGI messages are built and rewritten here, which the TypedDicts do not allow for.
Message = dict[str, Any]
Scope = Any
Receive = Any
Send = Any

RECORD_STATUSES = {200, 201}


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    return next((value for key, value in headers if key.lower() == name), None)


def _version(body: bytes) -> int | None:
    # Every record is a msgspec Struct whose first field is `id`; anything else (a page of 50 records,
    # a map) need not be decoded at all, which was 3% of a page's time (bench/results).
    if not body.startswith(b'{"id":'):
        return None
    try:
        data = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return None
    if isinstance(data, dict) and "id" in data and isinstance(data.get("version"), int):
        return int(data["version"])
    return None


def _may_be_record(start: Message) -> bool:
    """Only a JSON answer can be a record: anything else (a streamed download) passes through unbuffered."""
    return start["status"] in RECORD_STATUSES and _header(list(start.get("headers", [])), b"content-type") == (
        b"application/json"
    )


def _matches(if_none_match: bytes | None, etag: str) -> bool:
    if if_none_match is None:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.decode("latin-1").split(",")}
    return "*" in tags or etag in tags


def etag_middleware(app: Any) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("method") not in ("GET", "HEAD", "POST", "PATCH"):
            await app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def buffer(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                if not _may_be_record(message):
                    await send(message)
                return
            if start is None or not _may_be_record(start):
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            await _finish(scope, start, b"".join(chunks), send)

        await app(scope, receive, buffer)

    return middleware


async def _finish(scope: Scope, start: Message, body: bytes, send: Send) -> None:
    headers: list[Any] = list(start.get("headers", []))
    version = _version(body) if _header(headers, b"content-type") in (b"application/json",) else None
    if version is not None:
        etag = f'"{version}"'
        headers.append((b"etag", etag.encode()))
        request_headers: list[tuple[bytes, bytes]] = list(scope.get("headers", []))
        if scope.get("method") in ("GET", "HEAD") and _matches(_header(request_headers, b"if-none-match"), etag):
            kept = [(k, v) for k, v in headers if k.lower() not in (b"content-type", b"content-length")]
            await send({"type": "http.response.start", "status": 304, "headers": kept})
            await send({"type": "http.response.body", "body": b""})
            return
    await send({**start, "headers": headers})
    await send({"type": "http.response.body", "body": body})
