"""A write's body and credentials are read exactly: what the API cannot take is refused with a 4xx that
names it, before anything is written, and never dropped in silence or answered with a 500."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar

from api.app import create_app
from api.settings import Settings
from tests import builders
from tests.conftest import make_client
from tests.test_errors import assert_problem

JSON = {"content-type": "application/json"}


async def feed_length(client: httpx.AsyncClient) -> int:
    return len((await client.get("/v1/changes", params={"limit": 200})).json()["items"])


async def organisation_count(client: httpx.AsyncClient) -> int:
    return len((await client.get("/v1/organisations", params={"limit": 200})).json()["items"])


class TestHostileBodies:
    @pytest.mark.parametrize("depth", [33, 1_000, 100_000])
    async def test_deep_nesting_is_a_400_before_authentication(self, anonymous: httpx.AsyncClient, depth: int) -> None:
        body = b'{"name": "A", "kind": "foundation", "description": ' + b"[" * depth + b"]" * depth + b"}"
        problem = assert_problem(await anonymous.post("/v1/organisations", content=body, headers=JSON), 400, "body")
        assert "nested deeper than 32" in problem["detail"]

    async def test_nesting_within_the_limit_reaches_the_field_checks(self, client: httpx.AsyncClient) -> None:
        body = b'{"name": "A", "kind": "foundation", "description": ' + b"[" * 31 + b"]" * 31 + b"}"
        assert_problem(await client.post("/v1/organisations", content=body, headers=JSON), 400, "description")

    @pytest.mark.parametrize(
        "body",
        [b'{"name": "\xff\xfe", "kind": "foundation"}', b'{"name": "caf\xe9", "kind": "foundation"}', b"\xc3"],
    )
    async def test_invalid_utf8_is_a_400_before_authentication(self, anonymous: httpx.AsyncClient, body: bytes) -> None:
        problem = assert_problem(await anonymous.post("/v1/organisations", content=body, headers=JSON), 400, "body")
        assert "not valid UTF-8" in problem["detail"]

    async def test_nothing_is_written_by_a_refused_body(self, client: httpx.AsyncClient) -> None:
        before = await feed_length(client)
        await client.post("/v1/organisations", content=b'{"name": "\xff", "kind": "foundation"}', headers=JSON)
        await client.post("/v1/organisations", content=b"[" * 5000, headers=JSON)
        await client.post("/v1/organisations", json={"name": "A", "kind": "foundation", "title": "x"})
        assert await feed_length(client) == before
        assert await organisation_count(client) == 0


class TestUnknownFields:
    @pytest.mark.parametrize("field", ["title", "amountAwarded", "contributed_by", "version", "id"])
    async def test_an_unknown_field_on_create_is_a_422_naming_it(self, client: httpx.AsyncClient, field: str) -> None:
        await builders.organisation(client, "Funder")
        await builders.organisation(client, "Recipient")
        body = {"name": "G", "funder": "funder", "recipient": "recipient", field: "5"}
        problem = assert_problem(await client.post("/v1/grants", json=body), 422, field)
        assert f"`{field}`" in problem["detail"]
        assert (await client.get("/v1/grants")).json()["items"] == []

    async def test_an_unknown_field_on_patch_is_a_422_and_changes_nothing(self, client: httpx.AsyncClient) -> None:
        made = await builders.organisation(client, "Funder")
        response = await client.patch("/v1/organisations/funder", json={"name": "New", "nmae": "typo"})
        assert_problem(response, 422, "nmae")
        after = (await client.get("/v1/organisations/funder")).json()
        assert (after["name"], after["version"]) == ("Funder", made["version"])

    async def test_an_unknown_field_inside_an_object_is_named_by_its_path(self, client: httpx.AsyncClient) -> None:
        await builders.organisation(client, "Funder")
        await builders.organisation(client, "Recipient")
        body = {
            "name": "G",
            "funder": "funder",
            "recipient": "recipient",
            "amount": {"amount": "10.00", "currency": "GBP", "value": 10},
        }
        assert_problem(await client.post("/v1/grants", json=body), 422, "amount.value")

    async def test_every_unknown_field_is_named_at_once(self, client: httpx.AsyncClient) -> None:
        problem = assert_problem(
            await client.post("/v1/organisations", json={"name": "A", "kind": "foundation", "x": 1, "y": 2}), 422
        )
        assert sorted(error["field"] for error in problem["errors"]) == ["x", "y"]

    def test_the_spec_says_bodies_take_no_other_fields(self) -> None:
        spec = json.loads(Path("openapi/openapi.json").read_text())
        schemas = spec["components"]["schemas"]
        bodies = [name for name in schemas if name.endswith(("Create", "Update"))] + ["Money"]
        assert len(bodies) >= 19
        assert all(schemas[name]["additionalProperties"] is False for name in bodies)
        responses = spec["paths"]["/v1/grants"]["post"]["responses"]
        assert "415" in responses
        assert "does not take" in responses["422"]["description"]


class TestEveryFaultAtOnce:
    async def test_every_invalid_field_is_reported(self, client: httpx.AsyncClient) -> None:
        body = {"name": 5, "kind": "bank", "website": "ftp://x", "slug": "Not A Slug"}
        problem = assert_problem(await client.post("/v1/organisations", json=body), 400)
        assert sorted(error["field"] for error in problem["errors"]) == ["kind", "name", "slug", "website"]

    async def test_faults_inside_lists_and_objects_are_each_named(self, client: httpx.AsyncClient) -> None:
        body = {"name": "G", "funder": 1, "recipient": "r", "amount": {"amount": "1,0"}, "places": ["ok", 3, ""]}
        problem = assert_problem(await client.post("/v1/grants", json=body), 400)
        assert sorted(error["field"] for error in problem["errors"]) == [
            "amount.amount",
            "funder",
            "places[1]",
            "places[2]",
        ]

    async def test_missing_fields_are_named_with_the_rest(self, client: httpx.AsyncClient) -> None:
        problem = assert_problem(await client.post("/v1/organisations", json={"kind": "bank"}), 400)
        assert sorted(error["field"] for error in problem["errors"]) == ["kind", "name"]

    async def test_an_enum_error_lists_the_valid_values(self, client: httpx.AsyncClient) -> None:
        problem = assert_problem(await client.post("/v1/organisations", json={"name": "A", "kind": "bank"}), 400)
        (error,) = problem["errors"]
        assert "expected one of" in error["message"]
        assert "foundation" in error["message"] and "community_group" in error["message"]


class TestMediaType:
    @pytest.mark.parametrize(
        "content_type",
        [
            None,
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/json; charset=latin-1",
        ],
    )
    async def test_a_json_write_needs_a_json_content_type(
        self, client: httpx.AsyncClient, content_type: str | None
    ) -> None:
        headers = {"content-type": content_type} if content_type else {}
        body = b'{"name": "A", "kind": "foundation"}'
        assert_problem(await client.post("/v1/organisations", content=body, headers=headers), 415, "Content-Type")
        assert await organisation_count(client) == 0

    @pytest.mark.parametrize(
        "content_type", ["application/json", "application/json; charset=UTF-8", "Application/JSON"]
    )
    async def test_json_in_any_spelling_is_taken(self, client: httpx.AsyncClient, content_type: str) -> None:
        body = b'{"name": "A", "kind": "foundation"}'
        response = await client.post("/v1/organisations", content=body, headers={"content-type": content_type})
        assert response.status_code == 201, response.text

    async def test_a_patch_needs_it_too(self, client: httpx.AsyncClient) -> None:
        await builders.organisation(client, "Funder")
        response = await client.patch(
            "/v1/organisations/funder", content=b'{"name": "B"}', headers={"content-type": "text/plain"}
        )
        assert_problem(response, 415)


class TestPatchThatChangesNothing:
    @pytest.mark.parametrize("body", [{}, {"name": "Funder"}, {"name": "Funder", "kind": "foundation"}])
    async def test_keeps_the_version_and_adds_no_change(self, client: httpx.AsyncClient, body: dict[str, str]) -> None:
        made = await builders.organisation(client, "Funder")
        before = await feed_length(client)
        response = await client.patch("/v1/organisations/funder", json=body, headers={"If-Match": '"1"'})
        assert response.status_code == 200, response.text
        assert response.json() == made
        assert response.headers["etag"] == '"1"'
        assert await feed_length(client) == before
        assert (await client.get("/v1/organisations/funder")).json()["version"] == 1

    async def test_a_real_change_still_counts(self, client: httpx.AsyncClient) -> None:
        await builders.organisation(client, "Funder")
        before = await feed_length(client)
        response = await client.patch("/v1/organisations/funder", json={"description": "Funds things"})
        assert response.json()["version"] == 2
        assert await feed_length(client) == before + 1

    async def test_the_same_links_in_another_order_change_nothing(self, client: httpx.AsyncClient) -> None:
        await builders.uk_places(client)
        await builders.organisation(client, "Funder")
        await builders.organisation(client, "Recipient")
        made = await builders.grant(client, "funder", "recipient", places=["E08000026", "S92000003"])
        response = await client.patch(f"/v1/grants/{made['slug']}", json={"places": ["S92000003", "E08000026"]})
        assert response.json()["version"] == made["version"]

    async def test_a_stale_if_match_is_still_refused(self, client: httpx.AsyncClient) -> None:
        await builders.organisation(client, "Funder")
        await client.patch("/v1/organisations/funder", json={"description": "x"})
        response = await client.patch("/v1/organisations/funder", json={}, headers={"If-Match": '"1"'})
        assert_problem(response, 412)

    async def test_a_child_patch_that_changes_nothing_keeps_both_versions(self, client: httpx.AsyncClient) -> None:
        await builders.organisation(client, "Association of Charitable Foundations", kind="funder_network")
        await builders.organisation(client, "Lankelly Chase Foundation", org_id="GB-CHC-1107583")
        group = await builders.post(
            client,
            "/v1/interest-groups",
            {"name": "Place funders", "convenor": "association-of-charitable-foundations"},
        )
        members = f"/v1/interest-groups/{group['slug']}/members"
        member = await builders.post(client, members, {"organisation": "GB-CHC-1107583", "joined_on": "2016-04-01"})
        group = (await client.get(f"/v1/interest-groups/{group['slug']}")).json()
        before = await feed_length(client)
        response = await client.patch(f"{members}/GB-CHC-1107583", json={"joined_on": "2016-04-01"})
        assert response.status_code == 200
        assert response.json()["version"] == member["version"]
        assert (await client.get(f"/v1/interest-groups/{group['slug']}")).json()["version"] == group["version"]
        assert await feed_length(client) == before


class TestCredentials:
    @pytest.mark.parametrize("spelling", ["bearer {}", "BEARER {}", "Bearer   {}", " Bearer {} ", "bEaReR\t{}"])
    async def test_the_scheme_is_case_insensitive_and_spaces_do_not_matter(
        self, app: Litestar, admin_key: str, spelling: str
    ) -> None:
        # RFC 7235 separates the scheme by spaces only: a tab makes it no bearer header
        expected = 401 if "\t" in spelling else 201
        async with make_client(app) as client:
            response = await client.post(
                "/v1/organisations",
                json={"name": "A", "kind": "foundation"},
                headers={"Authorization": spelling.format(admin_key)},
            )
        assert response.status_code == expected, response.text

    @pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer a b", "Token abc"])
    async def test_anything_else_is_a_401(self, app: Litestar, header: str) -> None:
        async with make_client(app) as client:
            response = await client.post(
                "/v1/organisations", json={"name": "A", "kind": "foundation"}, headers={"Authorization": header}
            )
        assert_problem(response, 401)

    async def test_respelling_a_key_does_not_escape_its_rate_limit(self, empty_database: None, admin_key: str) -> None:
        from api.services.platform import store as shared

        app = create_app(dataclasses.replace(Settings.from_env(), rate_limit="3/minute"))
        shared.open_store("", "placenet-test-spelling:")
        try:
            async with make_client(app) as client:
                statuses = [
                    (await client.get("/v1/places", headers={"Authorization": spelling.format(admin_key)})).status_code
                    for spelling in ("Bearer {}", "bearer {}", "BEARER {}", "Bearer  {}", "Bearer {} ")
                ]
        finally:
            await shared.close_store()
        assert statuses == [200, 200, 200, 429, 429]


class TestSlugs:
    async def test_grants_with_the_same_title_get_numbered_slugs(self, client: httpx.AsyncClient) -> None:
        await builders.organisation(client, "Funder")
        await builders.organisation(client, "Recipient")
        slugs = [(await builders.grant(client, "funder", "recipient", name="Core costs"))["slug"] for _ in range(3)]
        assert slugs == ["core-costs", "core-costs-2", "core-costs-3"]

    async def test_an_organisation_of_a_taken_name_is_still_a_409(self, client: httpx.AsyncClient) -> None:
        await builders.organisation(client, "Funder")
        response = await client.post("/v1/organisations", json={"name": "Funder", "kind": "foundation"})
        assert_problem(response, 409, "slug")

    async def test_a_slug_the_client_chose_is_still_a_409_when_taken(self, client: httpx.AsyncClient) -> None:
        await builders.organisation(client, "Funder", slug="funder")
        response = await client.post(
            "/v1/organisations", json={"name": "Other", "kind": "foundation", "slug": "funder"}
        )
        assert_problem(response, 409, "slug")


def test_migrate_says_plainly_what_it_ran() -> None:
    placenet = str(Path(sys.executable).with_name("placenet"))
    with tempfile.TemporaryDirectory() as directory:
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{directory}/new.sqlite3"}
        first = subprocess.run([placenet, "migrate"], env=env, capture_output=True, text=True, check=True)
        again = subprocess.run([placenet, "migrate"], env=env, capture_output=True, text=True, check=True)
    assert "already complete" not in first.stdout + first.stderr
    migrations = [p for p in Path("models/piccolo_migrations").glob("*.py") if p.name != "__init__.py"]
    assert f"Applied {len(migrations)} migrations to sqlite:///" in first.stderr
    assert "2026-11-26T09:36:47:638680" in first.stderr
    assert "is up to date: no migration to apply" in again.stderr


@pytest.mark.parametrize(
    "url",
    [
        "/v1/organisations/a%00b",
        "/v1/organisations?q=a%00b",
        "/v1/organisations?place=a%00b",
        "/v1/grants?funder=a%00",
        "/v1/grants?q=%00",
        "/v1/places/E0%00",
        "/v1/places/a%00/activity",
        "/v1/organisations/a%00/history",
        "/v1/organisations/a%00/collaborators",
        "/v1/map?place=a%00",
        "/v1/network?organisation=%00",
        "/v1/network/path?from=a%00&to=b",
        "/v1/changes?after=%00",
        "/v1/grants?cursor=%00",
    ],
)
async def test_a_nul_byte_anywhere_in_a_read_is_a_400(anonymous: httpx.AsyncClient, url: str) -> None:
    """PostgreSQL cannot hold a NUL in text: it is refused before any query, on both engines."""
    assert_problem(await anonymous.get(url), 400)


async def test_a_nul_byte_in_a_write_is_a_400_that_writes_nothing(client: httpx.AsyncClient) -> None:
    await builders.organisation(client, "Funder")
    before = await feed_length(client)
    for response in (
        await client.patch("/v1/organisations/fun%00der", json={"name": "X"}),
        await client.delete("/v1/organisations/fun%00der"),
        await client.post("/v1/organisations", json={"name": "A\x00", "kind": "foundation"}),
        await client.post(
            "/v1/organisations", json={"name": "A", "kind": "foundation"}, headers={"Idempotency-Key": "a\x01"}
        ),
        await client.patch("/v1/organisations/funder", json={"name": "X"}, headers={"If-Match": '"1\x01"'}),
    ):
        assert_problem(response, 400)
    assert await feed_length(client) == before


class TestBodiesAtTheirLimits:
    async def test_a_byte_order_mark_is_named_as_such(self, client: httpx.AsyncClient) -> None:
        body = b'\xef\xbb\xbf{"name": "A", "kind": "foundation"}'
        problem = assert_problem(await client.post("/v1/organisations", content=body, headers=JSON), 400, "body")
        assert "byte order mark" in problem["detail"]

    async def test_ascii_is_utf8(self, client: httpx.AsyncClient) -> None:
        headers = {"content-type": "application/json; charset=us-ascii"}
        response = await client.post(
            "/v1/organisations", content=b'{"name": "A", "kind": "foundation"}', headers=headers
        )
        assert response.status_code == 201

    async def test_a_body_of_a_million_faults_lists_a_hundred(self, anonymous: httpx.AsyncClient) -> None:
        body = {"name": "A", "kind": "foundation", **{f"x{i}": 1 for i in range(200_000)}}
        problem = assert_problem(await anonymous.post("/v1/organisations", json=body), 422)
        assert len(problem["errors"]) == 101
        assert problem["errors"][-1]["message"].startswith("more faults than the first 100")

    async def test_invalid_and_unknown_faults_past_the_cap_are_still_a_400(self, client: httpx.AsyncClient) -> None:
        body = {"name": 5, **{f"x{i}": 1 for i in range(500)}}
        problem = assert_problem(await client.post("/v1/organisations", json=body), 400)
        assert len(problem["errors"]) == 101


async def _asgi_post(
    app: Litestar, path: str, headers: list[tuple[bytes, bytes]], parts: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """A request sent straight to the app, its body in `parts` (ASGI messages), and what the app sent back."""
    sent: list[dict[str, Any]] = []
    messages = iter(parts)

    async def receive() -> dict[str, Any]:
        return next(messages, {"type": "http.disconnect"})

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("placenet.test", 80),
        "state": {},
    }
    # The scope and messages as a server makes them: plain dicts, where Litestar types them as its TypedDicts.
    await app(scope, receive, send)  # type: ignore[arg-type]
    return sent


class TestIdempotentBodies:
    async def test_a_client_that_leaves_mid_body_has_nothing_applied(
        self, app: Litestar, admin_key: str, client: httpx.AsyncClient
    ) -> None:
        headers = [
            (b"authorization", f"Bearer {admin_key}".encode()),
            (b"content-type", b"application/json"),
            (b"idempotency-key", b"leaving-1"),
        ]
        parts: list[dict[str, Any]] = [
            {"type": "http.request", "body": b'{"name": "Half", "kind": "fou', "more_body": True},
            {"type": "http.disconnect"},
        ]
        sent = await _asgi_post(app, "/v1/organisations", headers, parts)
        assert not any(m.get("status") in (200, 201) for m in sent)
        assert await organisation_count(client) == 0
        retried = await client.post(
            "/v1/organisations", json={"name": "Half", "kind": "foundation"}, headers={"Idempotency-Key": "leaving-1"}
        )
        assert retried.status_code == 201, "the key was not spent on the partial body"

    async def test_a_body_over_the_limit_is_refused_while_it_is_read(
        self, app: Litestar, admin_key: str, client: httpx.AsyncClient
    ) -> None:
        headers = [
            (b"authorization", f"Bearer {admin_key}".encode()),
            (b"content-type", b"application/json"),
            (b"idempotency-key", b"too-big-1"),
        ]
        chunk = b" " * 1_000_000
        parts = [{"type": "http.request", "body": chunk, "more_body": True} for _ in range(12)]
        sent = await _asgi_post(app, "/v1/organisations", headers, parts)
        assert sent[0]["status"] == 413
        assert b"the most this operation takes" in sent[1]["body"]


async def test_a_redis_that_refuses_is_a_store_unavailable_not_a_500() -> None:
    import redis.exceptions

    from api.services.platform.store import RedisStore, StoreUnavailable

    store = RedisStore("redis://127.0.0.1:6379/0", "placenet-test-refuses:")

    async def read_only() -> None:
        raise redis.exceptions.ReadOnlyError("You can't write against a read only replica.")

    with pytest.raises(StoreUnavailable):
        await store._call(read_only)
