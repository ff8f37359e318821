"""/v1/organisations: every body in the network."""

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
    PlaceFilter,
    Query,
    RefPath,
    Sort,
    created,
    page_response,
)
from api.schemas.organisations import (
    Organisation,
    OrganisationCreate,
    OrganisationKind,
    OrganisationPage,
    OrganisationUpdate,
)
from api.services import organisations, records

KindFilter = Annotated[OrganisationKind | None, Parameter(description="Only organisations of this kind.")]


class OrganisationController(Controller):
    path = "/v1/organisations"
    tags = ["Organisations"]

    @get("/", summary="List organisations", responses=LIST_PROBLEMS, response_headers=LINK_HEADER)
    async def list_organisations(
        self,
        request: AnyRequest,
        kind: KindFilter = None,
        place: Annotated[
            PlaceFilter, Parameter(description="Only organisations based in this place or below it.")
        ] = None,
        q: Query = None,
        sort: Sort = "name",
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Response[OrganisationPage]:
        """Organisations in the network, filtered and a page at a time."""
        page = await organisations.list_organisations(
            kind=kind, place=place, q=q, sort=sort, limit=limit, cursor=cursor
        )
        return page_response(request, page)

    @get("/{ref:str}", summary="Get an organisation", responses=READ_PROBLEMS)
    async def get_organisation(self, ref: RefPath) -> Organisation:
        """One organisation, by UUID, slug or org-id."""
        return await records.get(organisations.RESOURCE, ref)

    @post("/", summary="Add an organisation", responses=WRITE_PROBLEMS)
    async def create_organisation(
        self, request: AnyRequest, data: JSONBody[OrganisationCreate], actor: Acting
    ) -> Response[Organisation]:
        """Add an organisation to the network. Its slug and org-id must not be taken."""
        record = await records.create(organisations.RESOURCE, data, actor=actor)
        return created(request, record, record.slug)

    @patch("/{ref:str}", summary="Change an organisation", responses=WRITE_PROBLEMS)
    async def update_organisation(
        self, ref: RefPath, data: JSONBody[OrganisationUpdate], actor: Acting
    ) -> Organisation:
        """Change the fields given; the rest stay as they are."""
        return await records.update(organisations.RESOURCE, ref, data, actor=actor)

    @delete("/{ref:str}", summary="Delete an organisation", responses=WRITE_PROBLEMS)
    async def delete_organisation(self, ref: RefPath, actor: Acting) -> None:
        """Delete an organisation that nothing refers to any more; otherwise 409 names what does."""
        await records.delete(organisations.RESOURCE, ref, actor=actor)
