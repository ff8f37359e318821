"""The collaboration network: organisations linked when their parts in the same record say they worked
together (`TIES`, one table for every kind of record), each link weighted by the summed strength of those
records. The network's links are summed in SQL from the same table (`LINKS`), so an answer gives a page of
the strongest, a download streams them all, and the evidence of one link (`build`, in Python) is read only
when asked for; networkx measures the graph. docs/network.md explains the rules."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Mapping
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
from api.services.platform.sql import is_in, sql, stream
from api.services.records.cursors import (
    decode_evidence_cursor,
    decode_link_cursor,
    encode_evidence_cursor,
    encode_link_cursor,
)
from api.services.records.resource import ORGANISATION, references, resolve, resolve_filter, resolve_many
from api.services.views import measures
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
from api.services.views.measures import centrality, rounded
from models.tables import Organisation

# A network answer's links: this many by default, at most MAX_LINKS however asked. The default draws the
# seed whole (57 links) and keeps a region's answer near 100 kB (about 200 bytes a link with its two nodes).
DEFAULT_LINKS = 500
MAX_LINKS = 5_000
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


def micro(weight: float) -> int:
    """A weight in millionths, as it is given (to 6 places): what links are ordered and compared by."""
    return round(rounded(weight) * 1_000_000)


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


async def get_network(
    *,
    filters: ScopeFilters,
    limit: int = DEFAULT_LINKS,
    min_weight: float | None = None,
    cursor: str | None = None,
    isolated: bool = False,
) -> Network:
    """A page of the strongest links in scope and the organisations they join, measured in the whole
    network in scope."""
    in_scope = await selection(filters)
    network = await read_links(in_scope)
    ranked = at_least(network.links, min_weight)
    page, next_cursor = page_of(ranked, limit, cursor)
    degree, strength = network.measures()
    shown = touched(page)
    if isolated and cursor is None:
        alone = [o for o in network.organisations if o not in degree][:limit]
        shown.update(alone)
    # The whole network's measures are kept in the background; a filtered network is measured here.
    kept = None if _filtered(in_scope) else await measures.read(sorted(shown))
    if kept is not None and kept.position is not None:
        none = measures.Measure(degree=0, strength=0.0, centrality=0.0)
        measured = {o: kept.of.get(o, none) for o in shown}
    else:
        scores = centrality(network.graph())
        measured = {
            o: measures.Measure(degree[o], rounded(strength[o]), round(min(1.0, max(0.0, scores.get(o, 0.0))), 6))
            for o in shown
        }
    nodes = [
        Node(
            id=organisation.id,
            slug=organisation.slug,
            name=organisation.name,
            kind=organisation.kind,
            degree=measured[organisation.id].degree,
            strength=measured[organisation.id].strength,
            centrality=measured[organisation.id].centrality,
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
        measured_at_change=kept.position if kept is not None else None,
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
    network = await read_links(await selection(replace(filters, organisation=None)))
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
    network = await build(replace(in_scope, organisation=source))
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
    """Every link with its ends' names, strongest first (the order of the JSON's pages)."""
    return sql(
        "{} SELECT l.a, l.b, l.weight, l.shared, "
        + ", ".join(f"l.k_{kind}" for kind in KIND_NAMES)
        + ", oa.slug AS a_slug, oa.name AS a_name, ob.slug AS b_slug, ob.name AS b_name "
        "FROM links l JOIN organisation oa ON oa.id = l.a JOIN organisation ob ON ob.id = l.b "
        "ORDER BY l.weight DESC, l.a, l.b",
        in_scope.views(sql(LINKS)),
    )


def _nodes_statement(in_scope: Selection) -> Any:
    """Every organisation in scope with its degree and strength, by name."""
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
