"""Engagements: who convened them, who took part, where."""

from __future__ import annotations

import datetime
from typing import Any

from api.schemas.engagements import Engagement as EngagementRead
from api.schemas.engagements import EngagementPage
from api.services.platform.sql import contains
from api.services.records.resource import (
    ORGANISATION,
    PLACE,
    Kind,
    LinkSet,
    Resource,
    active_on,
    linked_to,
    list_page,
    places_within,
    resolve_filter,
)
from models.tables import Engagement, EngagementParticipant, EngagementPlace

RESOURCE = Resource(
    kind=Kind(Engagement, "engagement", (), "engagements"),
    read=EngagementRead,
    references={"convenor": ORGANISATION},
    links=(
        LinkSet("participants", EngagementParticipant, "engagement", "organisation", ORGANISATION),
        LinkSet("places", EngagementPlace, "engagement", "place", PLACE),
    ),
)


async def list_engagements(
    *,
    kind: str | None,
    organisation: str | None,
    place: str | None,
    active_on_day: datetime.date | None,
    q: str | None,
    sort: str,
    limit: int,
    cursor: str | None,
) -> EngagementPage:
    where: list[Any] = []
    if kind is not None:
        where.append(Engagement.kind == kind)
    if organisation is not None:
        organisation_id = await resolve_filter(ORGANISATION, organisation, "organisation")
        where.append(linked_to(RESOURCE, "participants", [organisation_id]) | (Engagement.convenor == organisation_id))
    if place is not None:
        where.append(linked_to(RESOURCE, "places", await places_within(place)))
    if active_on_day is not None:
        where.append(active_on(RESOURCE, active_on_day))
    if q:
        where.append(contains(Engagement.name, q) | contains(Engagement.summary, q) | contains(Engagement.outputs, q))
    return await list_page(RESOURCE, EngagementPage, where=where, sort=sort, limit=limit, cursor=cursor)
