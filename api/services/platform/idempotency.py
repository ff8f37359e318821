"""Idempotency keys: the first response to a POST, kept for 24 hours so a retry replays it.

Keys live in the shared store (Redis or the database), so a retry that lands on another process replays too."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

import msgspec

from api.services.platform.store import store
from models.tables import Change

TTL_SECONDS = 24 * 60 * 60
# A claim whose request never finished (its process died) frees itself after this long.
PENDING_TTL_SECONDS = 5 * 60


class Stored(msgspec.Struct, frozen=True):
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class Entry(msgspec.Struct, frozen=True):
    request_hash: str
    response: Stored | None = None  # None while the first request is still being processed


def _key(key: str) -> str:
    return f"idempotency:{key}"


async def begin(*, key: str, request_hash: str) -> Literal["new", "mismatch", "pending"] | Stored:
    """Claim the key for this request, or say what became of the request that claimed it first."""
    held = await store().claim(_key(key), msgspec.msgpack.encode(Entry(request_hash)), PENDING_TTL_SECONDS)
    if held is None:
        return "new"
    entry = msgspec.msgpack.decode(held, type=Entry)
    if entry.request_hash != request_hash:
        return "mismatch"
    return entry.response or "pending"


async def was_deleted(body: bytes) -> bool:
    """Whether the record a stored response created has been deleted since (the audit trail knows)."""
    try:
        record_id = msgspec.json.decode(body, type=dict[str, Any]).get("id")
        record_uuid = UUID(str(record_id))
    except (msgspec.DecodeError, msgspec.ValidationError, ValueError):
        return False
    return await Change.exists().where(Change.record_id == record_uuid, Change.operation == "delete")


async def complete(*, key: str, request_hash: str, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
    entry = Entry(request_hash, Stored(status=status, headers=headers, body=body))
    await store().put(_key(key), msgspec.msgpack.encode(entry), TTL_SECONDS)


async def abandon(*, key: str) -> None:
    """Free the key after a failure on our side, so a retry is processed afresh."""
    await store().drop(_key(key))
