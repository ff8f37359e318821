"""Co-funding arrangements: several funders pooling or aligning money for one purpose."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from api.schemas.common import Date, LongText, Money, MoneyIn, Name, Page, Provenance, Ref, Reference, Slug, WriteBody

FUNDER = Meta(description="The contributing funder.")
AMOUNT = Meta(description="How much it put in; empty when in kind or not published.")
IN_KIND = Meta(description="True when the contribution is time, staff or services rather than money.")
CONTRIBUTION_DESCRIPTION = Meta(description="What the contribution was, in a sentence.")
LEAD = Meta(description="The organisation that leads or hosts the arrangement.")
PURPOSE = Meta(description="What the pooled or aligned money is for.")
STARTS = Meta(description="When the arrangement started, when known.")
ENDS = Meta(description="When it ended or is due to end, when known.")
PLACES = Meta(description="The places the arrangement is for; a place includes every place below it.", max_length=500)
ARRANGEMENT_DESCRIPTION = Meta(description="How the arrangement works.")


class Contribution(Provenance):
    """One funder's contribution to a co-funding arrangement."""

    id: Annotated[UUID, Meta(description="The contribution's UUID.")]
    funder: Annotated[Reference, FUNDER]
    amount: Annotated[Money | None, AMOUNT]
    in_kind: Annotated[bool, IN_KIND]
    description: Annotated[str | None, CONTRIBUTION_DESCRIPTION]


class ContributionCreate(WriteBody):
    """A funder's contribution to a co-funding arrangement."""

    funder: Annotated[Ref, FUNDER, Meta(examples=["lankelly-chase-foundation"])]
    amount: Annotated[MoneyIn | None, AMOUNT] = None
    in_kind: Annotated[bool, IN_KIND] = False
    description: Annotated[LongText | None, CONTRIBUTION_DESCRIPTION] = None


class ContributionUpdate(WriteBody):
    """Changes to a contribution: only the fields given change."""

    amount: Annotated[MoneyIn | None, AMOUNT] | UnsetType = UNSET
    in_kind: Annotated[bool, IN_KIND] | UnsetType = UNSET
    description: Annotated[LongText | None, CONTRIBUTION_DESCRIPTION] | UnsetType = UNSET


class CoFunding(Provenance):
    """Funders pooling or aligning money for one purpose (360Giving regrant type FRG040, "Funder
    collaboration")."""

    id: Annotated[UUID, Meta(description="The arrangement's UUID.")]
    slug: Slug
    name: Annotated[str, Meta(description="The arrangement's name.")]
    description: Annotated[str | None, ARRANGEMENT_DESCRIPTION]
    purpose: Annotated[str | None, PURPOSE]
    lead: Annotated[Reference | None, LEAD]
    starts_on: Annotated[Date | None, STARTS]
    ends_on: Annotated[Date | None, ENDS]
    places: Annotated[list[Reference], PLACES]
    contributions: Annotated[list[Contribution], Meta(description="Each funder's contribution.")]


class CoFundingPage(Page[CoFunding]):
    """A page of co-funding arrangements."""


class CoFundingCreate(WriteBody):
    """A new co-funding arrangement, optionally with its first contributions."""

    name: Annotated[Name, Meta(description="The arrangement's name.", examples=["Place-based funding study"])]
    slug: Slug | None = None
    description: Annotated[LongText | None, ARRANGEMENT_DESCRIPTION] = None
    purpose: Annotated[LongText | None, PURPOSE] = None
    lead: Annotated[Ref | None, LEAD] = None
    starts_on: Annotated[Date | None, STARTS] = None
    ends_on: Annotated[Date | None, ENDS] = None
    places: Annotated[list[Ref], PLACES] = msgspec.field(default_factory=list)
    contributions: Annotated[
        list[ContributionCreate],
        Meta(description="Contributions to add with the arrangement.", max_length=1000),
    ] = msgspec.field(default_factory=list)


class CoFundingUpdate(WriteBody):
    """Changes to a co-funding arrangement: only the fields given change. Contributions change through
    `/v1/co-funding/{ref}/contributions`."""

    name: Name | UnsetType = UNSET
    slug: Slug | UnsetType = UNSET
    description: Annotated[LongText | None, ARRANGEMENT_DESCRIPTION] | UnsetType = UNSET
    purpose: Annotated[LongText | None, PURPOSE] | UnsetType = UNSET
    lead: Annotated[Ref | None, LEAD] | UnsetType = UNSET
    starts_on: Annotated[Date | None, STARTS] | UnsetType = UNSET
    ends_on: Annotated[Date | None, ENDS] | UnsetType = UNSET
    places: Annotated[list[Ref], PLACES] | UnsetType = UNSET
