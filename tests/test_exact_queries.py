"""Query strings and cursors are exact: what an operation does not take is refused and named, a range
that ends before it starts is the same 422 everywhere, an enumeration's error lists its values, a
cursor the API did not give out is a 422 on both engines, and the spec says all of it."""

from __future__ import annotations

import base64
import json
import re
import uuid
from typing import Annotated, Any, get_args

import httpx
import msgspec
import pytest
from litestar import Litestar, get
from litestar.di import NamedDependency, Provide
from litestar.params import QueryParameter

from api.http.openapi import COMMITTED
from api.http.query import RANGE_DETAIL, index_query_strings
from api.schemas.organisations import OrganisationKind
from api.services.records.cursors import (
    CHANGE_CURSOR_PATTERN,
    EVIDENCE_CURSOR_PATTERN,
    LINK_CURSOR_PATTERN,
    LIST_CURSOR_PATTERN,
    MAX_LIST_CURSOR,
    MIN_LIST_CURSOR,
    encode_list_cursor,
)
from tests import builders

SPEC = json.loads(COMMITTED.read_text(encoding="utf-8"))
LISTS = ["/v1/organisations", "/v1/places", "/v1/interest-groups", "/v1/co-funding", "/v1/research", "/v1/grants"]


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


# Unknown parameters ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/v1/organisations?bogus=1",
        "/v1/grants?funder_name=x",
        "/v1/organisations/anyone?bogus=1",
        "/v1/map?level=region&bogus=1",
        "/v1/network?from=2020-01-01&to=2021-01-01&bogus=1",
        "/v1/network/path?from=a&to=b&bogus=1",
        "/v1/changes?after=0&bogus=1",
        "/health?bogus=1",
    ],
)
async def test_an_unknown_query_parameter_is_a_422_naming_it(anonymous: httpx.AsyncClient, url: str) -> None:
    body = problem(await anonymous.get(url), 422)
    assert [(e["field"], e["location"]) for e in body["errors"]] == [
        ("bogus" if "bogus" in url else "funder_name", "query")
    ]
    assert "does not take" in body["detail"]


async def test_every_unknown_parameter_is_named_at_once(anonymous: httpx.AsyncClient) -> None:
    body = problem(await anonymous.get("/v1/places?a=1&b=2&level=region"), 422)
    assert [e["field"] for e in body["errors"]] == ["a", "b"]
    assert "`level`" in body["errors"][0]["message"]  # it says what the operation does take


async def test_active_on_is_not_an_organisations_filter(anonymous: httpx.AsyncClient) -> None:
    """The README once wrote it: organisations have no dates, so it is refused, not ignored."""
    body = problem(
        await anonymous.get("/v1/organisations", params={"kind": "foundation", "active_on": "2024-01-01"}), 422
    )
    assert [e["field"] for e in body["errors"]] == ["active_on"]


