"""Co-funding arrangements and the contributions of their funders."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from api.schemas.co_funding import CoFunding as CoFundingRead
from api.schemas.co_funding import CoFundingPage
from api.schemas.co_funding import Contribution as ContributionRead
from api.services.platform.sql import contains
from api.services.records import children
from api.services.records.resource import (
    CO_FUNDING,
    ORGANISATION,
    PLACE,
    Kind,
    LinkSet,
    Resource,
    Row,
    active_on,
    linked_to,
    list_page,
    places_within,
    resolve_filter,
)
from api.services.records.unit_of_work import Work
from models.tables import CoFunding, CoFundingPlace, Contribution


async def _contributions(arrangement_ids: list[UUID]) -> Mapping[UUID, Row]:
    grouped = await children.by_owner(CONTRIBUTIONS, arrangement_ids)
    return {arrangement_id: {"contributions": grouped.get(arrangement_id, [])} for arrangement_id in arrangement_ids}


async def add_initial_contributions(arrangement_id: UUID, fields: Row, work: Work) -> None:
    if fields.get("contributions"):
        await children.insert(CONTRIBUTIONS, arrangement_id, fields["contributions"], work)


RESOURCE = Resource(
    kind=CO_FUNDING,
    read=CoFundingRead,
    references={"lead": ORGANISATION},
    links=(LinkSet("places", CoFundingPlace, "co_funding", "place", PLACE),),
    expand=_contributions,
    after_write=add_initial_contributions,
)
CONTRIBUTIONS = children.Children(
    resource=Resource(
        kind=Kind(Contribution, "contribution", (), "contributions"),
        read=ContributionRead,
        references={"funder": ORGANISATION},
        money=True,
    ),
    parent=RESOURCE,
    owner="co_funding",
    key="funder",
    managers=("lead",),
)


async def list_co_funding(
    *,
    funder: str | None,
    organisation: str | None,
    place: str | None,
    active_on_day: datetime.date | None,
    q: str | None,
    sort: str,
    limit: int,
    cursor: str | None,
) -> CoFundingPage:
    where: list[Any] = []
    if funder is not None:
        funder_id = await resolve_filter(ORGANISATION, funder, "funder")
        where.append(
            CoFunding.id.is_in(Contribution.select(Contribution.co_funding).where(Contribution.funder == funder_id))
        )
    if organisation is not None:
        organisation_id = await resolve_filter(ORGANISATION, organisation, "organisation")
        contributed = Contribution.select(Contribution.co_funding).where(Contribution.funder == organisation_id)
        where.append(CoFunding.id.is_in(contributed) | (CoFunding.lead == organisation_id))
    if place is not None:
        where.append(linked_to(RESOURCE, "places", await places_within(place)))
    if active_on_day is not None:
        where.append(active_on(RESOURCE, active_on_day))
    if q:
        where.append(contains(CoFunding.name, q) | contains(CoFunding.description, q) | contains(CoFunding.purpose, q))
    return await list_page(RESOURCE, CoFundingPage, where=where, sort=sort, limit=limit, cursor=cursor)
