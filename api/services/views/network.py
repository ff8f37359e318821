"""The collaboration network: organisations linked when their parts in the same record say they worked
together (`TIES`, one table for every kind of record), each link weighted by the summed strength of those
records and carrying them as evidence. The parties of every record in scope come from one query; networkx
measures the graph. docs/network.md explains the rules."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from itertools import pairwise
from typing import TypeVar
from uuid import UUID

import msgspec
import networkx as nx

from api.schemas.activity import OrganisationSummary
from api.schemas.common import Reference
from api.schemas.network import (
    Collaborator,
    Collaborators,
    Edge,
    Evidence,
    EvidenceRoles,
    Hop,
    Network,
    NetworkPath,
    Node,
)
from api.services.platform.errors import NotFound
from api.services.platform.sql import sql
from api.services.records.resource import ORGANISATION, references, resolve, resolve_filter
from api.services.views.activity import (
    ScopeFilters,
    Selection,
    as_uuid,
    ordered_roles,
    reference,
    run,
    selection,
    summary,
)
from models.tables import Organisation

# Betweenness is exact up to this many organisations; above it, estimated from a sample of sources, each
# a breadth-first search over the whole graph (nodes + links). The sample shrinks on big, dense graphs so
# the estimate stays within a fixed amount of work: London at 10k grants (9,066 organisations, 196,154
# links) took 39 s with 200 sources, and takes about 2 s with the 10 the budget allows (bench/results).
EXACT_CENTRALITY = 500
CENTRALITY_SAMPLE = 200
CENTRALITY_SAMPLE_FLOOR = 10
CENTRALITY_BUDGET = 2_000_000  # nodes and links visited, over all the sampled searches
# Link weights are sums of fractions; they are given to this many decimal places.
WEIGHT_PLACES = 6


# How a record links its parties ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Tie:
    """Two roles in one kind of record that make a link between the organisations holding them, and how
    strong it is: 1 per record, or, when `damped`, 1/(n-1) per record, n being how many organisations take
    part in the record (in scope), so that a large group or event adds to each of its pairs as little as
    collaboration-network research does (Newman 2001). Roles with no tie between them make no link: being
    acknowledged or attending a large event is not collaboration."""

    kind: str
    roles: tuple[str, str]
    damped: bool
    why: str

    def weight(self, parties: int) -> float:
        return 1 / (parties - 1) if self.damped else 1.0


# Every link the network draws, and nothing else. An organisation holding several roles in one record is
# linked by the strongest tie among them, once per record.
TIES: tuple[Tie, ...] = (
    Tie("co_funding", ("lead", "funder"), False, "the lead and each co-funder of one arrangement"),
    Tie("co_funding", ("funder", "funder"), False, "co-funders of one arrangement, pairwise"),
    Tie("co_funding", ("lead", "recipient"), False, "the lead and a partner carrying out research it paid for"),
    Tie("co_funding", ("funder", "recipient"), False, "a co-funder and a partner carrying out research it paid for"),
    Tie("grant", ("funder", "recipient"), False, "a grant's funder and its recipient"),
    Tie("research", ("commissioner", "partner"), False, "a commissioner and each partner"),
    Tie("research", ("commissioner", "commissioner"), False, "commissioners of one piece of research, pairwise"),
    Tie("research", ("partner", "partner"), True, "partners of one piece of research, pairwise, damped"),
    Tie("interest_group", ("convenor", "convenor"), True, "co-convenors of a group, damped by its size"),
    Tie("interest_group", ("convenor", "member"), True, "a group's convenor and each member, damped by its size"),
    Tie("interest_group", ("member", "member"), True, "a group's members, pairwise, damped by its size"),
    Tie("interest_group", ("convenor", "observer"), True, "an observer and the convenor only, damped by its size"),
    Tie("engagement", ("convenor", "participant"), True, "an engagement's convenor and each participant, damped"),
)
# The same, by kind, for building.
_TIES: dict[str, list[Tie]] = {}
for _tie in TIES:
    _TIES.setdefault(_tie.kind, []).append(_tie)


def ties_table() -> str:
    """The rules as a Markdown table, for the API's description and docs/network.md."""
    rows = [
        f"| `{tie.kind}` | `{tie.roles[0]}` | `{tie.roles[1]}` | {'1/(n-1)' if tie.damped else '1'} | {tie.why} |"
        for tie in TIES
    ]
    return "\n".join(["| record | role | role | adds per record | what it means |", "|---|---|---|---|---|", *rows])


