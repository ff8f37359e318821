"""Engagements: meetings, discussion series and consultations, and who took part."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from api.schemas.common import Date, LongText, Name, Page, Provenance, Ref, Reference, Slug, WriteBody

EngagementKind = Literal["meeting", "meeting_series", "discussion_series", "consultation", "workshop", "other"]
KIND = Meta(
    description="What kind of engagement: `meeting`, `meeting_series` (such as one-to-one meetings), "
    "`discussion_series`, `consultation`, `workshop` or `other`."
)
CONVENOR = Meta(description="The organisation that convened it.")
PARTICIPANTS = Meta(description="The organisations that took part (people are never named).", max_length=1000)
STARTS = Meta(description="When it started, when known.")
ENDS = Meta(description="When it ended, when known.")
PLACES = Meta(description="The places it concerned; a place includes every place below it.", max_length=500)
SUMMARY = Meta(description="What happened and who took part, without naming people.")
OUTPUTS = Meta(description="What came out of it.")
PEOPLE = Meta(ge=0, le=10_000_000, description="At least how many people took part, when known.")


class Engagement(Provenance):
    """A meeting, discussion series or consultation between organisations."""

    id: Annotated[UUID, Meta(description="The engagement's UUID.")]
    slug: Slug
    name: Annotated[str, Meta(description="The engagement's name.")]
    kind: Annotated[EngagementKind, KIND]
    convenor: Annotated[Reference | None, CONVENOR]
    participants: Annotated[list[Reference], PARTICIPANTS]
    starts_on: Annotated[Date | None, STARTS]
    ends_on: Annotated[Date | None, ENDS]
    places: Annotated[list[Reference], PLACES]
    summary: Annotated[str | None, SUMMARY]
    outputs: Annotated[str | None, OUTPUTS]
    people_involved: Annotated[int | None, Meta(description=PEOPLE.description)]


class EngagementPage(Page[Engagement]):
    """A page of engagements."""


class EngagementCreate(WriteBody):
    """A new engagement."""

    name: Annotated[Name, Meta(description="The engagement's name.", examples=["One-to-one meetings with funders"])]
    kind: Annotated[EngagementKind, KIND]
    slug: Slug | None = None
    convenor: Annotated[Ref | None, CONVENOR] = None
    participants: Annotated[list[Ref], PARTICIPANTS] = msgspec.field(default_factory=list)
    starts_on: Annotated[Date | None, STARTS] = None
    ends_on: Annotated[Date | None, ENDS] = None
    places: Annotated[list[Ref], PLACES] = msgspec.field(default_factory=list)
    summary: Annotated[LongText | None, SUMMARY] = None
    outputs: Annotated[LongText | None, OUTPUTS] = None
    people_involved: Annotated[int, PEOPLE] | None = None


class EngagementUpdate(WriteBody):
    """Changes to an engagement: only the fields given change; a list given replaces the old one."""

    name: Name | UnsetType = UNSET
    kind: Annotated[EngagementKind, KIND] | UnsetType = UNSET
    slug: Slug | UnsetType = UNSET
    convenor: Annotated[Ref | None, CONVENOR] | UnsetType = UNSET
    participants: Annotated[list[Ref], PARTICIPANTS] | UnsetType = UNSET
    starts_on: Annotated[Date | None, STARTS] | UnsetType = UNSET
    ends_on: Annotated[Date | None, ENDS] | UnsetType = UNSET
    places: Annotated[list[Ref], PLACES] | UnsetType = UNSET
    summary: Annotated[LongText | None, SUMMARY] | UnsetType = UNSET
    outputs: Annotated[LongText | None, OUTPUTS] | UnsetType = UNSET
    people_involved: Annotated[int, PEOPLE] | UnsetType | None = UNSET
