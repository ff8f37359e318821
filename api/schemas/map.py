"""The shared map: places at one level as a GeoJSON (RFC 7946) FeatureCollection, each with counts of the
records in it and below it, and the money awarded or pooled there."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from api.schemas.common import Money
from api.schemas.places import LEVEL, PlaceLevel

MapKind = Literal["organisation", "interest_group", "co_funding", "research", "grant", "engagement"]
MAP_KIND = Meta(
    description="A kind of record: `organisation` (counted under its home place), `interest_group`, "
    "`co_funding`, `research`, `grant` or `engagement`."
)
Position = Annotated[
    list[float],
    Meta(
        min_length=2,
        max_length=2,
        description="A GeoJSON position: [longitude, latitude] in WGS84, longitude first.",
        examples=[[-1.51, 52.41]],
    ),
]


class Point(msgspec.Struct, tag_field="type", tag="Point", kw_only=True):
    """A GeoJSON Point: the place's centroid."""

    coordinates: Position


class Polygon(msgspec.Struct, tag_field="type", tag="Polygon", kw_only=True):
    """A GeoJSON Polygon: the place's boundary, as linear rings of positions."""

    coordinates: Annotated[list[list[Position]], Meta(description="Linear rings: the outer ring, then any holes.")]


class MultiPolygon(msgspec.Struct, tag_field="type", tag="MultiPolygon", kw_only=True):
    """A GeoJSON MultiPolygon: the place's boundary in several parts."""

    coordinates: Annotated[list[list[list[Position]]], Meta(description="Polygons, each a list of linear rings.")]


Geometry = Point | Polygon | MultiPolygon


class MapCounts(msgspec.Struct, kw_only=True):
    """How many records are in the place or any place below it; a kind left out by `kind` counts 0."""

    organisations: Annotated[int, Meta(ge=0, description="Organisations based there.")]
    interest_groups: Annotated[int, Meta(ge=0, description="Interest groups covering it.")]
    co_funding: Annotated[int, Meta(ge=0, description="Co-funding arrangements for it.")]
    research: Annotated[int, Meta(ge=0, description="Research covering it.")]
    grants: Annotated[int, Meta(ge=0, description="Grants benefiting it.")]
    engagements: Annotated[int, Meta(ge=0, description="Engagements concerning it.")]


class MapMoney(msgspec.Struct, kw_only=True):
    """Money in the place or below it, one total per currency; each record counts once however many of
    the places below it names."""

    awarded: Annotated[list[Money], Meta(description="What the counted grants awarded.")]
    pooled: Annotated[list[Money], Meta(description="What funders contributed to the counted co-funding arrangements.")]


class MapPlace(msgspec.Struct, kw_only=True):
    """A feature's properties: the place, and what is in it and below it."""

    id: Annotated[UUID, Meta(description="The place's UUID.")]
    slug: Annotated[str, Meta(description="The place's slug.")]
    name: Annotated[str, Meta(description="The place's name.")]
    gss_code: Annotated[str | None, Meta(description="The place's current ONS GSS code, when it has one.")]
    level: Annotated[PlaceLevel, LEVEL]
    centroid: Annotated[Position, Meta(description="The centroid, [longitude, latitude], whatever the geometry.")]
    counts: MapCounts
    money: MapMoney


class Feature(msgspec.Struct, kw_only=True):
    """A GeoJSON Feature: one place."""

    type: Literal["Feature"] = "Feature"
    id: Annotated[str, Meta(description="The place's UUID.")]
    geometry: Annotated[
        Geometry,
        Meta(description="The place's boundary when it is known and asked for, otherwise a Point at its centroid."),
    ]
    properties: MapPlace


LeftOutReason = Literal["not_at_level", "unplaced"]


class LeftOut(msgspec.Struct, kw_only=True):
    """Records the filters select that no feature of the map counts, for one reason, and their money."""

    reason: Annotated[
        LeftOutReason,
        Meta(
            description="`not_at_level`: placed, but at no place of this level and inside none: placed only at "
            "broader places (UK-wide, nation-wide or region-wide grants on a map of local authorities: counted "
            "on the maps of those levels, never spread over the places here), or where the level has no places "
            "(English regions do not divide Scotland). `unplaced`: with no place at all, so on no map (not given "
            "on a map of one place, `place=`)."
        ),
    ]
    counts: MapCounts
    money: MapMoney


class FeatureCollection(msgspec.Struct, kw_only=True):
    """A GeoJSON (RFC 7946) FeatureCollection of places, in WGS84 longitude/latitude, with what its counts
    leave out (a foreign member, which GeoJSON readers pass over)."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: Annotated[list[Feature], Meta(description="One feature per place, by name.")]
    left_out: Annotated[
        list[LeftOut],
        Meta(
            description="What the features do not count, by reason (only reasons with something to say): a "
            "map never silently leaves out records the filters select."
        ),
    ] = msgspec.field(default_factory=list)
