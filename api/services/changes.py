"""The audit trail and change feed: every write appends one entry in its own transaction.

Entries are numbered by the database in the order writes commit (write transactions are serialised:
SQLite by BEGIN IMMEDIATE, PostgreSQL by a transaction-level advisory lock), so a partner that syncs
with `after=<cursor>` never misses a change that commits later with a smaller number."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec

from api.schemas.changes import Change as ChangeRead
from api.schemas.changes import ChangePage
from api.services import records
from api.services.actors import Actor
from api.services.cursors import decode_change_cursor, encode_change_cursor
from api.services.db import Written, insert_rows, wrote
from models.tables import Change

# What a change leaves out: bookkeeping every write touches anyway.
UNLOGGED = {"updated_at", "version", "created_at", "id"}


def diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    if not before:  # a record made: every field it has (the common case of a bulk import, so kept short)
        return {
            name: {"before": None, "after": value}
            for name, value in sorted((after or {}).items())
            if value is not None and name not in UNLOGGED
        }
    old, new = before, after or {}
    return {
        name: {"before": old.get(name), "after": new.get(name)}
        for name in sorted(old.keys() | new.keys())
        if name not in UNLOGGED and old.get(name) != new.get(name)
    }


def _entry(
    collection: str,
    operation: str,
    before: msgspec.Struct | None,
    after: msgspec.Struct | None,
    actor: Actor,
    owner_id: UUID | None = None,
) -> dict[str, Any]:
    """A change-feed row: what changed between two states of a record, as the API shows it."""
    old, new = _builtins(before), _builtins(after)
    state: dict[str, Any] = new if new is not None else old  # type: ignore[assignment]
    return {
        "collection": collection,
        "record_id": (after if after is not None else before).id,  # type: ignore[union-attr]
        "owner_id": owner_id,
        "record_slug": state.get("slug") or _child_key(state),
        "operation": operation,
        "fields": msgspec.json.encode(diff(old, new)).decode(),
        "version": state["version"] if after is not None else None,
        "organisation": actor.organisation_id,
        "at": records.now(),
    }


async def log(
    *,
    collection: str,
    operation: str,
    before: msgspec.Struct | None,
    after: msgspec.Struct | None,
    actor: Actor,
    owner_id: UUID | None = None,
) -> None:
    """Append the write to the log, inside the caller's write transaction."""
    entry = _entry(collection, operation, before, after, actor, owner_id)
    await Change.insert(Change.from_dict(entry))
    wrote(_written(entry, before, after))


Entry = tuple[str, msgspec.Struct | None, msgspec.Struct | None]  # operation, before, after


def entry_rows(*, collection: str, entries: list[Entry], actor: Actor) -> list[dict[str, Any]]:
    """The change-feed rows of many writes of one collection (no database: a bulk import makes them
    while PostgreSQL writes the records)."""
    return [_entry(collection, operation, before, after, actor) for operation, before, after in entries]


async def log_rows(rows: list[dict[str, Any]], entries: list[Entry]) -> None:
    """Append rows `entry_rows` made for these entries, inside the caller's write transaction."""
    await insert_rows(Change, rows)
    wrote(*(_written(row, before, after) for row, (_, before, after) in zip(rows, entries, strict=True)))


async def log_many(*, collection: str, entries: list[Entry], actor: Actor) -> None:
    """Log many writes of one collection at once (a bulk import), as (operation, before, after)."""
    await log_rows(entry_rows(collection=collection, entries=entries, actor=actor), entries)


def _written(entry: dict[str, Any], before: msgspec.Struct | None, after: msgspec.Struct | None) -> Written:
    # A place with records in it cannot be deleted, so only a move changes what the tallies count.
    reparented = (
        entry["collection"] == "places"
        and None not in (before, after)
        and getattr(before, "parent", None) != getattr(after, "parent", None)
    )
    return Written(entry["collection"], entry["record_id"], entry["owner_id"], reparented)


def _builtins(struct: msgspec.Struct | None) -> dict[str, Any] | None:
    return None if struct is None else msgspec.to_builtins(struct)


def _child_key(state: dict[str, Any]) -> str:
    """A membership or contribution is named by its organisation."""
    for key in ("organisation", "funder"):
        if isinstance(state.get(key), dict):
            return str(state[key]["slug"])
    return ""


async def _to_structs(rows: list[dict[str, Any]]) -> list[ChangeRead]:
    named = await records.references(records.ORGANISATION, (row["organisation"] for row in rows))
    return [
        msgspec.convert(
            {
                **row,
                "fields": msgspec.json.decode(row["fields"]) if isinstance(row["fields"], str) else row["fields"],
                "organisation": named.get(row["organisation"]),
            },
            ChangeRead,
        )
        for row in rows
    ]


async def list_changes(*, after: str | None, limit: int) -> ChangePage:
    last = decode_change_cursor(after) if after else 0
    rows = await Change.select().where(Change.id > last).order_by(Change.id).limit(limit)
    if rows:
        last = rows[-1]["id"]
    return ChangePage(items=await _to_structs(rows), next_cursor=encode_change_cursor(last))


async def history(*, resource: records.Resource[Any], ref: str) -> list[ChangeRead]:
    """One record's changes, and those of its memberships or contributions, oldest first."""
    record_id = await records.resolve(resource.kind, ref)
    rows = (
        await Change.select()
        .where((Change.record_id == record_id) | (Change.owner_id == record_id))
        .order_by(Change.id)
    )
    return await _to_structs(rows)
