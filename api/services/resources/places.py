"""Places: the hierarchy (kept as a lineage of ids so "everything below" is one prefix match) and
former GSS codes that still find a place."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from api.schemas.common import FieldError
from api.schemas.places import Place as PlaceRead
from api.schemas.places import PlacePage
from api.services.platform.errors import Conflict, Unprocessable
from api.services.platform.sql import contains
from api.services.records.resource import PLACE, Resource, Row, list_page, one, places_within, resolve_filter
from api.services.records.unit_of_work import Work
from models.tables import Place, PlaceFormerCode


async def _former_codes(place_ids: list[UUID]) -> Mapping[UUID, Row]:
    rows = (
        await PlaceFormerCode.select(PlaceFormerCode.place, PlaceFormerCode.code)
        .where(PlaceFormerCode.place.is_in(place_ids))
        .order_by(PlaceFormerCode.code)
    )
    codes: dict[UUID, list[str]] = defaultdict(list)
    for row in rows:
        codes[row["place"]].append(row["code"])
    return {place_id: {"former_codes": codes.get(place_id, [])} for place_id in place_ids}


async def _check_codes(place_id: UUID, gss_code: str | None, former_codes: list[str]) -> None:
    """A code names one place: no place's current code may be another's former code."""
    errors = []
    if former_codes:
        current = await Place.select(Place.gss_code).where(Place.gss_code.is_in(former_codes))
        taken = await PlaceFormerCode.select(PlaceFormerCode.code).where(
            PlaceFormerCode.code.is_in(former_codes), PlaceFormerCode.place != place_id
        )
        errors += [
            FieldError(field="former_codes", message=f"{code} already names another place", location="body")
            for code in [*(row["gss_code"] for row in current), *(row["code"] for row in taken)]
        ]
    if gss_code is not None:
        if gss_code in former_codes:
            errors.append(FieldError(field="former_codes", message=f"{gss_code} is the current code", location="body"))
        if await PlaceFormerCode.exists().where(PlaceFormerCode.code == gss_code, PlaceFormerCode.place != place_id):
            errors.append(
                FieldError(field="gss_code", message=f"{gss_code} is another place's former code", location="body")
            )
    if errors:
        raise Conflict("A GSS code can name only one place.", errors)


async def after_write(place_id: UUID, fields: Row, work: Work) -> None:
    """Keep former codes and the lineage of the place, and of everything below it, true."""
    place = await one(Place.select(Place.gss_code, Place.parent, Place.lineage).where(Place.id == place_id))
    if "former_codes" in fields or "gss_code" in fields:
        codes = fields.get("former_codes")
        if codes is None:
            codes = [
                r["code"]
                for r in await PlaceFormerCode.select(PlaceFormerCode.code).where(PlaceFormerCode.place == place_id)
            ]
        await _check_codes(place_id, place["gss_code"], codes)
        await PlaceFormerCode.delete().where(PlaceFormerCode.place == place_id)
        if codes:
            await PlaceFormerCode.insert(*(PlaceFormerCode(place=place_id, code=code) for code in dict.fromkeys(codes)))
    if "parent" in fields or not place["lineage"]:
        await _set_lineage(place_id, place["parent"], place["lineage"])


RESOURCE = Resource(
    kind=PLACE,
    read=PlaceRead,
    references={"parent": PLACE},
    expand=_former_codes,
    after_write=after_write,
    admin_only=True,
    number_taken_slugs=False,
)


async def _set_lineage(place_id: UUID, parent_id: UUID | None, old: str) -> None:
    parent_lineage = ""
    if parent_id is not None:
        parent = await one(Place.select(Place.lineage).where(Place.id == parent_id))
        parent_lineage = parent["lineage"]
        if f"/{place_id}/" in parent_lineage:
            raise Unprocessable(
                "A place cannot sit below itself.",
                [FieldError(field="parent", message="is this place or a place below it", location="body")],
            )
    new = f"{parent_lineage or '/'}{place_id}/"
    if old:
        # Rewrite the prefix of every place below in one statement, on SQLite and PostgreSQL alike.
        await Place.raw(
            "UPDATE place SET lineage = {} || substr(lineage, {}) WHERE lineage LIKE {}",
            new,
            len(old) + 1,
            f"{old}%",
        )
    else:
        await Place.update({Place.lineage: new}).where(Place.id == place_id)


async def list_places(
    *,
    level: str | None,
    within: str | None,
    parent: str | None,
    q: str | None,
    sort: str,
    limit: int,
    cursor: str | None,
) -> PlacePage:
    where: list[Any] = []
    if level is not None:
        where.append(Place.level == level)
    if within is not None:
        where.append(Place.id.is_in(await places_within(within, "within")))
    if parent is not None:
        where.append(Place.parent == await resolve_filter(PLACE, parent, "parent"))
    if q:
        where.append(contains(Place.name, q) | contains(Place.gss_code, q))
    return await list_page(RESOURCE, PlacePage, where=where, sort=sort, limit=limit, cursor=cursor)
