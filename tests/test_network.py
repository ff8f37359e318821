"""The collaboration network: nodes, edges counting their records by kind, the evidence behind each link,
pages of links, neighbourhoods, streamed GraphML and CSV, collaborators and shortest chains.

`TestOnTheSeed` reads the seed network, loaded once for the class (its tests only read); the tests
after it build their own small networks on empty tables, as everywhere else. Most tests read each edge's
evidence from `/v1/network/links` (`linked`), so that every rule checked on a link is checked on the
records that endpoint gives for it too."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import httpx
import networkx as nx
import pytest

from tests import builders

LANKELLY, IVAR, ACF = "lankelly-chase-foundation", "ivar", "association-of-charitable-foundations"
GRAPHML = "application/graphml+xml"
GRAPHML_NS = "{http://graphml.graphdrawing.org/xmlns}"
SCOPE = ("kind", "place", "active_on", "from", "to")


async def get(client: httpx.AsyncClient, path: str, **params: Any) -> Any:
    response = await client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def evidence_of(client: httpx.AsyncClient, source: str, target: str, **params: Any) -> list[dict[str, Any]]:
    """Every record /v1/network/links gives for the link, page after page."""
    records: list[dict[str, Any]] = []
    cursor = None
    while True:
        extra: dict[str, str] = {"cursor": cursor} if cursor else {}
        page = await get(client, "/v1/network/links", between=f"{source},{target}", **params, **extra)
        records += page["evidence"]
        cursor = page["next_cursor"]
        if cursor is None:
            return records


async def linked(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    """The network, with each edge's evidence read from /v1/network/links with the same scope."""
    network: dict[str, Any] = await get(client, "/v1/network", **params)
    assert not network["truncated"]
    scope = {name: value for name, value in params.items() if name in SCOPE}
    for found in network["edges"]:
        found["evidence"] = await evidence_of(client, found["source"], found["target"], **scope)
    return network


def slugs_by_id(network: dict[str, Any]) -> dict[str, str]:
    return {node["id"]: node["slug"] for node in network["nodes"]}


def edge(network: dict[str, Any], one: str, other: str) -> dict[str, Any]:
    """The edge between two organisations (by slug), its roles turned to read from `one` to `other`."""
    slug = slugs_by_id(network)
    edges: list[dict[str, Any]] = network["edges"]
    for found in edges:
        ends = (slug[found["source"]], slug[found["target"]])
        if ends in ((one, other), (other, one)):
            if ends == (other, one):
                for evidence in found["evidence"]:
                    roles = evidence["roles"]
                    evidence["roles"] = {"source": roles["target"], "target": roles["source"]}
            return found
    raise AssertionError(f"no edge between {one} and {other}")


def evidence(found: dict[str, Any]) -> set[tuple[str, str, tuple[str, ...], tuple[str, ...]]]:
    return {
        (e["kind"], e["record"]["slug"], tuple(e["roles"]["source"]), tuple(e["roles"]["target"]))
        for e in found["evidence"]
    }


