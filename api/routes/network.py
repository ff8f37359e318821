"""/v1/network: the collaboration network (a page of its strongest links as JSON, or all of it streamed as
GraphML or CSV), the evidence behind one link, and the shortest chain between two organisations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from litestar import Controller, Response, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, Schema
from litestar.params import Parameter, QueryParameter
from litestar.response import Stream

from api.http.errors import PROBLEM_MEDIA_TYPE
from api.routes.common import ActiveOn, AnyRequest, problems
from api.routes.filters import CollaborationKinds, DateFrom, DateTo, LinkCursor, LinkLimit, MinWeight, ScopePlace
from api.schemas.common import NO_NUL, Problem
from api.schemas.network import LinkEvidence, Network, NetworkPath
from api.services.records.cursors import EVIDENCE_CURSOR_PATTERN, MAX_EVIDENCE_CURSOR, MIN_EVIDENCE_CURSOR
from api.services.views import network as network_service
from api.services.views.activity import ScopeFilters

JSON = "application/json"
GRAPHML = "application/graphml+xml"
CSV = "text/csv"
DOWNLOADS = {GRAPHML: "graphml", CSV: "csv"}


@dataclass
class WithDownloads(Operation):
    """The operation's 200 answers GraphML and CSV too, when asked for them."""

    def __post_init__(self) -> None:
        ok = (self.responses or {}).get("200")
        if isinstance(ok, OpenAPIResponse) and ok.content is not None:
            ok.content[GRAPHML] = OpenAPIMediaType(
                schema=Schema(
                    type=OpenAPIType.STRING,
                    description="GraphML (http://graphml.graphdrawing.org/), the whole network in scope, streamed: "
                    "every organisation taking part in a record in scope as a node with label, slug, kind, degree "
                    "and strength; every link of at least `min_weight` as an edge with weight, records, kinds (a "
                    "list) and how many records of each kind.",
                )
            )
            ok.content[CSV] = OpenAPIMediaType(
                schema=Schema(
                    type=OpenAPIType.STRING,
                    description="CSV (RFC 4180), the whole network's links of at least `min_weight`, streamed, "
                    "strongest first: " + ", ".join(f"`{c}`" for c in network_service.CSV_COLUMNS) + ".",
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
`records` how many records those are, and `kinds` how many of them are of each kind; the records
themselves, with each side's roles and what each adds, are at `GET /v1/network/links?between=A,B`. Each
node carries its organisation kind, its degree (how many organisations it is linked to), its strength (the
sum of its edge weights) and its normalised betweenness centrality (over the links, ignoring weights),
all measured in the whole network in scope, whatever `limit`, `min_weight` and `cursor`.

**Bounded.** The JSON answer is a page of links: the strongest first (among equal weights, by the ids of
their two ends), at most `limit` of them ({network_service.DEFAULT_LINKS} by default, at most
{network_service.MAX_LINKS}), only those of at least `min_weight`; `next_cursor` gives the next page.
Its nodes are the organisations those links join (`isolated=true` adds, on the first page, up to `limit`
organisations taking part in a record in scope but linked to nobody). `total_edges` says how many links
there are in all, `total_nodes` how many organisations, and `truncated` whether links were left out.

**The whole network**, for Gephi, Cytoscape and yEd, is a streamed download: GraphML with
`Accept: application/graphml+xml` or `format=graphml`, the links as CSV with `Accept: text/csv` or
`format=csv`. Every organisation and every link in scope (of at least `min_weight`), whatever `limit`,
`cursor` and `isolated`; written as the rows come from the database, so its memory does not grow with the
network. Nodes carry no centrality there: it needs the whole graph at once (Gephi computes it).

Records are in scope by their time: an interest group's, arrangement's or engagement's start and end, a
grant's planned start (or award date) and planned end, research up to its publication date; an empty
date is open-ended."""


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
        operation_class=WithDownloads,
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
            Literal["json", "graphml", "csv"] | None,
            QueryParameter(
                name="format",
                description="`graphml` for the whole network as GraphML, `csv` for its links as CSV (both "
                "streamed), `json` for a page of it as JSON, whatever the Accept header (for download links).",
            ),
        ] = None,
        limit: LinkLimit = network_service.DEFAULT_LINKS,
        min_weight: MinWeight = None,
        cursor: LinkCursor = None,
        isolated: Annotated[
            bool,
            Parameter(
                description="Also list, on the first page, up to `limit` organisations that take part in a record "
                "in scope but are linked to nobody (by name)."
            ),
        ] = False,
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
        wanted = wanted_download(request, output)
        if wanted is not None:
            media_type, name = wanted
            rows = await network_service.download(filters=filters, min_weight=min_weight, output=name)  # type: ignore[arg-type]
            headers = {"Content-Disposition": f'attachment; filename="placenet-network.{name}"'}
            return Stream(rows, media_type=media_type, headers=headers)  # type: ignore[return-value]
        return Response(
            await network_service.get_network(
                filters=filters, limit=limit, min_weight=min_weight, cursor=cursor, isolated=isolated
            )
        )

    @get("/links", summary="List the records behind a link", responses=problems(400, 404, 422))
    async def list_link_evidence(
        self,
        between: Annotated[
            str,
            Parameter(
                description="The two organisations, each a UUID, slug or org-id, separated by a comma "
                "(`between=lankelly-chase-foundation,ivar`). Roles read from the first to the second.",
                min_length=3,
                max_length=401,
                pattern=NO_NUL,
            ),
        ],
        kind: CollaborationKinds = None,
        place: ScopePlace = None,
        active_on: ActiveOn = None,
        date_from: DateFrom = None,
        date_to: DateTo = None,
        limit: Annotated[
            int,
            Parameter(
                ge=1,
                le=network_service.MAX_EVIDENCE,
                description=f"How many records per page, 1 to {network_service.MAX_EVIDENCE}.",
            ),
        ] = network_service.DEFAULT_EVIDENCE,
        cursor: Annotated[
            str | None,
            Parameter(
                description="The `next_cursor` of the previous page, as it was given; omit for the first page.",
                min_length=MIN_EVIDENCE_CURSOR,
                max_length=MAX_EVIDENCE_CURSOR,
                pattern=EVIDENCE_CURSOR_PATTERN,
            ),
        ] = None,
    ) -> LinkEvidence:
        """The evidence behind the link between two organisations in the network: every record in scope
        that links them by the network's rules, by kind and then name, a page at a time, each with both
        organisations' roles in it and what it adds to the link's `weight`; with the link's weight, its
        count of records and their kinds. The filters limit which records count, as for the network. Two
        organisations no record links give no records and a weight of 0; `between` that is not two
        different organisations is a 422, and one that names no organisation a 404."""
        return await network_service.get_link_evidence(
            between=between,
            filters=ScopeFilters(kinds=kind, place=place, active_on=active_on, date_from=date_from, date_to=date_to),
            limit=limit,
            cursor=cursor,
        )

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


def wanted_download(request: AnyRequest, output: str | None) -> tuple[str, str] | None:
    """The download asked for (its media type and format), `format` first, then the Accept header; None for
    JSON, when neither asks for GraphML or CSV."""
    if output is not None:
        return next(((media, name) for media, name in DOWNLOADS.items() if name == output), None)
    best = request.accept.best_match([JSON, GRAPHML, CSV], default=JSON)
    return (best, DOWNLOADS[best]) if best in DOWNLOADS else None
