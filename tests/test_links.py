"""The network's kept links (api/services/views/links.py) equal a full recomputation from the records,
after any sequence of creates, updates and deletes through the API: a property test over seeded random
sequences of writes to every kind of record and child row that makes a link."""

from __future__ import annotations

import random
from typing import Any

import httpx
import msgspec
import pytest

from api.services.views import links, network
from api.services.views.activity import ScopeFilters, selection
from models.tables import NetworkEdge, NetworkNode, NetworkRecord, NetworkScope
from tests import builders

ORGANISATIONS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"]
# A region with two boroughs, both also in a combined authority, and a place elsewhere: a record's scopes
# are its places and every place above them by either path.
PLACES: list[dict[str, Any]] = [
    {"name": "North", "level": "region", "slug": "north"},
    {"name": "Combined", "level": "combined_authority", "slug": "combined", "parent": "north"},
    {"name": "Eastby", "level": "local_authority", "slug": "eastby", "parent": "north", "also_within": ["combined"]},
    {"name": "Westby", "level": "local_authority", "slug": "westby", "parent": "north", "also_within": ["combined"]},
    {"name": "Elsewhere", "level": "region", "slug": "elsewhere"},
]
LOCAL = ["eastby", "westby", "north", "elsewhere"]
STEPS = 40


Kept = tuple[dict[tuple[str, str, str], tuple[Any, ...]], dict[tuple[str, str], tuple[Any, ...]]]
KIND_COLUMNS = ("interest_groups", "co_funding", "research", "grants", "engagements")


async def kept() -> Kept:
    """The kept edges (weight, records, by kind) and organisations (records, degree, strength) in every
    scope, and a check that each scope's totals and each edge's rank agree with them."""
    edges = {}
    for row in await NetworkEdge.select():
        assert row["rank"] == round(round(row["weight"], 6) * 1_000_000)
        edges[str(row["scope"]), str(row["source"]), str(row["target"])] = (
            round(row["weight"], 6),
            row["records"],
            tuple(row[column] for column in KIND_COLUMNS),
        )
    nodes = {
        (str(row["scope"]), str(row["organisation"])): (row["records"], row["degree"], round(row["strength"], 6))
        for row in await NetworkNode.select()
    }
    totals = {str(row["scope"]): (row["nodes"], row["edges"]) for row in await NetworkScope.select()}
    scopes = {scope for scope, _ in nodes}
    assert totals == {
        scope: (sum(1 for s, _ in nodes if s == scope), sum(1 for s, *_ in edges if s == scope)) for scope in scopes
    }
    return edges, nodes


async def recomputed() -> Kept:
    edges, nodes = await links.computed()
    return (
        {key: (round(weight, 6), records, kinds) for key, (weight, records, kinds) in edges.items()},
        {key: (records, degree, round(strength, 6)) for key, (records, degree, strength) in nodes.items()},
    )


