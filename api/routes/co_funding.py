"""/v1/co-funding and the contributions of its funders."""

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
from api.schemas.co_funding import (
    CoFunding,
    CoFundingCreate,
    CoFundingPage,
    CoFundingUpdate,
    Contribution,
    ContributionCreate,
    ContributionUpdate,
)
from api.schemas.common import NO_NUL
from api.services.records import children, crud
from api.services.records import resource as records
from api.services.resources import co_funding

FunderPath = Annotated[
    str,
    Parameter(
        description="The funder's UUID, slug or org-id.",
        min_length=1,
        max_length=200,
        pattern=NO_NUL,
    ),
]


class CoFundingController(Controller):
    path = "/v1/co-funding"
    tags = ["Co-funding"]

    @get("/", summary="List co-funding arrangements", responses=LIST_PROBLEMS, response_headers=LINK_HEADER)
    async def list_co_funding(
        self,
        request: AnyRequest,
        funder: Annotated[
            str | None,
            Parameter(
                description="Only arrangements this funder contributes to.",
                min_length=1,
                max_length=200,
                pattern=NO_NUL,
            ),
        ] = None,
        organisation: Annotated[
            str | None,
            ref_filter("Only arrangements this organisation leads or contributes to (UUID, slug or org-id)."),
        ] = None,
        place: PlaceFilter = None,
        active_on: ActiveOn = None,
        q: Query = None,
        sort: Sort = "name",
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Response[CoFundingPage]:
        """Co-funding arrangements with their contributions, filtered and a page at a time."""
        page = await co_funding.list_co_funding(
            funder=funder,
            organisation=organisation,
            place=place,
            active_on_day=active_on,
            q=q,
            sort=sort,
            limit=limit,
            cursor=cursor,
        )
        return page_response(request, page)

    @get("/{ref:str}", summary="Get a co-funding arrangement", responses=READ_PROBLEMS)
    async def get_co_funding(self, ref: RefPath) -> CoFunding:
        """One arrangement with its contributions, by UUID or slug."""
        return await records.get(co_funding.RESOURCE, ref)

    @post("/", summary="Add a co-funding arrangement", responses=WRITE_PROBLEMS)
    async def create_co_funding(
        self, request: AnyRequest, data: JSONBody[CoFundingCreate], actor: Acting
    ) -> Response[CoFunding]:
        """Add an arrangement, optionally with its first contributions."""
        record = await crud.create(co_funding.RESOURCE, data, actor=actor)
        return created(request, record, record.id)

    @patch("/{ref:str}", summary="Change a co-funding arrangement", responses=WRITE_PROBLEMS)
    async def update_co_funding(self, ref: RefPath, data: JSONBody[CoFundingUpdate], actor: Acting) -> CoFunding:
        """Change the fields given; a list given replaces the old one."""
        return await crud.update(co_funding.RESOURCE, ref, data, actor=actor)

    @delete("/{ref:str}", summary="Delete a co-funding arrangement", responses=WRITE_PROBLEMS)
    async def delete_co_funding(self, ref: RefPath, actor: Acting) -> None:
        """Delete an arrangement and its contributions, unless research still names it as its funding."""
        await crud.delete(co_funding.RESOURCE, ref, actor=actor)

    @get("/{ref:str}/contributions", summary="List an arrangement's contributions", responses=READ_PROBLEMS)
    async def list_contributions(self, ref: RefPath) -> list[Contribution]:
        """Every funder's contribution, by funder name."""
        return await children.list_children(co_funding.CONTRIBUTIONS, ref)

    @get("/{ref:str}/contributions/{funder:str}", summary="Get a contribution", responses=READ_PROBLEMS)
    async def get_contribution(self, ref: RefPath, funder: FunderPath) -> Contribution:
        """One funder's contribution to the arrangement."""
        return await children.get_child(co_funding.CONTRIBUTIONS, ref, funder)

    @post("/{ref:str}/contributions", summary="Add a contribution", responses=WRITE_PROBLEMS)
    async def create_contribution(
        self,
        request: AnyRequest,
        ref: RefPath,
        data: JSONBody[ContributionCreate],
        actor: Acting,
    ) -> Response[Contribution]:
        """Add a funder's contribution; each funder contributes once per arrangement."""
        contribution = await children.add_child(co_funding.CONTRIBUTIONS, ref, data, actor=actor)
        return created(request, contribution, contribution.funder.id)

    @patch("/{ref:str}/contributions/{funder:str}", summary="Change a contribution", responses=WRITE_PROBLEMS)
    async def update_contribution(
        self, ref: RefPath, funder: FunderPath, data: JSONBody[ContributionUpdate], actor: Acting
    ) -> Contribution:
        """Change a contribution's amount, kind or description."""
        return await children.update_child(co_funding.CONTRIBUTIONS, ref, funder, data, actor=actor)

    @delete("/{ref:str}/contributions/{funder:str}", summary="Remove a contribution", responses=WRITE_PROBLEMS)
    async def delete_contribution(self, ref: RefPath, funder: FunderPath, actor: Acting) -> None:
        """Remove a funder's contribution from the arrangement."""
        await children.remove_child(co_funding.CONTRIBUTIONS, ref, funder, actor=actor)
