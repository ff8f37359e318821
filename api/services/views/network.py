"""The collaboration network: organisations linked when their parts in the same record say they worked
together (`TIES`, one table for every kind of record), each link weighted by the summed strength of those
records. The network's links are summed in SQL from the same table (`LINKS`), so an answer gives a page of
the strongest, a download streams them all, and the evidence of one link (`build`, in Python) is read only
when asked for; networkx measures the graph. docs/network.md explains the rules."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import pairwise
from typing import Any, Literal, TypeVar
from uuid import UUID
from xml.sax.saxutils import escape, quoteattr

import msgspec
import networkx as nx

from api.schemas.activity import OrganisationSummary
from api.schemas.common import FieldError, Reference
from api.schemas.network import (
    Collaborator,
    Collaborators,
    Edge,
    Evidence,
    EvidenceRoles,
    Hop,
    KindCounts,
    LinkEvidence,
    Neighbourhood,
    NeighbourNode,
    Network,
    NetworkPath,
    Node,
)
from api.services.platform.errors import NotFound, Unprocessable
from api.services.platform.sql import is_in, join, sql, stream
from api.services.records.cursors import (
    decode_evidence_cursor,
    decode_link_cursor,
    encode_evidence_cursor,
    encode_link_cursor,
)
from api.services.records.resource import ORGANISATION, references, resolve, resolve_filter, resolve_many
from api.services.views import measures
from api.services.views.activity import (
    EVERYWHERE,
    GROUPS,
    PARTIES,
    ScopeFilters,
    Selection,
    as_uuid,
    ordered_roles,
    reference,
    run,
    selection,
    summary,
)
from api.services.views.measures import EXACT_CENTRALITY, centrality, micro, rounded, score
from models.tables import Organisation

# A network answer's links: this many by default, at most MAX_LINKS however asked. The default draws the
# seed whole (57 links) and keeps a region's answer near 100 kB (about 200 bytes a link with its two nodes).
DEFAULT_LINKS = 500
MAX_LINKS = 5_000
# How many links a neighbourhood counts at most (the rest are still there, page by page).
MAX_COUNTED = 10_000
# Each collaborator's records shown with it (the rest are at /v1/network/links?between=).
DEFAULT_COLLABORATOR_EVIDENCE = 5
MAX_COLLABORATOR_EVIDENCE = 50
# A link's evidence, a page at a time.
DEFAULT_EVIDENCE = 50
MAX_EVIDENCE = 200


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


# The links in SQL ---------------------------------------------------------------------------------------------

KIND_NAMES = ("interest_group", "co_funding", "research", "grant", "engagement")


def _ties_values() -> str:
    """`TIES` as rows (kind, role, other, damped), each tie both ways round: the same table the Python
    `ties` reads, so the network summed in SQL and the evidence built in Python link the same pairs."""
    rows = sorted(
        {(tie.kind, role, other, int(tie.damped)) for tie in TIES for role, other in (tie.roles, tie.roles[::-1])}
    )
    return ", ".join(f"('{kind}', '{role}', '{other}', {damped})" for kind, role, other, damped in rows)


# After the activity views: `party`, each organisation's roles in each record in scope; `sizes`, how many
# organisations take part in each; `paired`, what each record adds to each pair it links (the strongest tie
# among their roles, once per record; the pair's lower id first); `links`, each pair's sum, its count of
# records and how many are of each kind. The join goes from each party through the ties of its role to the
# parties holding the other role, so the work follows the links made: an engagement's convenor and n
# participants is n pairs, never n² tested.
PARTY = (
    "party AS (SELECT DISTINCT p.kind, p.record_id, p.organisation, p.role FROM selected s "
    "JOIN parties p ON p.record_id = s.record_id)"
)
LINKS = (
    f"{PARTY}, "
    "sizes AS (SELECT record_id, COUNT(DISTINCT organisation) AS n FROM party GROUP BY record_id), "
    f"ties (kind, role, other, damped) AS (VALUES {_ties_values()}), "
    "paired AS (SELECT x.kind, x.record_id, "
    "CASE WHEN x.organisation < y.organisation THEN x.organisation ELSE y.organisation END AS a, "
    "CASE WHEN x.organisation < y.organisation THEN y.organisation ELSE x.organisation END AS b, "
    "MAX(CASE WHEN t.damped = 1 THEN CAST(1 AS DOUBLE PRECISION) / (z.n - 1) "
    "ELSE CAST(1 AS DOUBLE PRECISION) END) AS weight "
    "FROM party x JOIN ties t ON t.kind = x.kind AND t.role = x.role "
    "JOIN party y ON y.record_id = x.record_id AND y.role = t.other AND y.organisation <> x.organisation "
    "JOIN sizes z ON z.record_id = x.record_id "
    "GROUP BY x.kind, x.record_id, "
    "CASE WHEN x.organisation < y.organisation THEN x.organisation ELSE y.organisation END, "
    "CASE WHEN x.organisation < y.organisation THEN y.organisation ELSE x.organisation END), "
    "links AS (SELECT a, b, SUM(weight) AS weight, COUNT(*) AS shared, "
    + ", ".join(f"SUM(CASE WHEN kind = '{kind}' THEN 1 ELSE 0 END) AS k_{kind}" for kind in KIND_NAMES)
    + " FROM paired GROUP BY a, b)"
)
ORGANISATION_COLUMNS = (
    "o.id AS organisation_id, o.slug AS organisation_slug, o.name AS organisation_name, o.kind AS organisation_kind"
)


@dataclass(frozen=True)
class Linked:
    """One link as the SQL sums it: its two ends (the lower id first), its weight in millionths (and as
    summed, for the ends' strengths), how many records make it and of which kinds."""

    a: UUID
    b: UUID
    weight: int
    records: int
    kinds: KindCounts
    summed: float

    @property
    def key(self) -> tuple[int, UUID, UUID]:
        """Strongest first, then by the ends' ids: the order of every page of links."""
        return (-self.weight, self.a, self.b)

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> Linked:
        a, b = sorted((as_uuid(row["a"]), as_uuid(row["b"])))
        return cls(
            a=a,
            b=b,
            weight=micro(float(row["weight"])),
            summed=float(row["weight"]),
            records=int(row["shared"]),
            kinds=KindCounts(**{kind: int(row[f"k_{kind}"]) for kind in KIND_NAMES}),
        )

    def edge(self, organisations: Mapping[UUID, OrganisationSummary]) -> Edge:
        """As an edge, from the organisation named first."""
        first, second = (self.a, self.b)
        if (organisations[second].name, str(second)) < (organisations[first].name, str(first)):
            first, second = second, first
        return Edge(source=first, target=second, weight=self.weight / 1_000_000, records=self.records, kinds=self.kinds)


@dataclass
class Links:
    """Every organisation taking part in a record in scope (in name order) and every link among them."""

    organisations: dict[UUID, OrganisationSummary]
    links: list[Linked]

    def measures(self) -> tuple[dict[UUID, int], dict[UUID, float]]:
        degree: dict[UUID, int] = defaultdict(int)
        strength: dict[UUID, float] = defaultdict(float)
        for link in self.links:
            for end in (link.a, link.b):
                degree[end] += 1
                strength[end] += link.summed
        return degree, strength

    def graph(self) -> nx.Graph:
        """The links as a networkx graph, nodes in name order (so that sampled measures are the same every time)."""
        graph = nx.Graph()
        graph.add_nodes_from(self.organisations)
        graph.add_edges_from((link.a, link.b) for link in self.links)
        return graph


async def read_links(in_scope: Selection) -> Links:
    """The organisations in scope and the links among them: two statements, whatever the size."""
    node_rows = await run(
        sql(
            f"{{}} SELECT {ORGANISATION_COLUMNS} FROM organisation o WHERE o.id IN (SELECT organisation FROM party)",
            in_scope.views(sql(PARTY)),
        )
    )
    link_rows = await run(
        sql("{} SELECT a, b, weight, shared, " + _kind_columns() + " FROM links", in_scope.views(sql(LINKS)))
    )
    named = [summary(row) for row in node_rows]
    named.sort(key=lambda o: (o.name, str(o.id)))
    return Links(organisations={o.id: o for o in named}, links=[Linked.of(row) for row in link_rows])


def _kind_columns() -> str:
    return ", ".join(f"k_{kind}" for kind in KIND_NAMES)


def at_least(links: Iterable[Linked], min_weight: float | None) -> list[Linked]:
    """The links of at least `min_weight` (compared as given, to 6 places), strongest first."""
    floor = -1 if min_weight is None else round(min_weight * 1_000_000)
    return sorted((link for link in links if link.weight >= floor), key=lambda link: link.key)


def page_of(ranked: list[Linked], limit: int, cursor: str | None) -> tuple[list[Linked], str | None]:
    """The `limit` links after the cursor's, and the cursor after them when more follow."""
    start = 0
    if cursor is not None:
        weight, a, b = decode_link_cursor(cursor)
        after = (-weight, a, b)
        start = next((i for i, link in enumerate(ranked) if link.key > after), len(ranked))
    page = ranked[start : start + limit]
    more = start + limit < len(ranked)
    last = page[-1] if page else None
    return page, encode_link_cursor(last.weight, last.a, last.b) if more and last else None


def touched(page: Iterable[Linked]) -> set[UUID]:
    return {end for link in page for end in (link.a, link.b)}


# The kept links (links.py) ---------------------------------------------------------------------------------


def kept_scope(in_scope: Selection) -> UUID | None:
    """The kept scope that answers for these filters: the whole network, or a place's; None when anything
    but a place narrows the records (kinds, dates, an organisation), which are summed from the records."""
    return (in_scope.region or EVERYWHERE) if replace(in_scope, region=None) == Selection() else None


KEPT_COLUMNS = "e.source AS a, e.target AS b, e.weight, e.rank, e.records, " + ", ".join(
    f"e.{GROUPS[kind]} AS k_{kind}" for kind in KIND_NAMES
)


def _kept_linked(row: Mapping[str, Any]) -> Linked:
    return Linked(
        a=as_uuid(row["a"]),
        b=as_uuid(row["b"]),
        weight=int(row["rank"]),
        summed=float(row["weight"]),
        records=int(row["records"]),
        kinds=KindCounts(**{kind: int(row[f"k_{kind}"]) for kind in KIND_NAMES}),
    )


MAX_RANK = 2**62  # above any kept link's weight in millionths, and within a 64-bit integer


def _after(cursor: str | None) -> Any:
    """The condition that a kept link comes after the cursor's, in the order of the pages."""
    if cursor is None:
        return sql("1 = 1")
    weight, a, b = decode_link_cursor(cursor)
    # A cursor holds 8 bytes of weight; past what a database integer holds, it is after every link anyway.
    weight = min(weight, MAX_RANK)
    return sql(
        "(e.rank < {} OR (e.rank = {} AND (e.source > {} OR (e.source = {} AND e.target > {}))))",
        weight,
        weight,
        a,
        a,
        b,
    )


@dataclass
class KeptPage:
    """A page of kept links, the cursor after it, how many match in all, and the scope's organisations."""

    links: list[Linked]
    next_cursor: str | None
    total_edges: int
    total_nodes: int
    capped: bool = False


async def _kept_page(
    scope: UUID, around: Any, floor: int, limit: int, cursor: str | None, *, cap: int | None = None
) -> KeptPage:
    """One statement: the scope's totals and a page of its links of at least `floor` (in millionths) that
    `around` lets through (a condition on `e`), strongest first. With no floor and nothing around, the
    count of links is the scope's kept total; otherwise it is counted, up to `cap` when given (the count
    stops there: `capped`)."""
    matching = sql("e.scope = {} AND e.rank >= {} AND {}", scope, floor, around)
    if floor <= 0 and around is ALL:
        counted = sql("s.edges")
    elif cap is None:
        counted = sql("(SELECT COUNT(*) FROM network_edge e WHERE {})", matching)
    else:
        counted = sql("(SELECT COUNT(*) FROM (SELECT 1 FROM network_edge e WHERE {} LIMIT {}) c)", matching, cap + 1)
    rows = await run(
        sql(
            "SELECT COALESCE(s.nodes, 0) AS total_nodes, COALESCE({}, 0) AS total_edges, p.* "
            "FROM (SELECT 1 AS one) x LEFT JOIN network_scope s ON s.scope = {} LEFT JOIN ("
            f"SELECT {KEPT_COLUMNS} FROM network_edge e WHERE {{}} AND {{}} "
            "ORDER BY e.rank DESC, e.source, e.target LIMIT {}) p ON 1 = 1",
            counted,
            scope,
            matching,
            _after(cursor),
            limit + 1,
        )
    )
    found = sorted((_kept_linked(row) for row in rows if row["a"] is not None), key=lambda link: link.key)
    page = found[:limit]
    more = len(found) > limit
    total = int(rows[0]["total_edges"])
    return KeptPage(
        links=page,
        next_cursor=encode_link_cursor(page[-1].weight, page[-1].a, page[-1].b) if more and page else None,
        total_edges=min(total, cap) if cap is not None else total,
        total_nodes=int(rows[0]["total_nodes"]),
        capped=cap is not None and total > cap,
    )


ALL = sql("1 = 1")


@dataclass(frozen=True)
class KeptNode:
    organisation: OrganisationSummary
    degree: int
    strength: float
    centrality: float | None  # as the background last measured it, in the whole network


# A node's measure kept in the background, with the position measured (the whole network's nodes only).
MEASURE_COLUMNS = (
    "CASE WHEN n.scope = {} THEN (SELECT m.centrality FROM network_measure m WHERE m.organisation = n.organisation) "
    "END AS centrality, CASE WHEN n.scope = {} THEN (SELECT s.position FROM network_state s WHERE s.name = {}) "
    "END AS position"
)


async def _kept_nodes(
    scope: UUID, organisations: Iterable[UUID], *, alone: int = 0
) -> tuple[list[KeptNode], int | None]:
    """These organisations' part in the scope, by name; and, with `alone`, up to that many of the scope's
    organisations linked to nobody (by name). With the whole network's, the position of its background
    measures (None: never measured, or no organisation asked for)."""
    wanted = sorted(set(organisations))
    columns = sql(
        f"{ORGANISATION_COLUMNS}, n.degree, n.strength, {MEASURE_COLUMNS}", EVERYWHERE, EVERYWHERE, measures.STATE
    )
    parts = [
        sql(
            "SELECT {} FROM network_node n JOIN organisation o ON o.id = n.organisation WHERE n.scope = {} AND {}",
            columns,
            scope,
            is_in("n.organisation", wanted) if wanted else sql("1 = 0"),
        )
    ]
    if alone:
        parts.append(
            sql(
                "SELECT * FROM (SELECT {} FROM network_node n JOIN organisation o ON o.id = n.organisation "
                "WHERE n.scope = {} AND n.degree = 0 ORDER BY o.name, o.id LIMIT {}) alone",
                columns,
                scope,
                alone,
            )
        )
    rows = await run(join(parts, " UNION "))
    nodes = [
        KeptNode(summary(row), int(row["degree"]), rounded(float(row["strength"])), row["centrality"]) for row in rows
    ]
    positions = [int(row["position"]) for row in rows if row["position"] is not None and row["position"] >= 0]
    nodes.sort(key=lambda node: (node.organisation.name, str(node.organisation.id)))
    return nodes, positions[0] if positions else None


EVERY_KEPT_LINK = "SELECT e.source, e.target FROM network_edge e WHERE e.scope = {}"


async def _measured(
    scope: UUID, total_nodes: int, nodes: Sequence[KeptNode], position: int | None
) -> dict[UUID, float | None]:
    """The nodes' centrality: the whole network's as the background last measured it (`position`); any
    scope's measured here when it has at most EXACT_CENTRALITY organisations; otherwise none (null)."""
    if scope == EVERYWHERE and position is not None:
        return {node.organisation.id: node.centrality for node in nodes}
    if total_nodes > EXACT_CENTRALITY:
        return {node.organisation.id: None for node in nodes}
    graph = nx.Graph()
    graph.add_edges_from(
        (as_uuid(row["source"]), as_uuid(row["target"])) for row in await run(sql(EVERY_KEPT_LINK, scope))
    )
    scores = centrality(graph)
    return {node.organisation.id: score(scores, node.organisation.id) for node in nodes}


async def get_network(
    *,
    filters: ScopeFilters,
    limit: int = DEFAULT_LINKS,
    min_weight: float | None = None,
    cursor: str | None = None,
    isolated: bool = False,
) -> Network:
    """A page of the strongest links in scope and the organisations they join, measured in the whole
    network in scope: read from the kept links when only a place narrows it, else summed from the records."""
    in_scope = await selection(filters)
    scope = kept_scope(in_scope)
    if scope is None:
        return await live_network(in_scope, limit=limit, min_weight=min_weight, cursor=cursor, isolated=isolated)
    floor = -1 if min_weight is None else round(min_weight * 1_000_000)
    page = await _kept_page(scope, ALL, floor, limit, cursor)
    alone = limit if isolated and cursor is None else 0
    nodes, position = await _kept_nodes(scope, touched(page.links), alone=alone)
    scores = await _measured(scope, page.total_nodes, nodes, position)
    named = {node.organisation.id: node.organisation for node in nodes}
    return Network(
        nodes=[
            Node(
                id=node.organisation.id,
                slug=node.organisation.slug,
                name=node.organisation.name,
                kind=node.organisation.kind,
                degree=node.degree,
                strength=node.strength,
                centrality=scores[node.organisation.id],
            )
            for node in nodes
        ],
        edges=[link.edge(named) for link in page.links],
        total_nodes=page.total_nodes,
        total_edges=page.total_edges,
        truncated=len(page.links) < page.total_edges,
        next_cursor=page.next_cursor,
        measured_at_change=position,
    )


async def live_network(
    in_scope: Selection,
    *,
    limit: int = DEFAULT_LINKS,
    min_weight: float | None = None,
    cursor: str | None = None,
    isolated: bool = False,
) -> Network:
    """`get_network` summed from the records in scope."""
    network = await read_links(in_scope)
    ranked = at_least(network.links, min_weight)
    page, next_cursor = page_of(ranked, limit, cursor)
    degree, strength = network.measures()
    shown = touched(page)
    if isolated and cursor is None:
        alone = [o for o in network.organisations if o not in degree][:limit]
        shown.update(alone)
    scores: dict[UUID, float | None] = dict.fromkeys(shown)
    if len(network.organisations) <= EXACT_CENTRALITY:
        measured = centrality(network.graph())
        scores = {o: score(measured, o) for o in shown}
    nodes = [
        Node(
            id=organisation.id,
            slug=organisation.slug,
            name=organisation.name,
            kind=organisation.kind,
            degree=degree[organisation.id],
            strength=rounded(strength[organisation.id]),
            centrality=scores[organisation.id],
        )
        for organisation in network.organisations.values()
        if organisation.id in shown
    ]
    return Network(
        nodes=nodes,
        edges=[link.edge(network.organisations) for link in page],
        total_nodes=len(network.organisations),
        total_edges=len(ranked),
        truncated=len(page) < len(ranked),
        next_cursor=next_cursor,
    )


async def get_neighbourhood(
    *,
    ref: str,
    filters: ScopeFilters,
    depth: int,
    limit: int = DEFAULT_LINKS,
    min_weight: float | None = None,
    cursor: str | None = None,
) -> Neighbourhood:
    """The links of at least `min_weight` with the organisation at one end (depth 1), or the organisation
    or one of its neighbours over such links (depth 2); the organisation is the one `ref` names."""
    organisation_id = await resolve(ORGANISATION, ref)
    organisation = await reference(Organisation, organisation_id)
    in_scope = await selection(replace(filters, organisation=None))
    scope = kept_scope(in_scope)
    if scope is None:
        return await _live_neighbourhood(in_scope, organisation, depth, limit, min_weight, cursor)
    floor = -1 if min_weight is None else round(min_weight * 1_000_000)
    near: set[UUID] = set()
    if depth == 1:
        around = sql("(e.source = {} OR e.target = {})", organisation_id, organisation_id)
    else:
        near = {
            as_uuid(row["other"])
            for row in await run(
                sql(
                    "SELECT e.target AS other FROM network_edge e "
                    "WHERE e.scope = {} AND e.source = {} AND e.rank >= {} "
                    "UNION SELECT e.source FROM network_edge e WHERE e.scope = {} AND e.target = {} AND e.rank >= {}",
                    scope,
                    organisation_id,
                    floor,
                    scope,
                    organisation_id,
                    floor,
                )
            )
        }
        centre = sorted({organisation_id, *near})
        around = sql("({} OR {})", is_in("e.source", centre), is_in("e.target", centre))
    # Around a hub, depth 2 can be most of the network: the count stops at MAX_COUNTED.
    page = await _kept_page(scope, around, floor, limit, cursor, cap=MAX_COUNTED if depth == 2 else None)
    nodes, _ = await _kept_nodes(scope, touched(page.links))
    named = {node.organisation.id: node.organisation for node in nodes}
    return Neighbourhood(
        organisation=organisation,
        depth=depth,
        nodes=[
            NeighbourNode(
                id=node.organisation.id,
                slug=node.organisation.slug,
                name=node.organisation.name,
                kind=node.organisation.kind,
                distance=0
                if node.organisation.id == organisation_id
                else 1
                if depth == 1 or node.organisation.id in near
                else 2,
                degree=node.degree,
                strength=node.strength,
            )
            for node in nodes
        ],
        edges=[link.edge(named) for link in page.links],
        total_edges=page.total_edges,
        total_edges_capped=page.capped,
        truncated=page.next_cursor is not None,
        next_cursor=page.next_cursor,
    )


async def _live_neighbourhood(
    in_scope: Selection,
    organisation: Reference,
    depth: int,
    limit: int,
    min_weight: float | None,
    cursor: str | None,
) -> Neighbourhood:
    """`get_neighbourhood` summed from the records in scope."""
    organisation_id = organisation.id
    network = await read_links(in_scope)
    ranked = at_least(network.links, min_weight)
    neighbours: dict[UUID, set[UUID]] = defaultdict(set)
    for link in ranked:
        neighbours[link.a].add(link.b)
        neighbours[link.b].add(link.a)
    distance = {organisation_id: 0}
    for other in neighbours[organisation_id]:
        distance[other] = 1
    for near in [o for o, d in distance.items() if d == 1]:
        for other in neighbours[near]:
            distance.setdefault(other, 2)
    centre = {o for o, d in distance.items() if d < depth}
    around = [link for link in ranked if link.a in centre or link.b in centre]
    page, next_cursor = page_of(around, limit, cursor)
    degree, strength = network.measures()
    shown = touched(page)
    nodes = [
        NeighbourNode(
            id=o.id,
            slug=o.slug,
            name=o.name,
            kind=o.kind,
            distance=distance[o.id],
            degree=degree[o.id],
            strength=rounded(strength[o.id]),
        )
        for o in network.organisations.values()
        if o.id in shown
    ]
    return Neighbourhood(
        organisation=organisation,
        depth=depth,
        nodes=nodes,
        edges=[link.edge(network.organisations) for link in page],
        total_edges=len(around),
        truncated=len(page) < len(around),
        next_cursor=next_cursor,
    )


# Every party of every record, all time: where two organisations' shared records are found.
EVERY_PARTY = " UNION ALL ".join(
    part.select + (f" WHERE {' AND '.join(part.conditions)}" if part.conditions else "")
    for parts in PARTIES.values()
    for part in parts
)


PARTIES_OF = (
    f"WITH p (kind, record_id, organisation, role, joined_on, left_on) AS ({EVERY_PARTY}) "
    "SELECT kind, record_id, organisation, role FROM p WHERE {}"
)
HOW_MANY_RECORDS = "SELECT organisation, records FROM network_node WHERE scope = {} AND {}"
RecordKey = tuple[str, UUID]  # kind, record id


async def linking_records(pairs: Sequence[tuple[UUID, UUID]]) -> dict[tuple[UUID, UUID], set[RecordKey]]:
    """For each pair, the records (all time, in every scope) that link the two by the network's rules. A
    funder may take part in hundreds of thousands of records and its collaborator in a few, so each pair
    is looked up from its lighter end (by the records the kept network counts for each): every record of
    the lighter ends, then which of those the heavier ends take part in, and as what. Three statements,
    and the work is the lighter ends' records, never everything a hub takes part in."""
    found: dict[tuple[UUID, UUID], set[RecordKey]] = {pair: set() for pair in pairs}
    if not pairs:
        return found
    ends = sorted({end for pair in pairs for end in pair})
    weight = {
        as_uuid(row["organisation"]): int(row["records"])
        for row in await run(sql(HOW_MANY_RECORDS, EVERYWHERE, is_in("organisation", ends)))
    }
    light = sorted({min(pair, key=lambda end: (weight.get(end, 0), str(end))) for pair in pairs})
    heavy = sorted(set(ends) - set(light))
    roles: dict[RecordKey, dict[UUID, set[str]]] = defaultdict(lambda: defaultdict(set))
    for row in await run(sql(PARTIES_OF, is_in("organisation", light))):
        roles[row["kind"], as_uuid(row["record_id"])][as_uuid(row["organisation"])].add(row["role"])
    if heavy and roles:
        candidates = sorted({record_id for _, record_id in roles}, key=str)
        among = sql("{} AND {}", is_in("organisation", heavy), is_in("record_id", candidates))
        for row in await run(sql(PARTIES_OF, among)):
            key = (row["kind"], as_uuid(row["record_id"]))
            if key in roles:
                roles[key][as_uuid(row["organisation"])].add(row["role"])
    for key, parties in roles.items():
        for a, b in ties(key[0], parties):
            for pair in ((a, b), (b, a)):
                if pair in found:
                    found[pair].add(key)
    return found


async def shared_records(pairs: Sequence[tuple[UUID, UUID]]) -> tuple[UUID, ...]:
    """The records that link any of the pairs (`linking_records`), in id order."""
    linking = await linking_records(pairs)
    return tuple(sorted({record_id for keys in linking.values() for _, record_id in keys}, key=str))


BETWEEN_PROBLEM = "`between` names two different organisations, separated by a comma: `between=A,B`."


def parse_between(between: str) -> tuple[str, str]:
    parts = between.split(",")
    if len(parts) != 2 or not all(part.strip() for part in parts) or parts[0].strip() == parts[1].strip():
        raise Unprocessable(
            BETWEEN_PROBLEM,
            [FieldError(field="between", message="is not two different organisation refs, A,B", location="query")],
        )
    return parts[0].strip(), parts[1].strip()


async def get_link_evidence(
    *, between: str, filters: ScopeFilters, limit: int = DEFAULT_EVIDENCE, cursor: str | None = None
) -> LinkEvidence:
    """The records linking the two organisations `between` names (`filters.organisation` is not read), by
    kind and name, a page at a time; 404 when either names no organisation."""
    first, second = parse_between(between)
    after = decode_evidence_cursor(cursor) if cursor is not None else None
    found = await resolve_many(ORGANISATION, [first, second])
    for ref in (first, second):
        if ref not in found:
            raise NotFound(f"There is no organisation '{ref}'.")
    source, target = found[first], found[second]
    if source == target:
        raise Unprocessable(
            BETWEEN_PROBLEM,
            [FieldError(field="between", message="names the same organisation twice", location="query")],
        )
    named = {
        summary(row).id: summary(row)
        for row in await run(
            sql(f"SELECT {ORGANISATION_COLUMNS} FROM organisation o WHERE {{}}", is_in("o.id", [source, target]))
        )
    }
    in_scope = await selection(replace(filters, organisation=None))
    network = await build(replace(in_scope, records=await shared_records([(source, target)])))
    shared = network.link(source, target) if network.graph.has_edge(source, target) else Link()
    records = shared.records
    start = 0
    if after is not None:
        kind, name, record_id = after
        key = (kind, name, str(record_id))
        start = next(
            (i for i, (s, _) in enumerate(records) if (s.kind, s.record.name, str(s.record.id)) > key), len(records)
        )
    page = records[start : start + limit]
    more = start + limit < len(records)
    counts: dict[str, int] = defaultdict(int)
    for record, _ in records:
        counts[record.kind] += 1
    last = page[-1][0] if page else None
    return LinkEvidence(
        source=named[source],
        target=named[target],
        weight=rounded(shared.weight),
        records=len(records),
        kinds=KindCounts(**counts),
        evidence=[record.evidence(source, target, weight) for record, weight in page],
        next_cursor=encode_evidence_cursor(last.kind, last.record.name, last.record.id) if more and last else None,
    )


# The whole network, streamed ----------------------------------------------------------------------------------

Download = Literal["graphml", "csv"]
# XML 1.0 allows no control characters but tab, newline and carriage return: one in a name is left out.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
GRAPHML_KEYS = (
    ("label", "node", "string"),
    ("slug", "node", "string"),
    ("kind", "node", "string"),
    ("degree", "node", "int"),
    ("strength", "node", "double"),
    ("weight", "edge", "double"),
    ("records", "edge", "int"),
    ("kinds", "edge", "string"),
    *((kind, "edge", "int") for kind in KIND_NAMES),
)
CSV_COLUMNS = (
    "source",
    "target",
    "source_slug",
    "target_slug",
    "source_name",
    "target_name",
    "weight",
    "records",
    *KIND_NAMES,
)


async def download(*, filters: ScopeFilters, min_weight: float | None, output: Download) -> AsyncIterator[bytes]:
    """The whole network in scope as GraphML or CSV (links only), written as the rows come from the database
    a chunk at a time: the filters are checked now (a bad one is a problem, not a broken download)."""
    in_scope = await selection(filters)
    floor = -1 if min_weight is None else round(min_weight * 1_000_000)
    return _graphml(in_scope, floor) if output == "graphml" else _csv(in_scope, floor)


def _links_statement(in_scope: Selection) -> Any:
    """Every link with its ends' names, strongest first (the order of the JSON's pages): kept, or summed."""
    names = (
        "oa.slug AS a_slug, oa.name AS a_name, ob.slug AS b_slug, ob.name AS b_name "
        "FROM {} JOIN organisation oa ON oa.id = l.a JOIN organisation ob ON ob.id = l.b"
    )
    scope = kept_scope(in_scope)
    if scope is not None:
        return sql(
            "SELECT l.a, l.b, l.weight, l.shared, "
            + ", ".join(f"l.k_{kind}" for kind in KIND_NAMES)
            + f", {names} ORDER BY l.rank DESC, l.a, l.b",
            sql(
                "(SELECT e.source AS a, e.target AS b, e.weight, e.rank, e.records AS shared, "
                + ", ".join(f"e.{GROUPS[kind]} AS k_{kind}" for kind in KIND_NAMES)
                + " FROM network_edge e WHERE e.scope = {}) l",
                scope,
            ),
        )
    return sql(
        "{} SELECT l.a, l.b, l.weight, l.shared, "
        + ", ".join(f"l.k_{kind}" for kind in KIND_NAMES)
        + f", {names.replace('{}', 'links l')} ORDER BY l.weight DESC, l.a, l.b",
        in_scope.views(sql(LINKS)),
    )


def _nodes_statement(in_scope: Selection) -> Any:
    """Every organisation in scope with its degree and strength, by name: kept, or summed."""
    scope = kept_scope(in_scope)
    if scope is not None:
        return sql(
            f"SELECT {ORGANISATION_COLUMNS}, n.degree, n.strength FROM network_node n "
            "JOIN organisation o ON o.id = n.organisation WHERE n.scope = {} ORDER BY o.name, o.id",
            scope,
        )
    return sql(
        f"{{}} SELECT {ORGANISATION_COLUMNS}, COUNT(e.organisation) AS degree, "
        "COALESCE(SUM(e.weight), 0) AS strength FROM organisation o "
        "LEFT JOIN ends e ON e.organisation = o.id WHERE o.id IN (SELECT organisation FROM party) "
        "GROUP BY o.id, o.slug, o.name, o.kind ORDER BY o.name, o.id",
        in_scope.views(
            sql(LINKS),
            sql("ends AS (SELECT a AS organisation, weight FROM links UNION ALL SELECT b, weight FROM links)"),
        ),
    )


def _xml(text: str) -> str:
    return escape(_NOT_XML.sub("", text))


def _data(key: str, value: Any) -> str:
    return f'<data key="{key}">{_xml(str(value))}</data>'


async def _graphml(in_scope: Selection, floor: int) -> AsyncIterator[bytes]:
    keys = "".join(
        f'  <key id="{name}" for="{kind}" attr.name="{name}" attr.type="{kind_type}" />\n'
        for name, kind, kind_type in GRAPHML_KEYS
    )
    yield (
        "<?xml version='1.0' encoding='utf-8'?>\n"
        '<graphml xmlns="http://graphml.graphdrawing.org/xmlns" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns '
        'http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">\n'
        f'{keys}  <graph edgedefault="undirected">\n'
    ).encode()
    async for rows in stream(_nodes_statement(in_scope)):
        yield "".join(
            f"    <node id={quoteattr(str(as_uuid(row['organisation_id'])))}>"
            + _data("label", row["organisation_name"])
            + _data("slug", row["organisation_slug"])
            + _data("kind", row["organisation_kind"])
            + _data("degree", int(row["degree"]))
            + _data("strength", rounded(float(row["strength"])))
            + "</node>\n"
            for row in rows
        ).encode()
    async for rows in stream(_links_statement(in_scope)):
        lines = []
        for row in rows:
            link = Linked.of(row)
            if link.weight < floor:
                continue
            counts = msgspec.structs.asdict(link.kinds)
            lines.append(
                f"    <edge source={quoteattr(str(link.a))} target={quoteattr(str(link.b))}>"
                + _data("weight", link.weight / 1_000_000)
                + _data("records", link.records)
                + _data("kinds", ", ".join(kind for kind in KIND_NAMES if counts[kind]))
                + "".join(_data(kind, counts[kind]) for kind in KIND_NAMES)
                + "</edge>\n"
            )
        yield "".join(lines).encode()
    yield b"  </graph>\n</graphml>\n"


# A name a spreadsheet would evaluate as a formula gets a quote in front, as the 360Giving export's cells
# do (api/services/giving360/cells.py, OWASP's CSV injection advice; that tier is above this one).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    text = str(value)
    if isinstance(value, str) and text.lstrip("'").startswith(FORMULA_STARTS):
        text = "'" + text
    if any(ch in text for ch in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


async def _csv(in_scope: Selection, floor: int) -> AsyncIterator[bytes]:
    yield (",".join(CSV_COLUMNS) + "\r\n").encode()
    async for rows in stream(_links_statement(in_scope)):
        lines = []
        for row in rows:
            link = Linked.of(row)
            if link.weight < floor:
                continue
            flipped = link.a != as_uuid(row["a"])
            a_slug, a_name, b_slug, b_name = row["a_slug"], row["a_name"], row["b_slug"], row["b_name"]
            if flipped:
                a_slug, a_name, b_slug, b_name = b_slug, b_name, a_slug, a_name
            counts = msgspec.structs.asdict(link.kinds)
            cells = [link.a, link.b, a_slug, b_slug, a_name, b_name, link.weight / 1_000_000, link.records]
            lines.append(",".join(_cell(c) for c in [*cells, *(counts[kind] for kind in KIND_NAMES)]) + "\r\n")
        yield "".join(lines).encode()


async def list_collaborators(
    *, ref: str, filters: ScopeFilters, limit: int, evidence: int = DEFAULT_COLLABORATOR_EVIDENCE
) -> Collaborators:
    """The organisation's collaborators; the organisation is the one `ref` names (`filters.organisation`
    is not read). From the kept links when only a place narrows them: the strongest `limit`, then the
    evidence of those alone."""
    organisation_id = await resolve(ORGANISATION, ref)
    in_scope = await selection(replace(filters, organisation=None))
    scope = kept_scope(in_scope)
    if scope is None:
        return await _live_collaborators(organisation_id, in_scope, limit, evidence)
    rows = await run(
        sql(
            "SELECT c.other, c.rank, c.weight, c.records, o.slug, o.name, o.kind, "
            '(SELECT n.degree FROM network_node n WHERE n."key" = {}) AS total FROM ('
            "SELECT e.target AS other, e.rank, e.weight, e.records FROM network_edge e "
            "WHERE e.scope = {} AND e.source = {} UNION ALL "
            "SELECT e.source, e.rank, e.weight, e.records FROM network_edge e WHERE e.scope = {} AND e.target = {}"
            ") c JOIN organisation o ON o.id = c.other ORDER BY c.rank DESC, o.name, o.id LIMIT {}",
            f"{scope}/{organisation_id}",
            scope,
            organisation_id,
            scope,
            organisation_id,
            limit,
        )
    )
    others = [as_uuid(row["other"]) for row in rows]
    linking = await linking_records([(organisation_id, other) for other in others])
    # The first `evidence` records of each, by kind, then name: the names of all, the parties of those.
    every = sorted({record_id for keys in linking.values() for _, record_id in keys}, key=str)
    named = (
        {
            as_uuid(row["record_id"]): (row["kind"], row["name"], str(row["record_id"]))
            for row in await run(
                sql("{} SELECT kind, record_id, name FROM selected", replace(in_scope, records=tuple(every)).views())
            )
        }
        if every
        else {}
    )
    chosen = {
        record_id
        for other in others
        for record_id in sorted(
            (record_id for _, record_id in linking[organisation_id, other] if record_id in named), key=named.__getitem__
        )[:evidence]
    }
    network = await build(replace(in_scope, records=tuple(sorted(chosen, key=str))))
    return Collaborators(
        organisation=await reference(Organisation, organisation_id),
        total=int(rows[0]["total"]) if rows else 0,
        collaborators=[
            Collaborator(
                organisation=OrganisationSummary(id=other, slug=row["slug"], name=row["name"], kind=row["kind"]),
                weight=int(row["rank"]) / 1_000_000,
                records=int(row["records"]),
                evidence=network.link(organisation_id, other).evidence(organisation_id, other, evidence)
                if network.graph.has_edge(organisation_id, other)
                else [],
            )
            for other, row in zip(others, rows, strict=True)
        ],
    )


async def _live_collaborators(
    organisation_id: UUID, in_scope: Selection, limit: int, evidence: int = DEFAULT_COLLABORATOR_EVIDENCE
) -> Collaborators:
    """`list_collaborators` summed from the records in scope."""
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
                evidence=link.evidence(organisation_id, other, evidence),
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
    scope = kept_scope(in_scope)
    chain = await (
        _kept_chain(scope, source_id, target_id) if scope is not None else _live_chain(in_scope, source_id, target_id)
    )
    if chain is None:
        raise NotFound(
            f"No chain of collaborations joins '{start.name}' to '{end.name}'"
            + (" with these filters." if _filtered(in_scope) else ".")
        )
    # The evidence, only for the records the hops share.
    network = await build(replace(in_scope, records=await shared_records(list(pairwise(chain)))))
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


async def _live_chain(in_scope: Selection, source: UUID, target: UUID) -> list[UUID] | None:
    """The fewest hops from one to the other, summed from the records in scope."""
    links = await _links(in_scope)
    try:
        chain: list[UUID] = nx.shortest_path(links, source, target)
    except (nx.NodeNotFound, nx.NetworkXNoPath):
        return None
    return chain


NEIGHBOURS = (
    "SELECT e.source, e.target FROM network_edge e WHERE e.scope = {} AND {} "
    "UNION ALL SELECT e.source, e.target FROM network_edge e WHERE e.scope = {} AND {}"
)


END_DEGREES = "SELECT organisation, degree FROM network_node WHERE scope = {} AND {}"


async def _kept_chain(scope: UUID, source: UUID, target: UUID) -> list[UUID] | None:
    """The fewest hops from one to the other over the scope's kept links: a breadth-first search from both
    ends, a level at a time (one statement a level), always widening the narrower side. Among equally short
    chains, the one through the lowest ids, so the same data gives the same chain."""
    if source == target:
        return [source]
    sides: list[dict[UUID, UUID | None]] = [{source: None}, {target: None}]
    frontiers: list[list[UUID]] = [[source], [target]]
    # The first level widens the end with fewer links (a hub's are most of the network); after that, the
    # side with fewer organisations to widen.
    degree = {
        as_uuid(row["organisation"]): int(row["degree"])
        for row in await run(sql(END_DEGREES, scope, is_in("organisation", [source, target])))
    }
    widths = [degree.get(source, 0), degree.get(target, 0)]
    while frontiers[0] and frontiers[1]:
        side = 0 if widths[0] <= widths[1] else 1
        frontier = frontiers[side]
        rows = await run(sql(NEIGHBOURS, scope, is_in("e.source", frontier), scope, is_in("e.target", frontier)))
        seen = sides[side]
        found: dict[UUID, UUID] = {}
        on_frontier = set(frontier)
        for row in rows:
            a, b = as_uuid(row["source"]), as_uuid(row["target"])
            for near, far in ((a, b), (b, a)):
                if near in on_frontier and far not in seen and (far not in found or near < found[far]):
                    found[far] = near
        seen.update(found)
        met = sorted(node for node in found if node in sides[1 - side])
        if met:
            return _joined(sides, met[0])
        frontiers[side] = sorted(found)
        widths[side] = len(found)
    return None


def _joined(sides: list[dict[UUID, UUID | None]], meeting: UUID) -> list[UUID]:
    """The chain from the first side's start to the second's, through the node where they met."""
    chain: list[UUID] = []
    node: UUID | None = meeting
    while node is not None:
        chain.append(node)
        node = sides[0][node]
    chain.reverse()
    node = sides[1][meeting]
    while node is not None:
        chain.append(node)
        node = sides[1][node]
    return chain


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
