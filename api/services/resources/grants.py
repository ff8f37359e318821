"""Grants: funder, recipient, money, dates and the places that benefit; listed, or exported as
360Giving data."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from api.schemas.grants import Grant as GrantRead
from api.schemas.grants import GrantPage
from api.services.platform.sql import contains
from api.services.records.resource import (
    GRANT,
    ORGANISATION,
    PLACE,
    LinkSet,
    Resource,
    Row,
    active_on,
    linked_to,
    list_page,
    money_out,
    places_within,
    resolve_filter,
)
from models.tables import Grant, GrantPlace


def _derive(row: Row) -> Row:
    """The 360Giving money fields as money, and the locations matched to places or not."""
    return {
        "amount_applied_for": money_out(row["amount_applied_for"], row["currency"]),
        "amount_disbursed": money_out(row["amount_disbursed"], row["currency"]),
        "unmatched_locations": row["unmatched_locations"] or [],
        "matched_locations": row["matched_locations"] or [],
    }


RESOURCE = Resource(
    kind=GRANT,
    read=GrantRead,
    references={"funder": ORGANISATION, "recipient": ORGANISATION},
    links=(LinkSet("places", GrantPlace, "grant", "place", PLACE),),
    money=True,
    slug_from=("identifier", "name"),
    derive=_derive,
)


@dataclass(frozen=True)
class GrantFilters:
    """What a list or an export of grants is narrowed to; None leaves a filter out."""

    funder: str | None = None
    recipient: str | None = None
    organisation: str | None = None
    place: str | None = None
    programme: str | None = None
    awarded_from: datetime.date | None = None
    awarded_to: datetime.date | None = None
    active_on_day: datetime.date | None = None
    q: str | None = None


async def conditions(filters: GrantFilters) -> list[Any]:
    """The conditions a list (or an export) of grants applies for these filters."""
    where: list[Any] = []
    if filters.funder is not None:
        where.append(Grant.funder == await resolve_filter(ORGANISATION, filters.funder, "funder"))
    if filters.recipient is not None:
        where.append(Grant.recipient == await resolve_filter(ORGANISATION, filters.recipient, "recipient"))
    if filters.organisation is not None:
        organisation_id = await resolve_filter(ORGANISATION, filters.organisation, "organisation")
        where.append((Grant.funder == organisation_id) | (Grant.recipient == organisation_id))
    if filters.place is not None:
        where.append(linked_to(RESOURCE, "places", await places_within(filters.place)))
    if filters.programme is not None:
        where.append(Grant.programme == filters.programme)
    if filters.awarded_from is not None:
        where.append(Grant.awarded_on >= filters.awarded_from)
    if filters.awarded_to is not None:
        where.append(Grant.awarded_on <= filters.awarded_to)
    if filters.active_on_day is not None:
        where.append(active_on(RESOURCE, filters.active_on_day, "planned_start_on", "planned_end_on"))
    if filters.q:
        q = filters.q
        where.append(contains(Grant.name, q) | contains(Grant.description, q) | contains(Grant.identifier, q))
    return where


async def list_grants(filters: GrantFilters, *, sort: str, limit: int, cursor: str | None) -> GrantPage:
    where = await conditions(filters)
    return await list_page(RESOURCE, GrantPage, where=where, sort=sort, limit=limit, cursor=cursor)
