"""/v1/network: the collaboration network (JSON or GraphML) and the shortest chain between two
organisations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from litestar import Controller, Response, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, Schema
from litestar.params import Parameter, QueryParameter

from api.http.errors import PROBLEM_MEDIA_TYPE
from api.routes.common import ActiveOn, AnyRequest, problems
from api.routes.filters import CollaborationKinds, DateFrom, DateTo, ScopePlace
from api.schemas.common import NO_NUL, Problem
from api.schemas.network import Network, NetworkPath
from api.services.views import network as network_service
from api.services.views.activity import ScopeFilters

JSON = "application/json"
GRAPHML = "application/graphml+xml"


@dataclass
class WithGraphML(Operation):
    """The operation's 200 answers GraphML too, when asked for it."""

    def __post_init__(self) -> None:
        ok = (self.responses or {}).get("200")
        if isinstance(ok, OpenAPIResponse) and ok.content is not None:
            ok.content[GRAPHML] = OpenAPIMediaType(
                schema=Schema(
                    type=OpenAPIType.STRING,
                    description="GraphML (http://graphml.graphdrawing.org/): nodes with label, slug, kind, "
                    "degree, strength and centrality; edges with weight, records, kinds and evidence as text.",
                )
            )


NETWORK_DESCRIPTION = f"""Organisations as nodes, linked when their parts in the same collaboration record say
they worked together. Each kind of record links its parties in its own way, and only as this table says;
n is how many organisations take part in the record (in scope), so that a large group or event adds
little to each of its pairs, as in collaboration-network research:

{network_service.ties_table()}

Roles the table does not pair make no link: being acknowledged or attending a large event is not
collaboration, so two participants of one engagement are never linked by it. An organisation holding
several roles in one record is linked by the strongest tie among them, once per record.

Each edge's `weight` is the summed strength of the records linking the two (a decimal, to 6 places),
`records` how many records those are, and its evidence lists them with each side's roles and what each
adds. Each node carries its organisation kind, its degree (how many organisations it is linked to), its
strength (the sum of its edge weights) and its normalised betweenness centrality (over the links,
ignoring weights). Every organisation taking part in a record in scope is a node, linked or not.

JSON by default; GraphML, for Gephi, Cytoscape and yEd, with `Accept: application/graphml+xml` or
`format=graphml`. Records are in scope by their time: an interest group's, arrangement's or
engagement's start and end, a grant's planned start (or award date) and planned end, research up to
its publication date; an empty date is open-ended."""


PATH_PROBLEMS = {
    **problems(400, 422),
    404: ResponseSpec(
        data_container=Problem,
        description="No chain of collaborations joins the two organisations (with the filters given).",
        media_type=PROBLEM_MEDIA_TYPE,
    ),
}


class NetworkController(Controller):
    path = "/v1/network"
    tags = ["Network"]

    @get(
        "/",
        summary="Get the collaboration network",
        description=NETWORK_DESCRIPTION,
        responses=problems(400, 422),
        operation_class=WithGraphML,
    )
    async def get_network(
        self,
        request: AnyRequest,
        kind: CollaborationKinds = None,
        organisation: Annotated[
            str | None,
            Parameter(
                description="Only the records this organisation takes part in (UUID, slug or org-id): its own "
                "network, with everyone it shares a record with.",
                min_length=1,
                max_length=200,
                pattern=NO_NUL,
            ),
        ] = None,
        place: ScopePlace = None,
        active_on: ActiveOn = None,
        date_from: DateFrom = None,
        date_to: DateTo = None,
        output: Annotated[
            Literal["json", "graphml"] | None,
            QueryParameter(
                name="format",
                description="`graphml` for GraphML, `json` for JSON, whatever the Accept header (for download links).",
            ),
        ] = None,
        evidence: Annotated[
            int | None,
            Parameter(
                ge=0,
                le=1000,
                # Litestar 2.25 leaves a zero bound out of the schema (it tests the bound for truth).
                schema_extra={"minimum": 0},
                description="At most this many evidence records per edge (the first by kind and name); `weight` "
                "and `records` still count them all. `0` leaves evidence out: the compact network of a large region. "
                "Default: every record.",
            ),
        ] = None,
    ) -> Response[Network]:
        # Its own set: `organisation` says more here than elsewhere, and stands between `kind` and `place`.
        filters = ScopeFilters(
            kinds=kind,
            organisation=organisation,
            place=place,
            active_on=active_on,
            date_from=date_from,
            date_to=date_to,
        )
        network = await network_service.get_network(filters=filters, evidence_limit=evidence)
        if wants_graphml(request, output):
            return Response(network_service.graphml(network), media_type=GRAPHML)  # type: ignore[arg-type]
        return Response(network)

    @get("/path", summary="Find the shortest chain between two organisations", responses=PATH_PROBLEMS)
    async def find_path(
        self,
        source: Annotated[
            str,
            QueryParameter(
                name="from",
                description="Where the chain starts: a UUID, slug or org-id.",
                min_length=1,
                max_length=200,
                pattern=NO_NUL,
            ),
        ],
        target: Annotated[
            str,
            QueryParameter(
                name="to",
                description="Where the chain ends: a UUID, slug or org-id.",
                min_length=1,
                max_length=200,
                pattern=NO_NUL,
            ),
        ],
        kind: CollaborationKinds = None,
        place: ScopePlace = None,
        active_on: ActiveOn = None,
    ) -> NetworkPath:
        """The shortest chain of collaborations from one organisation to another (fewest hops, over the
        links the network draws), each hop with the records linking its two organisations and their roles;
        404 when no chain joins them. The filters limit which records count, as for the network (here `from`
        and `to` name the two organisations, so there is no date range; `active_on` limits the records to
        one day). From an organisation to itself the chain has no hops."""
        return await network_service.find_path(
            source=source, target=target, filters=ScopeFilters(kinds=kind, place=place, active_on=active_on)
        )


def wants_graphml(request: AnyRequest, output: str | None) -> bool:
    """`format` first, then the Accept header; JSON when neither asks for GraphML."""
    if output is not None:
        return output == "graphml"
    return request.accept.best_match([JSON, GRAPHML], default=JSON) == GRAPHML
