"""The OpenAPI document: Litestar's, with the request and response schemas taken from msgspec.

Litestar's own schema generation loses constraints that the API enforces: bounds of 0 (`ge=0`),
constraints on list items, and constraints on an optional field that also carries a description.
msgspec validates every body, so its JSON Schema of the same Structs is the true contract; it
replaces Litestar's component schemas, and the committed openapi/openapi.json is that document."""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
from pathlib import Path
from typing import Any

import msgspec
from litestar import Litestar
from litestar.serialization import encode_json

import api.schemas

COMMITTED = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"
REF_TEMPLATE = "#/components/schemas/{name}"


def _schema_structs() -> dict[str, type[msgspec.Struct]]:
    structs: dict[str, type[msgspec.Struct]] = {}
    for module_info in pkgutil.iter_modules(api.schemas.__path__):
        module = importlib.import_module(f"api.schemas.{module_info.name}")
        for name, value in vars(module).items():
            if inspect.isclass(value) and issubclass(value, msgspec.Struct) and value.__module__ == module.__name__:
                structs[name] = value
    return structs


def use_msgspec_schemas(app: Litestar) -> None:
    """Swap every component schema Litestar generated for a Struct for msgspec's schema of it."""
    components = app.openapi_schema.components
    schemas: dict[str, Any] = components.schemas
    structs = [struct for name, struct in _schema_structs().items() if name in schemas]
    _, generated = msgspec.json.schema_components(structs, ref_template=REF_TEMPLATE)
    for name, schema in generated.items():
        schemas[name] = schema


def spec_json(app: Litestar) -> str:
    spec = json.loads(encode_json(app.openapi_schema.to_schema()))
    return json.dumps(spec, indent=2, ensure_ascii=False) + "\n"
