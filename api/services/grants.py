"""Grants: funder, recipient, money, dates and the places that benefit."""

from __future__ import annotations

import datetime
from typing import Any

from api.schemas.grants import Grant as GrantRead
from api.schemas.grants import GrantPage
from api.services.db import contains
from api.services.records import (
    GRANT,
    ORGANISATION,
    PLACE,
    LinkSet,
    Resource,
    active_on,
    linked_to,
    list_page,
    places_within,
    resolve_filter,
)
from models.tables import Grant, GrantPlace

RESOURCE = Resource(
    kind=GRANT,
    read=GrantRead,
    references={"funder": ORGANISATION, "recipient": ORGANISATION},
    links=(LinkSet("places", GrantPlace, "grant", "place", PLACE),),
    money=True,
    slug_from=("identifier", "name"),
)


async def list_grants(
    *,
    funder: str | None,
    recipient: str | None,
    organisation: str | None,
    place: str | None,
    programme: str | None,
    awarded_from: datetime.date | None,
    awarded_to: datetime.date | None,
    active_on_day: datetime.date | None,
    q: str | None,
    sort: str,
    limit: int,
    cursor: str | None,
) -> GrantPage:
    where: list[Any] = []
    if funder is not None:
        where.append(Grant.funder == await resolve_filter(ORGANISATION, funder, "funder"))
    if recipient is not None:
        where.append(Grant.recipient == await resolve_filter(ORGANISATION, recipient, "recipient"))
    if organisation is not None:
        organisation_id = await resolve_filter(ORGANISATION, organisation, "organisation")
        where.append((Grant.funder == organisation_id) | (Grant.recipient == organisation_id))
    if place is not None:
        where.append(linked_to(RESOURCE, "places", await places_within(place)))
    if programme is not None:
        where.append(Grant.programme == programme)
    if awarded_from is not None:
        where.append(Grant.awarded_on >= awarded_from)
    if awarded_to is not None:
        where.append(Grant.awarded_on <= awarded_to)
    if active_on_day is not None:
        where.append(active_on(RESOURCE, active_on_day, "planned_start_on", "planned_end_on"))
    if q:
        where.append(contains(Grant.name, q) | contains(Grant.description, q) | contains(Grant.identifier, q))
    return await list_page(RESOURCE, GrantPage, where=where, sort=sort, limit=limit, cursor=cursor)
