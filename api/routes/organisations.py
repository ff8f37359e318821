"""/v1/organisations: every body in the network."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Controller, Response, delete, get, patch, post
from litestar.openapi.spec import Example
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
    Query,
    RefPath,
    Sort,
    created,
    page_response,
    problems,
    ref_filter,
)
from api.routes.filters import COLLABORATION_FILTERS, Filters, LinkCursor, LinkLimit, MinWeight, PerKindLimit
from api.schemas.activity import OrganisationActivity
from api.schemas.network import Collaborators, Neighbourhood
from api.schemas.organisations import (
    MergeReport,
    Organisation,
    OrganisationCreate,
    OrganisationDuplicates,
    OrganisationKind,
    OrganisationMerge,
    OrganisationPage,
    OrganisationUpdate,
)
from api.services.records import crud
from api.services.records import resource as records
from api.services.resources import duplicates, merge, organisations
from api.services.views import activity, network

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
            str | None,
            ref_filter(
                "Only organisations based in this place or below it (UUID, slug or GSS code).",
                examples=[Example(value="E12000005", summary="West Midlands region")],
            ),
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
        record = await crud.create(organisations.RESOURCE, data, actor=actor)
        return created(request, record, record.id)

    @patch("/{ref:str}", summary="Change an organisation", responses=WRITE_PROBLEMS)
    async def update_organisation(
        self, ref: RefPath, data: JSONBody[OrganisationUpdate], actor: Acting
    ) -> Organisation:
        """Change the fields given; the rest stay as they are."""
        return await crud.update(organisations.RESOURCE, ref, data, actor=actor)

    @delete("/{ref:str}", summary="Delete an organisation", responses=WRITE_PROBLEMS)
    async def delete_organisation(self, ref: RefPath, actor: Acting) -> None:
        """Delete an organisation that nothing refers to any more; otherwise 409 names what does."""
        await crud.delete(organisations.RESOURCE, ref, actor=actor)

    @get(
        "/{ref:str}/activity",
        summary="Get an organisation's activity",
        responses=problems(400, 404, 422),
        dependencies=COLLABORATION_FILTERS,
    )
    async def get_organisation_activity(
        self, ref: RefPath, filters: Filters, limit: PerKindLimit = 50
    ) -> OrganisationActivity:
        """Every interest group, co-funding arrangement, piece of research, grant and engagement the
        organisation takes part in, grouped by kind, each with the organisation's own roles, its places,
        its money and everyone taking part. Each kind gives its `total` and its first `limit` records
        by name; page through a collection's own list (`organisation=`) for the rest."""
        return await activity.organisation_activity(ref=ref, filters=filters, limit=limit)

    @get(
        "/{ref:str}/collaborators",
        summary="List an organisation's collaborators",
        responses=problems(400, 404, 422),
        dependencies=COLLABORATION_FILTERS,
    )
    async def list_collaborators(
        self,
        ref: RefPath,
        filters: Filters,
        limit: Annotated[int, Parameter(ge=1, le=200, description="How many collaborators to list, 1 to 200.")] = 50,
        evidence: Annotated[
            int,
            Parameter(
                ge=0,
                le=network.MAX_COLLABORATOR_EVIDENCE,
                description="How many of each collaborator's records to show, the first by kind, then name "
                f"(0 to {network.MAX_COLLABORATOR_EVIDENCE}); `records` counts them all, and "
                "`GET /v1/network/links?between=<this>,<collaborator>` pages through every one.",
            ),
        ] = network.DEFAULT_COLLABORATOR_EVIDENCE,
    ) -> Collaborators:
        """The organisations linked to this one in the collaboration network, by the same rules (see
        `GET /v1/network`): strongest link first (then by name), each with its `weight`, how many `records`
        link them, and the evidence: the first `evidence` such records, both organisations' roles in each
        (`source` is this organisation) and what it adds. The filters limit which records count, as for the
        network."""
        return await network.list_collaborators(ref=ref, filters=filters, limit=limit, evidence=evidence)

    @get(
        "/{ref:str}/network",
        summary="Get an organisation's neighbourhood in the network",
        responses=problems(400, 404, 422),
        dependencies=COLLABORATION_FILTERS,
    )
    async def get_organisation_network(
        self,
        ref: RefPath,
        filters: Filters,
        depth: Annotated[
            Literal[1, 2],
            Parameter(
                description="`1`: the organisation's own links. `2`: also its neighbours' links, among "
                "themselves and out to organisations two hops away.",
                schema_extra={"minimum": 1, "maximum": 2},
            ),
        ] = 1,
        limit: LinkLimit = network.DEFAULT_LINKS,
        min_weight: MinWeight = None,
        cursor: LinkCursor = None,
    ) -> Neighbourhood:
        """The organisation's neighbourhood in the collaboration network, by the same rules (see `GET
        /v1/network`): its links (depth 1), or the links of it and of each organisation it is linked to
        (depth 2), strongest first, a page of `limit` at a time, only those of at least `min_weight`
        (neighbours are those linked by such links). Each node says how many hops it is from the
        organisation, and its degree and strength in the whole network in scope; each edge counts its
        records by kind (the records: `GET /v1/network/links?between=A,B`). The filters limit which
        records count, as for the network."""
        return await network.get_neighbourhood(
            ref=ref, filters=filters, depth=depth, limit=limit, min_weight=min_weight, cursor=cursor
        )

    @get(
        "/{ref:str}/duplicates", summary="List an organisation's possible duplicates", responses=problems(400, 404, 422)
    )
    async def list_duplicates(
        self,
        ref: RefPath,
        limit: Annotated[int, Parameter(ge=1, le=100, description="How many candidates to list, 1 to 100.")] = 20,
    ) -> OrganisationDuplicates:
        """Organisations that may be the same body as this one, most likely first: the same org-id
        (including one kept from an earlier merge), the same registered number (a charity or company
        number) in another identifier, or the same name once case, punctuation, `the`, `ltd`/`limited`,
        `&`/`and`, `cic` and the like are set aside. Each gives its reasons and a score from 0 to 1. An
        admin merges the ones that are (`POST /v1/organisations/{ref}/merge`)."""
        return await duplicates.duplicates(ref=ref, limit=limit)

    @post(
        "/{ref:str}/merge",
        summary="Merge organisations into this one",
        status_code=200,
        responses=WRITE_PROBLEMS,
    )
    async def merge_organisations(self, ref: RefPath, data: JSONBody[OrganisationMerge], actor: Acting) -> MergeReport:
        """Merge the organisations in `merge` into this one (admins only): every record that names them
        (grants as funder or recipient, memberships, contributions, leads, research parties, convenors,
        participants, what they contributed, their keys) names this one instead; where this one already
        has the same place (a membership, a party) the merged one's is dropped, and contributions to the
        same arrangement are added together. Their UUIDs, slugs and org-ids keep naming this one; it takes
        a merged org-id when it has none. The change feed and the history show a `merge` of this one and
        a `delete` of each merged one. With `dry_run` nothing changes and the report says what would."""
        return await merge.merge(ref=ref, merge=data.merge, actor=actor, dry_run=data.dry_run)
