"""/v1/interest-groups and their members."""

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
from api.schemas.common import NO_NUL
from api.schemas.interest_groups import (
    InterestGroup,
    InterestGroupCreate,
    InterestGroupPage,
    InterestGroupUpdate,
    Membership,
    MembershipCreate,
    MembershipRole,
    MembershipUpdate,
)
from api.services.records import children, crud
from api.services.records import resource as records
from api.services.resources import interest_groups

OrganisationPath = Annotated[
    str,
    Parameter(
        description="The member organisation's UUID, slug or org-id.",
        min_length=1,
        max_length=200,
        pattern=NO_NUL,
    ),
]


class InterestGroupController(Controller):
    path = "/v1/interest-groups"
    tags = ["Interest groups"]

    @get("/", summary="List interest groups", responses=LIST_PROBLEMS, response_headers=LINK_HEADER)
    async def list_interest_groups(
        self,
        request: AnyRequest,
        organisation: Annotated[
            str | None, ref_filter("Only groups this organisation convenes or belongs to (UUID, slug or org-id).")
        ] = None,
        role: Annotated[
            MembershipRole | None,
            Parameter(description="With `organisation`: only groups where it has this role."),
        ] = None,
        place: PlaceFilter = None,
        active_on: ActiveOn = None,
        q: Query = None,
        sort: Sort = "name",
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Response[InterestGroupPage]:
        """Interest groups with their members, filtered and a page at a time."""
        page = await interest_groups.list_interest_groups(
            organisation=organisation,
            role=role,
            place=place,
            active_on_day=active_on,
            q=q,
            sort=sort,
            limit=limit,
            cursor=cursor,
        )
        return page_response(request, page)

    @get("/{ref:str}", summary="Get an interest group", responses=READ_PROBLEMS)
    async def get_interest_group(self, ref: RefPath) -> InterestGroup:
        """One interest group with its members, by UUID or slug."""
        return await records.get(interest_groups.RESOURCE, ref)

    @post("/", summary="Add an interest group", responses=WRITE_PROBLEMS)
    async def create_interest_group(
        self, request: AnyRequest, data: JSONBody[InterestGroupCreate], actor: Acting
    ) -> Response[InterestGroup]:
        """Add an interest group, optionally with its first members."""
        record = await crud.create(interest_groups.RESOURCE, data, actor=actor)
        return created(request, record, record.id)

    @patch("/{ref:str}", summary="Change an interest group", responses=WRITE_PROBLEMS)
    async def update_interest_group(
        self, ref: RefPath, data: JSONBody[InterestGroupUpdate], actor: Acting
    ) -> InterestGroup:
        """Change the fields given; a list given replaces the old one."""
        return await crud.update(interest_groups.RESOURCE, ref, data, actor=actor)

    @delete("/{ref:str}", summary="Delete an interest group", responses=WRITE_PROBLEMS)
    async def delete_interest_group(self, ref: RefPath, actor: Acting) -> None:
        """Delete an interest group and its memberships."""
        await crud.delete(interest_groups.RESOURCE, ref, actor=actor)

    @get("/{ref:str}/members", summary="List a group's members", responses=READ_PROBLEMS)
    async def list_members(self, ref: RefPath) -> list[Membership]:
        """Every membership of the group, by organisation name."""
        return await children.list_children(interest_groups.MEMBERS, ref)

    @get("/{ref:str}/members/{organisation:str}", summary="Get a membership", responses=READ_PROBLEMS)
    async def get_member(self, ref: RefPath, organisation: OrganisationPath) -> Membership:
        """One organisation's membership of the group."""
        return await children.get_child(interest_groups.MEMBERS, ref, organisation)

    @post("/{ref:str}/members", summary="Add a member", responses=WRITE_PROBLEMS)
    async def create_member(
        self,
        request: AnyRequest,
        ref: RefPath,
        data: JSONBody[MembershipCreate],
        actor: Acting,
    ) -> Response[Membership]:
        """Add an organisation to the group; each organisation can be a member once."""
        membership = await children.add_child(interest_groups.MEMBERS, ref, data, actor=actor)
        return created(request, membership, membership.organisation.id)

    @patch("/{ref:str}/members/{organisation:str}", summary="Change a membership", responses=WRITE_PROBLEMS)
    async def update_member(
        self, ref: RefPath, organisation: OrganisationPath, data: JSONBody[MembershipUpdate], actor: Acting
    ) -> Membership:
        """Change a membership's role or dates; record leaving with `left_on` to keep the history."""
        return await children.update_child(interest_groups.MEMBERS, ref, organisation, data, actor=actor)

    @delete("/{ref:str}/members/{organisation:str}", summary="Remove a member", responses=WRITE_PROBLEMS)
    async def delete_member(self, ref: RefPath, organisation: OrganisationPath, actor: Acting) -> None:
        """Remove a membership entirely (to record that an organisation left, set `left_on` instead)."""
        await children.remove_child(interest_groups.MEMBERS, ref, organisation, actor=actor)
