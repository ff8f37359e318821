"""Places: the UK's nations, regions, authorities and neighbourhoods, keyed by GSS code."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from api.schemas.common import GssCode, Name, OrgId, Page, Provenance, Ref, Reference, Slug, WriteBody

PlaceLevel = Literal[
    "uk",
    "nation",
    "region",
    "ceremonial_county",
    "former_county",
    "combined_authority",
    "county",
    "local_authority",
    "neighbourhood",
    "other",
]
LEVEL = Meta(
    description="What kind of place it is: `uk`, `nation`, `region`, `ceremonial_county` (a lieutenancy "
    "area such as Merseyside or Berkshire, or a preserved county of Wales, made of current authorities), "
    "`former_county` (an area people still name, such as Avon or Humberside), `combined_authority`, "
    "`county` (an upper-tier authority over districts), `local_authority`, `neighbourhood` (an MSOA) or "
    "`other`."
)
AREA_TYPE = Meta(
    description="The official kind of area, such as `Metropolitan district` or `London borough`.",
    max_length=100,
    pattern=r"^[^\x00]*$",
)
PARENT = Meta(description="The place directly above this one, where it is shown to sit.")
ALSO_WITHIN = Meta(
    description="Larger places this place is also in, beyond its parent: a borough's combined authority, a "
    "district's ceremonial county. A place is in everything above it by any path, so `within=`, `place=` "
    "filters, the map and the tallies count what is in this place in each of them, once.",
    max_length=20,
)
FORMER_CODES = Meta(description="GSS codes the place used to have; each still finds the place.")
LAT = Meta(ge=-90, le=90, description="Latitude of the centroid (WGS84).")
LON = Meta(ge=-180, le=180, description="Longitude of the centroid (WGS84).")
PLACE_ORG_ID = Meta(description="The org-id of the council that governs the area, when it has one.")


class Geometry(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A GeoJSON (RFC 7946) polygon or multipolygon in WGS84 longitude/latitude."""

    type: Literal["Polygon", "MultiPolygon"]
    coordinates: Annotated[list[Any], Meta(description="GeoJSON coordinates.")]


BOUNDARY = Meta(description="The place's boundary as GeoJSON, when known.")


class Place(Provenance):
    """A geographic area in the UK's hierarchy of places."""

    id: Annotated[UUID, Meta(description="The place's UUID.")]
    slug: Slug
    name: Annotated[str, Meta(description="The place's usual name.")]
    gss_code: Annotated[str | None, Meta(description="The current ONS GSS code, when it has one.")]
    former_codes: Annotated[list[str], FORMER_CODES]
    level: Annotated[PlaceLevel, LEVEL]
    area_type: Annotated[str | None, Meta(description=AREA_TYPE.description)]
    parent: Annotated[Reference | None, PARENT]
    also_within: Annotated[list[Reference], ALSO_WITHIN]
    org_id: Annotated[str | None, PLACE_ORG_ID]
    lat: Annotated[float | None, Meta(description=LAT.description)]
    lon: Annotated[float | None, Meta(description=LON.description)]
    boundary: Annotated[Geometry | None, BOUNDARY]


class PlacePage(Page[Place]):
    """A page of places."""


class PlaceCreate(WriteBody):
    """A new place. The slug is made from the name when not given."""

    name: Annotated[Name, Meta(description="The place's usual name.", examples=["Coventry"])]
    level: Annotated[PlaceLevel, LEVEL]
    slug: Slug | None = None
    gss_code: GssCode | None = None
    former_codes: Annotated[list[GssCode], FORMER_CODES, Meta(max_length=50)] = msgspec.field(default_factory=list)
    area_type: Annotated[str, AREA_TYPE] | None = None
    parent: Annotated[Ref | None, PARENT] = None
    also_within: Annotated[list[Ref], ALSO_WITHIN] = msgspec.field(default_factory=list)
    org_id: Annotated[OrgId | None, PLACE_ORG_ID] = None
    lat: Annotated[float, LAT] | None = None
    lon: Annotated[float, LON] | None = None
    boundary: Annotated[Geometry | None, BOUNDARY] = None


class PlaceUpdate(WriteBody):
    """Changes to a place: only the fields given change; null clears an optional field."""

    name: Name | UnsetType = UNSET
    level: Annotated[PlaceLevel, LEVEL] | UnsetType = UNSET
    slug: Slug | UnsetType = UNSET
    gss_code: GssCode | UnsetType | None = UNSET
    former_codes: Annotated[list[GssCode], FORMER_CODES, Meta(max_length=50)] | UnsetType = UNSET
    area_type: Annotated[str, AREA_TYPE] | UnsetType | None = UNSET
    parent: Annotated[Ref | None, PARENT] | UnsetType = UNSET
    also_within: Annotated[list[Ref], ALSO_WITHIN] | UnsetType = UNSET
    org_id: Annotated[OrgId | None, PLACE_ORG_ID] | UnsetType = UNSET
    lat: Annotated[float, LAT] | UnsetType | None = UNSET
    lon: Annotated[float, LON] | UnsetType | None = UNSET
    boundary: Annotated[Geometry | None, BOUNDARY] | UnsetType = UNSET
