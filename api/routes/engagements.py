"""/v1/engagements: meetings, discussion series and consultations."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, delete, get, patch, post
from litestar.params import JSONBody, Parameter

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
    PlaceFilter,
    Query,
    RefPath,
    Sort,
    created,
    page_response,
    ref_filter,
)
from api.schemas.engagements import Engagement, EngagementCreate, EngagementKind, EngagementPage, EngagementUpdate
from api.services.records import crud
from api.services.records import resource as records
from api.services.resources import engagements


class EngagementController(Controller):
    path = "/v1/engagements"
    tags = ["Engagements"]

    @get("/", summary="List engagements", responses=LIST_PROBLEMS, response_headers=LINK_HEADER)
    async def list_engagements(
        self,
        request: AnyRequest,
        kind: Annotated[EngagementKind | None, Parameter(description="Only engagements of this kind.")] = None,
        organisation: Annotated[
            str | None,
            ref_filter("Only engagements this organisation convened or took part in (UUID, slug or org-id)."),
        ] = None,
        place: PlaceFilter = None,
        active_on: ActiveOn = None,
        q: Query = None,
        sort: Sort = "name",
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Response[EngagementPage]:
        """Engagements with their participants, filtered and a page at a time."""
        page = await engagements.list_engagements(
            kind=kind,
            organisation=organisation,
            place=place,
            active_on_day=active_on,
            q=q,
            sort=sort,
            limit=limit,
            cursor=cursor,
        )
        return page_response(request, page)

    @get("/{ref:str}", summary="Get an engagement", responses=READ_PROBLEMS)
    async def get_engagement(self, ref: RefPath) -> Engagement:
        """One engagement, by UUID or slug."""
        return await records.get(engagements.RESOURCE, ref)

    @post("/", summary="Add an engagement", responses=WRITE_PROBLEMS)
    async def create_engagement(
        self, request: AnyRequest, data: JSONBody[EngagementCreate], actor: Acting
    ) -> Response[Engagement]:
        """Add an engagement with its convenor, participants and places."""
        record = await crud.create(engagements.RESOURCE, data, actor=actor)
        return created(request, record, record.id)

    @patch("/{ref:str}", summary="Change an engagement", responses=WRITE_PROBLEMS)
    async def update_engagement(self, ref: RefPath, data: JSONBody[EngagementUpdate], actor: Acting) -> Engagement:
        """Change the fields given; a list given replaces the old one."""
        return await crud.update(engagements.RESOURCE, ref, data, actor=actor)

    @delete("/{ref:str}", summary="Delete an engagement", responses=WRITE_PROBLEMS)
    async def delete_engagement(self, ref: RefPath, actor: Acting) -> None:
        """Delete an engagement."""
        await crud.delete(engagements.RESOURCE, ref, actor=actor)