class Writer:
    """Random writes through the API, remembering what exists so each request is one the API accepts."""

    def __init__(self, client: httpx.AsyncClient, rng: random.Random) -> None:
        self.client, self.rng = client, rng
        self.records: dict[str, list[str]] = {
            kind: [] for kind in ("grant", "group", "co-funding", "research", "event")
        }
        self.made = 0

    def some(self, low: int = 1, high: int = 4) -> list[str]:
        return self.rng.sample(ORGANISATIONS, self.rng.randint(low, high))

    def places(self) -> list[str]:
        return self.rng.sample(LOCAL, self.rng.choice((0, 1, 1, 2)))

    async def send(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        if method == "POST" and body is not None and path.count("/") == 2:
            body = {**body, "places": self.places()}
        response = await self.client.request(method, path, json=body)
        assert response.status_code in (200, 201, 204), (method, path, body, response.text)
        return response.json() if response.status_code != 204 else {}

    async def create(self) -> None:
        self.made += 1
        name = f"Record {self.made}"
        kind = self.rng.choice(list(self.records))
        body: dict[str, Any]
        if kind == "grant":
            funder, recipient = self.rng.sample(ORGANISATIONS, 2)
            body = {"name": name, "funder": funder, "recipient": recipient}
            self.records[kind].append((await self.send("POST", "/v1/grants", body))["slug"])
        elif kind == "group":
            convenor, *members = self.some(1, 5)
            roles = ("member", "member", "observer")
            body = {
                "name": name,
                "convenor": convenor,
                "members": [{"organisation": m, "role": self.rng.choice(roles)} for m in members],
            }
            self.records[kind].append((await self.send("POST", "/v1/interest-groups", body))["slug"])
        elif kind == "co-funding":
            lead, *funders = self.some(1, 4)
            body = {"name": name, "lead": lead, "contributions": [{"funder": f} for f in funders]}
            self.records[kind].append((await self.send("POST", "/v1/co-funding", body))["slug"])
        elif kind == "research":
            body = {
                "name": name,
                "kind": "study",
                "commissioners": self.some(0, 2),
                "partners": self.some(0, 3),
                "funded_by": self.rng.choice([None, *self.records["co-funding"]]),
            }
            self.records[kind].append((await self.send("POST", "/v1/research", body))["slug"])
        else:
            convenor, *participants = self.some(1, 5)
            body = {"name": name, "kind": "meeting", "convenor": convenor, "participants": participants}
            self.records[kind].append((await self.send("POST", "/v1/engagements", body))["slug"])

    async def change(self) -> None:
        kind = self.rng.choice([kind for kind, slugs in self.records.items() if slugs] or ["grant"])
        if not self.records[kind]:
            return await self.create()
        slug = self.rng.choice(self.records[kind])
        path = {
            "grant": "/v1/grants",
            "group": "/v1/interest-groups",
            "co-funding": "/v1/co-funding",
            "research": "/v1/research",
            "event": "/v1/engagements",
        }[kind]
        if self.rng.random() < 0.15:
            await self.send("PATCH", f"{path}/{slug}", {"places": self.places()})
            return None
        if self.rng.random() < 0.25 and kind not in ("co-funding",):
            await self.send("DELETE", f"{path}/{slug}")
            self.records[kind].remove(slug)
            return None
        if kind == "grant":
            body: dict[str, Any] = {"recipient": self.rng.choice(ORGANISATIONS)}
            if body["recipient"] == (await self.send("GET", f"{path}/{slug}"))["funder"]["slug"]:
                body = {"name": f"Renamed {self.made}"}
            await self.send("PATCH", f"{path}/{slug}", body)
        elif kind == "group":
            group = await self.send("GET", f"{path}/{slug}")
            present = {m["organisation"]["slug"] for m in group["members"]}
            absent = [o for o in ORGANISATIONS if o not in present]
            if absent and self.rng.random() < 0.6:
                await self.send("POST", f"{path}/{slug}/members", {"organisation": self.rng.choice(absent)})
            else:
                removable = [m["organisation"]["slug"] for m in group["members"] if m["role"] != "convenor"]
                if removable:
                    await self.send("DELETE", f"{path}/{slug}/members/{self.rng.choice(removable)}")
        elif kind == "co-funding":
            arrangement = await self.send("GET", f"{path}/{slug}")
            present = {c["funder"]["slug"] for c in arrangement["contributions"]}
            absent = [o for o in ORGANISATIONS if o not in present]
            if absent and self.rng.random() < 0.6:
                await self.send("POST", f"{path}/{slug}/contributions", {"funder": self.rng.choice(absent)})
            elif present:
                await self.send("DELETE", f"{path}/{slug}/contributions/{self.rng.choice(sorted(present))}")
        elif kind == "research":
            body = self.rng.choice(
                [
                    {"partners": self.some(0, 3)},
                    {"commissioners": self.some(0, 2)},
                    {"funded_by": self.rng.choice([None, *self.records["co-funding"]])},
                ]
            )
            await self.send("PATCH", f"{path}/{slug}", body)
        else:
            await self.send("PATCH", f"{path}/{slug}", {"participants": self.some(0, 5)})
        return None


async def answers_read_from_kept_links_equal_those_summed_from_the_records() -> None:
    """The network, a place's network and every neighbourhood, read from the kept links, are what the
    same request summed from the records answers (the path the other filters take)."""
    for place in (None, "north", "combined", "eastby", "elsewhere"):
        filters = ScopeFilters(place=place)
        in_scope = await selection(filters)
        for limit, min_weight in ((500, None), (2, None), (3, 0.5)):
            got = await network.get_network(filters=filters, limit=limit, min_weight=min_weight, isolated=True)
            want = await network.live_network(in_scope, limit=limit, min_weight=min_weight, isolated=True)
            assert msgspec.to_builtins(got) == msgspec.to_builtins(want), (place, limit, min_weight)
        for slug in ORGANISATIONS:
            for depth in (1, 2):
                got_around = await network.get_neighbourhood(ref=slug, filters=filters, depth=depth, limit=3)
                organisation = got_around.organisation
                want_around = await network._live_neighbourhood(in_scope, organisation, depth, 3, None, None)
                assert msgspec.to_builtins(got_around) == msgspec.to_builtins(want_around), (place, slug, depth)
            for evidence in (5, 1):
                got_collaborators = await network.list_collaborators(
                    ref=slug, filters=filters, limit=3, evidence=evidence
                )
                organisation_id = got_collaborators.organisation.id
                want_collaborators = await network._live_collaborators(organisation_id, in_scope, 3, evidence)
                assert msgspec.to_builtins(got_collaborators) == msgspec.to_builtins(want_collaborators), (
                    place,
                    slug,
                    evidence,
                )


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
async def test_the_kept_links_equal_a_full_recomputation_after_any_writes(client: httpx.AsyncClient, seed: int) -> None:
    for slug in ORGANISATIONS:
        await builders.organisation(client, slug.title(), slug=slug)
    for place in PLACES:
        await builders.post(client, "/v1/places", place)
    writer = Writer(client, random.Random(seed))
    for step in range(STEPS):
        await (writer.create() if step < 5 or writer.rng.random() < 0.45 else writer.change())
        if step % 10 == 9:
            assert await kept() == await recomputed(), f"after step {step}"
    assert await kept() == await recomputed()
    assert (await kept())[0], "the writes made no links: the test would prove nothing"

    edges, _ = await kept()
    assert len({scope for scope, *_ in edges}) > 3, "the writes linked no places: the scopes would go untested"
    await answers_read_from_kept_links_equal_those_summed_from_the_records()

    # Rebuilt from nothing, the links are the same.
    before = await kept()
    await links.rebuild()
    assert await kept() == before

    # A place moved (here: the combined authority out of the region) counts every link again.
    response = await client.patch("/v1/places/combined", json={"parent": "elsewhere"})
    assert response.status_code == 200, response.text
    assert await kept() == await recomputed()


async def test_deleting_every_record_leaves_no_link(client: httpx.AsyncClient) -> None:
    for slug in ORGANISATIONS[:3]:
        await builders.organisation(client, slug.title(), slug=slug)
    grant = await builders.grant(client, "alpha", "beta", "Core costs")
    research = await builders.post(
        client, "/v1/research", {"name": "Study", "kind": "study", "commissioners": ["alpha"], "partners": ["gamma"]}
    )
    assert len((await kept())[0]) == 2
    for path in (f"/v1/grants/{grant['slug']}", f"/v1/research/{research['slug']}"):
        assert (await client.delete(path)).status_code == 204
    assert await kept() == ({}, {})
    assert await NetworkRecord.count() == 0
    assert await NetworkScope.count() == 0