async def test_a_write_with_an_unknown_parameter_writes_nothing(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/organisations?dry_run=true", json={"name": "IVAR", "kind": "charity"})
    assert problem(response, 422)["errors"][0]["field"] == "dry_run"
    assert (await client.get("/v1/organisations")).json()["items"] == []


async def test_aliases_and_repeated_lists_are_taken(anonymous: httpx.AsyncClient) -> None:
    assert (
        await anonymous.get("/v1/map?level=nation&kind=grant&kind=research&from=2020-01-01&to=2020-01-01")
    ).status_code == 200
    assert (await anonymous.get("/v1/network?format=json&min_weight=0.5&limit=10")).status_code == 200


async def test_a_scalar_given_twice_is_a_400(anonymous: httpx.AsyncClient) -> None:
    body = problem(await anonymous.get("/v1/organisations?limit=1&limit=2"), 400)
    assert body["errors"][0]["field"] == "limit"


def test_parameters_a_dependency_takes_are_counted() -> None:
    """A parameter taken through a `Provide` dependency (a shared filter, say) is one the operation takes."""

    async def period(
        since: Annotated[str | None, QueryParameter()] = None,
        end: Annotated[str | None, QueryParameter(name="until")] = None,
    ) -> str:
        return f"{since}-{end}"

    @get("/things", dependencies={"window": Provide(period)})
    async def things(window: NamedDependency[str], size: Annotated[int, QueryParameter()] = 1) -> str:
        return window

    (query,) = index_query_strings(Litestar([things])).values()
    assert set(query.parameters) == {"since", "until", "size"}


# Date ranges -------------------------------------------------------------------------------------------

RANGES = [
    ("/v1/grants", "awarded_from", "awarded_to"),
    ("/v1/research", "published_from", "published_to"),
    ("/v1/map", "from", "to"),
    ("/v1/network", "from", "to"),
    ("/v1/network/links", "from", "to"),
    ("/v1/organisations/anyone/network", "from", "to"),
    ("/v1/organisations/anyone/activity", "from", "to"),
    ("/v1/organisations/anyone/collaborators", "from", "to"),
    ("/v1/places/anywhere/activity", "from", "to"),
    ("/v1/places/anywhere/funders", "from", "to"),
]


@pytest.mark.parametrize(("path", "start", "end"), RANGES)
async def test_an_inverted_date_range_is_the_same_422_everywhere(
    anonymous: httpx.AsyncClient, path: str, start: str, end: str
) -> None:
    body = problem(await anonymous.get(path, params={start: "2024-06-02", end: "2024-06-01"}), 422)
    assert body["detail"] == RANGE_DETAIL
    assert body["errors"] == [{"field": end, "message": f"is before {start} (2024-06-02)", "location": "query"}]


def test_every_date_range_is_tested(app: Litestar) -> None:
    """The list above is every range the API takes: a new one must join it."""
    found = {(start, end) for query in index_query_strings(app).values() for start, end in query.ranges}
    assert found == {(start, end) for _, start, end in RANGES}
    ranges = sum(len(query.ranges) for query in index_query_strings(app).values())
    assert ranges == len(RANGES)


async def test_a_range_of_one_day_is_taken(client: httpx.AsyncClient) -> None:
    await builders.organisation(client, "Funder")
    await builders.organisation(client, "Recipient")
    await builders.grant(
        client, "funder", "recipient", awarded_on="2024-06-01", amount={"amount": "10.00", "currency": "GBP"}
    )
    response = await client.get("/v1/grants", params={"awarded_from": "2024-06-01", "awarded_to": "2024-06-01"})
    assert [g["name"] for g in response.json()["items"]] == ["Testing methodologies"]


# Enumerations ------------------------------------------------------------------------------------------


async def test_an_enum_error_lists_the_values(anonymous: httpx.AsyncClient) -> None:
    body = problem(await anonymous.get("/v1/organisations", params={"kind": "nope"}), 400)
    (error,) = body["errors"]
    assert error["field"] == "kind" and error["location"] == "query"
    assert "'nope'" in error["message"]
    for value in get_args(OrganisationKind):
        assert value in error["message"]


async def test_an_enum_error_in_a_list_parameter_lists_the_values(anonymous: httpx.AsyncClient) -> None:
    body = problem(await anonymous.get("/v1/map?kind=grant&kind=nope"), 400)
    assert [e["field"] for e in body["errors"]] == ["kind"]
    assert (
        "expected one of: organisation, interest_group, co_funding, research, grant, engagement"
        in body["errors"][0]["message"]
    )


# Cursors -----------------------------------------------------------------------------------------------


def _cursor(*parts: Any) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(list(parts))).decode().rstrip("=")


ID = str(uuid.uuid4())
FORGED = {
    "a NUL in the value": _cursor("name", "a\x00b", ID),
    "a value that is not text": _cursor("name", 1, ID),
    "a UUID spelled otherwise": _cursor("name", "Lankelly", ID.upper()),
    "a value longer than any name": _cursor("name", "x" * 301, ID),
    "a fifth element": _cursor("name", "Lankelly", ID, "more"),
    "junk after the JSON": _cursor("name", "Lankelly", ID) + "AAAA",
    "padding bits set": _cursor("name", "Lankelly", ID)[:-1] + "z",
    "another sort": _cursor("created_at", "2024-01-01T00:00:00+00:00", ID),
    # Found by make contract (a 500): bytes that are not UTF-8 inside the JSON's first string.
    "not UTF-8": "WyIt0VJ0Tncij90Mb0oUYkn0KV-wTrPW1oSGdX2Q0h5YZSxCqQ3G_rQAX0WnyHiwh8N",
    "not UTF-8 in the value": base64.urlsafe_b64encode(b'["name","\xd1\xd1","' + ID.encode() + b'"]')
    .decode()
    .rstrip("="),
}


