"""/v1/research: commissioned research."""

from __future__ import annotations

import datetime
from typing import Annotated, Literal

from litestar import Controller, Response, delete, get, patch, post
from litestar.params import JSONBody, Parameter

from api.routes.common import (
    LINK_HEADER,
    LIST_PROBLEMS,
    READ_PROBLEMS,
    WRITE_PROBLEMS,
    Acting,
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
from api.schemas.common import NO_NUL
from api.schemas.research import Research, ResearchCreate, ResearchKind, ResearchPage, ResearchUpdate
from api.services.records import crud
from api.services.records import resource as records
from api.services.resources import research


class ResearchController(Controller):
    path = "/v1/research"
    tags = ["Research"]

    @get("/", summary="List research", responses=LIST_PROBLEMS, response_headers=LINK_HEADER)
    async def list_research(
        self,
        request: AnyRequest,
        kind: Annotated[ResearchKind | None, Parameter(description="Only research of this kind.")] = None,
        organisation: Annotated[
            str | None,
            ref_filter("Only research this organisation commissioned or carried out (UUID, slug or org-id)."),
        ] = None,
        role: Annotated[
            Literal["commissioner", "partner"] | None,
            Parameter(description="With `organisation`: only research where it had this role."),
        ] = None,
        place: PlaceFilter = None,
        funded_by: Annotated[
            str | None,
            Parameter(
                description="Only research paid for by this co-funding arrangement.",
                min_length=1,
                max_length=200,
                pattern=NO_NUL,
            ),
        ] = None,
        published_from: Annotated[
            datetime.date | None, Parameter(description="Only research published on or after this day.")
        ] = None,
        published_to: Annotated[
            datetime.date | None,
            Parameter(
                description="Only research published on or before this day; before `published_from` it is a 422."
            ),
        ] = None,
        q: Query = None,
        sort: Sort = "name",
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Response[ResearchPage]:
        """Commissioned research, filtered and a page at a time."""
        page = await research.list_research(
            kind=kind,
            organisation=organisation,
            role=role,
            place=place,
            funded_by=funded_by,
            published_from=published_from,
            published_to=published_to,
            q=q,
            sort=sort,
            limit=limit,
            cursor=cursor,
        )
        return page_response(request, page)

    @get("/{ref:str}", summary="Get a piece of research", responses=READ_PROBLEMS)
    async def get_research(self, ref: RefPath) -> Research:
        """One piece of research, by UUID or slug."""
        return await records.get(research.RESOURCE, ref)

    @post("/", summary="Add a piece of research", responses=WRITE_PROBLEMS)
    async def create_research(
        self, request: AnyRequest, data: JSONBody[ResearchCreate], actor: Acting
    ) -> Response[Research]:
        """Add a piece of research with its commissioners, partners and places."""
        record = await crud.create(research.RESOURCE, data, actor=actor)
        return created(request, record, record.id)

    @patch("/{ref:str}", summary="Change a piece of research", responses=WRITE_PROBLEMS)
    async def update_research(self, ref: RefPath, data: JSONBody[ResearchUpdate], actor: Acting) -> Research:
        """Change the fields given; a list given replaces the old one."""
        return await crud.update(research.RESOURCE, ref, data, actor=actor)

    @delete("/{ref:str}", summary="Delete a piece of research", responses=WRITE_PROBLEMS)
    async def delete_research(self, ref: RefPath, actor: Acting) -> None:
        """Delete a piece of research."""
        await crud.delete(research.RESOURCE, ref, actor=actor)
