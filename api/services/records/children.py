"""Owned sub-collections (a group's memberships, an arrangement's contributions): rows that belong
to one record and are keyed within it by an organisation."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic
from uuid import UUID

import msgspec

from api.schemas.common import FieldError
from api.services.platform.actors import Actor
from api.services.platform.errors import Conflict, Forbidden, NotFound
from api.services.records import crud
from api.services.records import resource as records
from api.services.records.resource import ORGANISATION, Read, Resource
from api.services.records.unit_of_work import Work, unit_of_work


@dataclass(frozen=True)
class Children(Generic[Read]):
    """`resource` rows belong to a `parent` record through the `owner` column, one per organisation
    named in the `key` column."""

    resource: Resource[Read]
    parent: Resource[Any]
    owner: str
    key: str
    # Besides admins and the organisation a row names, who may manage the rows: the parent's
    # contributor and the organisations in these columns of the parent (a group's convenor).
    managers: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return self.resource.kind.label


async def by_owner(children: Children[Read], owner_ids: Sequence[UUID]) -> dict[UUID, list[Read]]:
    """Each owner's children, for embedding in the owners' Structs (one query for all owners)."""
    table = children.resource.table
    owner = table._meta.get_column_by_name(children.owner)
    rows = (
        await table.select()
        .where(owner.is_in(list(owner_ids)))
        .order_by(table._meta.get_column_by_name(f"{children.key}.name"))
    )
    structs = await records.to_structs(children.resource, rows)
    grouped: dict[UUID, list[Read]] = defaultdict(list)
    for row, struct in zip(rows, structs, strict=True):
        grouped[row[children.owner]].append(struct)
    return grouped


async def _find(children: Children[Any], owner_id: UUID, key_ref: str) -> UUID:
    table = children.resource.table
    organisation_id = await records.resolve(ORGANISATION, key_ref)
    row = (
        await table.select(table._meta.primary_key)
        .where(
            table._meta.get_column_by_name(children.owner) == owner_id,
            table._meta.get_column_by_name(children.key) == organisation_id,
        )
        .first()
    )
    if row is None:
        raise NotFound(f"The {children.parent.kind.label} has no {children.label} for '{key_ref}'.")
    child_id: UUID = row["id"]
    return child_id


async def list_children(children: Children[Read], owner_ref: str) -> list[Read]:
    owner_id = await records.resolve(children.parent.kind, owner_ref)
    return (await by_owner(children, [owner_id])).get(owner_id, [])


async def get_child(children: Children[Read], owner_ref: str, key_ref: str) -> Read:
    owner_id = await records.resolve(children.parent.kind, owner_ref)
    (struct,) = await records.fetch(children.resource, [await _find(children, owner_id, key_ref)])
    return struct


async def insert(children: Children[Any], owner_id: UUID, items: Sequence[msgspec.Struct], work: Work) -> list[UUID]:
    """Add children to an owner inside the caller's unit of work; each organisation at most once."""
    table = children.resource.table
    key = table._meta.get_column_by_name(children.key)
    fields = [msgspec.structs.asdict(item) for item in items]
    resolved = await crud.resolve_body(
        [(ORGANISATION, f[children.key], f"{children.label}s[{i}].{children.key}") for i, f in enumerate(fields)]
    )
    seen: dict[UUID, int] = {}
    existing = {
        row[children.key]
        for row in await table.select(key).where(table._meta.get_column_by_name(children.owner) == owner_id)
    }
    errors = []
    for i, f in enumerate(fields):
        organisation_id = resolved[ORGANISATION, f[children.key]]
        if organisation_id in existing or organisation_id in seen:
            errors.append(
                FieldError(
                    field=f"{children.key}",
                    message=f"'{f[children.key]}' already has a {children.label} here",
                    location="body",
                )
            )
        seen[organisation_id] = i
    if errors:
        raise Conflict(
            f"An organisation can have only one {children.label} in each {children.parent.kind.label}.",
            errors,
        )
    ids = []
    for f in fields:
        values, _ = await crud.column_values(children.resource, f, None)
        child_id = uuid.uuid4()
        await table.insert(table.from_dict({"id": child_id, children.owner: owner_id, **values, **work.stamp()}))
        ids.append(child_id)
    for struct in await records.fetch(children.resource, ids):
        work.log(children.resource.kind.collection, "create", None, struct, owner_id)
    return ids


