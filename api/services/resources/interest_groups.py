"""Interest groups and their memberships."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from api.schemas.interest_groups import InterestGroup as InterestGroupRead
from api.schemas.interest_groups import InterestGroupPage
from api.schemas.interest_groups import Membership as MembershipRead
from api.services.platform.sql import contains
from api.services.records import children
from api.services.records.resource import (
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
from models.tables import InterestGroup, InterestGroupPlace, Membership


async def _members(group_ids: list[UUID]) -> Mapping[UUID, Row]:
    grouped = await children.by_owner(MEMBERS, group_ids)
    return {group_id: {"members": grouped.get(group_id, [])} for group_id in group_ids}


async def add_initial_members(group_id: UUID, fields: Row, work: Work) -> None:
    if fields.get("members"):
        await children.insert(MEMBERS, group_id, fields["members"], work)


RESOURCE = Resource(
    kind=Kind(InterestGroup, "interest group", (), "interest-groups"),
    read=InterestGroupRead,
    references={"convenor": ORGANISATION},
    links=(LinkSet("places", InterestGroupPlace, "interest_group", "place", PLACE),),
    expand=_members,
    after_write=add_initial_members,
)
MEMBERS = children.Children(
    resource=Resource(
        kind=Kind(Membership, "membership", (), "memberships"),
        read=MembershipRead,
        references={"organisation": ORGANISATION},
    ),
    parent=RESOURCE,
    owner="interest_group",
    key="organisation",
    managers=("convenor",),
)


async def list_interest_groups(
    *,
    organisation: str | None,
    role: str | None,
    place: str | None,
    active_on_day: datetime.date | None,
    q: str | None,
    sort: str,
    limit: int,
    cursor: str | None,
) -> InterestGroupPage:
    where: list[Any] = []
    if organisation is not None:
        organisation_id = await resolve_filter(ORGANISATION, organisation, "organisation")
        members = Membership.select(Membership.interest_group).where(Membership.organisation == organisation_id)
        if role is not None:
            members = members.where(Membership.role == role)
        condition = InterestGroup.id.is_in(members)
        where.append(
            condition if role not in (None, "convenor") else condition | (InterestGroup.convenor == organisation_id)
        )
    elif role is not None:
        where.append(
            InterestGroup.id.is_in(Membership.select(Membership.interest_group).where(Membership.role == role))
        )
    if place is not None:
        where.append(linked_to(RESOURCE, "places", await places_within(place)))
    if active_on_day is not None:
        where.append(active_on(RESOURCE, active_on_day))
    if q:
        where.append(contains(InterestGroup.name, q) | contains(InterestGroup.description, q))
    return await list_page(RESOURCE, InterestGroupPage, where=where, sort=sort, limit=limit, cursor=cursor)
