"""/v1/places: the UK's hierarchy of places."""

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
    AnyRequest,
    Cursor,
    Limit,
    RefPath,
    Sort,
    created,
    page_response,
)
from api.schemas.common import NO_NUL
from api.schemas.places import Place, PlaceCreate, PlaceLevel, PlacePage, PlaceUpdate
from api.services import places, records


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
                max_length=200,
                pattern=NO_NUL,
            ),
        ] = None,
        parent: Annotated[
            str | None,
            Parameter(
                description="Only the places directly below this one.",
                max_length=200,
                pattern=NO_NUL,
            ),
        ] = None,
        q: Annotated[
            str | None,
            Parameter(
                description="Text to look for in names and GSS codes.",
                max_length=200,
                pattern=NO_NUL,
            ),
        ] = None,
        sort: Sort = "name",
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Response[PlacePage]:
        """Places, filtered by level and by where they sit in the hierarchy, a page at a time."""
        page = await places.list_places(
            level=level, within=within, parent=parent, q=q, sort=sort, limit=limit, cursor=cursor
        )
        return page_response(request, page)

    @get("/{ref:str}", summary="Get a place", responses=READ_PROBLEMS)
    async def get_place(self, ref: RefPath) -> Place:
        """One place, by UUID, slug, or GSS code; a former GSS code finds the place that replaced it."""
        return await records.get(places.RESOURCE, ref)

    @post("/", summary="Add a place", responses=WRITE_PROBLEMS)
    async def create_place(self, request: AnyRequest, data: JSONBody[PlaceCreate], actor: Acting) -> Response[Place]:
        """Add a place under its parent. Its slug, GSS code and former codes must not be taken."""
        record = await records.create(places.RESOURCE, data, actor=actor)
        return created(request, record, record.slug)

    @patch("/{ref:str}", summary="Change a place", responses=WRITE_PROBLEMS)
    async def update_place(self, ref: RefPath, data: JSONBody[PlaceUpdate], actor: Acting) -> Place:
        """Change the fields given. Moving a place moves everything below it with it."""
        return await records.update(places.RESOURCE, ref, data, actor=actor)

    @delete("/{ref:str}", summary="Delete a place", responses=WRITE_PROBLEMS)
    async def delete_place(self, ref: RefPath, actor: Acting) -> None:
        """Delete a place nothing refers to (no places below it, no records in it); otherwise 409."""
        await records.delete(places.RESOURCE, ref, actor=actor)
