"""The collaboration network: organisations as nodes, linked by the records in which they worked together,
each link with its strength and evidence; an organisation's collaborators; the shortest chain between two
organisations."""

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
    centrality: Annotated[
        float,
        Meta(
            ge=0,
            le=1,
            description="Normalised betweenness centrality: the share of shortest chains between two other "
            "organisations that pass through this one (0 to 1). It is high for organisations that bridge "
            "otherwise separate parts of the network. Exact for networks of up to 500 organisations; above "
            "that, estimated from up to 200 sampled organisations with a fixed seed, so the same data gives "
            "the same scores; fewer (never under 10) on large, dense networks, so that the estimate takes a "
            "bounded amount of work.",
        ),
    ]


class Edge(msgspec.Struct, kw_only=True):
    """Two organisations linked by at least one collaboration record."""

    source: Annotated[UUID, Meta(description="The `id` of one organisation (the one named first).")]
    target: Annotated[UUID, Meta(description="The `id` of the other organisation.")]
    weight: Annotated[float, WEIGHT]
    records: Annotated[int, RECORDS]
    evidence: Annotated[list[Evidence], EVIDENCE]


class Network(msgspec.Struct, kw_only=True):
    """Organisations as nodes and the collaborations between them as edges."""

    nodes: Annotated[list[Node], Meta(description="Every organisation taking part in a record in scope, by name.")]
    edges: Annotated[list[Edge], Meta(description="Every pair of organisations linked by a record in scope, by name.")]


class Collaborator(msgspec.Struct, kw_only=True):
    """An organisation linked by collaboration records to the one asked about."""

    organisation: OrganisationSummary
    weight: Annotated[float, WEIGHT]
    records: Annotated[int, RECORDS]
    evidence: Annotated[
        list[Evidence],
        Meta(
            description="Each record that links them; `roles.source` is the organisation asked about, "
            "`roles.target` this one."
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
