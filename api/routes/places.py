"""/v1/places: the UK's hierarchy of places."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Controller, Response, delete, get, patch, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody, Parameter

from api.http.errors import PROBLEM_MEDIA_TYPE
from api.routes.common import (
    LINK_HEADER,
    LIST_PROBLEMS,
    READ_PROBLEMS,
    WRITE_PROBLEMS,
    Acting,
    ActiveOn,
    AnyRequest,
    Cursor,
    Limit,
    OrganisationFilter,
    RefPath,
    Sort,
    created,
    page_response,
    problems,
)
from api.routes.filters import DateFrom, DateTo, MapKinds, PerKindLimit
from api.schemas.activity import PlaceActivity, PlaceFunders
from api.schemas.common import NO_NUL, Problem
from api.schemas.imports import RematchReport
from api.schemas.places import Place, PlaceCreate, PlaceLevel, PlacePage, PlaceUpdate
from api.services.giving360 import gazetteer, rematch
from api.services.records import crud
from api.services.records import resource as records
from api.services.resources import places
from api.services.views import activity
from api.services.views.activity import ScopeFilters

REMATCH_RESPONSES = {
    200: ResponseSpec(
        data_container=RematchReport,
        description="The report: grants examined, changed (placed how now), unchanged, left alone, and what is "
        "still unplaced and why. With `dry_run`, what would change; nothing was written.",
    ),
    **problems(400),
    409: ResponseSpec(
        data_container=Problem,
        description="A request with the same Idempotency-Key is still being processed, or the rematch met another "
        "write made at the same moment; send it again.",
        media_type=PROBLEM_MEDIA_TYPE,
    ),
    422: ResponseSpec(
        data_container=Problem,
        description="The Idempotency-Key was first used with a different request.",
        media_type=PROBLEM_MEDIA_TYPE,
    ),
}
# A path of its own, matched before `/{ref}`: a place whose slug were `rematch` would be reached by its
# UUID or GSS code instead (no UK place has that name; places are added by admins).
REMATCH = "/rematch"


class PlaceController(Controller):
    path = "/v1/places"
    tags = ["Places"]

    @get("/", summary="List places", responses=LIST_PROBLEMS, response_headers=LINK_HEADER)
    async def list_places(
        self,
        request: AnyRequest,
        level: Annotated[PlaceLevel | None, Parameter(description="Only places at this level.")] = None,
        within: Annotated[
            str | None,
            Parameter(
                description="Only this place and the places below it (UUID, slug or GSS code).",
                min_length=1,
                max_length=200,
                pattern=NO_NUL,
            ),
        ] = None,
        parent: Annotated[
            str | None,
            Parameter(
                description="Only the places directly below this one.",
                min_length=1,
                max_length=200,
                pattern=NO_NUL,
            ),
        ] = None,
        q: Annotated[
            str | None,
            Parameter(
                description="Text to look for in names and GSS codes, and in the names the gazetteer knows a "
                "place by: its council's official name ('Hull City Council'), its Welsh name ('Caerdydd') and "
                "common aliases ('UK Wide', 'Greater London').",
                max_length=200,
                pattern=NO_NUL,
            ),
        ] = None,
        sort: Sort = "name",
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Response[PlacePage]:
        """Places, filtered by level and by where they sit among the places (`within` follows every
        membership: a borough is within its region and its combined authority), a page at a time."""
        page = await places.list_places(
            level=level,
            within=within,
            parent=parent,
            q=q,
            also_named=gazetteer.codes_named(q) if q else [],
            sort=sort,
            limit=limit,
            cursor=cursor,
        )
        return page_response(request, page)

    @post(REMATCH, summary="Match imported grants to places again", status_code=200, responses=REMATCH_RESPONSES)
    async def rematch_places(
        self,
        actor: Acting,
        dry_run: Annotated[bool, Parameter(description="Match and report what would change, writing nothing.")] = False,
    ) -> RematchReport:
        """Match every grant a 360Giving import wrote to places again, from what its file published (its
        beneficiary locations, then its recipient's address), through today's gazetteer: for after the
        gazetteer has improved (a reviewed alias, an official name, a place added). Each grant whose places,
        or the record of how they were matched, change is written in one transaction, with a change-feed
        entry (`/v1/changes`), and the map's counts follow; a location that still names no place stays in
        `unmatched_locations`, and a grant whose places were set by hand since its import is left alone.
        A second run changes nothing. Admin keys only (403 otherwise). It answers when done, with the
        report; for a very large database, `placenet places rematch` does the same at the command line."""
        return await rematch.rematch(actor=actor, dry_run=dry_run)

    @get("/{ref:str}", summary="Get a place", responses=READ_PROBLEMS)
    async def get_place(self, ref: RefPath) -> Place:
        """One place, by UUID, slug, or GSS code; a former GSS code finds the place that replaced it."""
        return await records.get(places.RESOURCE, ref)

    @post("/", summary="Add a place", responses=WRITE_PROBLEMS)
    async def create_place(self, request: AnyRequest, data: JSONBody[PlaceCreate], actor: Acting) -> Response[Place]:
        """Add a place under its parent. Its slug, GSS code and former codes must not be taken."""
        record = await crud.create(places.RESOURCE, data, actor=actor)
        return created(request, record, record.id)

    @patch("/{ref:str}", summary="Change a place", responses=WRITE_PROBLEMS)
    async def update_place(self, ref: RefPath, data: JSONBody[PlaceUpdate], actor: Acting) -> Place:
        """Change the fields given. Moving a place moves everything below it with it."""
        return await crud.update(places.RESOURCE, ref, data, actor=actor)

    @delete("/{ref:str}", summary="Delete a place", responses=WRITE_PROBLEMS)
    async def delete_place(self, ref: RefPath, actor: Acting) -> None:
        """Delete a place nothing refers to (no places below it, no records in it); otherwise 409."""
        await crud.delete(places.RESOURCE, ref, actor=actor)

    @get("/{ref:str}/activity", summary="Get a place's activity", responses=problems(400, 404, 422))
    async def get_place_activity(
        self,
        ref: RefPath,
        kind: MapKinds = None,
        organisation: OrganisationFilter = None,
        active_on: ActiveOn = None,
        date_from: DateFrom = None,
        date_to: DateTo = None,
        limit: PerKindLimit = 50,
    ) -> PlaceActivity:
        """Everything in the place and the places below it, grouped by kind: the organisations based there,
        and the interest groups, co-funding arrangements, research, grants and engagements linked to it or
        to a place below it, each with its places, its money and who takes part in what role. Each kind
        gives its `total` and its first `limit` items by name; page through a collection's own list
        (`place=`) for the rest. Date filters apply to the records, not to organisations."""
        filters = ScopeFilters(
            kinds=kind, organisation=organisation, active_on=active_on, date_from=date_from, date_to=date_to
        )
        return await activity.place_activity(ref=ref, filters=filters, limit=limit)

    @get("/{ref:str}/funders", summary="List who funds in a place", responses=problems(400, 404, 422))
    async def list_place_funders(
        self,
        ref: RefPath,
        active_on: ActiveOn = None,
        date_from: DateFrom = None,
        date_to: DateTo = None,
        rank_by: Annotated[
            Literal["count", "amount"],
            Parameter(
                description="`count`: most grants and contributions first, then most money (GBP); `amount`: most "
                "money (GBP) first, then most grants and contributions. Ties go by name."
            ),
        ] = "count",
        limit: Annotated[int, Parameter(ge=1, le=200, description="How many funders to list, 1 to 200.")] = 50,
    ) -> PlaceFunders:
        """Who funds in the place and the places below it: the funders of grants that benefit it and the
        contributors to co-funding arrangements for it, ranked, each with how many grants and contributions
        it made there and what they came to, one total per currency; with the totals for the place. Each
        grant and contribution counts once, however many places below it names."""
        filters = ScopeFilters(active_on=active_on, date_from=date_from, date_to=date_to)
        return await activity.place_funders(ref=ref, filters=filters, rank_by=rank_by, limit=limit)
