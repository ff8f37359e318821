"""Organisations: every body in the network, keyed by its org-id where it has one."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from msgspec import UNSET, Meta, UnsetType

from api.schemas.common import LongText, Name, OrgId, Page, Provenance, Ref, Reference, Slug, Url, WriteBody

OrganisationKind = Literal[
    "foundation",
    "funder",
    "funder_network",
    "local_authority",
    "nhs_body",
    "government_body",
    "university",
    "research_institute",
    "think_tank",
    "charity",
    "community_group",
    "social_enterprise",
    "consultancy",
    "lived_experience_forum",
    "other",
]
KIND = Meta(
    description="What sort of body it is: `foundation` (an independent charitable funder), `funder` "
    "(any other funder, such as a lottery distributor), `funder_network`, `local_authority`, `nhs_body`, "
    "`government_body`, `university`, `research_institute`, `think_tank`, `charity`, `community_group`, "
    "`social_enterprise`, `consultancy`, `lived_experience_forum` or `other`."
)
DESCRIPTION = Meta(description="What the organisation does, in a sentence or two.")
WEBSITE = Meta(description="The organisation's website.")
HOME_PLACE = Meta(description="The place the organisation is based in.")


class Organisation(Provenance):
    """A body in the network: a funder, council, charity, university, network or forum."""

    id: Annotated[UUID, Meta(description="The organisation's UUID.")]
    slug: Slug
    name: Annotated[str, Meta(description="The organisation's usual name.")]
    org_id: Annotated[str | None, Meta(description="Its org-id.guide identifier, when it has one.")]
    kind: Annotated[OrganisationKind, KIND]
    description: Annotated[str | None, DESCRIPTION]
    website: Annotated[str | None, WEBSITE]
    home_place: Annotated[Reference | None, HOME_PLACE]


class OrganisationPage(Page[Organisation]):
    """A page of organisations."""


class OrganisationCreate(WriteBody):
    """A new organisation. The slug is made from the name when not given."""

    name: Annotated[Name, Meta(description="The organisation's usual name.", examples=["Lankelly Chase Foundation"])]
    kind: Annotated[OrganisationKind, KIND]
    slug: Slug | None = None
    org_id: OrgId | None = None
    description: Annotated[LongText | None, DESCRIPTION] = None
    website: Annotated[Url | None, WEBSITE] = None
    home_place: Annotated[Ref | None, HOME_PLACE] = None


class OrganisationUpdate(WriteBody):
    """Changes to an organisation: only the fields given change; null clears an optional field."""

    name: Name | UnsetType = UNSET
    kind: Annotated[OrganisationKind, KIND] | UnsetType = UNSET
    slug: Slug | UnsetType = UNSET
    org_id: OrgId | UnsetType | None = UNSET
    description: Annotated[LongText | None, DESCRIPTION] | UnsetType = UNSET
    website: Annotated[Url | None, WEBSITE] | UnsetType = UNSET
    home_place: Annotated[Ref | None, HOME_PLACE] | UnsetType = UNSET
