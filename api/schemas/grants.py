"""Grants, compatible with the 360Giving Data Standard."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from api.schemas.common import Date, LongText, Money, Name, Page, Provenance, Ref, Reference, Slug

IDENTIFIER = Meta(
    min_length=1,
    max_length=200,
    pattern=r"^[^\x00-\x20\x7f]+$",
    description="The grant's 360Giving identifier (a 360G- prefix and the funder's own id), when it has one.",
    examples=["360G-LankellyChase-2017-001"],
)
DESCRIPTION = Meta(description="What the grant is for.")
FUNDER = Meta(description="The organisation that made the grant.")
RECIPIENT = Meta(description="The organisation that received it.")
AMOUNT = Meta(description="The amount awarded; empty when not published.")
AWARDED = Meta(description="When the grant was awarded, when known.")
PLANNED_START = Meta(description="When the funded work was planned to start.")
PLANNED_END = Meta(description="When the funded work was planned to end.")
PROGRAMME = Meta(description="The funder's grant programme.", max_length=300, pattern=r"^[^\x00]*$")
PLACES = Meta(description="The places that benefit; a place includes every place below it.", max_length=500)


class Grant(Provenance):
    """A grant from a funder to a recipient."""

    id: Annotated[UUID, Meta(description="The grant's UUID.")]
    slug: Slug
    identifier: Annotated[str | None, Meta(description=IDENTIFIER.description)]
    name: Annotated[str, Meta(description="The grant's title.")]
    description: Annotated[str | None, DESCRIPTION]
    funder: Annotated[Reference, FUNDER]
    recipient: Annotated[Reference, RECIPIENT]
    amount: Annotated[Money | None, AMOUNT]
    awarded_on: Annotated[Date | None, AWARDED]
    planned_start_on: Annotated[Date | None, PLANNED_START]
    planned_end_on: Annotated[Date | None, PLANNED_END]
    programme: Annotated[str | None, Meta(description=PROGRAMME.description)]
    places: Annotated[list[Reference], PLACES]


class GrantPage(Page[Grant]):
    """A page of grants."""


class GrantCreate(msgspec.Struct, kw_only=True):
    """A new grant. The slug is made from the identifier, or the title, when not given."""

    name: Annotated[Name, Meta(description="The grant's title.", examples=["Testing place-based methodologies"])]
    funder: Annotated[Ref, FUNDER]
    recipient: Annotated[Ref, RECIPIENT]
    slug: Slug | None = None
    identifier: Annotated[str, IDENTIFIER] | None = None
    description: Annotated[LongText | None, DESCRIPTION] = None
    amount: Annotated[Money | None, AMOUNT] = None
    awarded_on: Annotated[Date | None, AWARDED] = None
    planned_start_on: Annotated[Date | None, PLANNED_START] = None
    planned_end_on: Annotated[Date | None, PLANNED_END] = None
    programme: Annotated[str, PROGRAMME] | None = None
    places: Annotated[list[Ref], PLACES] = msgspec.field(default_factory=list)


class GrantUpdate(msgspec.Struct, kw_only=True):
    """Changes to a grant: only the fields given change; a list given replaces the old one."""

    name: Name | UnsetType = UNSET
    funder: Annotated[Ref, FUNDER] | UnsetType = UNSET
    recipient: Annotated[Ref, RECIPIENT] | UnsetType = UNSET
    slug: Slug | UnsetType = UNSET
    identifier: Annotated[str, IDENTIFIER] | UnsetType | None = UNSET
    description: Annotated[LongText | None, DESCRIPTION] | UnsetType = UNSET
    amount: Annotated[Money | None, AMOUNT] | UnsetType = UNSET
    awarded_on: Annotated[Date | None, AWARDED] | UnsetType = UNSET
    planned_start_on: Annotated[Date | None, PLANNED_START] | UnsetType = UNSET
    planned_end_on: Annotated[Date | None, PLANNED_END] | UnsetType = UNSET
    programme: Annotated[str, PROGRAMME] | UnsetType | None = UNSET
    places: Annotated[list[Ref], PLACES] | UnsetType = UNSET