@pytest.mark.parametrize("path", ["/v1/organisations", "/v1/grants"])
@pytest.mark.parametrize("name", list(FORGED))
async def test_a_cursor_of_the_right_shape_not_given_out_is_a_422(
    anonymous: httpx.AsyncClient, path: str, name: str
) -> None:
    cursor = FORGED[name]
    if re.fullmatch(LIST_CURSOR_PATTERN, cursor) and MIN_LIST_CURSOR <= len(cursor) <= MAX_LIST_CURSOR:
        body = problem(await anonymous.get(path, params={"cursor": cursor}), 422)
        assert body["errors"][0]["field"] == "cursor"
    else:  # the spec refuses it already
        problem(await anonymous.get(path, params={"cursor": cursor}), 400)


@pytest.mark.parametrize("sort", ["created_at", "-updated_at"])
@pytest.mark.parametrize("time", ["2024-01-01T00:00:00", "2024-01-01", "2024-01-01T00:00:00.000+00:00", "\x00"])
async def test_a_time_cursor_not_given_out_is_a_422(anonymous: httpx.AsyncClient, sort: str, time: str) -> None:
    cursor = _cursor(sort, time, ID)
    body = problem(await anonymous.get("/v1/organisations", params={"sort": sort, "cursor": cursor}), 422)
    assert body["errors"][0]["field"] == "cursor"


@pytest.mark.parametrize("cursor", ["0", "MA", "x" * 80, "WyJu" + "!" * 80, "WyJu" + "A" * 81])
async def test_a_cursor_the_spec_refuses_is_a_400(anonymous: httpx.AsyncClient, cursor: str) -> None:
    problem(await anonymous.get("/v1/grants", params={"cursor": cursor}), 400)