class TestOnTheSeed:
    @pytest.fixture(autouse=True)
    async def empty_database(self, seeded: None) -> None:
        """These tests only read: they share the one load `seeded` makes."""

    async def test_lankelly_and_ivar_are_linked_through_research_and_co_funding(
        self, client: httpx.AsyncClient
    ) -> None:
        network = await linked(client)

        found = edge(network, LANKELLY, IVAR)
        # The review Lankelly Chase commissioned, and the study it co-funded (fixtures/seed/README.md).
        assert (found["weight"], found["records"]) == (2, 2)
        assert evidence(found) == {
            ("research", "ivar-place-literature-review", ("commissioner",), ("partner",)),
            ("co_funding", "ivar-place-based-funding-study-co-funding", ("funder",), ("recipient",)),
        }

    async def test_each_edge_counts_its_records_by_kind_as_the_links_endpoint_gives_them(
        self, client: httpx.AsyncClient
    ) -> None:
        network = await linked(client)

        for found in network["edges"]:
            by_kind: dict[str, int] = {}
            for record in found["evidence"]:
                by_kind[record["kind"]] = by_kind.get(record["kind"], 0) + 1
            assert found["kinds"] == by_kind
            assert found["records"] == sum(by_kind.values()) == len(found["evidence"])
        assert edge(network, LANKELLY, IVAR)["kinds"] == {"co_funding": 1, "research": 1}

    async def test_the_links_endpoint_pages_a_links_records_and_reads_roles_from_the_first(
        self, client: httpx.AsyncClient
    ) -> None:
        first = await get(client, "/v1/network/links", between=f"{IVAR},{LANKELLY}", limit=1)
        second = await get(
            client, "/v1/network/links", between=f"{IVAR},{LANKELLY}", limit=1, cursor=first["next_cursor"]
        )
        whole = await get(client, "/v1/network/links", between=f"{IVAR},{LANKELLY}")

        assert (first["source"]["slug"], first["target"]["slug"]) == (IVAR, LANKELLY)
        assert (first["weight"], first["records"], first["kinds"]) == (2, 2, {"co_funding": 1, "research": 1})
        assert second["next_cursor"] is None
        assert first["evidence"] + second["evidence"] == whole["evidence"]
        assert [(e["kind"], e["roles"]["source"], e["roles"]["target"], e["weight"]) for e in whole["evidence"]] == [
            ("co_funding", ["recipient"], ["funder"], 1),
            ("research", ["partner"], ["commissioner"], 1),
        ]
        assert whole["evidence"][1]["record"]["slug"] == "ivar-place-literature-review"

    async def test_two_organisations_no_record_links_have_no_evidence(self, client: httpx.AsyncClient) -> None:
        answer = await get(client, "/v1/network/links", between=f"{ACF},{IVAR}")

        assert (answer["weight"], answer["records"], answer["kinds"], answer["evidence"]) == (0, 0, {}, [])

    @pytest.mark.parametrize("between", ["ivar", "ivar,", ",ivar", "ivar,ivar", "ivar,acf,lankelly-chase-foundation"])
    async def test_a_between_that_is_not_two_organisations_is_a_422(
        self, client: httpx.AsyncClient, between: str
    ) -> None:
        response = await client.get("/v1/network/links", params={"between": between})

        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["field"] == "between"

    async def test_a_between_naming_no_organisation_is_a_404(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/v1/network/links", params={"between": f"{IVAR},nobody-at-all"})

        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["detail"] == "There is no organisation 'nobody-at-all'."

    async def test_a_cursor_from_elsewhere_is_a_422(self, client: httpx.AsyncClient) -> None:
        page = await get(client, "/v1/network", limit=1)
        wrong = await client.get("/v1/network/links", params={"between": f"{IVAR},{LANKELLY}", "cursor": "x" * 80})
        malformed = await client.get("/v1/network", params={"cursor": page["next_cursor"][:-1] + "B"})

        assert wrong.status_code == 422
        assert malformed.status_code in (400, 422)

    async def test_the_whole_seed_fits_the_default_page(self, client: httpx.AsyncClient) -> None:
        network = await get(client, "/v1/network")

        assert (network["total_nodes"], network["total_edges"]) == (58, 57)
        assert (len(network["nodes"]), len(network["edges"])) == (58, 57)
        assert (network["truncated"], network["next_cursor"]) == (False, None)
        weights = [e["weight"] for e in network["edges"]]
        assert weights == sorted(weights, reverse=True), "strongest first"

    async def test_the_interest_groups_members_are_connected(self, client: httpx.AsyncClient) -> None:
        network = await linked(client, kind="interest_group")

        found = edge(network, ACF, LANKELLY)
        assert evidence(found) == {("interest_group", "acf-place-interest-group", ("convenor",), ("member",))}
        assert set(slugs_by_id(network).values()) == {ACF, LANKELLY}

    async def test_nodes_carry_kind_degree_strength_and_centrality(self, client: httpx.AsyncClient) -> None:
        network = await get(client, "/v1/network")

        nodes = {node["slug"]: node for node in network["nodes"]}
        lankelly = nodes[LANKELLY]
        touching = [e for e in network["edges"] if lankelly["id"] in (e["source"], e["target"])]
        assert lankelly["kind"] == "foundation"
        assert lankelly["degree"] == len(touching) == len(nodes) - 1
        # Each weight is rounded to 6 places, so their sum may differ from the strength in the last places.
        assert lankelly["strength"] == pytest.approx(sum(e["weight"] for e in touching), abs=1e-5)
        assert lankelly["centrality"] == max(node["centrality"] for node in nodes.values()) > 0
        assert nodes[ACF]["centrality"] == 0
        assert all(0 <= node["centrality"] <= 1 for node in nodes.values())

    async def test_every_edge_weighs_its_evidence_and_joins_known_nodes(self, client: httpx.AsyncClient) -> None:
        network = await linked(client)

        ids = set(slugs_by_id(network))
        pairs = [(e["source"], e["target"]) for e in network["edges"]]
        assert len(pairs) == len({frozenset(pair) for pair in pairs})
        for found in network["edges"]:
            assert {found["source"], found["target"]} <= ids and found["source"] != found["target"]
            assert found["records"] == len(found["evidence"]) >= 1
            assert found["weight"] == pytest.approx(sum(e["weight"] for e in found["evidence"]), abs=1e-5)

    async def test_the_thanked_organisations_are_not_linked_to_each_other(self, client: httpx.AsyncClient) -> None:
        """The 49 organisations the blog post thanks are the participants of the 200 conversations: each is
        linked to Lankelly Chase, which convened them, by 1/49 from that record, and to no other thanked
        organisation by it (before issue 20 they formed a clique of 1,176 links)."""
        network = await linked(client)
        conversations = await get(client, "/v1/engagements/conversations-with-over-200-people")
        thanked = {p["id"] for p in conversations["participants"]}
        lankelly = {n["slug"]: n["id"] for n in network["nodes"]}[LANKELLY]

        assert len(thanked) == 49
        assert not [e for e in network["edges"] if {e["source"], e["target"]} <= thanked]
        touching = {
            e["target"] if e["source"] == lankelly else e["source"]: e
            for e in network["edges"]
            if lankelly in (e["source"], e["target"])
        }
        assert thanked <= set(touching)
        for organisation in thanked:
            (from_conversations,) = [
                e for e in touching[organisation]["evidence"] if e["record"]["slug"] == conversations["slug"]
            ]
            assert from_conversations["weight"] == round(1 / 49, 6)
        # A star around Lankelly Chase, plus nothing: every link in the seed has it at one end.
        assert len(network["edges"]) == len(touching) == len(network["nodes"]) - 1

    async def test_a_place_includes_the_places_below_it(self, client: httpx.AsyncClient) -> None:
        network = await get(client, "/v1/network", place="london")

        assert set(slugs_by_id(network).values()) == {
            LANKELLY,
            "north-camden-zone",
            "wandsworth-community-empowerment-network",
        }
        assert {kind for found in network["edges"] for kind in found["kinds"]} == {"grant"}

    async def test_an_organisation_gives_its_own_network(self, client: httpx.AsyncClient) -> None:
        network = await get(client, "/v1/network", organisation="GB-CHC-1114403")

        assert set(slugs_by_id(network).values()) == {IVAR, LANKELLY}

    async def test_graphml_on_request_parses_as_graphml(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/v1/network", headers={"Accept": GRAPHML})
        network = await get(client, "/v1/network")

        assert response.status_code == 200
        assert response.headers["content-type"].startswith(GRAPHML)
        assert response.headers["content-disposition"] == 'attachment; filename="placenet-network.graphml"'
        root = ET.fromstring(response.content)
        assert root.tag == f"{GRAPHML_NS}graphml"
        assert len(root.findall(f"{GRAPHML_NS}graph/{GRAPHML_NS}node")) == len(network["nodes"])
        graph = nx.read_graphml(io.BytesIO(response.content))
        assert graph.number_of_nodes() == len(network["nodes"])
        assert graph.number_of_edges() == len(network["edges"])
        labels = {data["slug"]: node for node, data in graph.nodes(data=True)}
        link = graph.edges[labels[LANKELLY], labels[IVAR]]
        assert (link["weight"], link["records"], link["research"], link["co_funding"]) == (2, 2, 1, 1)
        assert link["kinds"] == "co_funding, research"
        assert graph.nodes[labels[LANKELLY]]["label"] == "Lankelly Chase Foundation"

    async def test_the_streamed_downloads_are_the_network_the_json_gives(self, client: httpx.AsyncClient) -> None:
        network = await get(client, "/v1/network")
        graphml = await client.get("/v1/network", params={"format": "graphml"})
        table = await client.get("/v1/network", headers={"Accept": "text/csv"})

        nodes = {n["id"]: (n["slug"], n["name"], n["kind"], n["degree"], n["strength"]) for n in network["nodes"]}
        edges = {
            frozenset((e["source"], e["target"])): (e["weight"], e["records"], e["kinds"]) for e in network["edges"]
        }
        graph = nx.read_graphml(io.BytesIO(graphml.content))
        assert {
            node: (d["slug"], d["label"], d["kind"], d["degree"], d["strength"]) for node, d in graph.nodes(data=True)
        } == nodes
        kinds = ("interest_group", "co_funding", "research", "grant", "engagement")
        assert {
            frozenset((a, b)): (d["weight"], d["records"], {k: d[k] for k in kinds if d[k]})
            for a, b, d in graph.edges(data=True)
        } == edges
        assert table.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(table.text)))
        assert {
            frozenset((r["source"], r["target"])): (
                float(r["weight"]),
                int(r["records"]),
                {k: int(r[k]) for k in kinds if int(r[k])},
            )
            for r in rows
        } == edges
        assert all((r["source_slug"], r["target_slug"]) == (nodes[r["source"]][0], nodes[r["target"]][0]) for r in rows)
        assert [float(r["weight"]) for r in rows] == [e["weight"] for e in network["edges"]], "strongest first"

    async def test_format_asks_for_graphml_without_a_header(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/v1/network", params={"format": "graphml", "kind": "research"})

        assert response.headers["content-type"].startswith(GRAPHML)
        assert nx.read_graphml(io.BytesIO(response.content)).number_of_nodes() == 3

    async def test_a_bad_filter_on_a_download_is_a_problem_not_a_broken_file(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/v1/network", params={"format": "csv", "place": "nowhere-at-all"})

        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"

    async def test_json_is_the_default(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/v1/network", headers={"Accept": "*/*"}, params={"kind": "research"})

        assert response.headers["content-type"] == "application/json"

    async def test_a_path_between_two_members_goes_through_their_membership(self, client: httpx.AsyncClient) -> None:
        path = await get(client, "/v1/network/path", **{"from": ACF, "to": "GB-CHC-1107583"})

        assert path["from"]["slug"] == ACF and path["to"]["slug"] == LANKELLY
        assert path["length"] == 1
        (hop,) = path["hops"]
        assert (hop["source"]["slug"], hop["target"]["slug"]) == (ACF, LANKELLY)
        assert evidence(hop) == {("interest_group", "acf-place-interest-group", ("convenor",), ("member",))}

    async def test_a_longer_path_gives_the_evidence_at_each_hop(self, client: httpx.AsyncClient) -> None:
        path = await get(client, "/v1/network/path", **{"from": ACF, "to": IVAR})

        assert path["length"] == 2
        assert [(hop["source"]["slug"], hop["target"]["slug"]) for hop in path["hops"]] == [
            (ACF, LANKELLY),
            (LANKELLY, IVAR),
        ]
        assert ("research", "ivar-place-literature-review", ("commissioner",), ("partner",)) in evidence(
            path["hops"][1]
        )

    async def test_no_chain_is_a_404_that_says_so(self, client: httpx.AsyncClient) -> None:
        # Revolving Doors takes part in nothing (fixtures/seed/README.md).
        response = await client.get("/v1/network/path", params={"from": "revolving-doors", "to": IVAR})

        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["detail"] == (
            "No chain of collaborations joins 'Revolving Doors' to 'Institute for Voluntary Action Research'."
        )

    async def test_filters_can_break_a_chain(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/v1/network/path", params={"from": ACF, "to": IVAR, "kind": "research"})

        assert response.status_code == 404
        assert response.json()["detail"].endswith("with these filters.")

    async def test_a_neighbourhood_of_depth_1_is_the_organisations_own_links(self, client: httpx.AsyncClient) -> None:
        answer = await get(client, "/v1/organisations/ivar/network")
        network = await get(client, "/v1/network")

        ids = {n["slug"]: n["id"] for n in network["nodes"]}
        assert (answer["organisation"]["slug"], answer["depth"]) == (IVAR, 1)
        assert [(e["source"], e["target"], e["weight"]) for e in answer["edges"]] == [
            (e["source"], e["target"], e["weight"]) for e in network["edges"] if ids[IVAR] in (e["source"], e["target"])
        ]
        assert {n["slug"]: n["distance"] for n in answer["nodes"]} == {IVAR: 0, LANKELLY: 1}
        degrees = {n["id"]: n["degree"] for n in network["nodes"]}
        assert all(n["degree"] == degrees[n["id"]] for n in answer["nodes"])

    async def test_a_neighbourhood_of_depth_2_adds_the_neighbours_links(self, client: httpx.AsyncClient) -> None:
        answer = await get(client, "/v1/organisations/ivar/network", depth=2, limit=20)
        network = await get(client, "/v1/network")

        # IVAR's one neighbour is Lankelly Chase, at the centre of the seed's star: its links are all 57.
        assert (answer["total_edges"], len(answer["edges"]), answer["truncated"]) == (57, 20, True)
        assert [e["weight"] for e in answer["edges"]] == [e["weight"] for e in network["edges"][:20]]
        distances = {n["slug"]: n["distance"] for n in answer["nodes"]}
        assert (distances[IVAR], distances[LANKELLY]) == (0, 1)
        assert set(distances.values()) == {0, 1, 2}
        rest = await get(client, "/v1/organisations/ivar/network", depth=2, limit=100, cursor=answer["next_cursor"])
        assert len(rest["edges"]) == 37 and rest["next_cursor"] is None

    async def test_a_neighbourhood_of_an_unknown_organisation_is_a_404(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/v1/organisations/nobody-at-all/network")

        assert response.status_code == 404

    async def test_collaborators_are_ranked_by_shared_records(self, client: httpx.AsyncClient) -> None:
        answer = await get(client, "/v1/organisations/lankelly-chase-foundation/collaborators", limit=4)

        network = await get(client, "/v1/network")
        assert answer["organisation"]["slug"] == LANKELLY
        assert answer["total"] == len(network["nodes"]) - 1
        ranked = [(c["organisation"]["slug"], c["weight"], c["records"]) for c in answer["collaborators"]]
        # By name among the two weighing 2: IVAR (the review and the co-funded study) and Newcastle
        # University (the manifesto research, and the two-party manifesto discussions: 1/(2-1)). Then, by
        # name, the grantees also thanked: a grant (1) and a place among the 49 participants of the 200
        # conversations (1/49). (Before issue 20 weight counted records, and the conversations weighed 1
        # like a grant; IVAR shared three records, the study naming Lankelly Chase as commissioner too.)
        assert ranked == [
            (IVAR, 2, 2),
            ("newcastle-university", 2, 2),
            ("collaborate", round(1 + 1 / 49, 6), 2),
            ("foundation-for-families", round(1 + 1 / 49, 6), 2),
        ]

    async def test_a_collaborators_evidence_reads_from_the_organisation_asked_about(
        self, client: httpx.AsyncClient
    ) -> None:
        answer = await get(client, "/v1/organisations/ivar/collaborators")

        (lankelly,) = answer["collaborators"]
        assert lankelly["organisation"]["slug"] == LANKELLY
        assert ("co_funding", "ivar-place-based-funding-study-co-funding", ("recipient",), ("funder",)) in evidence(
            lankelly
        )

    async def test_a_collaborators_evidence_is_its_first_records_the_rest_at_the_links(
        self, client: httpx.AsyncClient
    ) -> None:
        whole = await get(client, "/v1/organisations/lankelly-chase-foundation/collaborators", limit=1, evidence=2)
        one = await get(client, "/v1/organisations/lankelly-chase-foundation/collaborators", limit=1, evidence=1)
        none = await get(client, "/v1/organisations/lankelly-chase-foundation/collaborators", limit=1, evidence=0)

        (ivar,) = whole["collaborators"]
        assert ivar["records"] == 2 and len(ivar["evidence"]) == 2
        assert one["collaborators"][0]["records"] == 2
        assert one["collaborators"][0]["evidence"] == ivar["evidence"][:1]  # by kind, then name
        assert none["collaborators"][0]["evidence"] == [] and none["collaborators"][0]["weight"] == ivar["weight"]
        links = await get(client, "/v1/network/links", between=f"{LANKELLY},{IVAR}")
        assert [e["record"]["slug"] for e in links["evidence"]] == [e["record"]["slug"] for e in ivar["evidence"]]

    async def test_an_unknown_organisation_is_a_404(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/v1/organisations/nobody-at-all/collaborators")

        assert response.status_code == 404

    async def test_an_unknown_end_of_a_path_is_a_422_naming_it(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/v1/network/path", params={"from": "nobody-at-all", "to": IVAR})

        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "from"


async def test_a_path_from_an_organisation_to_itself_has_no_hops(client: httpx.AsyncClient) -> None:
    await builders.organisation(client, "Lankelly Chase Foundation")

    path = await get(client, "/v1/network/path", **{"from": LANKELLY, "to": LANKELLY})

    assert (path["length"], path["hops"]) == (0, [])


async def test_a_member_outside_the_dates_is_not_linked(client: httpx.AsyncClient) -> None:
    for name in ("Lankelly Chase Foundation", "Early Leaver", "Stayer"):
        await builders.organisation(client, name)
    await builders.post(
        client,
        "/v1/interest-groups",
        {
            "name": "Place funders",
            "members": [
                {"organisation": LANKELLY, "joined_on": "2016-01-01"},
                {"organisation": "early-leaver", "left_on": "2016-06-30"},
                {"organisation": "stayer"},
            ],
        },
    )

    in_2017 = await linked(client, active_on="2017-01-01")
    in_2015 = await linked(client, **{"from": "2015-01-01", "to": "2015-12-31"})

    assert set(slugs_by_id(in_2017).values()) == {LANKELLY, "stayer"}
    assert set(slugs_by_id(in_2015).values()) == {"early-leaver", "stayer"}


async def test_a_co_funding_arrangement_links_its_lead_funders_and_the_research_it_paid_for(
    client: httpx.AsyncClient,
) -> None:
    for name in ("Lankelly Chase Foundation", "London Funders", "IVAR"):
        await builders.organisation(client, name)
    fund = await builders.post(
        client,
        "/v1/co-funding",
        {"name": "Study fund", "lead": "london-funders", "contributions": [{"funder": LANKELLY}]},
    )
    await builders.post(
        client, "/v1/research", {"name": "Study", "kind": "study", "partners": ["ivar"], "funded_by": fund["slug"]}
    )

    network = await linked(client, kind="co_funding")

    assert evidence(edge(network, "london-funders", LANKELLY)) == {("co_funding", "study-fund", ("lead",), ("funder",))}
    assert evidence(edge(network, LANKELLY, "ivar")) == {("co_funding", "study-fund", ("funder",), ("recipient",))}


async def grow(client: httpx.AsyncClient, start: int, count: int) -> None:
    """More organisations, each in a grant from Lankelly Chase, in the interest group and in an engagement."""
    for n in range(start, start + count):
        await builders.organisation(client, f"Charity {n}", kind="charity")
        await builders.grant(client, LANKELLY, f"charity-{n}", f"Grant {n}")
        await client.post("/v1/interest-groups/place-funders/members", json={"organisation": f"charity-{n}"})
        await builders.post(
            client,
            "/v1/engagements",
            # Convened by IVAR: an engagement links its convenor with each participant, not participants.
            {"name": f"Meeting {n}", "kind": "meeting", "convenor": "ivar", "participants": [f"charity-{n}"]},
        )


@pytest.mark.parametrize(
    ("path", "params", "expected"),
    [
        # the organisations in scope and the links among them (and one to resolve the filter); unfiltered,
        # the whole network's measures kept in the background
        ("/v1/network", {"limit": "3"}, 3),
        ("/v1/network", {"organisation": LANKELLY, "active_on": "2020-01-01"}, 3),
        # resolve, name, its neighbours, the page of links, their organisations
        ("/v1/organisations/ivar/network", {"depth": "2", "limit": "3"}, 5),
        # resolve both, name both, the records the two share (how many each takes part in, the lighter's
        # records, which of those the other takes part in), their parties
        ("/v1/network/links", {"between": "lankelly-chase-foundation,charity-1", "limit": "1"}, 6),
        # filtered by kind: resolve, the organisation's name, its records' parties
        ("/v1/organisations/lankelly-chase-foundation/collaborators", {"kind": "grant"}, 3),
        # kept: resolve, the strongest links, the records shared with those (three, as above), their names,
        # the parties of the first few, the name
        ("/v1/organisations/lankelly-chase-foundation/collaborators", {"limit": "3"}, 8),
        # resolve each end, name both, the ends' degrees, one level of the search (one hop), the records the
        # hops share (three), their parties
        ("/v1/network/path", {"from": "charity-0", "to": "ivar"}, 9),
    ],
)
async def test_the_network_sends_the_same_queries_however_much_data(
    client: httpx.AsyncClient, queries: Callable[[], int], path: str, params: dict[str, str], expected: int
) -> None:
    for name in ("Lankelly Chase Foundation", "IVAR"):
        await builders.organisation(client, name)
    await builders.post(
        client, "/v1/interest-groups", {"name": "Place funders", "members": [{"organisation": LANKELLY}]}
    )
    await grow(client, 0, 2)

    before = queries()
    assert (await client.get(path, params=params)).status_code == 200
    small = queries() - before
    await grow(client, 2, 10)
    before = queries()
    assert (await client.get(path, params=params)).status_code == 200

    assert queries() - before == small == expected


def test_betweenness_is_estimated_within_a_work_budget_on_big_networks() -> None:
    import networkx as nx

    from api.services.views.measures import CENTRALITY_BUDGET, CENTRALITY_SAMPLE, centrality, centrality_sample

    sparse = nx.path_graph(600)
    assert centrality_sample(sparse) == CENTRALITY_SAMPLE, "a sparse network keeps the full sample"
    dense = nx.complete_graph(300)  # 44,850 links: a large interest group looks like this
    sample = centrality_sample(dense)
    assert 10 <= sample < CENTRALITY_SAMPLE
    assert sample * (dense.number_of_nodes() + dense.number_of_edges()) <= CENTRALITY_BUDGET
    huge = nx.complete_graph(2100)
    assert centrality_sample(huge) == 10, "never fewer than 10 sources"

    scores = centrality(nx.barbell_graph(300, 2))  # two cliques joined by a bridge of 2
    assert len(scores) == 602 and all(0 <= s <= 1 for s in scores.values())
    bridge = max(scores, key=scores.__getitem__)
    assert bridge in {299, 300, 301, 302}, "the bridge between the cliques (or its ends) is the most central"


async def test_a_region_network_leaves_out_records_outside_it_with_or_without_an_organisation(
    client: httpx.AsyncClient,
) -> None:
    """The region narrows every kind's records and parties from its own places (the records linked to a
    place below it, each with all its parties), whether or not an organisation narrows them too."""
    await builders.uk_places(client)
    for name in ("Lankelly Chase Foundation", "IVAR", "Grapevine", "Far Away", "Neighbour"):
        await builders.organisation(client, name)
    await builders.grant(client, LANKELLY, "grapevine", "Coventry grant", places=["E08000026"])
    await builders.grant(client, LANKELLY, "far-away", "Scottish grant", places=["S92000003"])
    await builders.post(
        client,
        "/v1/engagements",
        {
            "name": "Region meeting",
            "kind": "meeting",
            "convenor": "ivar",
            "participants": ["neighbour"],
            "places": ["E12000005"],
        },
    )
    await builders.post(
        client,
        "/v1/engagements",
        {
            "name": "Both places",
            "kind": "meeting",
            "convenor": "ivar",
            "participants": ["far-away"],
            "places": ["S92000003", "E08000026"],
        },
    )

    region = await linked(client, place="E12000005")
    assert set(slugs_by_id(region).values()) == {LANKELLY, "grapevine", "ivar", "neighbour", "far-away"}
    assert evidence(edge(region, LANKELLY, "grapevine")) == {("grant", "coventry-grant", ("funder",), ("recipient",))}
    assert evidence(edge(region, "ivar", "far-away")) == {
        ("engagement", "both-places", ("convenor",), ("participant",))
    }
    assert len(region["edges"]) == 3

    own = await get(client, "/v1/network", place="E12000005", organisation="ivar")
    assert set(slugs_by_id(own).values()) == {"ivar", "neighbour", "far-away"}
    assert len(own["edges"]) == 2

    collaborators = await get(client, f"/v1/organisations/{LANKELLY}/collaborators", place="E12000005")
    assert [c["organisation"]["slug"] for c in collaborators["collaborators"]] == ["grapevine"]


# How each kind of record links its parties (docs/network.md, `TIES`): exact weights on small records.


def weights(network: dict[str, Any]) -> dict[frozenset[str], tuple[float, int]]:
    """Each link as {slug, slug}: (weight, records)."""
    slug = slugs_by_id(network)
    return {frozenset((slug[e["source"]], slug[e["target"]])): (e["weight"], e["records"]) for e in network["edges"]}


def pair(one: str, other: str) -> frozenset[str]:
    return frozenset((one, other))


async def organisations(client: httpx.AsyncClient, *slugs: str) -> None:
    for slug in slugs:
        await builders.organisation(client, slug.replace("-", " ").title())


async def test_co_funders_are_linked_pairwise_and_to_the_partners_of_research_they_paid_for(
    client: httpx.AsyncClient,
) -> None:
    await organisations(client, "lead-funder", "funder-one", "funder-two", "partner-one", "partner-two")
    fund = await builders.post(
        client,
        "/v1/co-funding",
        {"name": "Fund", "lead": "lead-funder", "contributions": [{"funder": "funder-one"}, {"funder": "funder-two"}]},
    )
    await builders.post(
        client,
        "/v1/research",
        {"name": "Study", "kind": "study", "partners": ["partner-one", "partner-two"], "funded_by": fund["slug"]},
    )

    co_funding = weights(await get(client, "/v1/network", kind="co_funding"))
    everything = weights(await get(client, "/v1/network"))

    funders = ("lead-funder", "funder-one", "funder-two")
    expected = {pair(a, b): (1, 1) for i, a in enumerate(funders) for b in funders[i + 1 :]}
    expected |= {pair(f, p): (1, 1) for f in funders for p in ("partner-one", "partner-two")}
    assert co_funding == expected, "two recipients are not linked by the arrangement"
    # The research itself links its two partners: 1/(n-1) with n = 2.
    assert everything == expected | {pair("partner-one", "partner-two"): (1, 1)}


async def test_a_grant_links_its_funder_and_recipient_once_per_grant(client: httpx.AsyncClient) -> None:
    await organisations(client, "giver", "doer")
    await builders.grant(client, "giver", "doer", "First")
    await builders.grant(client, "giver", "doer", "Second")

    assert weights(await get(client, "/v1/network")) == {pair("giver", "doer"): (2, 2)}


async def test_research_links_commissioners_fully_and_partners_with_each_other_damped(
    client: httpx.AsyncClient,
) -> None:
    await organisations(client, "commissioner-one", "commissioner-two", "partner-a", "partner-b", "partner-c")
    await builders.post(
        client,
        "/v1/research",
        {
            "name": "Review",
            "kind": "study",
            "commissioners": ["commissioner-one", "commissioner-two"],
            "partners": ["partner-a", "partner-b", "partner-c"],
        },
    )

    found = weights(await get(client, "/v1/network"))

    partners = ("partner-a", "partner-b", "partner-c")
    expected: dict[frozenset[str], tuple[float, int]] = {pair("commissioner-one", "commissioner-two"): (1, 1)}
    expected |= {pair(c, p): (1, 1) for c in ("commissioner-one", "commissioner-two") for p in partners}
    expected |= {pair(a, b): (0.25, 1) for i, a in enumerate(partners) for b in partners[i + 1 :]}  # n = 5
    assert found == expected


async def test_an_interest_group_is_damped_by_its_size_and_observers_link_only_to_the_convenor(
    client: httpx.AsyncClient,
) -> None:
    await organisations(client, "host", "member-one", "member-two", "member-three", "watcher")
    await builders.post(
        client,
        "/v1/interest-groups",
        {
            "name": "Group",
            "convenor": "host",
            "members": [
                {"organisation": "member-one"},
                {"organisation": "member-two"},
                {"organisation": "member-three"},
                {"organisation": "watcher", "role": "observer"},
            ],
        },
    )

    found = weights(await get(client, "/v1/network"))

    members = ("host", "member-one", "member-two", "member-three")
    expected = {pair(a, b): (0.25, 1) for i, a in enumerate(members) for b in members[i + 1 :]}  # n = 5
    assert found == expected | {pair("host", "watcher"): (0.25, 1)}


async def test_an_engagement_links_its_convenor_with_each_participant_and_never_two_participants(
    client: httpx.AsyncClient,
) -> None:
    await organisations(client, "organiser", "guest-one", "guest-two", "guest-three", "stranger")
    await builders.post(
        client,
        "/v1/engagements",
        {
            "name": "Event",
            "kind": "meeting",
            "convenor": "organiser",
            "participants": ["guest-one", "guest-two", "guest-three"],
        },
    )
    await builders.post(
        client, "/v1/engagements", {"name": "Unconvened", "kind": "meeting", "participants": ["guest-one", "stranger"]}
    )

    network = await get(client, "/v1/network", isolated="true")
    path = await get(client, "/v1/network/path", **{"from": "guest-one", "to": "guest-two"})
    collaborators = await get(client, "/v1/organisations/guest-one/collaborators")

    assert weights(network) == {
        pair("organiser", g): (round(1 / 3, 6), 1) for g in ("guest-one", "guest-two", "guest-three")
    }
    assert "stranger" in slugs_by_id(network).values(), "a party linked to nobody is a node when asked for"
    assert "stranger" not in slugs_by_id(await get(client, "/v1/network")).values(), "but only then"
    assert [(h["source"]["slug"], h["target"]["slug"]) for h in path["hops"]] == [
        ("guest-one", "organiser"),
        ("organiser", "guest-two"),
    ]
    assert [(c["organisation"]["slug"], c["weight"], c["records"]) for c in collaborators["collaborators"]] == [
        ("organiser", round(1 / 3, 6), 1)
    ]
    response = await client.get("/v1/network/path", params={"from": "guest-one", "to": "stranger"})
    assert response.status_code == 404


async def test_a_link_sums_what_each_record_adds_and_counts_the_records(client: httpx.AsyncClient) -> None:
    await organisations(client, "host", "member-one", "member-two")
    await builders.post(
        client,
        "/v1/interest-groups",
        {
            "name": "Group",
            "convenor": "host",
            "members": [{"organisation": "member-one"}, {"organisation": "member-two"}],
        },
    )
    await builders.grant(client, "host", "member-one", "Grant")

    network = await linked(client)
    found = edge(network, "host", "member-one")

    assert (found["weight"], found["records"]) == (1.5, 2)
    assert [(e["kind"], e["weight"]) for e in found["evidence"]] == [("grant", 1), ("interest_group", 0.5)]
    nodes = {n["slug"]: n for n in network["nodes"]}
    assert (nodes["host"]["degree"], nodes["host"]["strength"]) == (2, 2.0)


def test_the_rules_documented_are_the_rules_applied() -> None:
    from pathlib import Path

    from api.services.views.network import ties, ties_table

    assert ties_table() in (Path(__file__).parent.parent / "docs" / "network.md").read_text()
    # Several roles in one record: the strongest tie, once.
    assert ties("research", {1: {"commissioner", "partner"}, 2: {"partner"}, 3: {"partner"}}) == {
        (1, 2): 1.0,
        (1, 3): 1.0,
        (2, 3): 0.5,
    }
    assert ties("engagement", {1: {"participant"}, 2: {"participant"}}) == {}
    assert ties("grant", {1: {"funder", "recipient"}}) == {}


# Bounded answers: a page of the strongest links at a time.


async def a_big_group(client: httpx.AsyncClient, size: int = 33) -> None:
    """An interest group of `size` members: size·(size-1)/2 links of 1/(size-1) each (528 for 33, more than
    the default page), and one grant making one of them stronger."""
    slugs = [f"member-{n:02d}" for n in range(size)]
    await organisations(client, *slugs)
    await builders.post(
        client, "/v1/interest-groups", {"name": "Big group", "members": [{"organisation": s} for s in slugs]}
    )
    await builders.grant(client, "member-00", "member-01", "Grant")


async def test_the_default_answer_is_bounded_and_says_so(client: httpx.AsyncClient) -> None:
    from api.services.views.network import DEFAULT_LINKS

    await a_big_group(client)

    network = await get(client, "/v1/network")

    assert (network["total_edges"], network["total_nodes"]) == (528, 33)
    assert len(network["edges"]) == DEFAULT_LINKS < 528
    assert network["truncated"] is True and network["next_cursor"]
    assert network["edges"][0]["weight"] == round(1 + 1 / 32, 6) and network["edges"][0]["kinds"] == {
        "grant": 1,
        "interest_group": 1,
    }
    ends = {end for e in network["edges"] for end in (e["source"], e["target"])}
    assert {n["id"] for n in network["nodes"]} == ends, "the nodes are those the page's links join"
    assert all(n["degree"] == 32 for n in network["nodes"]), "measured in the whole network"
    too_many = await client.get("/v1/network", params={"limit": "5001"})
    assert too_many.status_code == 400


async def test_a_cursor_pages_through_every_link_once_in_order(client: httpx.AsyncClient) -> None:
    await a_big_group(client)
    whole = await get(client, "/v1/network", limit=5000)

    seen: list[tuple[str, str]] = []
    cursor = None
    pages = 0
    while True:
        page = await get(client, "/v1/network", limit=100, **({"cursor": cursor} if cursor else {}))
        pages += 1
        seen += [(e["source"], e["target"]) for e in page["edges"]]
        assert page["total_edges"] == 528
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert pages == 6
    assert len(seen) == len(set(seen)) == 528
    assert seen == [(e["source"], e["target"]) for e in whole["edges"]]
    assert whole["truncated"] is False
    weights = [e["weight"] for e in whole["edges"]]
    assert weights == sorted(weights, reverse=True)


async def test_min_weight_keeps_only_links_as_strong(client: httpx.AsyncClient) -> None:
    await a_big_group(client)

    strong = await get(client, "/v1/network", min_weight=0.5)
    exact = await get(client, "/v1/network", min_weight=round(1 / 32, 6))
    above = await get(client, "/v1/network", min_weight=round(1 / 32, 6) + 0.000001)

    assert [(e["weight"], e["records"]) for e in strong["edges"]] == [(round(1 + 1 / 32, 6), 2)]
    assert (strong["total_edges"], strong["truncated"], len(strong["nodes"])) == (1, False, 2)
    assert exact["total_edges"] == 528, "at least: a link of exactly min_weight is kept"
    assert above["total_edges"] == 1
    negative = await client.get("/v1/network", params={"min_weight": "-1"})
    assert negative.status_code == 400


async def test_a_neighbourhood_is_paged_and_filtered_like_the_network(client: httpx.AsyncClient) -> None:
    await a_big_group(client)

    own = await get(client, "/v1/organisations/member-00/network", limit=10)
    strong = await get(client, "/v1/organisations/member-00/network", depth=2, min_weight=0.5)
    wide = await get(client, "/v1/organisations/member-00/network", depth=2, limit=5000)

    assert (own["total_edges"], len(own["edges"]), own["truncated"]) == (32, 10, True)
    assert own["edges"][0]["kinds"] == {"grant": 1, "interest_group": 1}
    assert {n["distance"] for n in own["nodes"]} == {0, 1}
    # Over links of at least 0.5, member-00's one neighbour is member-01, linked to nobody else so strongly.
    assert strong["total_edges"] == 1 and {n["slug"] for n in strong["nodes"]} == {"member-00", "member-01"}
    assert wide["total_edges"] == 528 and not wide["truncated"]


async def test_a_download_is_written_a_chunk_of_rows_at_a_time(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rows come from a database cursor STREAM_CHUNK at a time, each chunk written as it comes: the
    download never holds the whole network (here 33 nodes and 528 links, in chunks of 50)."""
    from api.services.platform import sql
    from api.services.views.activity import ScopeFilters
    from api.services.views.network import download

    await a_big_group(client)
    monkeypatch.setattr(sql, "STREAM_CHUNK", 50)

    chunks = [chunk async for chunk in await download(filters=ScopeFilters(), min_weight=None, output="csv")]
    graphml = [chunk async for chunk in await download(filters=ScopeFilters(), min_weight=None, output="graphml")]

    assert len(chunks) == 1 + 11  # the header, then 528 links in chunks of 50
    assert max(len(chunk) for chunk in chunks) < 50 * 300
    assert len(graphml) == 1 + 1 + 11 + 1  # the header, 33 nodes, 528 links, the end
    answer = await client.get("/v1/network", params={"format": "csv"})
    assert answer.content == b"".join(chunks)
    assert nx.read_graphml(io.BytesIO(b"".join(graphml))).number_of_edges() == 528


async def test_downloads_escape_names_for_xml_and_spreadsheets(client: httpx.AsyncClient) -> None:
    await builders.organisation(client, "=HYPERLINK(1)", slug="formula")
    await builders.organisation(client, 'Smith & "Sons" <Trust>, Ltd', slug="smith")
    await builders.grant(client, "formula", "smith")

    table = await client.get("/v1/network", params={"format": "csv"})
    graphml = await client.get("/v1/network", params={"format": "graphml"})

    (row,) = list(csv.DictReader(io.StringIO(table.text)))
    assert {row["source_name"], row["target_name"]} == {"'=HYPERLINK(1)", 'Smith & "Sons" <Trust>, Ltd'}
    labels = {d["label"] for _, d in nx.read_graphml(io.BytesIO(graphml.content)).nodes(data=True)}
    assert labels == {"=HYPERLINK(1)", 'Smith & "Sons" <Trust>, Ltd'}


async def test_a_download_reaches_the_client_a_chunk_at_a_time(
    app: Any, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through every middleware (the ETag one buffers JSON records only), each chunk is sent as it comes."""
    import asyncio

    from api.services.platform import sql

    await a_big_group(client)
    monkeypatch.setattr(sql, "STREAM_CHUNK", 50)
    sent: list[dict[str, Any]] = []
    requested = False
    ended = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await ended.wait()  # the client stays until the answer ends, then goes
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            ended.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/v1/network",
        "raw_path": b"/v1/network",
        "root_path": "",
        "query_string": b"format=csv",
        "headers": [(b"host", b"placenet.test")],
        "client": ("127.0.0.1", 50000),
        "server": ("placenet.test", 80),
    }
    await app(scope, receive, send)

    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 200
    bodies = [m for m in sent if m["type"] == "http.response.body" and m.get("body")]
    assert len(bodies) == 12, "the header, then 528 links in chunks of 50"
    assert b"".join(m["body"] for m in bodies).count(b"\r\n") == 529


async def test_unfiltered_nodes_carry_the_measures_kept_in_the_background(client: httpx.AsyncClient) -> None:
    """Reads never measure the whole network: they carry the kept measures and the change-feed position
    they reflect, until the background measures again."""
    from api.services.views import measures

    for name in ("Lankelly Chase Foundation", "IVAR"):
        await builders.organisation(client, name)
    await builders.post(
        client, "/v1/interest-groups", {"name": "Place funders", "members": [{"organisation": LANKELLY}]}
    )
    await grow(client, 0, 3)
    fresh = await get(client, "/v1/network")
    assert fresh["measured_at_change"] is None  # never measured yet: measured for this answer

    position = await measures.refresh()
    assert position is not None
    kept = await get(client, "/v1/network")
    assert kept["measured_at_change"] == position
    assert {n["slug"]: (n["degree"], n["strength"], n["centrality"]) for n in kept["nodes"]} == {
        n["slug"]: (n["degree"], n["strength"], n["centrality"]) for n in fresh["nodes"]
    }
    # A filtered network is measured for its own answer.
    assert (await get(client, "/v1/network", kind="grant"))["measured_at_change"] is None

    await builders.organisation(client, "Newcomer", kind="charity")
    await builders.grant(client, LANKELLY, "newcomer", "New grant")
    stale = await get(client, "/v1/network")
    assert stale["measured_at_change"] == position  # the read did not wait for a measure
    newcomer = next(n for n in stale["nodes"] if n["slug"] == "newcomer")
    # Degree and strength are kept by the write itself; centrality waits for the background.
    assert (newcomer["degree"], newcomer["strength"], newcomer["centrality"]) == (1, 1.0, None)
    later = await measures.refresh()
    assert later is not None and later > position
    measured = next(n for n in (await get(client, "/v1/network"))["nodes"] if n["slug"] == "newcomer")
    assert (measured["degree"], measured["centrality"]) == (1, 0.0)


async def test_a_cursor_past_every_weight_is_a_page_not_an_error(client: httpx.AsyncClient) -> None:
    """A cursor's weight is 8 bytes, more than a database integer holds: it comes after every link."""
    import base64

    for name in ("Lankelly Chase Foundation", "IVAR"):
        await builders.organisation(client, name)
    await grow(client, 0, 2)
    cursor = base64.urlsafe_b64encode(b"\xff" * 8 + bytes(32)).decode().rstrip("=")
    for path in ("/v1/network", f"/v1/organisations/{LANKELLY}/network"):
        response = await client.get(path, params={"cursor": cursor})
        assert response.status_code == 200, response.text
        assert response.json()["edges"], "every link weighs less than the cursor's weight: the page lists them"
