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
from api.schemas.examples import EXAMPLES

COMMITTED = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"
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


ETAG_DESCRIPTION = 'The record\'s version, such as `"3"`: send it back in If-Match or If-None-Match.'
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
SECURITY_SCHEME = "api_key"
CONVENTION_RESPONSES = {
    "304": "Not modified: the record is still at the version If-None-Match names.",
    "401": "No API key, or a key that is not valid: writes need `Authorization: Bearer <key>`.",
    "403": "The key's organisation may not do this: the problem says why.",
    "412": "If-Match names a version that is no longer current; the problem gives `current_version`.",
    "429": "Too many requests from these credentials (or, without a key, this address) in the current window, when "
    "the service sets a rate limit; retry after `Retry-After` seconds.",
    "503": "The database is not answering (down or restarting), or, for a POST with an Idempotency-Key, the shared "
    "store (Redis) is not, so the key cannot be honoured; nothing was applied. Retry after `Retry-After` seconds.",
}
RETRY_AFTER_503 = "Seconds to wait before sending the request again."
RETRY_AFTER_409 = (
    "Sent when the same request can succeed if sent again: the first request with this Idempotency-Key is still "
    "being processed, or the write met another one made at the same moment. Seconds to wait."
)
BODY_TIMEOUT = (
    "No part of the request body arrived for the server's body timeout (BODY_READ_TIMEOUT, 30 s by default); "
    "nothing was applied."
)
RATE_LIMIT_HEADERS = {
    "Retry-After": "Seconds until the window resets and requests are accepted again.",
    "RateLimit-Limit": "Requests allowed per window (sent on every `/v1` answer when a limit is set).",
    "RateLimit-Remaining": "Requests left in the current window.",
    "RateLimit-Reset": "Seconds until the current window resets.",
}
HEADER_PARAMETERS = {
    "If-Match": (
        'Only change the record if it is still at this version (its ETag, such as `"3"`); otherwise 412. '
        "Without it the write applies to whatever version is current.",
        r'^(\*|"?[0-9]{1,9}"?)$',
    ),
    "If-None-Match": (
        'Answer 304 with no body if the record is still at this version (its ETag, such as `"3"`).',
        None,
    ),
    "Idempotency-Key": (
        "A key of your choosing (a UUID, say) that makes a retry safe: within 24 hours the same key with the same "
        "request replays the first response (with `Idempotent-Replayed: true`); with a different request it is a 422; "
        "while the first is still being processed, a 409 with `Retry-After`. While the shared store (Redis) is down "
        "a POST with a key is refused with 503 and `Retry-After`, never applied without its replay protection.",
        r"^[\x21-\x7e]{1,200}$",
    ),
}


def _is_record(schemas: dict[str, Any], response: Any) -> bool:
    media = (getattr(response, "content", None) or {}).get("application/json")
    ref = getattr(getattr(media, "schema", None), "ref", "") or ""
    schema = schemas.get(ref.rsplit("/", 1)[-1])
    return isinstance(schema, dict) and "version" in schema.get("properties", {})


