"""Commissioned research: literature reviews, studies, evaluations and co-design work."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from api.schemas.common import Date, LongText, Name, Page, Provenance, Ref, Reference, Slug, Url, WriteBody

ResearchKind = Literal["literature_review", "study", "evaluation", "co_design", "other"]
KIND = Meta(
    description="What kind of research: `literature_review`, `study`, `evaluation`, `co_design` (work "
    "designed together with the people it concerns, such as a manifesto) or `other`."
)
SUMMARY = Meta(description="What the research looked at and found.")
COMMISSIONERS = Meta(description="The organisations that commissioned the research.", max_length=100)
PARTNERS = Meta(description="The organisations that carried it out.", max_length=100)
PLACES = Meta(description="The places it covers; a place includes every place below it.", max_length=500)
PUBLISHED = Meta(description="When it was published, when known.")
URL = Meta(description="Where to read it.")
FUNDED_BY = Meta(description="The co-funding arrangement that paid for it, if any.")


class Research(Provenance):
    """A piece of commissioned research."""

    id: Annotated[UUID, Meta(description="The research's UUID.")]
    slug: Slug
    name: Annotated[str, Meta(description="The research's title.")]
    kind: Annotated[ResearchKind, KIND]
    summary: Annotated[str | None, SUMMARY]
    commissioners: Annotated[list[Reference], COMMISSIONERS]
    partners: Annotated[list[Reference], PARTNERS]
    places: Annotated[list[Reference], PLACES]
    published_on: Annotated[Date | None, PUBLISHED]
    url: Annotated[str | None, URL]
    funded_by: Annotated[Reference | None, FUNDED_BY]


class ResearchPage(Page[Research]):
    """A page of pieces of research."""


class ResearchCreate(WriteBody):
    """A new piece of research."""

    name: Annotated[
        Name, Meta(description="The research's title.", examples=["Place-based working: a literature review"])
    ]
    kind: Annotated[ResearchKind, KIND]
    slug: Slug | None = None
    summary: Annotated[LongText | None, SUMMARY] = None
    commissioners: Annotated[list[Ref], COMMISSIONERS] = msgspec.field(default_factory=list)
    partners: Annotated[list[Ref], PARTNERS] = msgspec.field(default_factory=list)
    places: Annotated[list[Ref], PLACES] = msgspec.field(default_factory=list)
    published_on: Annotated[Date | None, PUBLISHED] = None
    url: Annotated[Url | None, URL] = None
    funded_by: Annotated[Ref | None, FUNDED_BY] = None


class ResearchUpdate(WriteBody):
    """Changes to a piece of research: only the fields given change; a list given replaces the old one."""

    name: Name | UnsetType = UNSET
    kind: Annotated[ResearchKind, KIND] | UnsetType = UNSET
    slug: Slug | UnsetType = UNSET
    summary: Annotated[LongText | None, SUMMARY] | UnsetType = UNSET
    commissioners: Annotated[list[Ref], COMMISSIONERS] | UnsetType = UNSET
    partners: Annotated[list[Ref], PARTNERS] | UnsetType = UNSET
    places: Annotated[list[Ref], PLACES] | UnsetType = UNSET
    published_on: Annotated[Date | None, PUBLISHED] | UnsetType = UNSET
    url: Annotated[Url | None, URL] | UnsetType = UNSET
    funded_by: Annotated[Ref | None, FUNDED_BY] | UnsetType = UNSET
