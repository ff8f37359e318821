"""Organisations: every body in the network, keyed by its org-id where it has one."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

import msgspec
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
    other_org_ids: Annotated[
        list[str] | None,
        Meta(
            description="The org-ids of organisations merged into this one, besides its own `org_id`: each "
            "still names it. Null when there are none."
        ),
    ] = None


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


# Duplicates and merging ------------------------------------------------------------------------------------

DuplicateReason = Literal["same_org_id", "registered_number", "same_name"]


class DuplicateEvidence(msgspec.Struct, frozen=True):
    """One reason to think two organisations are one body."""

    reason: Annotated[
        DuplicateReason,
        Meta(
            description="`same_org_id`: an identifier of one is an identifier of the other (its org-id or one "
            "kept from a merge). `registered_number`: the same registered number (charity, company, ...) "
            "appears in both organisations' identifiers, under different lists or prefixes. `same_name`: "
            "their names are the same once case, punctuation, `the`, `limited`/`ltd`, `&`/`and`, `cic` and "
            "the like are set aside."
        ),
    ]
    detail: Annotated[str, Meta(description="What matched, in words.", examples=["both have 1136047"])]


class DuplicateCandidate(msgspec.Struct, frozen=True):
    """An organisation that may be the same body as the one asked about."""

    organisation: Annotated[Organisation, Meta(description="The candidate.")]
    score: Annotated[
        float,
        Meta(
            ge=0,
            le=1,
            description="How likely the two are one body, 0 to 1: an org-id in common 1, a registered number "
            "0.9, a name 0.6 (0.3 when both have registered org-ids on the same list that differ); reasons "
            "together count as independent evidence.",
        ),
    ]
    reasons: Annotated[list[DuplicateEvidence], Meta(description="Why it is a candidate, strongest first.")]


class OrganisationDuplicates(msgspec.Struct, frozen=True):
    """The organisations that may be the same body as this one, most likely first."""

    organisation: Annotated[Reference, Meta(description="The organisation asked about.")]
    items: Annotated[list[DuplicateCandidate], Meta(description="The candidates, highest score first, then by name.")]


class OrganisationMerge(WriteBody):
    """Organisations to merge into the one in the path (the survivor)."""

    merge: Annotated[
        list[Ref],
        Meta(
            min_length=1,
            max_length=20,
            description="The organisations to merge into the survivor (UUID, slug or org-id): their records "
            "move to it, and their refs keep naming it.",
            examples=[["user-voice-2"]],
        ),
    ]
    dry_run: Annotated[bool, Meta(description="Report what the merge would move, and change nothing.")] = False


class MergeMove(msgspec.Struct, frozen=True):
    """One record that refers to a merged organisation, and what the merge does to it."""

    collection: Annotated[str, Meta(description="The record's collection, as in the change feed.", examples=["grants"])]
    record: Annotated[
        Reference, Meta(description="The record (for a membership or contribution, its group or arrangement).")
    ]
    field: Annotated[str, Meta(description="The field that named the merged organisation.", examples=["recipient"])]
    outcome: Annotated[
        Literal["moved", "dropped", "combined"],
        Meta(
            description="`moved`: it now names the survivor. `dropped`: the survivor already had the same place "
            "in the record (a membership, a party, a participant), so the merged one's is removed. "
            "`combined`: both contributed to an arrangement; the amounts are added into the survivor's."
        ),
    ]


class MergeReport(msgspec.Struct, frozen=True):
    """What a merge did, or would do (`dry_run`)."""

    survivor: Annotated[
        Organisation, Meta(description="The organisation the others were merged into, after the merge.")
    ]
    merged: Annotated[list[Reference], Meta(description="The organisations merged away.")]
    dry_run: Annotated[bool, Meta(description="True when nothing was changed.")]
    aliases: Annotated[
        list[str], Meta(description="The merged organisations' UUIDs, slugs and org-ids, now naming the survivor.")
    ]
    moved: Annotated[list[MergeMove], Meta(description="Each record that named a merged organisation.")]
    also_moved: Annotated[
        dict[str, int],
        Meta(
            description="Other references moved, counted: records the merged organisations contributed "
            "(`contributed_by`), change-feed entries they wrote, and their API keys."
        ),
    ]
