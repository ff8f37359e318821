"""The audit trail and change feed, read: everything written, in commit order, and one record's history.

Entries are numbered by the database in the order writes commit (write transactions are serialised:
SQLite by BEGIN IMMEDIATE, PostgreSQL by a transaction-level advisory lock), so a partner that syncs
with `after=<cursor>` never misses a change that commits later with a smaller number."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec

from api.schemas.changes import Change as ChangeRead
from api.schemas.changes import ChangePage
from api.services.platform.errors import NotFound
from api.services.platform.sql import Statement
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


# A deleted record, by the id or any slug it had: the latest one deleted, should a slug have been used twice.
# (Index `change_collection_slug`; the record's own entries, not its members', name it.)
DELETED_BY_REF = Statement(
    'SELECT c."record_id" FROM "change" AS c WHERE c."collection" = {} AND c."owner_id" IS NULL '
    'AND (c."record_slug" = {} OR c."record_id" = {}) AND EXISTS (SELECT 1 FROM "change" AS d '
    'WHERE d."record_id" = c."record_id" AND d."collection" = c."collection" AND d."operation" = \'delete\') '
    'ORDER BY c."id" DESC LIMIT 1'
)


async def history(*, resource: records.Resource[Any], ref: str) -> list[ChangeRead]:
    """One record's changes, and those of its memberships or contributions, oldest first; for an
    organisation, also those of the organisations merged into it. A deleted record's history outlives it:
    found by its id or a slug it had, it ends with the deletion."""
    record_id = (await records.resolve_many(resource.kind, [ref])).get(ref) or await _deleted(resource.kind, ref)
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


async def _deleted(kind: records.Kind, ref: str) -> UUID:
    """The id of the deleted record `ref` named (by its id or a slug it had), or NotFound as for any ref."""
    rows = await DELETED_BY_REF.rows(kind.collection, ref, _uuid(ref))
    if not rows:
        raise NotFound(f"There is no {kind.label} '{ref}', nor was there one that was deleted.")
    found = rows[0]["record_id"]
    return found if isinstance(found, UUID) else UUID(str(found))


def _uuid(ref: str) -> UUID | None:
    try:
        return UUID(ref)
    except ValueError:
        return None