Party = TypeVar("Party", int, UUID)


def ties(kind: str, parties: dict[Party, set[str]]) -> dict[tuple[Party, Party], float]:
    """What one record adds to each pair of its parties (each pair in order, only those it links): the
    strongest tie between their roles. The work follows the links made: an engagement's convenor and n
    participants is n links, not n² pairs to test."""
    count = len(parties)
    if count < 2:
        return {}
    holding: dict[str, list[Party]] = defaultdict(list)
    for party, roles in parties.items():
        for role in roles:
            holding[role].append(party)
    added: dict[tuple[Party, Party], float] = {}
    for tie in _TIES.get(kind, ()):
        first, second = tie.roles
        weight = tie.weight(count)
        for a in holding.get(first, ()):
            for b in holding.get(second, ()):
                if a == b:
                    continue
                pair = (a, b) if a < b else (b, a)
                if added.get(pair, 0.0) < weight:
                    added[pair] = weight
    return added


def rounded(weight: float) -> float:
    return round(weight, WEIGHT_PLACES)


@dataclass(frozen=True)
class Shared:
    """One record two organisations share: what it is, and each one's roles in it."""

    kind: str
    record: Reference
    roles: dict[UUID, list[str]]

    def evidence(self, source: UUID, target: UUID, weight: float) -> Evidence:
        return Evidence(
            kind=self.kind,  # type: ignore[arg-type]
            record=self.record,
            roles=EvidenceRoles(source=self.roles[source], target=self.roles[target]),  # type: ignore[arg-type]
            weight=rounded(weight),
        )


@dataclass
class Link:
    """Two organisations' shared records that link them (in kind and name order), each with what it adds."""

    records: list[tuple[Shared, float]] = field(default_factory=list)
    weight: float = 0.0

    def evidence(self, source: UUID, target: UUID, limit: int | None = None) -> list[Evidence]:
        return [shared.evidence(source, target, weight) for shared, weight in self.records[:limit]]


@dataclass
class Graph:
    """The network in scope: every organisation in it, named and ranked in name order, each link's shared
    records (in kind and name order), and the same links as a networkx graph for the measures."""

    graph: nx.Graph = field(default_factory=nx.Graph)
    organisations: dict[UUID, OrganisationSummary] = field(default_factory=dict)
    # Each link under its two ends in name order, and each organisation's place in that order.
    links: dict[tuple[UUID, UUID], Link] = field(default_factory=dict)
    rank: dict[UUID, int] = field(default_factory=dict)

    def link(self, source: UUID, target: UUID) -> Link:
        return self.links[(source, target) if self.rank[source] < self.rank[target] else (target, source)]

    def sort_key(self, organisation_id: UUID) -> tuple[str, str]:
        return self.organisations[organisation_id].name, str(organisation_id)


