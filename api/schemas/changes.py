"""The change feed and each record's history: every write, in order, with what changed."""

from __future__ import annotations

import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from api.schemas.common import Reference


class FieldChange(msgspec.Struct):
    """One field's value before and after the write (null when there was none)."""

    before: Annotated[Any, Meta(description="The value before the write.")]
    after: Annotated[Any, Meta(description="The value after the write.")]


class Change(msgspec.Struct):
    """One write to one record."""

    id: Annotated[int, Meta(description="Increases with every write; the feed is in this order.")]
    collection: Annotated[
        str, Meta(description="The record's collection, such as `grants` or `memberships`.", examples=["grants"])
    ]
    record_id: Annotated[UUID, Meta(description="The record's UUID (kept after a delete).")]
    record_slug: Annotated[str, Meta(description="The record's slug, or its key within its owner.")]
    operation: Annotated[
        Literal["create", "update", "delete", "merge"],
        Meta(
            description="What the write did. `merge`: other organisations were merged into this one (the "
            "`merged` field names them; each merged one's `delete` names it in `merged_into`)."
        ),
    ]
    fields: Annotated[dict[str, FieldChange], Meta(description="Each field the write changed.")]
    version: Annotated[int | None, Meta(description="The record's version after the write; null after a delete.")]
    organisation: Annotated[
        Reference | None, Meta(description="The organisation whose key made the write; null for the operator.")
    ]
    at: Annotated[datetime.datetime, Meta(description="When the write was committed (UTC).")]


class ChangePage(msgspec.Struct):
    """Changes after a cursor, oldest first. `next_cursor` is never null: keep it, and ask again later
    for the changes made since."""

    items: Annotated[list[Change], Meta(description="The changes after the cursor, oldest first.")]
    next_cursor: Annotated[
        str,
        Meta(
            description="Pass as `after` to get the changes after these: the `id` of the last one (of the last "
            "change before, when there are none).",
            pattern=r"^(?:0|[1-9][0-9]*)$",
            examples=["42"],
        ),
    ]