async def _authorise(children: Children[Any], owner_id: UUID, organisation_id: UUID, actor: Actor) -> None:
    """An admin, the organisation the row names, or the parent's contributor or managers."""
    if actor.is_admin or organisation_id == actor.organisation_id:
        return
    table = children.parent.table
    columns = ("contributed_by", *children.managers)
    row = await records.one(
        table.select(*(table._meta.get_column_by_name(c) for c in columns)).where(table._meta.primary_key == owner_id)
    )
    if actor.organisation_id not in {row[c] for c in columns}:
        who = ", ".join(("the organisation it names", *(c.replace("_", " ") for c in columns)))
        raise Forbidden(
            f"Only {who} of the {children.parent.kind.label}, or an admin, may change this {children.label}."
        )


async def add_child(children: Children[Read], owner_ref: str, data: msgspec.Struct, *, actor: Actor) -> Read:
    key_ref = getattr(data, children.key)
    async with unit_of_work(actor) as work:
        owner_id = await records.resolve(children.parent.kind, owner_ref)
        named = await crud.resolve_body([(ORGANISATION, key_ref, children.key)])
        await _authorise(children, owner_id, named[ORGANISATION, key_ref], actor)
        (child_id,) = await insert(children, owner_id, [data], work)
        await crud.bump(children.parent.table, owner_id, {})
        (struct,) = await records.fetch(children.resource, [child_id])
    return struct


async def update_child(
    children: Children[Read], owner_ref: str, key_ref: str, data: msgspec.Struct, *, actor: Actor
) -> Read:
    fields = {name: value for name, value in msgspec.structs.asdict(data).items() if value is not msgspec.UNSET}
    async with unit_of_work(actor) as work:
        owner_id = await records.resolve(children.parent.kind, owner_ref)
        child_id = await _find(children, owner_id, key_ref)
        await _authorise(children, owner_id, await records.resolve(ORGANISATION, key_ref), actor)
        await crud.current_version(children.resource.table, child_id, actor)
        (before,) = await records.fetch(children.resource, [child_id])
        savepoint = await work.savepoint()
        values, _ = await crud.column_values(children.resource, fields, child_id)
        await crud.bump(children.resource.table, child_id, values)
        (struct,) = await records.fetch(children.resource, [child_id])
        if crud.unchanged(before, struct):
            await savepoint.rollback_to()
            return before
        await crud.bump(children.parent.table, owner_id, {})
        work.log(children.resource.kind.collection, "update", before, struct, owner_id)
    return struct


async def remove_child(children: Children[Any], owner_ref: str, key_ref: str, *, actor: Actor) -> None:
    async with unit_of_work(actor) as work:
        owner_id = await records.resolve(children.parent.kind, owner_ref)
        child_id = await _find(children, owner_id, key_ref)
        await _authorise(children, owner_id, await records.resolve(ORGANISATION, key_ref), actor)
        await crud.current_version(children.resource.table, child_id, actor)
        await _remove(children, owner_id, [child_id], work)
        await crud.bump(children.parent.table, owner_id, {})


async def remove_all(children: Children[Any], owner_id: UUID, work: Work) -> None:
    """Remove every row of an owner, logging each (inside the caller's unit of work)."""
    table = children.resource.table
    rows = await table.select(table._meta.primary_key).where(table._meta.get_column_by_name(children.owner) == owner_id)
    await _remove(children, owner_id, [row["id"] for row in rows], work)


async def _remove(children: Children[Any], owner_id: UUID, child_ids: list[UUID], work: Work) -> None:
    if not child_ids:
        return
    table = children.resource.table
    for before in await records.fetch(children.resource, child_ids):
        work.log(children.resource.kind.collection, "delete", before, None, owner_id)
    await table.delete().where(table._meta.primary_key.is_in(child_ids))
