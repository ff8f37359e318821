"""Interest groups: time-limited groups convened by an organisation, with members and places."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from api.schemas.common import Date, LongText, Name, Page, Provenance, Ref, Reference, Slug, WriteBody

MembershipRole = Literal["convenor", "member", "observer"]
ROLE = Meta(description="The organisation's part in the group: `convenor`, `member` or `observer`.")
JOINED = Meta(description="When the organisation joined, when known.")
LEFT = Meta(description="When the organisation left; empty while it is still a member.")
CONVENOR = Meta(description="The organisation that convenes the group.")
STARTS = Meta(description="When the group started, when known.")
ENDS = Meta(description="When the group ended or is due to end; empty if open-ended or unknown.")
PLACES = Meta(description="The places the group covers; a place includes every place below it.", max_length=500)
GROUP_DESCRIPTION = Meta(description="What the group is for and who it brings together.")


class Membership(Provenance):
    """An organisation's membership of an interest group."""

    id: Annotated[UUID, Meta(description="The membership's UUID.")]
    organisation: Annotated[Reference, Meta(description="The member organisation.")]
    role: Annotated[MembershipRole, ROLE]
    joined_on: Annotated[Date | None, JOINED]
    left_on: Annotated[Date | None, LEFT]


class MembershipCreate(WriteBody):
    """An organisation joining an interest group."""

    organisation: Annotated[Ref, Meta(description="The organisation joining.", examples=["lankelly-chase-foundation"])]
    role: Annotated[MembershipRole, ROLE] = "member"
    joined_on: Annotated[Date | None, JOINED] = None
    left_on: Annotated[Date | None, LEFT] = None


class MembershipUpdate(WriteBody):
    """Changes to a membership: only the fields given change."""

    role: Annotated[MembershipRole, ROLE] | UnsetType = UNSET
    joined_on: Annotated[Date | None, JOINED] | UnsetType = UNSET
    left_on: Annotated[Date | None, LEFT] | UnsetType = UNSET


class InterestGroup(Provenance):
    """A group of organisations with a shared interest, convened for a time."""

    id: Annotated[UUID, Meta(description="The group's UUID.")]
    slug: Slug
    name: Annotated[str, Meta(description="The group's name.")]
    description: Annotated[str | None, GROUP_DESCRIPTION]
    convenor: Annotated[Reference | None, CONVENOR]
    starts_on: Annotated[Date | None, STARTS]
    ends_on: Annotated[Date | None, ENDS]
    places: Annotated[list[Reference], PLACES]
    members: Annotated[list[Membership], Meta(description="The group's members, convenor included.")]


class InterestGroupPage(Page[InterestGroup]):
    """A page of interest groups."""


class InterestGroupCreate(WriteBody):
    """A new interest group, optionally with its first members."""

    name: Annotated[Name, Meta(description="The group's name.", examples=["Place-based funders interest group"])]
    slug: Slug | None = None
    description: Annotated[LongText | None, GROUP_DESCRIPTION] = None
    convenor: Annotated[Ref | None, CONVENOR] = None
    starts_on: Annotated[Date | None, STARTS] = None
    ends_on: Annotated[Date | None, ENDS] = None
    places: Annotated[list[Ref], PLACES] = msgspec.field(default_factory=list)
    members: Annotated[list[MembershipCreate], Meta(description="Members to add with the group.", max_length=1000)] = (
        msgspec.field(default_factory=list)
    )


class InterestGroupUpdate(WriteBody):
    """Changes to an interest group: only the fields given change. Members change through
    `/v1/interest-groups/{ref}/members`."""

    name: Name | UnsetType = UNSET
    slug: Slug | UnsetType = UNSET
    description: Annotated[LongText | None, GROUP_DESCRIPTION] | UnsetType = UNSET
    convenor: Annotated[Ref | None, CONVENOR] | UnsetType = UNSET
    starts_on: Annotated[Date | None, STARTS] | UnsetType = UNSET
    ends_on: Annotated[Date | None, ENDS] | UnsetType = UNSET
    places: Annotated[list[Ref], PLACES] | UnsetType = UNSET
