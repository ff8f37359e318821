"""/v1/map: the shared map as GeoJSON."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Controller, get
from litestar.openapi.spec import Example
from litestar.params import Parameter

from api.routes.common import ActiveOn, OrganisationFilter, problems
from api.routes.filters import DateFrom, DateTo, MapKinds
from api.schemas.common import NO_NUL
from api.schemas.map import FeatureCollection
from api.schemas.places import PlaceLevel
from api.services.views import map as map_service
from api.services.views.activity import ScopeFilters

GEOJSON = "application/geo+json"

NUMBER = r"-?[0-9]{1,3}(?:\.[0-9]{1,15})?"
BBOX_PATTERN = rf"^{NUMBER},{NUMBER},{NUMBER},{NUMBER}$"


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
            filters=ScopeFilters(
                kinds=kind,
                organisation=organisation,
                place=place,
                active_on=active_on,
                date_from=date_from,
                date_to=date_to,
            ),
            bbox=bbox,
            geometry=geometry,
            with_records=with_records,
        )
