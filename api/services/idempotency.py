"""Idempotency keys: the first response to a POST, kept for 24 hours so a retry replays it.

Keys live in the database, so a retry that lands on another process replays too."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID, uuid4

import msgspec

from api.services.records import now
from models.tables import Change, IdempotencyKey

TTL = datetime.timedelta(hours=24)


@dataclass(frozen=True)
class Stored:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


async def begin(*, key: str, request_hash: str) -> Literal["new", "mismatch", "pending"] | Stored:
    """Claim the key for this request, or say what became of the request that claimed it first."""
    await IdempotencyKey.delete().where(IdempotencyKey.key == key, IdempotencyKey.created_at < now() - TTL)
    claimed = await (
        IdempotencyKey.insert(IdempotencyKey(id=uuid4(), key=key, request_hash=request_hash, created_at=now()))
        .on_conflict(target=IdempotencyKey.key, action="DO NOTHING")
        .returning(IdempotencyKey.id)
    )
    if claimed:
        return "new"
    row = await IdempotencyKey.select().where(IdempotencyKey.key == key).first()
    if row is None:  # expired and removed by another request in between: claim it again
        return await begin(key=key, request_hash=request_hash)
    if row["request_hash"] != request_hash:
        return "mismatch"
    if row["status"] is None:
        return "pending"
    headers = msgspec.json.decode(row["headers"], type=list[tuple[str, str]])
    return Stored(status=row["status"], headers=headers, body=row["body"].encode("utf-8", "surrogateescape"))


async def was_deleted(body: bytes) -> bool:
    """Whether the record a stored response created has been deleted since (the audit trail knows)."""
    try:
        record_id = msgspec.json.decode(body, type=dict[str, Any]).get("id")
        record_uuid = UUID(str(record_id))
    except (msgspec.DecodeError, msgspec.ValidationError, ValueError):
        return False
    return await Change.exists().where(Change.record_id == record_uuid, Change.operation == "delete")


async def complete(*, key: str, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
    await IdempotencyKey.update(
        {
            IdempotencyKey.status: status,
            IdempotencyKey.headers: msgspec.json.encode(headers).decode(),
            IdempotencyKey.body: body.decode("utf-8", "surrogateescape"),
        }
    ).where(IdempotencyKey.key == key)


async def abandon(*, key: str) -> None:
    """Free the key after a failure on our side, so a retry is processed afresh."""
    await IdempotencyKey.delete().where(IdempotencyKey.key == key)