def document_conventions(app: Litestar) -> None:
    """Declare, on every operation they apply to, what the shared mechanisms do: the bearer key that
    writes need (api/http/auth.py), ETags and conditional requests (api/http/etags.py, If-Match in the
    services), and idempotent POSTs (api/http/idempotency.py)."""
    spec = app.openapi_schema
    schemas: dict[str, Any] = spec.components.schemas
    spec.components.security_schemes = {
        SECURITY_SCHEME: {  # type: ignore[dict-item]
            "type": "http",
            "scheme": "bearer",
            "description": "An API key made by an admin with `placenet keys create`; reads need none.",
        }
    }
    for path, item in (spec.paths or {}).items():
        for method in ("get", "post", "patch", "delete"):
            operation = getattr(item, method, None)
            if operation is None:
                continue
            responses: dict[str, Any] = operation.responses
            headers = ["Idempotency-Key"] if method == "post" else ["If-Match"] if method in ("patch", "delete") else []
            added = ["503"] if method == "get" else ["401", "403", "503", *(["412"] if method != "post" else [])]
            if operation.operation_id == "get_health":  # the process answering is all it reports
                added = []
            if path.startswith("/v1/"):
                added.append("429")
            for status in ("200", "201"):
                if status in responses and _is_record(schemas, responses[status]):
                    responses[status].headers = {
                        **(responses[status].headers or {}),
                        "ETag": {"description": ETAG_DESCRIPTION, "schema": {"type": "string"}},
                    }
                    if method == "get":
                        headers.append("If-None-Match")
                        responses["304"] = {"description": CONVENTION_RESPONSES["304"]}
            if method != "get":
                operation.security = [{SECURITY_SCHEME: []}]
            for status in added:
                responses[status] = {
                    "description": CONVENTION_RESPONSES[status],
                    "content": {"application/problem+json": {"schema": PROBLEM_REF}},
                }
                if status == "429":
                    responses[status]["headers"] = {
                        name: {"description": text, "schema": {"type": "integer"}}
                        for name, text in RATE_LIMIT_HEADERS.items()
                    }
                if status == "503":
                    responses[status]["headers"] = {"Retry-After": _integer_header(RETRY_AFTER_503)}
            if "409" in responses:
                conflict = responses["409"]
                conflict.headers = {**(conflict.headers or {}), "Retry-After": _integer_header(RETRY_AFTER_409)}
            if operation.request_body is not None:  # api/http/timeouts.py
                responses["408"] = {
                    "description": BODY_TIMEOUT,
                    "content": {"application/problem+json": {"schema": PROBLEM_REF}},
                }
            for name in headers:
                description, pattern = HEADER_PARAMETERS[name]
                schema: dict[str, Any] = {"type": "string"}
                if pattern:
                    schema["pattern"] = pattern
                operation.parameters = [
                    *(operation.parameters or []),
                    {"name": name, "in": "header", "required": False, "description": description, "schema": schema},
                ]
            if _takes_json_body(operation):
                _document_strict_body(responses)
            operation.responses = dict(sorted(responses.items()))
            _add_body_example(operation)


BODY_RESPONSES = {
    "400": "The request is malformed: a parameter or field has the wrong type, length or format, or the body is "
    "not UTF-8 JSON nested at most 32 deep. Every field at fault is listed in `errors`, not only the first.",
    "415": "The body is not sent as JSON: a write needs `Content-Type: application/json` (UTF-8).",
    "422": "The request is well-formed but names a record that does not exist, or the body has fields this operation "
    "does not take (each named in `errors`; nothing is dropped silently).",
}


def _takes_json_body(operation: Any) -> bool:
    content = (getattr(operation.request_body, "content", None) or {}) if operation.request_body else {}
    return list(content) == ["application/json"]


def _document_strict_body(responses: dict[str, Any]) -> None:
    """What api/http/validation.py refuses before any handler runs."""
    for status, description in BODY_RESPONSES.items():
        if status in responses and not isinstance(responses[status], dict):
            responses[status].description = description
        else:
            responses[status] = {
                "description": description,
                "content": {"application/problem+json": {"schema": PROBLEM_REF}},
            }


def _integer_header(description: str) -> dict[str, Any]:
    return {"description": description, "schema": {"type": "integer"}}


def _add_body_example(operation: Any) -> None:
    """The example body of the operation's JSON request schema (api/schemas/examples.py)."""
    media = ((getattr(operation.request_body, "content", None) or {}) if operation.request_body else {}).get(
        "application/json"
    )
    ref = getattr(getattr(media, "schema", None), "ref", "") or ""
    example = EXAMPLES.get(ref.rsplit("/", 1)[-1])
    if media is not None and example is not None:
        media.examples = {"seed": {"summary": "From the seed network", "value": example}}
