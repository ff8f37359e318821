"""What a change-feed entry says of a write: the record, the operation, the fields that changed and who
changed them. Every write's entries are appended by its unit of work (unit_of_work.py); feed.py reads them."""

from __future__ import annotations

import datetime
from typing import Any
from uuid import UUID

import msgspec

from api.services.platform.actors import Actor
from api.services.platform.clock import now

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


def entry_row(
    collection: str,
    operation: str,
    before: msgspec.Struct | None,
    after: msgspec.Struct | None,
    actor: Actor,
    owner_id: UUID | None = None,
    at: datetime.datetime | None = None,
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
        "at": at or now(),
    }


Entry = tuple[str, msgspec.Struct | None, msgspec.Struct | None]  # operation, before, after


def entry_rows(
    *, collection: str, entries: list[Entry], actor: Actor, at: datetime.datetime | None = None
) -> list[dict[str, Any]]:
    """The change-feed rows of many writes of one collection (no database: a bulk import makes them
    while PostgreSQL writes the records), for `Work.logged`."""
    return [entry_row(collection, operation, before, after, actor, at=at) for operation, before, after in entries]


def _builtins(struct: msgspec.Struct | None) -> dict[str, Any] | None:
    return None if struct is None else msgspec.to_builtins(struct)


def _child_key(state: dict[str, Any]) -> str:
    """A membership or contribution is named by its organisation."""
    for key in ("organisation", "funder"):
        if isinstance(state.get(key), dict):
            return str(state[key]["slug"])
    return ""