@pytest.mark.parametrize("path", ["/v1/organisations", "/v1/places", "/v1/grants"])
async def test_every_sort_walks_its_pages_with_the_cursors_it_gives(client: httpx.AsyncClient, path: str) -> None:
    """Each cursor given out (times as each engine returns them, names JSON escapes) is taken back."""
    await builders.uk_places(client)
    await builders.organisation(client, "Funder")
    for number, name in enumerate(("Ä long 名前 with \u0001 control", "B", "C")):
        if path == "/v1/organisations":
            await builders.organisation(client, name, slug=f"org-{number}")
        elif path == "/v1/grants":
            await builders.grant(client, "funder", "funder", name=name)
    total = len((await client.get(path, params={"limit": 200})).json()["items"])
    for sort in ("name", "-name", "created_at", "-created_at", "updated_at", "-updated_at"):
        seen, cursor = [], None
        while True:
            params = {"sort": sort, "limit": 1, **({"cursor": cursor} if cursor else {})}
            response = await client.get(path, params=params)
            assert response.status_code == 200, response.text
            page = response.json()
            seen += [item["id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
            assert re.fullmatch(LIST_CURSOR_PATTERN, cursor) and MIN_LIST_CURSOR <= len(cursor) <= MAX_LIST_CURSOR
        assert len(seen) == len(set(seen)) == total >= 3, (path, sort)


async def test_the_longest_names_give_cursors_the_api_takes_back(client: httpx.AsyncClient) -> None:
    """Names of 300 characters that JSON writes as six bytes each (a control character) or four (an
    emoji) make the longest cursors a name gives; the spec's maxLength admits them."""
    for slug, name in (("controls", "\u0001" * 300), ("emoji", "\U0001f600" * 300), ("zed", "z")):
        await builders.post(client, "/v1/organisations", {"name": name, "kind": "charity", "slug": slug})
    for sort, first in (("name", "controls"), ("-name", "emoji")):
        page = (await client.get("/v1/organisations", params={"limit": 1, "sort": sort})).json()
        assert page["items"][0]["slug"] == first
        cursor = page["next_cursor"]
        assert len(cursor) == len(encode_list_cursor(sort, page["items"][0]["name"], uuid.UUID(int=0)))
        assert len(cursor) <= MAX_LIST_CURSOR
        response = await client.get("/v1/organisations", params={"limit": 1, "sort": sort, "cursor": cursor})
        assert response.status_code == 200, response.text
        assert response.json()["items"][0]["slug"] == "zed"


# The change feed's cursor ------------------------------------------------------------------------------


async def test_the_feed_starts_at_after_zero(client: httpx.AsyncClient, anonymous: httpx.AsyncClient) -> None:
    await builders.organisation(client, "First")
    await builders.organisation(client, "Second")
    whole = (await anonymous.get("/v1/changes")).json()
    from_zero = (await anonymous.get("/v1/changes", params={"after": "0"})).json()
    assert from_zero == whole
    assert [c["record_slug"] for c in whole["items"]] == ["first", "second"]
    assert whole["next_cursor"] == str(whole["items"][-1]["id"])


async def test_the_feed_resumes_after_a_change_id(client: httpx.AsyncClient, anonymous: httpx.AsyncClient) -> None:
    await builders.organisation(client, "First")
    first = (await anonymous.get("/v1/changes")).json()["items"][0]["id"]
    await builders.organisation(client, "Second")
    later = (await anonymous.get("/v1/changes", params={"after": str(first)})).json()
    assert [c["record_slug"] for c in later["items"]] == ["second"]


async def test_a_cursor_in_the_earlier_form_still_works(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    await builders.organisation(client, "First")
    first = (await anonymous.get("/v1/changes")).json()["items"][0]["id"]
    await builders.organisation(client, "Second")
    earlier_form = base64.urlsafe_b64encode(str(first).encode()).decode().rstrip("=")
    assert re.fullmatch(CHANGE_CURSOR_PATTERN, earlier_form)
    later = (await anonymous.get("/v1/changes", params={"after": earlier_form})).json()
    assert [c["record_slug"] for c in later["items"]] == ["second"]


@pytest.mark.parametrize(
    "after", ["", "-1", "01", "1.5", " 1", "+1", "1_000", "LTE", "Ow", "\x00", "MA\x00", "9" * 19, "MTI=", "bm90"]
)
async def test_a_change_cursor_the_spec_refuses_is_a_400(anonymous: httpx.AsyncClient, after: str) -> None:
    assert not re.fullmatch(CHANGE_CURSOR_PATTERN, after) or not 1 <= len(after) <= 24
    problem(await anonymous.get("/v1/changes", params={"after": after}), 400)


async def test_a_change_number_beyond_the_feed_is_an_empty_page(anonymous: httpx.AsyncClient) -> None:
    page = (await anonymous.get("/v1/changes", params={"after": "9" * 18})).json()
    assert page == {"items": [], "next_cursor": "9" * 18}


# Empty refs, and the spec --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/v1/grants", "funder"),
        ("/v1/grants", "recipient"),
        ("/v1/grants", "programme"),
        ("/v1/co-funding", "funder"),
        ("/v1/research", "funded_by"),
        ("/v1/places", "within"),
        ("/v1/places", "parent"),
        ("/v1/organisations", "place"),
        ("/v1/map", "organisation"),
        ("/v1/network", "place"),
    ],
)
async def test_an_empty_ref_is_a_400(anonymous: httpx.AsyncClient, path: str, name: str) -> None:
    body = problem(await anonymous.get(path, params={name: ""}), 400)
    assert body["errors"][0]["field"] == name


def _string_parameters() -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for path, item in SPEC["paths"].items():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                schema = parameter["schema"]
                types = [schema.get("type")] + [s.get("type") for s in schema.get("oneOf", [])]
                # a date or a UUID is never empty: its format refuses it
                formatted = any(s.get("format") in ("date", "uuid") for s in [schema, *schema.get("oneOf", [])])
                if (
                    parameter["in"] in ("query", "path")
                    and "string" in types
                    and "enum" not in schema
                    and not formatted
                ):
                    found.append((f"{method.upper()} {path}", parameter["name"], schema))
    return found


def test_every_ref_and_filter_in_the_spec_has_a_min_length() -> None:
    """Only free-text search may be empty (an empty `q` filters nothing); every other string names
    something, so an empty one is refused by the spec as by the API."""
    parameters = _string_parameters()
    assert len(parameters) > 40
    for operation, name, schema in parameters:
        refuses_empty = schema.get("minLength", 0) >= 1 or not re.fullmatch(schema.get("pattern", ""), "")
        assert refuses_empty or name == "q", (operation, name)


def test_every_cursor_in_the_spec_has_the_pattern_of_what_is_given_out() -> None:
    cursors = [
        (operation, name, schema) for operation, name, schema in _string_parameters() if name in ("cursor", "after")
    ]
    # the six lists, engagements, the change feed; the network's links, an organisation's and a link's records
    assert len(cursors) == len(LISTS) + 2 + 3
    network = {
        "GET /v1/network": LINK_CURSOR_PATTERN,
        "GET /v1/organisations/{ref}/network": LINK_CURSOR_PATTERN,
        "GET /v1/network/links": EVIDENCE_CURSOR_PATTERN,
    }
    for operation, name, schema in cursors:
        expected = CHANGE_CURSOR_PATTERN if name == "after" else network.get(operation, LIST_CURSOR_PATTERN)
        assert schema["pattern"] == expected, operation
        assert schema["minLength"] >= 1 and schema["maxLength"], operation
    # The pattern alone admits nothing shorter than the shortest cursor, so strings drawn from it are
    # not nearly all thrown away for minLength (schemathesis's filter_too_much health check).
    assert not re.fullmatch(LIST_CURSOR_PATTERN, "WyJu" + "A" * (MIN_LIST_CURSOR - 5))
    assert re.fullmatch(LIST_CURSOR_PATTERN, "WyJu" + "A" * (MIN_LIST_CURSOR - 4))


def test_every_bounded_integer_query_parameter_keeps_its_bounds_in_the_spec() -> None:
    for path, item in SPEC["paths"].items():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                schema = parameter["schema"]
                types = [schema.get("type")] + [s.get("type") for s in schema.get("oneOf", [])]
                if parameter["in"] == "query" and "integer" in types:
                    assert "minimum" in schema and "maximum" in schema, (path, parameter["name"])


@pytest.mark.parametrize(
    ("path", "name", "words"),
    [
        ("/v1/organisations", "place", "Only organisations based in"),
        ("/v1/grants", "organisation", "Only grants this organisation"),
        ("/v1/research", "organisation", "Only research this organisation"),
        ("/v1/co-funding", "organisation", "Only arrangements this organisation"),
        ("/v1/interest-groups", "organisation", "Only groups this organisation"),
        ("/v1/engagements", "organisation", "Only engagements this organisation"),
    ],
)
def test_a_shared_filter_keeps_the_words_its_route_gives_it(path: str, name: str, words: str) -> None:
    (parameter,) = [p for p in SPEC["paths"][path]["get"]["parameters"] if p["name"] == name]
    assert parameter["description"].startswith(words)
    assert parameter["schema"]["minLength"] == 1


def test_no_pattern_in_the_spec_means_one_thing_to_python_and_another_to_ecma_262() -> None:
    """JSON Schema patterns are ECMA-262 regexes; the API checks them with Python's `re`, where `\\s`,
    `\\d` and `\\w` also match other Unicode characters (`\\s` matches U+0085), so the spec would admit
    values the API refuses. Explicit classes mean the same to both."""
    patterns = list(_patterns(SPEC))
    assert len(patterns) > 40
    for pattern in patterns:
        assert not re.search(r"\\[sSdDwWbB]", pattern), pattern


def _patterns(node: Any) -> Any:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                yield value
            else:
                yield from _patterns(value)
    elif isinstance(node, list):
        for item in node:
            yield from _patterns(item)


async def test_a_source_url_the_spec_admits_is_taken(client: httpx.AsyncClient) -> None:
    """Found by schemathesis: `\\s` refused U+0085 in `source_url`, which the spec's regex admits."""
    response = await client.post(
        "/v1/imports/360giving?dry_run=true&source_url=https://example.org/%C2%85x", json={"grants": []}
    )
    # Past the query string, the file itself is refused: it has no grants.
    assert [e["field"] for e in problem(response, 422)["errors"]] == ["grants"]
