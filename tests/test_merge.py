"""One record per organisation (issue 21, item 3): duplicate candidates and their reasons, and the admin
merge that moves every reference, keeps the merged organisation's refs resolving, shows in the change feed
and the history, keeps the map's tallies and the network's links true, and can be previewed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from litestar import Litestar

from api.services.resources import keys, merge
from api.services.resources.duplicates import normalised_name, registered_numbers
from api.services.views import tally
from fixtures.loader import load
from models.tables import Organisation
from tests import builders
from tests.conftest import make_client
from tests.test_links import kept, recomputed
from tests.test_map import by_code, geojson
from tests.test_tally import tallies

ROOT = Path(__file__).resolve().parents[1]
COVENTRY = "E08000026"


async def get(client: httpx.AsyncClient, path: str, **params: Any) -> Any:
    response = await client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def merge_into(client: httpx.AsyncClient, survivor: str, *merged: str, dry_run: bool = False) -> dict[str, Any]:
    response = await client.post(
        f"/v1/organisations/{survivor}/merge", json={"merge": list(merged), "dry_run": dry_run}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def candidates(client: httpx.AsyncClient, ref: str) -> dict[str, dict[str, Any]]:
    body = await get(client, f"/v1/organisations/{ref}/duplicates")
    return {item["organisation"]["slug"]: item for item in body["items"]}


def reasons(candidate: dict[str, Any]) -> set[str]:
    return {reason["reason"] for reason in candidate["reasons"]}


# Duplicates ------------------------------------------------------------------------------------------------


def test_a_name_is_compared_without_its_decoration() -> None:
    assert normalised_name("The User-Voice Ltd.") == normalised_name("user voice") == "user voice"
    assert normalised_name("Tom & Jerry Trust CIC") == normalised_name("Tom and Jerry Trust") == "tom and jerry trust"
    assert normalised_name("User Voices") != normalised_name("User Voice")


def test_registered_numbers_are_read_from_any_identifier() -> None:
    assert registered_numbers("GB-CHC-1136047") == {"1136047"}
    assert registered_numbers("360G-blagravetrust-ORG:1136047") == {"1136047"}
    assert registered_numbers("GB-COH-08123456") == registered_numbers("GB-COH-8123456") == {"8123456"}
    assert registered_numbers("GB-SC-SC043872") == {"SC43872"}
    assert registered_numbers("GB-LAE-COV") == set()


async def test_duplicates_by_normalised_name_and_not_for_unrelated_names(client: httpx.AsyncClient) -> None:
    await builders.organisation(client, "User Voice", kind="charity")
    await builders.organisation(client, "The User-Voice Ltd", kind="charity")
    await builders.organisation(client, "User Voice CIC", kind="charity", slug="user-voice-cic")
    await builders.organisation(client, "User Voices", kind="charity")
    await builders.organisation(client, "Voice of Users", kind="charity")

    found = await candidates(client, "user-voice")

    assert set(found) == {"the-user-voice-ltd", "user-voice-cic"}
    assert all(reasons(c) == {"same_name"} and c["score"] == 0.6 for c in found.values())


async def test_duplicates_by_registered_number_under_another_identifier(client: httpx.AsyncClient) -> None:
    await builders.organisation(client, "User Voice", kind="charity", org_id="GB-CHC-1136047")
    await builders.organisation(client, "UV (charity)", kind="charity", org_id="360G-blagravetrust-ORG:1136047")
    await builders.organisation(client, "Someone Else", kind="charity", org_id="GB-CHC-1136048")

    found = await candidates(client, "GB-CHC-1136047")

    assert set(found) == {"uv-charity"}
    assert reasons(found["uv-charity"]) == {"registered_number"}
    assert found["uv-charity"]["score"] == 0.9
    assert "1136047" in found["uv-charity"]["reasons"][0]["detail"]


async def test_duplicates_by_an_org_id_kept_from_a_merge(client: httpx.AsyncClient) -> None:
    await builders.organisation(client, "Royal Conservatoire", kind="university", org_id="360G-pub-ORG:rc")
    await builders.organisation(client, "RC Glasgow", kind="university", org_id="GB-EDU-133837")
    await merge_into(client, "royal-conservatoire", "rc-glasgow")
    # An import that does not know of the merge makes the registered org-id again.
    await builders.organisation(client, "RCS", kind="university", org_id="GB-EDU-133837")

    found = await candidates(client, "rcs")

    assert set(found) == {"royal-conservatoire"}
    assert "same_org_id" in reasons(found["royal-conservatoire"])
    assert found["royal-conservatoire"]["score"] == 1.0


async def test_a_shared_name_under_two_registrations_scores_low(client: httpx.AsyncClient) -> None:
    await builders.organisation(client, "Citizens Advice", kind="charity", org_id="GB-CHC-1")
    await builders.organisation(client, "Citizens Advice Ltd", kind="charity", org_id="GB-CHC-2")

    found = await candidates(client, "citizens-advice")

    assert found["citizens-advice-ltd"]["score"] == 0.3


async def test_duplicates_of_an_unknown_organisation_is_a_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/organisations/nobody/duplicates")

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


# The seed's own example -------------------------------------------------------------------------------------


async def test_the_seeds_user_voice_and_an_imported_one_become_one(client: httpx.AsyncClient) -> None:
    await load(builders.SEED_FILES)
    imported = await builders.organisation(
        client, "User Voice", kind="charity", slug="user-voice-gb-chc-1136047", org_id="GB-CHC-1136047"
    )
    await builders.grant(client, "lankelly-chase-foundation", imported["slug"], name="Peer research")
    network = await get(client, "/v1/network", limit=500)

    found = await candidates(client, "user-voice")
    report = await merge_into(client, "user-voice", "GB-CHC-1136047")
    after = await get(client, "/v1/network", limit=500)

    assert reasons(found[imported["slug"]]) == {"same_name"}
    assert report["survivor"]["org_id"] == "GB-CHC-1136047"
    slugs = [node["slug"] for node in after["nodes"]]
    assert slugs.count("user-voice") == 1 and imported["slug"] not in slugs
    assert after["total_nodes"] == network["total_nodes"] - 1
    assert (await get(client, f"/v1/organisations/{imported['slug']}"))["slug"] == "user-voice"
    grants = await get(client, "/v1/grants", recipient=imported["slug"])
    assert [g["recipient"]["slug"] for g in grants["items"]] == ["user-voice"]
    assert await kept() == await recomputed()


# Merging ---------------------------------------------------------------------------------------------------


def test_every_foreign_key_to_an_organisation_is_moved_by_a_merge() -> None:
    references = {(c._meta.table._meta.tablename, c._meta.name) for c in Organisation._meta.foreign_key_references}

    assert merge.handled_references() == references


async def world(client: httpx.AsyncClient, app: Litestar) -> dict[str, Any]:
    """A survivor, an organisation to merge into it, a third one, and a record of every kind naming the
    one to merge, in Coventry; some rows the survivor already has (a membership, a party, a contribution)."""
    await builders.uk_places(client)
    survivor = await builders.organisation(client, "Survivor", home_place=COVENTRY)
    loser = await builders.organisation(client, "Loser", org_id="GB-CHC-1136047", home_place=COVENTRY)
    other = await builders.organisation(client, "Other")
    _, token = await keys.create_key(organisation="loser", role="partner", name="loser's key")
    async with make_client(app, token) as loser_client:
        contributed = await builders.organisation(loser_client, "Contributed by the loser", kind="charity")
    await builders.grant(
        client, "loser", "other", name="Given", places=[COVENTRY], amount={"amount": "10", "currency": "GBP"}
    )
    await builders.grant(client, "other", "loser", name="Received", places=[COVENTRY])
    await builders.post(
        client,
        "/v1/interest-groups",
        {"name": "Both in", "convenor": "loser", "members": [{"organisation": "survivor"}, {"organisation": "loser"}]},
    )
    await builders.post(client, "/v1/interest-groups", {"name": "Loser in", "members": [{"organisation": "loser"}]})
    await builders.post(
        client,
        "/v1/co-funding",
        {
            "name": "Pot",
            "lead": "loser",
            "places": [COVENTRY],
            "contributions": [
                {"funder": "survivor", "amount": {"amount": "50", "currency": "GBP"}},
                {"funder": "loser", "amount": {"amount": "100", "currency": "GBP"}},
                {"funder": "other"},
            ],
        },
    )
    await builders.post(
        client,
        "/v1/research",
        {"name": "Study", "kind": "study", "commissioners": ["loser"], "partners": ["survivor", "loser"]},
    )
    await builders.post(
        client,
        "/v1/engagements",
        {"name": "Talk", "kind": "consultation", "convenor": "loser", "participants": ["loser", "other"]},
    )
    return {"survivor": survivor, "loser": loser, "other": other, "token": token, "contributed": contributed}


async def test_a_merge_moves_every_collections_references(client: httpx.AsyncClient, app: Litestar) -> None:
    made = await world(client, app)

    report = await merge_into(client, "survivor", "loser")

    assert report["dry_run"] is False
    given = await get(client, "/v1/grants/given")
    received = await get(client, "/v1/grants/received")
    assert (given["funder"]["slug"], received["recipient"]["slug"]) == ("survivor", "survivor")
    both = await get(client, "/v1/interest-groups/both-in")
    assert both["convenor"]["slug"] == "survivor"
    assert sorted(m["organisation"]["slug"] for m in both["members"]) == ["survivor"]
    alone = await get(client, "/v1/interest-groups/loser-in")
    assert [m["organisation"]["slug"] for m in alone["members"]] == ["survivor"]
    pot = await get(client, "/v1/co-funding/pot")
    assert pot["lead"]["slug"] == "survivor"
    money = {c["funder"]["slug"]: c["amount"] for c in pot["contributions"]}
    assert money == {"survivor": {"amount": "150.00", "currency": "GBP"}, "other": None}
    study = await get(client, "/v1/research/study")
    assert [o["slug"] for o in study["commissioners"]] == ["survivor"]
    assert [o["slug"] for o in study["partners"]] == ["survivor"]
    talk = await get(client, "/v1/engagements/talk")
    assert talk["convenor"]["slug"] == "survivor"
    assert sorted(o["slug"] for o in talk["participants"]) == ["other", "survivor"]
    contributed = await get(client, f"/v1/organisations/{made['contributed']['slug']}")
    assert contributed["contributed_by"]["slug"] == "survivor"
    assert report["also_moved"]["api_keys"] == 1
    outcomes = {(m["collection"], m["record"]["slug"], m["field"], m["outcome"]) for m in report["moved"]}
    assert ("memberships", "both-in", "organisation", "dropped") in outcomes
    assert ("contributions", "pot", "funder", "combined") in outcomes
    assert ("research", "study", "parties.partner", "dropped") in outcomes
    assert ("research", "study", "parties.commissioner", "moved") in outcomes
    # The merged organisation's key now writes for the survivor, which owns what it contributed.
    async with make_client(app, made["token"]) as loser_client:
        changed = await loser_client.patch(f"/v1/organisations/{made['contributed']['slug']}", json={"kind": "other"})
    assert changed.status_code == 200, changed.text


async def test_the_merged_organisations_refs_resolve_to_the_survivor(client: httpx.AsyncClient, app: Litestar) -> None:
    made = await world(client, app)

    await merge_into(client, "survivor", "loser")

    for ref in ("loser", "GB-CHC-1136047", made["loser"]["id"]):
        assert (await get(client, f"/v1/organisations/{ref}"))["id"] == made["survivor"]["id"], ref
    survivor = await get(client, "/v1/organisations/survivor")
    assert survivor["org_id"] == "GB-CHC-1136047"
    assert [g["slug"] for g in (await get(client, "/v1/grants", funder="loser"))["items"]] == ["given"]
    assert [g["slug"] for g in (await get(client, "/v1/grants", organisation=made["loser"]["id"]))["items"]] == [
        "given",
        "received",
    ]
    assert [g["slug"] for g in (await get(client, "/v1/co-funding", funder="GB-CHC-1136047"))["items"]] == ["pot"]


async def test_both_org_ids_stay_on_the_survivor(client: httpx.AsyncClient) -> None:
    await builders.organisation(client, "Conservatoire", org_id="360G-pub-ORG:1", kind="university")
    await builders.organisation(client, "Conservatoire (registered)", org_id="GB-EDU-133837", kind="university")

    report = await merge_into(client, "conservatoire", "conservatoire-registered")

    survivor = await get(client, "/v1/organisations/GB-EDU-133837")
    assert (survivor["slug"], survivor["org_id"], survivor["other_org_ids"]) == (
        "conservatoire",
        "360G-pub-ORG:1",
        ["GB-EDU-133837"],
    )
    assert report["survivor"]["other_org_ids"] == ["GB-EDU-133837"]


async def test_history_and_the_change_feed_show_the_merge(client: httpx.AsyncClient, app: Litestar) -> None:
    made = await world(client, app)
    before = (await get(client, "/v1/changes", limit=1000))["items"]

    await merge_into(client, "survivor", "loser")

    history = await get(client, "/v1/organisations/loser/history")
    entries = [(c["operation"], c["record_slug"]) for c in history]
    assert ("create", "loser") in entries and ("create", "survivor") in entries
    assert entries[-2:] == [("delete", "loser"), ("merge", "survivor")]
    assert history[-1]["fields"]["merged"]["after"] == ["loser"]
    assert history[-2]["fields"]["merged_into"]["after"] == "survivor"
    feed = (await get(client, "/v1/changes", limit=1000))["items"][len(before) :]
    grant = next(c for c in feed if c["collection"] == "grants" and c["record_slug"] == "given")
    assert grant["operation"] == "update"
    assert (grant["fields"]["funder"]["before"]["slug"], grant["fields"]["funder"]["after"]["slug"]) == (
        "loser",
        "survivor",
    )
    written = {(c["collection"], c["operation"]) for c in feed}
    assert {("memberships", "delete"), ("memberships", "update"), ("contributions", "update")} <= written
    assert {("interest-groups", "update"), ("co-funding", "update"), ("research", "update")} <= written
    assert ("engagements", "update") in written
    assert made["loser"]["id"] in {c["record_id"] for c in feed}


async def test_the_map_and_the_network_count_the_merged_organisation_once(
    client: httpx.AsyncClient, app: Litestar
) -> None:
    await world(client, app)
    map_before = by_code(await geojson(client, level="local_authority"))[COVENTRY]["counts"]
    network_before = await get(client, "/v1/network", limit=500)

    await merge_into(client, "survivor", "loser")

    map_after = by_code(await geojson(client, level="local_authority"))[COVENTRY]["counts"]
    network_after = await get(client, "/v1/network", limit=500)
    assert (map_before["organisations"], map_after["organisations"]) == (2, 1)
    assert map_after["grants"] == map_before["grants"] == 2
    slugs = {node["slug"] for node in network_after["nodes"]}
    assert "loser" in {node["slug"] for node in network_before["nodes"]}
    assert "loser" not in slugs and "survivor" in slugs
    assert network_after["total_nodes"] == network_before["total_nodes"] - 1
    # What the writes kept is what counting everything again gives.
    assert await kept() == await recomputed()
    kept_tallies = await tallies()
    await tally.rebuild()
    assert kept_tallies == await tallies()


async def test_a_preview_changes_nothing_and_says_what_would_move(client: httpx.AsyncClient, app: Litestar) -> None:
    made = await world(client, app)
    feed = await get(client, "/v1/changes", limit=1000)
    links_before, tallies_before = await kept(), await tallies()

    report = await merge_into(client, "survivor", "loser", dry_run=True)

    assert report["dry_run"] is True
    assert ("grants", "given", "funder", "moved") in {
        (m["collection"], m["record"]["slug"], m["field"], m["outcome"]) for m in report["moved"]
    }
    assert "loser" in report["aliases"]
    assert (await get(client, "/v1/organisations/loser"))["id"] == made["loser"]["id"]
    assert (await get(client, "/v1/grants/given"))["funder"]["slug"] == "loser"
    assert await get(client, "/v1/changes", limit=1000) == feed
    assert (await kept(), await tallies()) == (links_before, tallies_before)


async def test_only_an_admin_may_merge(client: httpx.AsyncClient, anonymous: httpx.AsyncClient, app: Litestar) -> None:
    made = await world(client, app)
    _, survivor_token = await keys.create_key(organisation="survivor", role="partner", name="survivor's key")
    body = {"merge": ["loser"]}

    async with make_client(app, survivor_token) as partner:
        refused = await partner.post("/v1/organisations/survivor/merge", json=body)
        previewed = await partner.post("/v1/organisations/survivor/merge", json={**body, "dry_run": True})
    unsigned = await anonymous.post("/v1/organisations/survivor/merge", json=body)

    assert (refused.status_code, previewed.status_code, unsigned.status_code) == (403, 403, 401)
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert (await get(client, "/v1/organisations/loser"))["id"] == made["loser"]["id"]


async def test_merging_into_itself_or_an_unknown_organisation_is_refused(client: httpx.AsyncClient) -> None:
    await builders.organisation(client, "Survivor", org_id="GB-CHC-1")

    itself = await client.post("/v1/organisations/survivor/merge", json={"merge": ["GB-CHC-1"]})
    unknown = await client.post("/v1/organisations/survivor/merge", json={"merge": ["nobody"]})
    no_survivor = await client.post("/v1/organisations/nobody/merge", json={"merge": ["survivor"]})
    empty = await client.post("/v1/organisations/survivor/merge", json={"merge": []})

    assert (itself.status_code, unknown.status_code, no_survivor.status_code) == (422, 422, 404)
    assert empty.status_code in (400, 422)
    assert itself.json()["errors"][0]["field"] == "merge[0]"
    assert "nobody" in unknown.json()["errors"][0]["message"]


async def test_the_command_line_previews_and_merges(client: httpx.AsyncClient) -> None:
    await builders.organisation(client, "User Voice", kind="charity")
    await builders.organisation(client, "The User Voice Ltd", kind="charity", org_id="GB-CHC-1136047")
    command = [sys.executable, "-m", "api.cli", "organisations"]

    def placenet(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*command, *args], env=dict(os.environ), capture_output=True, text=True, timeout=120, check=True, cwd=ROOT
        )

    listed = placenet("duplicates", "user-voice")
    preview = placenet("merge", "user-voice", "GB-CHC-1136047", "--dry-run")
    still = await get(client, "/v1/organisations/GB-CHC-1136047")
    done = placenet("merge", "user-voice", "GB-CHC-1136047")

    assert "the-user-voice-ltd" in listed.stdout and "same_name" in listed.stdout
    assert preview.stdout.startswith("would merge the-user-voice-ltd into user-voice")
    assert still["slug"] == "the-user-voice-ltd"
    assert done.stdout.startswith("merged the-user-voice-ltd into user-voice")
    assert (await get(client, "/v1/organisations/GB-CHC-1136047"))["slug"] == "user-voice"
