"""Writes to any resource: create, update and delete with their checks (references resolved, unique
fields free, the writer allowed, the version the writer saw), each in one unit of work."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, cast
from uuid import UUID

import msgspec
from piccolo.columns import Integer, OnDelete
from piccolo.table import Table

from api.schemas.common import FieldError
from api.services.platform.actors import Actor
from api.services.platform.clock import now
from api.services.platform.errors import Conflict, Forbidden, PreconditionFailed, Unprocessable
from api.services.records.resource import (
    CENTS,
    Kind,
    LinkSet,
    Read,
    Resource,
    Row,
    fetch,
    one,
    resolve,
    resolve_many,
    slugify,
)
from api.services.records.unit_of_work import unit_of_work


async def free_slug(table: type[Table], base: str, taken: Iterable[str] = ()) -> str:
    """`base` when no record (and nothing in `taken`) has it, else `base-2`, `base-3`, ...: the first free."""
    slug = table._meta.get_column_by_name("slug")
    stem = base[:90].rstrip("-")
    used = set(taken) | set(
        await table.select(slug).where((slug == base) | slug.like(f"{stem}-%")).output(as_list=True)
    )
    if base not in used:
        return base
    number = 2
    while f"{stem}-{number}" in used:
        number += 1
    return f"{stem}-{number}"


# Writes --------------------------------------------------------------------------------------------------


def body_refs(resource: Resource[Any], fields: Row) -> list[tuple[Kind, str, str]]:
    """Every ref in a request body, with the field it came from."""
    found = [(kind, fields[name], name) for name, kind in resource.references.items() if fields.get(name) is not None]
    for link in resource.links:
        found += [(link.kind, ref, f"{link.field}[{i}]") for i, ref in enumerate(fields.get(link.field) or [])]
    return found


async def resolve_body(refs: Sequence[tuple[Kind, str, str]]) -> dict[tuple[Kind, str], UUID]:
    """Resolve every ref in a body at once; name each one that matches nothing (422)."""
    by_kind: dict[Kind, set[str]] = defaultdict(set)
    for kind, ref, _ in refs:
        by_kind[kind].add(ref)
    resolved = {}
    for kind, kind_refs in by_kind.items():
        for ref, record_id in (await resolve_many(kind, kind_refs)).items():
            resolved[kind, ref] = record_id
    errors = [
        FieldError(field=where, message=f"there is no {kind.label} '{ref}'", location="body")
        for kind, ref, where in refs
        if (kind, ref) not in resolved
    ]
    if errors:
        raise Unprocessable("Some references do not name any record.", errors)
    return resolved


async def check_unique(resource: Resource[Any], values: Row, current_id: UUID | None) -> None:
    """A clear 409 naming the field, before the database's own unique constraint would refuse it."""
    table = resource.table
    errors = []
    for name in ("slug", *resource.kind.natural_keys):
        value = values.get(name)
        if value is None:
            continue
        query = table.select(table._meta.primary_key).where(resource.column(name) == value)
        if current_id is not None:
            query = query.where(table._meta.primary_key != current_id)
        if await query.first():
            errors.append(
                FieldError(
                    field=name,
                    message=f"'{value}' is already used by another {resource.kind.label}",
                    location="body",
                )
            )
    if errors:
        raise Conflict(f"Another {resource.kind.label} already has that {errors[0].field}.", errors)


def _amount(amount: str | float) -> Decimal:
    """An amount sent as a decimal string or a JSON number; a number with more than two decimal places
    is refused as the string's pattern refuses one (a float's shortest repr is its decimal as written)."""
    exact = Decimal(amount if isinstance(amount, str) else repr(amount))
    if exact != exact.quantize(CENTS):
        raise Unprocessable(
            f"The amount {amount} has more than two decimal places.",
            [FieldError(field="amount.amount", message="more than two decimal places", location="body")],
        )
    return exact


async def column_values(
    resource: Resource[Any], fields: Row, current_id: UUID | None
) -> tuple[Row, dict[LinkSet, list[UUID]]]:
    resolved = await resolve_body(body_refs(resource, fields))
    values: Row = {}
    for name, value in fields.items():
        if name in resource.references:
            values[name] = None if value is None else resolved[resource.references[name], value]
        elif name == "amount" and resource.money:
            values["amount"] = None if value is None else _amount(value.amount)
            values["currency"] = None if value is None else value.currency
        elif _has_column(resource, name):
            values[name] = msgspec.to_builtins(value) if isinstance(value, msgspec.Struct) else value
    links = {
        link: list(dict.fromkeys(resolved[link.kind, ref] for ref in fields[link.field]))
        for link in resource.links
        if link.field in fields
    }
    await check_unique(resource, values, current_id)
    return values, links


def _has_column(resource: Resource[Any], name: str) -> bool:
    return any(column._meta.name == name for column in resource.table._meta.columns)


async def _replace_links(links: Mapping[LinkSet, list[UUID]], record_id: UUID) -> None:
    for link, target_ids in links.items():
        delete = link.table.delete().where(link.owner_column() == record_id)
        if link.role is not None:
            delete = delete.where(link.table._meta.get_column_by_name("role") == link.role)
        await delete
        extra = {"role": link.role} if link.role is not None else {}
        rows = [link.table.from_dict({link.owner: record_id, link.target: target, **extra}) for target in target_ids]
        if rows:
            await link.table.insert(*rows)


def authorise(resource: Resource[Any], actor: Actor, contributed_by: UUID | None = None, ref: str = "") -> None:
    """Whether the actor may write this record; a refusal says why."""
    if actor.is_admin:
        return
    if resource.admin_only:
        raise Forbidden(
            f"{resource.kind.collection.capitalize()} are reference data: only an admin key may change them."
        )
    if ref and contributed_by != actor.organisation_id:
        raise Forbidden(
            f"The {resource.kind.label} '{ref}' was contributed by another organisation: only that organisation "
            "or an admin may change it."
        )


