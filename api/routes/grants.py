"""/v1/grants: grants, compatible with the 360Giving Data Standard."""

from __future__ import annotations

import datetime
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
    OrganisationFilter,
    Query,
    RefPath,
    Sort,
    created,
    page_response,
)
from api.schemas.common import NO_NUL
from api.schemas.grants import Grant, GrantCreate, GrantPage, GrantUpdate
from api.services import grants, records

OrganisationRef = Annotated[
    str | None,
    Parameter(
        max_length=200,
        pattern=NO_NUL,
    ),
]


class GrantController(Controller):
    path = "/v1/grants"
    tags = ["Grants"]

    @get("/", summary="List grants", responses=LIST_PROBLEMS, response_headers=LINK_HEADER)
    async def list_grants(
        self,
        request: AnyRequest,
        funder: Annotated[OrganisationRef, Parameter(description="Only grants made by this funder.")] = None,
        recipient: Annotated[OrganisationRef, Parameter(description="Only grants to this recipient.")] = None,
        organisation: Annotated[
            OrganisationFilter, Parameter(description="Only grants this organisation made or received.")
        ] = None,
        place: Annotated[
            str | None,
            Parameter(
                description="Only grants benefiting this place or a place below it.", max_length=200, pattern=NO_NUL
            ),
        ] = None,
        programme: Annotated[
            str | None,
            Parameter(
                description="Only grants from this programme (exact name).",
                max_length=300,
                pattern=NO_NUL,
            ),
        ] = None,
        awarded_from: Annotated[
            datetime.date | None, Parameter(description="Only grants awarded on or after this day.")
        ] = None,
        awarded_to: Annotated[
            datetime.date | None, Parameter(description="Only grants awarded on or before this day.")
        ] = None,
        active_on: ActiveOn = None,
        q: Query = None,
        sort: Sort = "name",
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Response[GrantPage]:
        """Grants, filtered and a page at a time. `active_on` uses the planned start and end dates."""
        page = await grants.list_grants(
            funder=funder,
            recipient=recipient,
            organisation=organisation,
            place=place,
            programme=programme,
            awarded_from=awarded_from,
            awarded_to=awarded_to,
            active_on_day=active_on,
            q=q,
            sort=sort,
            limit=limit,
            cursor=cursor,
        )
        return page_response(request, page)

    @get("/{ref:str}", summary="Get a grant", responses=READ_PROBLEMS)
    async def get_grant(self, ref: RefPath) -> Grant:
        """One grant, by UUID, slug or 360Giving identifier."""
        return await records.get(grants.RESOURCE, ref)

    @post("/", summary="Add a grant", responses=WRITE_PROBLEMS)
    async def create_grant(self, request: AnyRequest, data: JSONBody[GrantCreate], actor: Acting) -> Response[Grant]:
        """Add a grant. Its slug and 360Giving identifier must not be taken."""
        record = await records.create(grants.RESOURCE, data, actor=actor)
        return created(request, record, record.slug)

    @patch("/{ref:str}", summary="Change a grant", responses=WRITE_PROBLEMS)
    async def update_grant(self, ref: RefPath, data: JSONBody[GrantUpdate], actor: Acting) -> Grant:
        """Change the fields given; a list given replaces the old one."""
        return await records.update(grants.RESOURCE, ref, data, actor=actor)

    @delete("/{ref:str}", summary="Delete a grant", responses=WRITE_PROBLEMS)
    async def delete_grant(self, ref: RefPath, actor: Acting) -> None:
        """Delete a grant."""
        await records.delete(grants.RESOURCE, ref, actor=actor)