async def build(in_scope: Selection) -> Graph:
    """Every party of every record in scope, in one query, made into a graph. The rows are put in order
    here rather than in SQL: a sort of every party is the costliest part of the query. The links are
    gathered in plain dicts and handed to networkx at once: adding them one by one was a fifth of a
    region's time (bench/results)."""
    rows = await run(
        sql(
            "{} SELECT s.kind, s.record_id, s.slug, s.name, p.role, o.id AS organisation_id, "
            "o.slug AS organisation_slug, o.name AS organisation_name, o.kind AS organisation_kind "
            "FROM selected s JOIN parties p ON p.record_id = s.record_id "
            "JOIN organisation o ON o.id = p.organisation",
            in_scope.views(),
        )
    )
    network = Graph()
    records: dict[UUID, tuple[str, Reference]] = {}
    roles: dict[UUID, dict[UUID, set[str]]] = defaultdict(lambda: defaultdict(set))
    for row in rows:
        record_id = as_uuid(row["record_id"])
        organisation_id = as_uuid(row["organisation_id"])
        if record_id not in records:
            records[record_id] = (row["kind"], Reference(id=record_id, slug=row["slug"], name=row["name"]))
        if organisation_id not in network.organisations:
            network.organisations[organisation_id] = summary(row)
        roles[record_id][organisation_id].add(row["role"])
    # Nodes in name order, so that walks of the graph (and so shortest paths) are the same every time.
    ordered = sorted(network.organisations, key=network.sort_key)
    network.rank = {organisation_id: position for position, organisation_id in enumerate(ordered)}
    # Gathered under the ends' ranks: small numbers hash faster than UUIDs, and sort into name order.
    rank = network.rank
    links: dict[tuple[int, int], Link] = {}
    # Records in kind and name order, so that each link lists its evidence the same way every time.
    for record_id, (kind, record) in sorted(
        records.items(), key=lambda item: (item[1][0], item[1][1].name, str(item[0]))
    ):
        parties = roles[record_id]
        added = ties(kind, {rank[organisation]: r for organisation, r in parties.items()})
        if not added:
            continue
        shared = Shared(kind, record, {organisation: ordered_roles(r) for organisation, r in parties.items()})
        for pair, weight in added.items():
            found = links.get(pair)
            if found is None:
                links[pair] = found = Link()
            found.records.append((shared, weight))
            found.weight += weight
    network.links = {(ordered[a], ordered[b]): links[a, b] for a, b in sorted(links)}
    network.graph.add_nodes_from(ordered)
    network.graph.add_edges_from((a, b, {"weight": rounded(link.weight)}) for (a, b), link in network.links.items())
    return network


def centrality(graph: nx.Graph) -> dict[UUID, float]:
    """Normalised betweenness over the links, ignoring their weights (a weight is a strength, not a
    distance)."""
    if graph.number_of_nodes() <= EXACT_CENTRALITY:
        scores: dict[UUID, float] = nx.betweenness_centrality(graph, normalized=True)
    else:
        scores = nx.betweenness_centrality(graph, k=centrality_sample(graph), normalized=True, seed=0)
    return scores


