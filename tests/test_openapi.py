"""The spec is a product: committed, true to the code, and valid OpenAPI 3.1."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
from litestar import Litestar
from openapi_spec_validator import validate

from api.http.openapi import COMMITTED, spec_json


def test_committed_spec_matches_the_code(app: Litestar) -> None:
    assert COMMITTED.read_text(encoding="utf-8") == spec_json(app), "run `make openapi` and commit the diff"


def test_spec_is_valid_openapi_3_1(app: Litestar) -> None:
    spec = json.loads(spec_json(app))
    assert spec["openapi"].startswith("3.1")
    validate(spec)


def test_every_operation_is_named_described_and_tagged(app: Litestar) -> None:
    spec = json.loads(spec_json(app))
    tags = {tag["name"] for tag in spec["tags"]}
    operations = [op for path in spec["paths"].values() for op in path.values()]
    assert len(operations) >= 45
    for operation in operations:
        assert operation["summary"] and operation["description"], operation["operationId"]
        assert set(operation["tags"]) <= tags
        errors = {code: r for code, r in operation["responses"].items() if code[0] in "45"}
        assert errors or operation["operationId"] == "get_health", operation["operationId"]
        for response in errors.values():
            assert list(response["content"]) == ["application/problem+json"]


async def test_docs_serve_the_spec(client: httpx.AsyncClient, app: Litestar) -> None:
    response = await client.get("/docs/openapi.json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "Placenet"


async def test_docs_page_loads_nothing_from_outside(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    html = page.text
    assert "SwaggerUIBundle" in html
    for asset in ("/docs/static/swagger-ui-bundle.js", "/docs/static/swagger-ui.css", "/docs/static/favicon-32x32.png"):
        assert asset in html
        assert (await client.get(asset)).status_code == 200
    assets = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", html)
    assert assets
    assert all(asset.startswith("/docs/static/") for asset in assets), assets


async def test_docs_serve_yaml_too(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs/openapi.yaml")
    assert response.status_code == 200
    assert "openapi: 3.1" in response.text


async def test_health_and_readiness(anonymous: httpx.AsyncClient) -> None:
    assert (await anonymous.get("/health")).json() == {"status": "ok"}
    assert (await anonymous.get("/ready")).json() == {"status": "ok"}


def test_every_example_body_is_valid() -> None:
    import msgspec

    from api.http.openapi import _schema_structs
    from api.schemas.examples import EXAMPLES

    structs = _schema_structs()
    for name, example in EXAMPLES.items():
        msgspec.json.decode(msgspec.json.encode(example), type=structs[name])


def test_every_field_and_parameter_is_described(app: Litestar) -> None:
    spec = json.loads(spec_json(app))

    def described(schema: dict[str, Any]) -> bool:
        return "description" in schema or "$ref" in schema or any(described(s) for s in schema.get("anyOf", []))

    undescribed = [
        f"{name}.{field}"
        for name, schema in spec["components"]["schemas"].items()
        for field, prop in (schema.get("properties") or {}).items()
        if not described(prop) and field != "type"
    ]
    parameters = [
        f"{path} {parameter['name']}"
        for path, item in spec["paths"].items()
        for operation in item.values()
        for parameter in operation.get("parameters", [])
        if not parameter.get("description")
    ]
    assert undescribed == []
    assert parameters == []
