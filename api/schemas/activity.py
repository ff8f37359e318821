"""The story of a place or an organisation: the collaboration records in it, grouped by kind, with who
takes part and in what role; and who funds in a place."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from api.schemas.common import Date, Money, Reference
from api.schemas.organisations import KIND as ORGANISATION_KIND
from api.schemas.organisations import OrganisationKind

CollaborationKind = Literal["interest_group", "co_funding", "research", "grant", "engagement"]
COLLABORATION_KIND = Meta(
    description="What kind of collaboration record: `interest_group`, `co_funding` (a co-funding arrangement), "
    "`research`, `grant` or `engagement`."
)
Role = Literal[
    "convenor", "member", "observer", "lead", "funder", "recipient", "commissioner", "partner", "participant"
]
ROLES = Meta(
    description="The organisation's parts in the record. Interest group: `convenor`, `member` or `observer`. "
    "Co-funding arrangement: `lead`, `funder` (it contributed) or `recipient` (it carried out research the "
    "arrangement paid for). Research: `commissioner` or `partner`. Grant: `funder` or `recipient`. Engagement: "
    "`convenor` or `participant`."
)
OWN_ROLES = Meta(description="The organisation's own parts in the record; " + (ROLES.description or ""))
STARTS = Meta(
    description="When the record's time began, as the date filters read it: a group's, arrangement's or "
    "engagement's start; a grant's planned start (or its award date); empty for research and when unknown."
)
ENDS = Meta(
    description="When the record's time ended, as the date filters read it: a group's, arrangement's or "
    "engagement's end; a grant's planned end; research's publication date; empty when unknown or open."
)
MONEY = Meta(
    description="The money in the record, one total per currency: a grant's amount, or what the funders of a "
    "co-funding arrangement contributed; empty when none is published."
)
TOTAL = Meta(ge=0, description="How many there are in all; `items` holds the first `limit` of them, by name.")


class OrganisationSummary(msgspec.Struct, kw_only=True):
    """An organisation, named, with its kind."""

    id: Annotated[UUID, Meta(description="The organisation's UUID.")]
    slug: Annotated[str, Meta(description="The organisation's slug.")]
    name: Annotated[str, Meta(description="The organisation's name.")]
    kind: Annotated[OrganisationKind, ORGANISATION_KIND]


class Participant(msgspec.Struct, kw_only=True):
    """An organisation taking part in a record, with its roles."""

    organisation: OrganisationSummary
    roles: Annotated[list[Role], ROLES]


class ActivityRecord(msgspec.Struct, kw_only=True):
    """A collaboration record: what it is, when, its money, where, and who takes part."""

    id: Annotated[UUID, Meta(description="The record's UUID; follow it in the record's own collection.")]
    slug: Annotated[str, Meta(description="The record's slug.")]
    name: Annotated[str, Meta(description="The record's name or title.")]
    kind: Annotated[CollaborationKind, COLLABORATION_KIND]
    starts_on: Annotated[Date | None, STARTS]
    ends_on: Annotated[Date | None, ENDS]
    money: Annotated[list[Money], MONEY]
    places: Annotated[list[Reference], Meta(description="The places the record is linked to.")]
    participants: Annotated[
        list[Participant], Meta(description="Every organisation taking part, by name, with its roles.")
    ]


class OrganisationActivityRecord(ActivityRecord, kw_only=True):
    """A collaboration record an organisation takes part in, with the organisation's own roles."""

    roles: Annotated[list[Role], OWN_ROLES]


class RecordGroup(msgspec.Struct, kw_only=True):
    """The records of one kind."""

    total: Annotated[int, TOTAL]
    items: Annotated[list[ActivityRecord], Meta(description="The records, up to the limit per kind.")]


class OrganisationRecordGroup(msgspec.Struct, kw_only=True):
    """The records of one kind that an organisation takes part in."""

    total: Annotated[int, TOTAL]
    items: Annotated[
        list[OrganisationActivityRecord], Meta(description="The records, with the organisation's roles in each.")
    ]


class BasedOrganisation(OrganisationSummary, kw_only=True):
    """An organisation and the place it is based in."""

    home_place: Annotated[Reference, Meta(description="The place the organisation is based in.")]


class OrganisationGroup(msgspec.Struct, kw_only=True):
    """The organisations based in a place or a place below it."""

    total: Annotated[int, TOTAL]
    items: Annotated[list[BasedOrganisation], Meta(description="The organisations based in the place or below it.")]