def centrality_sample(graph: nx.Graph) -> int:
    """How many sources estimate betweenness on a graph too big for the exact measure."""
    per_search: int = graph.number_of_nodes() + graph.number_of_edges()
    return max(CENTRALITY_SAMPLE_FLOOR, min(CENTRALITY_SAMPLE, CENTRALITY_BUDGET // per_search))


def to_network(network: Graph, evidence_limit: int | None = None) -> Network:
    scores = centrality(network.graph)
    degree: dict[UUID, int] = defaultdict(int)
    strength: dict[UUID, float] = defaultdict(float)
    edges = []
    for (a, b), link in network.links.items():
        degree[a] += 1
        degree[b] += 1
        strength[a] += link.weight
        strength[b] += link.weight
        edges.append(
            Edge(
                source=a,
                target=b,
                weight=rounded(link.weight),
                records=len(link.records),
                evidence=link.evidence(a, b, evidence_limit),
            )
        )
    nodes = [
        Node(
            id=organisation.id,
            slug=organisation.slug,
            name=organisation.name,
            kind=organisation.kind,
            degree=degree[organisation.id],
            strength=rounded(strength[organisation.id]),
            centrality=round(min(1.0, max(0.0, scores.get(organisation.id, 0.0))), 6),
        )
        for organisation in (network.organisations[organisation_id] for organisation_id in network.rank)
    ]
    return Network(nodes=nodes, edges=edges)


async def get_network(*, filters: ScopeFilters, evidence_limit: int | None = None) -> Network:
    return to_network(await build(await selection(filters)), evidence_limit)


def graphml(network: Network) -> str:
    """The network as GraphML for Gephi, Cytoscape and yEd: node and edge attributes are scalars, the
    evidence a readable list of `kind:slug (source roles / target roles)`."""
    graph = nx.Graph()
    for node in network.nodes:
        graph.add_node(
            str(node.id),
            label=node.name,
            slug=node.slug,
            kind=node.kind,
            degree=node.degree,
            strength=node.strength,
            centrality=node.centrality,
        )
    for edge in network.edges:
        graph.add_edge(
            str(edge.source),
            str(edge.target),
            weight=edge.weight,
            records=edge.records,
            kinds=", ".join(sorted({e.kind for e in edge.evidence})),
            evidence="; ".join(
                f"{e.kind}:{e.record.slug} ({'/'.join(e.roles.source)} - {'/'.join(e.roles.target)})"
                for e in edge.evidence
            ),
        )
    return "\n".join(nx.generate_graphml(graph, encoding="utf-8", prettyprint=True)) + "\n"


async def list_collaborators(*, ref: str, filters: ScopeFilters, limit: int) -> Collaborators:
    """The organisation's collaborators; the organisation is the one `ref` names (`filters.organisation`
    is not read)."""
    organisation_id = await resolve(ORGANISATION, ref)
    in_scope = await selection(replace(filters, organisation=None))
    network = await build(replace(in_scope, organisation=organisation_id))
    neighbours: list[UUID] = list(network.graph.neighbors(organisation_id)) if organisation_id in network.graph else []
    neighbours.sort(key=lambda other: (-network.link(organisation_id, other).weight, *network.sort_key(other)))
    return Collaborators(
        organisation=await reference(Organisation, organisation_id),
        total=len(neighbours),
        collaborators=[
            Collaborator(
                organisation=network.organisations[other],
                weight=rounded(link.weight),
                records=len(link.records),
                evidence=link.evidence(organisation_id, other),
            )
            for other, link in ((other, network.link(organisation_id, other)) for other in neighbours[:limit])
        ],
    )


async def find_path(*, source: str, target: str, filters: ScopeFilters) -> NetworkPath:
    """The fewest hops from one organisation to the other; 404 when no chain joins them in scope."""
    source_id = await resolve_filter(ORGANISATION, source, "from")
    target_id = await resolve_filter(ORGANISATION, target, "to")
    in_scope = await selection(filters)
    named = await references(ORGANISATION, [source_id, target_id])
    start, end = (msgspec.convert(named[i], Reference) for i in (source_id, target_id))
    if source_id == target_id:
        return NetworkPath(from_=start, to=end, length=0, hops=[])
    links = await _links(in_scope)
    try:
        chain: list[UUID] = nx.shortest_path(links, source_id, target_id)
    except (nx.NodeNotFound, nx.NetworkXNoPath):
        raise NotFound(
            f"No chain of collaborations joins '{start.name}' to '{end.name}'"
            + (" with these filters." if _filtered(in_scope) else ".")
        ) from None
    on_chain = {record for a, b in pairwise(chain) for record in links.edges[a, b]["records"]}
    # The evidence, only for the records the chain goes through.
    network = await build(replace(in_scope, records=tuple(sorted(on_chain, key=str))))
    hops = [
        Hop(
            source=network.organisations[a],
            target=network.organisations[b],
            weight=rounded(link.weight),
            records=len(link.records),
            evidence=link.evidence(a, b),
        )
        for a, b, link in ((a, b, network.link(a, b)) for a, b in pairwise(chain))
    ]
    return NetworkPath(from_=start, to=end, length=len(hops), hops=hops)


async def _links(in_scope: Selection) -> nx.Graph:
    """Who is linked by which records, and nothing else: enough to find a chain in a large network quickly."""
    rows = await run(
        sql(
            "{} SELECT DISTINCT s.kind, p.record_id, p.organisation, p.role FROM selected s "
            "JOIN parties p ON p.record_id = s.record_id",
            in_scope.views(),
        )
    )
    kinds: dict[UUID, str] = {}
    parties: dict[UUID, dict[UUID, set[str]]] = defaultdict(lambda: defaultdict(set))
    for row in rows:
        record_id = as_uuid(row["record_id"])
        kinds[record_id] = row["kind"]
        parties[record_id][as_uuid(row["organisation"])].add(row["role"])
    graph = nx.Graph()
    # In a fixed order, so that among equally short chains the same one is found every time.
    for record_id in sorted(parties, key=str):
        added = ties(kinds[record_id], parties[record_id])
        for a, b in sorted(added, key=lambda pair: (str(pair[0]), str(pair[1]))):
            if graph.has_edge(a, b):
                graph.edges[a, b]["records"].append(record_id)
            else:
                graph.add_edge(a, b, records=[record_id])
    return graph


def _filtered(in_scope: Selection) -> bool:
    return in_scope != Selection()
