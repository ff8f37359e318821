"""Organisations: their resource description and list filters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from api.schemas.organisations import Organisation as OrganisationRead
from api.schemas.organisations import OrganisationPage
from api.services.platform.sql import contains
from api.services.records.resource import ORGANISATION, PLACE, Resource, Row, list_page, places_within
from models.tables import Organisation, OrganisationAlias


async def _other_org_ids(ids: list[UUID]) -> Mapping[UUID, Row]:
    """The org-ids of organisations merged into these, kept as aliases (api/services/resources/merge.py)."""
    if not ids:
        return {}
    rows = (
        await OrganisationAlias.select(OrganisationAlias.organisation, OrganisationAlias.alias)
        .where(OrganisationAlias.organisation.is_in(ids), OrganisationAlias.kind == "org_id")
        .order_by(OrganisationAlias.alias)
    )
    found: dict[UUID, Row] = {}
    for row in rows:
        found.setdefault(row["organisation"], {"other_org_ids": []})["other_org_ids"].append(row["alias"])
    return found


RESOURCE = Resource(
    kind=ORGANISATION,
    read=OrganisationRead,
    references={"home_place": PLACE},
    number_taken_slugs=False,
    expand=_other_org_ids,
)


async def list_organisations(
    *, kind: str | None, place: str | None, q: str | None, sort: str, limit: int, cursor: str | None
) -> OrganisationPage:
    where: list[Any] = []
    if kind is not None:
        where.append(Organisation.kind == kind)
    if place is not None:
        where.append(Organisation.home_place.is_in(await places_within(place)))
    if q:
        where.append(
            contains(Organisation.name, q) | contains(Organisation.org_id, q) | contains(Organisation.description, q)
        )
    return await list_page(RESOURCE, OrganisationPage, where=where, sort=sort, limit=limit, cursor=cursor)
