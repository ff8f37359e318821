"""Partner access: keys, ownership, no lost updates, no duplicates on retry, and the change feed."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from litestar import Litestar

from api.services.resources import keys
from models.tables import ApiKey
from tests import builders
from tests.conftest import make_client

Partner = Callable[[str], Awaitable[httpx.AsyncClient]]  # what the partner fixture gives


@pytest.fixture
def partner(app: Litestar, admin_key: str) -> Partner:
    """A client for a partner organisation, made on demand: `async with await partner("slug") as c`."""

    async def make(organisation: str) -> httpx.AsyncClient:
        _, token = await keys.create_key(organisation=organisation, role="partner", name="tests")
        return make_client(app, token)

    return make


async def test_reads_are_open_to_anyone(client: httpx.AsyncClient, anonymous: httpx.AsyncClient) -> None:
    await builders.organisation(client)
    response = await anonymous.get("/v1/organisations/lankelly-chase-foundation")
    assert response.status_code == 200


@pytest.mark.parametrize("authorization", [None, "Bearer nonsense", "Bearer pn_00000000_x", "Basic abc"])
async def test_writes_need_a_valid_key(app: Litestar, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    async with make_client(app) as anonymous:
        response = await anonymous.post("/v1/organisations", json={"name": "X", "kind": "charity"}, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_revoked_key_stops_working(app: Litestar, client: httpx.AsyncClient) -> None:
    info, token = await keys.create_key(organisation=None, role="admin")
    async with make_client(app, token) as holder:
        assert (await holder.post("/v1/organisations", json={"name": "A", "kind": "charity"})).status_code == 201
        await keys.revoke_key(prefix=info.prefix)
        assert (await holder.post("/v1/organisations", json={"name": "B", "kind": "charity"})).status_code == 401


async def test_keys_are_stored_hashed(client: httpx.AsyncClient) -> None:
    _, token = await keys.create_key(organisation=None, role="admin")
    stored = await ApiKey.select(ApiKey.secret_hash, ApiKey.prefix).output(as_list=False)
    assert all(token.split("_", 2)[2] not in row["secret_hash"] for row in stored)
    assert any(token.startswith(f"pn_{row['prefix']}_") for row in stored)


async def test_a_partner_owns_what_it_contributes(client: httpx.AsyncClient, partner: Partner) -> None:
    await builders.organisation(client, "IVAR", kind="research_institute")
    async with await partner("ivar") as ivar:
        created = await ivar.post("/v1/organisations", json={"name": "IVAR Trading", "kind": "other"})
        assert created.json()["contributed_by"]["slug"] == "ivar"
        changed = await ivar.patch("/v1/organisations/ivar-trading", json={"description": "Its trading arm."})
        assert changed.status_code == 200
        assert (await ivar.delete("/v1/organisations/ivar-trading")).status_code == 204


async def test_a_partner_may_not_change_anothers_records(client: httpx.AsyncClient, partner: Partner) -> None:
    await builders.organisation(client, "IVAR", kind="research_institute")
    await builders.organisation(client)
    async with await partner("ivar") as ivar:
        refused = await ivar.patch("/v1/organisations/lankelly-chase-foundation", json={"description": "x"})
        deleted = await ivar.delete("/v1/organisations/lankelly-chase-foundation")
    assert refused.status_code == 403
    assert "contributed by another organisation" in refused.json()["detail"]
    assert deleted.status_code == 403
    assert (await client.get("/v1/organisations/lankelly-chase-foundation")).json()["description"] is None


async def test_places_are_for_admins(client: httpx.AsyncClient, partner: Partner) -> None:
    await builders.organisation(client, "IVAR", kind="research_institute")
    await builders.uk_places(client)
    async with await partner("ivar") as ivar:
        created = await ivar.post("/v1/places", json={"name": "Somewhere", "level": "other"})
        changed = await ivar.patch("/v1/places/coventry", json={"area_type": "City"})
    assert created.status_code == 403
    assert changed.status_code == 403
    assert "only an admin" in changed.json()["detail"]


async def group(client: httpx.AsyncClient) -> None:
    for name, kind in [("ACF", "funder_network"), ("IVAR", "research_institute"), ("CLES", "think_tank")]:
        await builders.organisation(client, name, kind=kind)
    await builders.post(client, "/v1/interest-groups", {"name": "Place funders", "convenor": "acf"})


async def test_a_partner_manages_its_own_membership(client: httpx.AsyncClient, partner: Partner) -> None:
    await group(client)
    async with await partner("ivar") as ivar:
        joined = await ivar.post("/v1/interest-groups/place-funders/members", json={"organisation": "ivar"})
        other = await ivar.post("/v1/interest-groups/place-funders/members", json={"organisation": "cles"})
        left = await ivar.delete("/v1/interest-groups/place-funders/members/ivar")
    assert joined.status_code == 201
    assert other.status_code == 403
    assert "convenor" in other.json()["detail"]
    assert left.status_code == 204


async def test_a_groups_convenor_manages_its_members(client: httpx.AsyncClient, partner: Partner) -> None:
    await group(client)
    async with await partner("acf") as acf:
        added = await acf.post("/v1/interest-groups/place-funders/members", json={"organisation": "cles"})
        changed = await acf.patch("/v1/interest-groups/place-funders/members/cles", json={"role": "observer"})
    assert added.status_code == 201
    assert changed.json()["role"] == "observer"


async def test_a_funder_manages_its_own_contribution_only(client: httpx.AsyncClient, partner: Partner) -> None:
    await group(client)
    await builders.post(client, "/v1/co-funding", {"name": "Study fund", "contributions": [{"funder": "cles"}]})
    async with await partner("ivar") as ivar:
        own = await ivar.post("/v1/co-funding/study-fund/contributions", json={"funder": "ivar", "in_kind": True})
        others = await ivar.patch("/v1/co-funding/study-fund/contributions/cles", json={"in_kind": True})
    assert own.status_code == 201
    assert others.status_code == 403


async def test_records_carry_their_version_as_etag(client: httpx.AsyncClient, anonymous: httpx.AsyncClient) -> None:
    await builders.organisation(client)
    response = await anonymous.get("/v1/organisations/lankelly-chase-foundation")
    assert response.headers["etag"] == '"1"'
    unchanged = await anonymous.get("/v1/organisations/lankelly-chase-foundation", headers={"If-None-Match": '"1"'})
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    changed = await anonymous.get("/v1/organisations/lankelly-chase-foundation", headers={"If-None-Match": '"0"'})
    assert changed.status_code == 200


async def test_a_stale_if_match_is_refused_with_the_current_version(client: httpx.AsyncClient) -> None:
    await builders.organisation(client)
    path = "/v1/organisations/lankelly-chase-foundation"
    first = await client.patch(path, json={"description": "First."}, headers={"If-Match": '"1"'})
    assert first.status_code == 200
    assert first.headers["etag"] == '"2"'
    stale = await client.patch(path, json={"description": "Lost?"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    assert stale.json()["current_version"] == 2
    assert (await client.delete(path, headers={"If-Match": '"1"'})).status_code == 412
    assert (await client.get(path)).json()["description"] == "First."


async def test_a_malformed_if_match_is_400(client: httpx.AsyncClient) -> None:
    await builders.organisation(client)
    response = await client.patch("/v1/organisations/lankelly-chase-foundation", json={}, headers={"If-Match": "v1"})
    assert response.status_code == 400


async def test_concurrent_writers_with_the_same_version_lose_no_update(client: httpx.AsyncClient) -> None:
    await builders.organisation(client)
    path = "/v1/organisations/lankelly-chase-foundation"
    responses = await asyncio.gather(
        *(client.patch(path, json={"description": f"writer {i}"}, headers={"If-Match": '"1"'}) for i in range(8))
    )
    assert sorted(r.status_code for r in responses) == [200] + [412] * 7
    winner = next(r for r in responses if r.status_code == 200).json()["description"]
    assert (await client.get(path)).json()["description"] == winner


async def test_a_retried_post_replays_the_first_response(client: httpx.AsyncClient) -> None:
    body = {"name": "Retry Trust", "kind": "foundation"}
    first = await client.post("/v1/organisations", json=body, headers={"Idempotency-Key": "key-1"})
    again = await client.post("/v1/organisations", json=body, headers={"Idempotency-Key": "key-1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert len((await client.get("/v1/organisations")).json()["items"]) == 1


async def test_the_same_key_with_another_body_is_422(client: httpx.AsyncClient) -> None:
    await client.post("/v1/organisations", json={"name": "A", "kind": "charity"}, headers={"Idempotency-Key": "k"})
    response = await client.post(
        "/v1/organisations", json={"name": "B", "kind": "charity"}, headers={"Idempotency-Key": "k"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"


async def test_idempotency_keys_belong_to_their_credentials(app: Litestar, client: httpx.AsyncClient) -> None:
    _, other = await keys.create_key(organisation=None, role="admin")
    await client.post("/v1/organisations", json={"name": "A", "kind": "charity"}, headers={"Idempotency-Key": "same"})
    async with make_client(app, other) as second:
        response = await second.post(
            "/v1/organisations", json={"name": "B", "kind": "charity"}, headers={"Idempotency-Key": "same"}
        )
    assert response.status_code == 201


async def test_every_write_is_in_the_change_feed_in_order(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    await builders.organisation(client)
    await client.patch("/v1/organisations/lankelly-chase-foundation", json={"description": "A foundation."})
    await client.delete("/v1/organisations/lankelly-chase-foundation")
    feed = (await anonymous.get("/v1/changes")).json()
    assert [(c["operation"], c["record_slug"]) for c in feed["items"]] == [
        ("create", "lankelly-chase-foundation"),
        ("update", "lankelly-chase-foundation"),
        ("delete", "lankelly-chase-foundation"),
    ]
    assert feed["items"][1]["fields"] == {"description": {"before": None, "after": "A foundation."}}
    assert [c["version"] for c in feed["items"]] == [1, 2, None]


async def test_the_feed_resumes_after_a_cursor(client: httpx.AsyncClient, anonymous: httpx.AsyncClient) -> None:
    await builders.organisation(client, "First")
    cursor = (await anonymous.get("/v1/changes")).json()["next_cursor"]
    await builders.organisation(client, "Second")
    later = (await anonymous.get("/v1/changes", params={"after": cursor})).json()
    assert [c["record_slug"] for c in later["items"]] == ["second"]
    empty = (await anonymous.get("/v1/changes", params={"after": later["next_cursor"]})).json()
    assert empty["items"] == []
    assert empty["next_cursor"] == later["next_cursor"]


async def test_a_writes_organisation_is_in_the_feed(
    client: httpx.AsyncClient, partner: Partner, anonymous: httpx.AsyncClient
) -> None:
    await builders.organisation(client, "IVAR", kind="research_institute")
    async with await partner("ivar") as ivar:
        await ivar.post("/v1/organisations", json={"name": "IVAR Trading", "kind": "other"})
    last = (await anonymous.get("/v1/changes")).json()["items"][-1]
    assert last["organisation"]["slug"] == "ivar"


async def test_a_records_history_includes_its_members(client: httpx.AsyncClient, anonymous: httpx.AsyncClient) -> None:
    await group(client)
    await client.post("/v1/interest-groups/place-funders/members", json={"organisation": "ivar"})
    await client.patch("/v1/interest-groups/place-funders", json={"description": "For place-based funders."})
    history = (await anonymous.get("/v1/interest-groups/place-funders/history")).json()
    assert [(c["collection"], c["operation"]) for c in history] == [
        ("interest-groups", "create"),
        ("memberships", "create"),
        ("interest-groups", "update"),
    ]


async def test_a_bad_feed_cursor_is_refused(anonymous: httpx.AsyncClient) -> None:
    # Base64 of "not-a-number": not the shape of a change cursor, so the spec refuses it too.
    response = await anonymous.get("/v1/changes", params={"after": "bm90LWEtbnVtYmVy"})
    assert response.status_code == 400


def test_keys_cli_prints_the_secret_once_and_never_lists_it(tmp_path: Path) -> None:
    placenet = str(Path(sys.executable).parent / "placenet")
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/keys.sqlite3"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([placenet, *args], env=env, capture_output=True, text=True, timeout=120, check=True)

    run("migrate")
    secret = run("keys", "create", "--role", "admin", "--name", "ops").stdout.strip()
    assert secret.startswith("pn_")
    listed = run("keys", "list").stdout
    assert secret not in listed
    assert "ops" in listed
    prefix = secret.split("_")[1]
    assert "revoked" in run("keys", "revoke", prefix).stdout
    assert "revoked" in run("keys", "list").stdout


async def test_a_refusal_comes_before_a_version_check(client: httpx.AsyncClient, partner: Partner) -> None:
    await builders.organisation(client, "IVAR", kind="research_institute")
    await builders.organisation(client)
    async with await partner("ivar") as ivar:
        response = await ivar.patch(
            "/v1/organisations/lankelly-chase-foundation", json={"description": "x"}, headers={"If-Match": '"9"'}
        )
    assert response.status_code == 403


async def test_a_retry_after_the_record_was_deleted_is_a_conflict_not_a_stale_201(client: httpx.AsyncClient) -> None:
    body = {"name": "Short Lived", "kind": "charity"}
    first = await client.post("/v1/organisations", json=body, headers={"Idempotency-Key": "once"})
    await client.delete(f"/v1/organisations/{first.json()['id']}")
    again = await client.post("/v1/organisations", json=body, headers={"Idempotency-Key": "once"})
    assert again.status_code == 409
    assert "deleted" in again.json()["detail"]
