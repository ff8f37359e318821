"""The audit trail and change feed, read: everything written, in commit order, and one record's history.

Entries are numbered by the database in the order writes commit (write transactions are serialised:
SQLite by BEGIN IMMEDIATE, PostgreSQL by a transaction-level advisory lock), so a partner that syncs
with `after=<cursor>` never misses a change that commits later with a smaller number."""

from __future__ import annotations

from typing import Any

import msgspec

from api.schemas.changes import Change as ChangeRead
from api.schemas.changes import ChangePage
from api.services.records import resource as records
from api.services.records.cursors import decode_change_cursor, encode_change_cursor
from models.tables import Change, Organisation, OrganisationAlias


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
    """One record's changes, and those of its memberships or contributions, oldest first; for an
    organisation, also those of the organisations merged into it."""
    record_id = await records.resolve(resource.kind, ref)
    # An organisation's history includes that of the organisations merged into it.
    ids = [record_id]
    if resource.kind.table is Organisation:
        ids += (
            await OrganisationAlias.select(OrganisationAlias.merged_id)
            .where(OrganisationAlias.organisation == record_id, OrganisationAlias.kind == "id")
            .output(as_list=True)
        )
    rows = await Change.select().where(Change.record_id.is_in(ids) | Change.owner_id.is_in(ids)).order_by(Change.id)
    return await _to_structs(rows)
