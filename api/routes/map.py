"""/v1/map: the shared map as GeoJSON. Also the scope parameters the map, the network and the activity
routes share."""

from __future__ import annotations

import datetime
from typing import Annotated, Literal

from litestar import Controller, get
from litestar.openapi.spec import Example
from litestar.params import Parameter, QueryParameter

from api.routes.common import ActiveOn, OrganisationFilter, problems
from api.schemas.activity import CollaborationKind
from api.schemas.common import NO_NUL
from api.schemas.map import FeatureCollection, MapKind
from api.schemas.places import PlaceLevel
from api.services.views import map as map_service

GEOJSON = "application/geo+json"

NUMBER = r"-?[0-9]{1,3}(?:\.[0-9]{1,15})?"
BBOX_PATTERN = rf"^{NUMBER},{NUMBER},{NUMBER},{NUMBER}$"
MapKinds = Annotated[
    list[MapKind] | None,
    Parameter(
        description="Only these kinds of record: `organisation`, `interest_group`, `co_funding`, `research`, "
        "`grant`, `engagement`; repeat the parameter for several (`kind=grant&kind=co_funding`). Every kind "
        "when omitted.",
    ),
]
CollaborationKinds = Annotated[
    list[CollaborationKind] | None,
    Parameter(
        description="Only these kinds of collaboration record: `interest_group`, `co_funding`, `research`, "
        "`grant`, `engagement`; repeat the parameter for several (`kind=grant&kind=research`). Every kind "
        "when omitted.",
    ),
]
DateFrom = Annotated[
    datetime.date | None,
    QueryParameter(
        name="from",
        description="Only records whose time overlaps the range starting this day (YYYY-MM-DD); an empty "
        "date is open-ended. See `to`.",
    ),
]
DateTo = Annotated[
    datetime.date | None,
    QueryParameter(
        name="to",
        description="Only records whose time overlaps the range ending this day (YYYY-MM-DD); a `to` before "
        "`from` is a 422.",
    ),
]
ScopePlace = Annotated[
    str | None,
    Parameter(
        description="Only records linked to this place or any place below it (UUID, slug or GSS code).",
        min_length=1,
        max_length=200,
        pattern=NO_NUL,
        examples=[Example(value="E12000007", summary="London")],
    ),
]
PerKindLimit = Annotated[int, Parameter(ge=1, le=200, description="How many items of each kind to list, 1 to 200.")]


class MapController(Controller):
    path = "/v1/map"
    tags = ["Map"]

    @get(
        "/",
        summary="Get the map",
        media_type=GEOJSON,
        responses=problems(400, 422),
    )
    async def get_map(
        self,
        level: Annotated[
            PlaceLevel,
            Parameter(description="The level of the places to map: `nation`, `region`, `local_authority`, ..."),
        ] = "local_authority",
        kind: MapKinds = None,
        organisation: OrganisationFilter = None,
        place: Annotated[
            str | None,
            Parameter(
                description="Only map this place and the places below it (UUID, slug or GSS code).",
                min_length=1,
                max_length=200,
                pattern=NO_NUL,
                examples=[Example(value="E12000007", summary="London")],
            ),
        ] = None,
        active_on: ActiveOn = None,
        date_from: DateFrom = None,
        date_to: DateTo = None,
        bbox: Annotated[
            str | None,
            Parameter(
                description="Only places whose centroid is inside this box: `min_lon,min_lat,max_lon,max_lat` "
                "in WGS84 degrees (RFC 7946 order). A min_lon greater than max_lon crosses the antimeridian; "
                "a box off the globe, or with min_lat above max_lat, is a 422.",
                pattern=BBOX_PATTERN,
                max_length=200,
                examples=[Example(value="-0.51,51.28,0.34,51.69", summary="Greater London")],
            ),
        ] = None,
        geometry: Annotated[
            Literal["boundary", "centroid"],
            Parameter(
                description="`boundary`: each place's boundary where it is known, otherwise its centroid; "
                "`centroid`: always a Point at the centroid (lighter)."
            ),
        ] = "boundary",
        with_records: Annotated[
            bool, Parameter(description="Only places with at least one record counted in them.")
        ] = False,
    ) -> FeatureCollection:
        """The places at one level as a GeoJSON (RFC 7946) FeatureCollection, for Leaflet, MapLibre, QGIS and
        the like. Each feature is a place: its geometry is its boundary when it is known (a Point at its
        centroid with `geometry=centroid`), in WGS84 [longitude, latitude] order; its properties count the
        records linked to it or to any place below it (organisations under their home place), each record
        once, and total the money its grants awarded and its co-funding arrangements pooled, per currency.
        Places without a centroid are left out.

        Records are in scope by their time: an interest group's, arrangement's or engagement's start and
        end, a grant's planned start (or award date) and planned end, research up to its publication date;
        an empty date is open-ended. Date filters do not apply to organisations."""
        return await map_service.feature_collection(
            level=level,
            kinds=kind,
            organisation=organisation,
            place=place,
            active_on_day=active_on,
            date_from=date_from,
            date_to=date_to,
            bbox=bbox,
            geometry=geometry,
            with_records=with_records,
        )