class PlaceActivity(msgspec.Struct, kw_only=True):
    """Everything in a place and the places below it, grouped by kind."""

    place: Annotated[Reference, Meta(description="The place asked about.")]
    organisations: Annotated[OrganisationGroup, Meta(description="Organisations based there.")]
    interest_groups: Annotated[RecordGroup, Meta(description="Interest groups covering it.")]
    co_funding: Annotated[RecordGroup, Meta(description="Co-funding arrangements for it.")]
    research: Annotated[RecordGroup, Meta(description="Research covering it.")]
    grants: Annotated[RecordGroup, Meta(description="Grants benefiting it.")]
    engagements: Annotated[RecordGroup, Meta(description="Engagements concerning it.")]


class GrantsPlaced(msgspec.Struct, kw_only=True):
    """A number of grants and what they awarded."""

    grants: Annotated[int, Meta(ge=0, description="How many grants.")]
    awarded: Annotated[list[Money], Meta(description="What they awarded, one total per currency.")]


class FunderCoverage(msgspec.Struct, kw_only=True):
    """How much of what an organisation funded the map can show: the grants it made within the dates (the
    place filter aside), with a place and without."""

    placed: Annotated[
        GrantsPlaced, Meta(description="Grants with at least one place: counted on the map and in place filters.")
    ]
    unplaced: Annotated[
        GrantsPlaced,
        Meta(
            description="Grants with no place: on no map and in no place's counts (a 360Giving import reports "
            "why each location placed nothing, and keeps it on the grant as `unmatched_locations`)."
        ),
    ]


class OrganisationActivity(msgspec.Struct, kw_only=True):
    """Every collaboration an organisation takes part in, grouped by kind, with its roles."""

    organisation: Annotated[Reference, Meta(description="The organisation asked about.")]
    interest_groups: Annotated[OrganisationRecordGroup, Meta(description="Groups it convenes or belongs to.")]
    co_funding: Annotated[
        OrganisationRecordGroup, Meta(description="Arrangements it leads, contributes to or is paid by.")
    ]
    research: Annotated[OrganisationRecordGroup, Meta(description="Research it commissioned or carried out.")]
    grants: Annotated[OrganisationRecordGroup, Meta(description="Grants it made or received.")]
    engagements: Annotated[OrganisationRecordGroup, Meta(description="Engagements it convened or took part in.")]
    coverage: Annotated[FunderCoverage, Meta(description="How much of the money it granted the map can place.")]


class Funder(msgspec.Struct, kw_only=True):
    """One funder in a place: its grants and contributions there, and their totals."""

    rank: Annotated[int, Meta(ge=1, description="Its place in the ranking, from 1.")]
    organisation: OrganisationSummary
    grants: Annotated[int, Meta(ge=0, description="How many grants it made that benefit the place.")]
    awarded: Annotated[list[Money], Meta(description="What those grants awarded, one total per currency.")]
    contributions: Annotated[
        int, Meta(ge=0, description="How many co-funding arrangements for the place it contributed to.")
    ]
    contributed: Annotated[list[Money], Meta(description="What it contributed, one total per currency.")]


class FunderTotals(msgspec.Struct, kw_only=True):
    """Everything funded in the place, whatever the limit."""

    funders: Annotated[int, Meta(ge=0, description="How many funders there are.")]
    grants: Annotated[int, Meta(ge=0, description="How many grants benefit the place.")]
    awarded: Annotated[list[Money], Meta(description="What the grants awarded, one total per currency.")]
    contributions: Annotated[int, Meta(ge=0, description="How many contributions to co-funding arrangements.")]
    contributed: Annotated[list[Money], Meta(description="What was contributed, one total per currency.")]


class FundingLeftOut(msgspec.Struct, kw_only=True):
    """Grants and contributions within the dates that the place's totals do not count, for one reason."""

    reason: Annotated[
        Literal["broader", "unplaced"],
        Meta(
            description="`broader`: placed at places that hold this one (the UK, its nation or region, its "
            "combined authority...) and at nothing inside it, such as UK-wide grants: they may benefit the "
            "place, but no one can say how much, so they are counted there, not here. `unplaced`: with no "
            "place at all, so counted in no place."
        ),
    ]
    grants: Annotated[int, Meta(ge=0, description="How many grants.")]
    awarded: Annotated[list[Money], Meta(description="What they awarded, one total per currency.")]
    co_funding: Annotated[int, Meta(ge=0, description="How many co-funding arrangements.")]
    contributed: Annotated[list[Money], Meta(description="What was contributed to them, one total per currency.")]


class PlaceFunders(msgspec.Struct, kw_only=True):
    """Who funds in a place and the places below it, ranked, with totals, and what they leave out."""

    place: Annotated[Reference, Meta(description="The place asked about.")]
    totals: FunderTotals
    funders: Annotated[list[Funder], Meta(description="The funders, best ranked first, up to `limit`.")]
    left_out: Annotated[
        list[FundingLeftOut],
        Meta(description="What the totals do not count, by reason (only reasons with something in them)."),
    ] = msgspec.field(default_factory=list)
