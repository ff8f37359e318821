"""The collaboration network: organisations as nodes, linked by the records in which they worked together,
each link with its strength and how many records of each kind make it, a page of the strongest at a time;
the evidence behind one link; an organisation's neighbourhood and collaborators; the shortest chain between
two organisations."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import Meta

from api.schemas.activity import COLLABORATION_KIND, CollaborationKind, OrganisationSummary, Role
from api.schemas.common import Reference

WEIGHT = Meta(
    ge=0,
    description="How strongly the two are linked: the summed strength of the records that link them, each "
    "adding 1 (co-funders of one arrangement; a funder and whom it pays; research commissioners with each "
    "other and with their partners) or 1/(n-1), n being how many organisations take part in the record "
    "(research partners with each other; an interest group's members and convenor pairwise, its observers "
    "with its convenor; an engagement's convenor with each participant, never two participants). Roles that "
    "the rules do not pair make no link. A decimal, rounded to 6 places (so a link made only by a group of more "
    "than two million could round to 0); docs/network.md has the table.",
)
RECORDS = Meta(ge=1, description="How many records link the two (each counted once, whatever it adds to `weight`).")
EVIDENCE = Meta(description="Each record that links the two, with their roles in it and what it adds to `weight`.")


class EvidenceRoles(msgspec.Struct, kw_only=True):
    """Each side's roles in a shared record. Interest group: `convenor`, `member`, `observer`. Co-funding
    arrangement: `lead`, `funder`, `recipient` (carried out research it paid for). Research: `commissioner`,
    `partner`. Grant: `funder`, `recipient`. Engagement: `convenor`, `participant`."""

    source: Annotated[list[Role], Meta(description="The roles of the link's `source` organisation.")]
    target: Annotated[list[Role], Meta(description="The roles of the link's `target` organisation.")]


class Evidence(msgspec.Struct, kw_only=True):
    """One record two organisations share, and their roles in it."""

    kind: Annotated[CollaborationKind, COLLABORATION_KIND]
    record: Annotated[Reference, Meta(description="The shared record; follow it in its kind's collection.")]
    roles: EvidenceRoles
    weight: Annotated[
        float, Meta(ge=0, le=1, description="What this record adds to the link's `weight`: 1, or 1/(n-1) when damped.")
    ]


class Node(OrganisationSummary, kw_only=True):
    """An organisation in the network, with its measures."""

    degree: Annotated[int, Meta(ge=0, description="How many other organisations it is linked to.")]
    strength: Annotated[float, Meta(ge=0, description="The sum of the weights of its links (a decimal, to 6 places).")]
    centrality: (
        Annotated[
            float,
            Meta(
                ge=0,
                le=1,
                description="Normalised betweenness centrality: the share of shortest chains between two other "
                "organisations that pass through this one (0 to 1). It is high for organisations that bridge "
                "otherwise separate parts of the network. For the whole network, as measured in the background "
                "(`measured_at_change` says when; above 500 organisations estimated from up to 200 sampled "
                "organisations with a fixed seed, fewer on large, dense networks); null for an organisation linked "
                "since. For a place's network or a filtered one, measured exactly for the answer when it has at "
                "most 500 organisations, and null above that: a bridge in a large network is a question for the "
                "download (`format=graphml`) and a tool like Gephi.",
            ),
        ]
        | None
    )


def _count(what: str) -> Meta:
    return Meta(ge=0, description=f"How many {what} link the two (left out when none do).")


class KindCounts(msgspec.Struct, kw_only=True, omit_defaults=True):
    """How many of the records linking two organisations are of each kind; a kind with none is left out.
    The records themselves are at `GET /v1/network/links?between=source,target`."""

    interest_group: Annotated[int, _count("interest groups")] = 0
    co_funding: Annotated[int, _count("co-funding arrangements")] = 0
    research: Annotated[int, _count("pieces of research")] = 0
    grant: Annotated[int, _count("grants")] = 0
    engagement: Annotated[int, _count("engagements")] = 0


KINDS = Meta(
    description='The records linking the two, counted by kind (`{"co_funding": 2, "grant": 1}`); their sum is '
    "`records`. The records themselves: `GET /v1/network/links?between=<source>,<target>`."
)
NEXT_CURSOR = Meta(
    description="Pass as `cursor` (with the same parameters otherwise) for the next page of links; null when "
    "there are no more."
)


class Edge(msgspec.Struct, kw_only=True):
    """Two organisations linked by at least one collaboration record."""

    source: Annotated[UUID, Meta(description="The `id` of one organisation (the one named first).")]
    target: Annotated[UUID, Meta(description="The `id` of the other organisation.")]
    weight: Annotated[float, WEIGHT]
    records: Annotated[int, RECORDS]
    kinds: Annotated[KindCounts, KINDS]


class Network(msgspec.Struct, kw_only=True):
    """A page of the strongest links in scope, and the organisations they join."""

    nodes: Annotated[
        list[Node],
        Meta(
            description="The organisations the page's edges join, by name; with `isolated=true`, the first page "
            "also lists organisations taking part in a record in scope but linked to nobody."
        ),
    ]
    edges: Annotated[
        list[Edge],
        Meta(
            description="Up to `limit` links of at least `min_weight`: strongest first; among equal weights, by "
            "the `id`s of their two ends, the lower first."
        ),
    ]
    total_nodes: Annotated[
        int, Meta(ge=0, description="How many organisations take part in a record in scope, linked or not.")
    ]
    total_edges: Annotated[
        int, Meta(ge=0, description="How many links of at least `min_weight` there are in scope, on every page.")
    ]
    truncated: Annotated[
        bool,
        Meta(
            description="Whether links in scope of at least `min_weight` are not in this answer (`edges` has "
            "fewer than `total_edges`): page through them with `next_cursor`, or download the whole network "
            "(`format=graphml` or `format=csv`)."
        ),
    ]
    next_cursor: Annotated[str | None, NEXT_CURSOR]
    measured_at_change: Annotated[
        int | None,
        Meta(
            description="With no filter, the nodes' centrality is the whole network's, measured in the "
            "background: this is the change-feed position (`/v1/changes`) it reflects, so a request never waits "
            "for it (an organisation linked since has none yet: null). Degree and strength are always current. "
            "Null when centrality was measured for this answer (or not at all): with a filter, or before the "
            "first background measure."
        ),
    ] = None


class LinkEvidence(msgspec.Struct, kw_only=True):
    """The records that link two organisations, a page at a time."""

    source: Annotated[OrganisationSummary, Meta(description="The first organisation of `between`.")]
    target: Annotated[OrganisationSummary, Meta(description="The second organisation of `between`.")]
    weight: Annotated[
        float, Meta(ge=0, description="The link's weight, as in the network: 0 when no record in scope links them.")
    ]
    records: Annotated[int, Meta(ge=0, description="How many records link the two, on every page.")]
    kinds: Annotated[KindCounts, KINDS]
    evidence: Annotated[
        list[Evidence],
        Meta(
            description="Up to `limit` records by kind, then name: each with the two organisations' roles in it "
            "(`roles.source` is the first of `between`) and what it adds to `weight`."
        ),
    ]
    next_cursor: Annotated[
        str | None, Meta(description="Pass as `cursor` for the next page of records; null on the last page.")
    ]


class NeighbourNode(OrganisationSummary, kw_only=True):
    """An organisation in a neighbourhood, with how far it is from the one asked about."""

    distance: Annotated[
        int, Meta(ge=0, le=2, description="Hops from the organisation asked about: 0 (itself), 1 or 2.")
    ]
    degree: Annotated[
        int, Meta(ge=0, description="How many organisations it is linked to in the whole network in scope.")
    ]
    strength: Annotated[
        float, Meta(ge=0, description="The sum of the weights of all its links in scope (a decimal, to 6 places).")
    ]


class Neighbourhood(msgspec.Struct, kw_only=True):
    """An organisation's links (depth 1), or its links and its neighbours' (depth 2), strongest first."""

    organisation: Annotated[Reference, Meta(description="The organisation asked about.")]
    depth: Annotated[int, Meta(ge=1, le=2, description="1 or 2, as asked.")]
    nodes: Annotated[list[NeighbourNode], Meta(description="The organisations the page's edges join, by name.")]
    edges: Annotated[
        list[Edge],
        Meta(
            description="Up to `limit` links of at least `min_weight` with the organisation at one end (depth 1) "
            "or it or one of its neighbours (depth 2): strongest first; among equal weights, by the `id`s of "
            "their two ends, the lower first."
        ),
    ]
    total_edges: Annotated[
        int,
        Meta(
            ge=0,
            description="How many such links of at least `min_weight` there are, on every page; at depth 2 "
            "counted up to 10,000 (`total_edges_capped` says when there are more).",
        ),
    ]
    total_edges_capped: Annotated[
        bool,
        Meta(
            description="True when the count stopped at 10,000: around a hub, depth 2 can be most of the "
            "network. Every link is still reachable by `next_cursor`, or in the whole network's download."
        ),
    ] = False
    truncated: Annotated[bool, Meta(description="Whether some of those links are not in this answer.")]
    next_cursor: Annotated[str | None, NEXT_CURSOR]


class Collaborator(msgspec.Struct, kw_only=True):
    """An organisation linked by collaboration records to the one asked about."""

    organisation: OrganisationSummary
    weight: Annotated[float, WEIGHT]
    records: Annotated[int, RECORDS]
    evidence: Annotated[
        list[Evidence],
        Meta(
            description="The first records that link them (`evidence` of them, by kind, then name; `records` "
            "counts them all); `roles.source` is the organisation asked about, `roles.target` this one."
        ),
    ]


class Collaborators(msgspec.Struct, kw_only=True):
    """An organisation's collaborators, ranked by the weight of their links."""

    organisation: Annotated[Reference, Meta(description="The organisation asked about.")]
    total: Annotated[int, Meta(ge=0, description="How many collaborators it has in all, whatever the limit.")]
    collaborators: Annotated[
        list[Collaborator],
        Meta(description="Strongest link first, then by name; up to `limit`."),
    ]


class Hop(msgspec.Struct, kw_only=True):
    """One step of a chain: two organisations linked by records."""

    source: OrganisationSummary
    target: OrganisationSummary
    weight: Annotated[float, WEIGHT]
    records: Annotated[int, RECORDS]
    evidence: Annotated[list[Evidence], EVIDENCE]


class NetworkPath(msgspec.Struct, kw_only=True):
    """The shortest chain of collaborations from one organisation to another."""

    from_: Annotated[Reference, Meta(description="Where the chain starts.")] = msgspec.field(name="from")
    to: Annotated[Reference, Meta(description="Where it ends.")]
    length: Annotated[int, Meta(ge=0, description="How many hops: 1 when a record links the two directly.")]
    hops: Annotated[list[Hop], Meta(description="Each hop in order, from `from` to `to`.")]
