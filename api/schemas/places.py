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
    "combined_authority",
    "ceremonial_county",
    "former_county",
    "county",
    "local_authority",
    "neighbourhood",
    "other",
]
LEVEL = Meta(
    description="Where the place sits in the hierarchy: `uk`, `nation`, `region`, `combined_authority`, "
    "`county` (an upper-tier authority over districts), `local_authority`, `neighbourhood` (an MSOA) or "
    "`other`."
)
AREA_TYPE = Meta(
    description="The official kind of area, such as `Metropolitan district` or `London borough`.",
    max_length=100,
    pattern=r"^[^\x00]*$",
)
PARENT = Meta(description="The place directly above this one.")
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
    org_id: Annotated[OrgId | None, PLACE_ORG_ID] | UnsetType = UNSET
    lat: Annotated[float, LAT] | UnsetType | None = UNSET
    lon: Annotated[float, LON] | UnsetType | None = UNSET
    boundary: Annotated[Geometry | None, BOUNDARY] | UnsetType = UNSET
