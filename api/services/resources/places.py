"""Places: a graph, not a tree. Each place has one parent (shown as where it sits) and may also be in
other larger places (`also_within`: a borough in its combined authority, a district in its ceremonial
county). Every place above a place by any path is kept as a `PlaceAncestor` row, so "everything in a
place" is one indexed lookup and a place reached by two paths is counted once. Former GSS codes still
find a place."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from uuid import UUID

from api.schemas.common import FieldError
from api.schemas.places import Place as PlaceRead
from api.schemas.places import PlacePage
from api.services.platform.actors import Actor
from api.services.platform.errors import Conflict, Unprocessable
from api.services.platform.sql import contains, insert_rows
from api.services.records.resource import (
    PLACE,
    LinkSet,
    Resource,
    Row,
    list_page,
    one,
    places_within,
    resolve_filter,
)
from api.services.records.unit_of_work import Work, unit_of_work
from models.tables import Place, PlaceAncestor, PlaceFormerCode, PlaceWithin


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
    """Keep former codes, and the ancestors of the place and of everything below it, true."""
    place = await one(Place.select(Place.gss_code).where(Place.id == place_id))
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
    if (
        "parent" in fields
        or "also_within" in fields
        or not await PlaceAncestor.exists().where(PlaceAncestor.place == place_id)
    ):
        await _set_ancestry(place_id)


RESOURCE = Resource(
    kind=PLACE,
    read=PlaceRead,
    references={"parent": PLACE},
    links=(LinkSet("also_within", PlaceWithin, "place", "within", PLACE),),
    expand=_former_codes,
    after_write=after_write,
    admin_only=True,
    number_taken_slugs=False,
)


# The places' graph ----------------------------------------------------------------------------------------


async def _directly_above(place_ids: Iterable[UUID] | None = None) -> dict[UUID, dict[UUID, str]]:
    """Each place's parent and the places it is also in (all places when `place_ids` is None), each
    with the field that names it."""
    parents = Place.select(Place.id, Place.parent).where(Place.parent.is_not_null())
    within = PlaceWithin.select(PlaceWithin.place, PlaceWithin.within)
    if place_ids is not None:
        ids = list(place_ids)
        parents, within = parents.where(Place.id.is_in(ids)), within.where(PlaceWithin.place.is_in(ids))
    above: dict[UUID, dict[UUID, str]] = defaultdict(dict)
    for row in await within:
        above[row["place"]][row["within"]] = "also_within"
    for row in await parents:
        above[row["id"]][row["parent"]] = "parent"
    return above


def _closure(
    places: Iterable[UUID], above: Mapping[UUID, Mapping[UUID, str]], known: Mapping[UUID, frozenset[UUID]]
) -> dict[UUID, frozenset[UUID]]:
    """Every place above each of `places`, itself included, through `above`; `known` holds the
    ancestors of places outside `places` that are already right."""
    done: dict[UUID, frozenset[UUID]] = dict(known)

    def ancestors(place: UUID) -> frozenset[UUID]:
        if place not in done:
            done[place] = frozenset({place}).union(*(ancestors(up) for up in above.get(place, {})))
        return done[place]

    return {place: ancestors(place) for place in places}


async def _set_ancestry(place_id: UUID) -> None:
    """Work out again the ancestors of the place and of every place below it, after the places it is
    directly in changed. A place cannot be in itself or in a place inside it."""
    below = {
        row["place"]
        for row in await PlaceAncestor.select(PlaceAncestor.place).where(PlaceAncestor.ancestor == place_id)
    }
    below.add(place_id)
    above = await _directly_above(below)
    loops = {field for up, field in above.get(place_id, {}).items() if up in below}
    if loops:
        raise Unprocessable(
            "A place cannot be inside itself.",
            [
                FieldError(field=field, message="is this place or a place inside it", location="body")
                for field in sorted(loops)
            ],
        )
    outside = {up for ups in above.values() for up in ups if up not in below}
    known: dict[UUID, set[UUID]] = defaultdict(set)
    for row in (
        await PlaceAncestor.select(PlaceAncestor.place, PlaceAncestor.ancestor).where(
            PlaceAncestor.place.is_in(list(outside))
        )
        if outside
        else []
    ):
        known[row["place"]].add(row["ancestor"])
    closure = _closure(below, above, {place: frozenset(ancestors) for place, ancestors in known.items()})
    await PlaceAncestor.delete().where(PlaceAncestor.place.is_in(list(below)))
    await insert_rows(PlaceAncestor, [{"place": place, "ancestor": up} for place, ups in closure.items() for up in ups])


async def rebuild_ancestry() -> None:
    """Work out every place's ancestors again from the parents and `also_within` (a migration that
    needs it)."""
    async with unit_of_work(Actor()):
        places = [row["id"] for row in await Place.select(Place.id)]
        closure = _closure(places, await _directly_above(), {})
        await PlaceAncestor.delete(force=True)
        await insert_rows(
            PlaceAncestor, [{"place": place, "ancestor": up} for place, ups in closure.items() for up in ups]
        )


async def list_places(
    *,
    level: str | None,
    within: str | None,
    parent: str | None,
    q: str | None,
    also_named: Sequence[str] = (),
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
        # `also_named`: the GSS codes of the places other names of theirs (official, Welsh, aliases) match,
        # or the names of such places with no code.
        found = contains(Place.name, q) | contains(Place.gss_code, q)
        if also_named:
            named = list(also_named)
            found = found | Place.gss_code.is_in(named) | (Place.gss_code.is_null() & Place.name.is_in(named))
        where.append(found)
    return await list_page(RESOURCE, PlacePage, where=where, sort=sort, limit=limit, cursor=cursor)
