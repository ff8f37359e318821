"""The collaboration network: organisations linked when they take part in the same record, each link
weighted by how many records they share and carrying those records as evidence. The parties of every
record in scope come from one query; networkx measures the graph."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from itertools import combinations, pairwise
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


@dataclass(frozen=True)
class Shared:
    """One record two organisations share: what it is, and each one's roles in it."""

    kind: str
    record: Reference
    roles: dict[UUID, list[str]]

    def evidence(self, source: UUID, target: UUID) -> Evidence:
        return Evidence(
            kind=self.kind,  # type: ignore[arg-type]
            record=self.record,
            roles=EvidenceRoles(source=self.roles[source], target=self.roles[target]),  # type: ignore[arg-type]
        )


@dataclass
class Graph:
    """The network in scope: every organisation in it, named and ranked in name order, each link's shared
    records (in kind and name order), and the same links as a networkx graph for the measures."""

    graph: nx.Graph = field(default_factory=nx.Graph)
    organisations: dict[UUID, OrganisationSummary] = field(default_factory=dict)
    # Each link under its two ends in name order, and each organisation's place in that order.
    links: dict[tuple[UUID, UUID], list[Shared]] = field(default_factory=dict)
    rank: dict[UUID, int] = field(default_factory=dict)

    def _shared(self, source: UUID, target: UUID) -> list[Shared]:
        return self.links[(source, target) if self.rank[source] < self.rank[target] else (target, source)]

    def shared(self, source: UUID, target: UUID, limit: int | None = None) -> list[Evidence]:
        return [record.evidence(source, target) for record in self._shared(source, target)[:limit]]

    def weight(self, source: UUID, target: UUID) -> int:
        return len(self._shared(source, target))

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
    rank = network.rank.__getitem__
    links: dict[tuple[int, int], list[Shared]] = {}
    # Records in kind and name order, so that each link lists its evidence the same way every time.
    for record_id, (kind, record) in sorted(
        records.items(), key=lambda item: (item[1][0], item[1][1].name, str(item[0]))
    ):
        parties = roles[record_id]
        if len(parties) < 2:
            continue
        shared = Shared(kind, record, {organisation: ordered_roles(r) for organisation, r in parties.items()})
        for pair in combinations(sorted(map(rank, parties)), 2):
            found = links.get(pair)
            if found is None:
                links[pair] = [shared]
            else:
                found.append(shared)
    network.links = {(ordered[a], ordered[b]): links[a, b] for a, b in sorted(links)}
    network.graph.add_nodes_from(ordered)
    network.graph.add_edges_from((a, b, {"weight": len(shared)}) for (a, b), shared in network.links.items())
    return network


def centrality(graph: nx.Graph) -> dict[UUID, float]:
    """Normalised betweenness, ignoring weights (a weight counts shared records, not distance)."""
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
    strength: dict[UUID, int] = defaultdict(int)
    edges = []
    for (a, b), shared in network.links.items():
        weight = len(shared)
        degree[a] += 1
        degree[b] += 1
        strength[a] += weight
        strength[b] += weight
        edges.append(
            Edge(source=a, target=b, weight=weight, evidence=[s.evidence(a, b) for s in shared[:evidence_limit]])
        )
    nodes = [
        Node(
            id=organisation.id,
            slug=organisation.slug,
            name=organisation.name,
            kind=organisation.kind,
            degree=degree[organisation.id],
            strength=strength[organisation.id],
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
    neighbours.sort(key=lambda other: (-network.weight(organisation_id, other), *network.sort_key(other)))
    return Collaborators(
        organisation=await reference(Organisation, organisation_id),
        total=len(neighbours),
        collaborators=[
            Collaborator(
                organisation=network.organisations[other],
                weight=network.weight(organisation_id, other),
                evidence=network.shared(organisation_id, other),
            )
            for other in neighbours[:limit]
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
            weight=network.weight(a, b),
            evidence=network.shared(a, b),
        )
        for a, b in pairwise(chain)
    ]
    return NetworkPath(from_=start, to=end, length=len(hops), hops=hops)


async def _links(in_scope: Selection) -> nx.Graph:
    """Who shares which records, and nothing else: enough to find a chain in a large network quickly."""
    rows = await run(
        sql(
            "{} SELECT DISTINCT p.record_id, p.organisation FROM selected s "
            "JOIN parties p ON p.record_id = s.record_id",
            in_scope.views(),
        )
    )
    parties: dict[UUID, list[UUID]] = defaultdict(list)
    for row in rows:
        parties[as_uuid(row["record_id"])].append(as_uuid(row["organisation"]))
    graph = nx.Graph()
    # In a fixed order, so that among equally short chains the same one is found every time.
    for record_id in sorted(parties, key=str):
        for a, b in combinations(sorted(parties[record_id], key=str), 2):
            if graph.has_edge(a, b):
                graph.edges[a, b]["records"].append(record_id)
            else:
                graph.add_edge(a, b, records=[record_id])
    return graph


def _filtered(in_scope: Selection) -> bool:
    return in_scope != Selection()