async def current_version(
    table: type[Table], record_id: UUID, actor: Actor, resource: Resource[Any] | None = None, ref: str = ""
) -> Row:
    """The row's owner and version: the writer must be allowed to change it (when `resource` is
    given) and must have seen this version, if it said which (If-Match)."""
    row = await one(
        table.select(table._meta.get_column_by_name("contributed_by"), table._meta.get_column_by_name("version")).where(
            table._meta.primary_key == record_id
        )
    )
    if resource is not None:
        authorise(resource, actor, row["contributed_by"], ref)
    if actor.expected_version is not None and actor.expected_version != row["version"]:
        raise PreconditionFailed(
            f"The record is at version {row['version']}, not {actor.expected_version}: someone changed it since "
            "you read it. Fetch it again and reapply your change.",
            current_version=row["version"],
        )
    return row


async def create(resource: Resource[Read], data: msgspec.Struct, *, actor: Actor) -> Read:
    authorise(resource, actor)
    fields = msgspec.structs.asdict(data)
    chosen = fields.get("slug") is not None
    if not chosen:
        source = next((fields[name] for name in resource.slug_from if fields.get(name)), "")
        fields["slug"] = slugify(source) or f"{resource.kind.label.split()[0]}-{uuid.uuid4().hex[:8]}"
    record_id = uuid.uuid4()
    async with unit_of_work(actor) as work:
        if not chosen and resource.number_taken_slugs:
            fields["slug"] = await free_slug(resource.table, fields["slug"])
        values, links = await column_values(resource, fields, None)
        await resource.table.insert(resource.table.from_dict({"id": record_id, **values, **work.stamp()}))
        await _replace_links(links, record_id)
        if resource.after_write:
            await resource.after_write(record_id, fields, work)
        (struct,) = await fetch(resource, [record_id])
        work.log(resource.kind.collection, "create", None, struct)
    return struct


async def update(resource: Resource[Read], ref: str, data: msgspec.Struct, *, actor: Actor) -> Read:
    fields = {name: value for name, value in msgspec.structs.asdict(data).items() if value is not msgspec.UNSET}
    table = resource.table
    async with unit_of_work(actor) as work:
        record_id = await resolve(resource.kind, ref)
        await current_version(table, record_id, actor, resource, ref)
        (before,) = await fetch(resource, [record_id])
        savepoint = await work.savepoint()
        values, links = await column_values(resource, fields, record_id)
        await bump(table, record_id, values)
        await _replace_links(links, record_id)
        if resource.after_write:
            await resource.after_write(record_id, fields, work)
        (struct,) = await fetch(resource, [record_id])
        if unchanged(before, struct):
            await savepoint.rollback_to()
            return before
        work.log(resource.kind.collection, "update", before, struct)
    return struct


def unchanged(before: Read, after: Read) -> bool:
    """Whether a write left a record exactly as it was (all but its version and update time): such a
    PATCH is undone, so it neither bumps the version other clients hold in If-Match nor adds an empty
    change to the feed."""
    stamps = {"version": before.version, "updated_at": before.updated_at}  # type: ignore[attr-defined]
    return bool(msgspec.structs.replace(after, **stamps) == before)


async def bump(table: type[Table], record_id: UUID, values: Row) -> None:
    """Write changed values, and count the change in `version` and `updated_at` even when only a
    linked list changed."""
    version = cast(Integer, table._meta.get_column_by_name("version"))
    changes: dict[Any, Any] = {table._meta.get_column_by_name(k): v for k, v in values.items()}
    changes[table._meta.get_column_by_name("updated_at")] = now()
    changes[version] = version + 1
    await table.update(changes).where(table._meta.primary_key == record_id)


async def referrers(table: type[Table], record_id: UUID) -> list[FieldError]:
    """What still refers to a record, named, so a refused delete can say what to change first."""
    found = []
    for column in table._meta.foreign_key_references:
        if column._foreign_key_meta.on_delete in (OnDelete.cascade, OnDelete.set_null):
            continue
        referrer: type[Table] = column._meta.table
        owner = next(
            (c for c in referrer._meta.foreign_key_columns if c._foreign_key_meta.on_delete == OnDelete.cascade),
            None,
        )
        has_slug = any(c._meta.name == "slug" for c in referrer._meta.columns)
        label_column = referrer._meta.get_column_by_name(
            f"{owner._meta.name}.slug" if owner else "slug" if has_slug else "id"
        )
        rows = await referrer.select(label_column.as_alias("label")).where(column == record_id).limit(5)
        if rows:
            what = (owner._foreign_key_meta.resolved_references if owner else referrer)._meta.tablename
            labels = ", ".join(sorted({str(row["label"]) for row in rows}))
            role = column._meta.name.replace("_", " ")
            found.append(
                FieldError(
                    field=f"{referrer._meta.tablename}.{column._meta.name}",
                    message=f"referred to as {role} by {what.replace('_', ' ')} {labels}",
                )
            )
    return found


async def delete(resource: Resource[Any], ref: str, *, actor: Actor) -> None:
    async with unit_of_work(actor) as work:
        record_id = await resolve(resource.kind, ref)
        await current_version(resource.table, record_id, actor, resource, ref)
        (before,) = await fetch(resource, [record_id])
        blockers = await referrers(resource.table, record_id)
        if blockers:
            raise Conflict(
                f"The {resource.kind.label} '{ref}' is still referred to by other records; change or delete "
                "those first.",
                blockers,
            )
        await resource.table.delete().where(resource.table._meta.primary_key == record_id)
        work.log(resource.kind.collection, "delete", before, None)
