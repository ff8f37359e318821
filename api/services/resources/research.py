"""Commissioned research: who commissioned it, who did it, where, and what paid for it."""

from __future__ import annotations

import datetime
from typing import Any

from api.schemas.research import Research as ResearchRead
from api.schemas.research import ResearchPage
from api.services.platform.sql import contains
from api.services.records.resource import (
    CO_FUNDING,
    ORGANISATION,
    PLACE,
    Kind,
    LinkSet,
    Resource,
    any_of,
    linked_to,
    list_page,
    places_within,
    resolve_filter,
)
from models.tables import Research, ResearchParty, ResearchPlace

RESOURCE = Resource(
    kind=Kind(Research, "research", (), "research"),
    read=ResearchRead,
    references={"funded_by": CO_FUNDING},
    links=(
        LinkSet("commissioners", ResearchParty, "research", "organisation", ORGANISATION, role="commissioner"),
        LinkSet("partners", ResearchParty, "research", "organisation", ORGANISATION, role="partner"),
        LinkSet("places", ResearchPlace, "research", "place", PLACE),
    ),
)
ROLE_FIELDS = {"commissioner": "commissioners", "partner": "partners"}


async def list_research(
    *,
    kind: str | None,
    organisation: str | None,
    role: str | None,
    place: str | None,
    funded_by: str | None,
    published_from: datetime.date | None,
    published_to: datetime.date | None,
    q: str | None,
    sort: str,
    limit: int,
    cursor: str | None,
) -> ResearchPage:
    where: list[Any] = []
    if kind is not None:
        where.append(Research.kind == kind)
    if organisation is not None:
        organisation_id = await resolve_filter(ORGANISATION, organisation, "organisation")
        where.append(
            any_of(
                linked_to(RESOURCE, field, [organisation_id])
                for name, field in ROLE_FIELDS.items()
                if role in (None, name)
            )
        )
    elif role is not None:
        where.append(Research.id.is_in(ResearchParty.select(ResearchParty.research).where(ResearchParty.role == role)))
    if place is not None:
        where.append(linked_to(RESOURCE, "places", await places_within(place)))
    if funded_by is not None:
        where.append(Research.funded_by == await resolve_filter(CO_FUNDING, funded_by, "funded_by"))
    if published_from is not None:
        where.append(Research.published_on >= published_from)
    if published_to is not None:
        where.append(Research.published_on <= published_to)
    if q:
        where.append(contains(Research.name, q) | contains(Research.summary, q))
    return await list_page(RESOURCE, ResearchPage, where=where, sort=sort, limit=limit, cursor=cursor)
