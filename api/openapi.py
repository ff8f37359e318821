"""The OpenAPI document as committed in openapi/openapi.json: generated from the code, stable bytes."""

from __future__ import annotations

import json
from pathlib import Path

from litestar import Litestar
from litestar.serialization import encode_json

COMMITTED = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"


def spec_json(app: Litestar) -> str:
    spec = json.loads(encode_json(app.openapi_schema.to_schema()))
    return json.dumps(spec, indent=2, ensure_ascii=False) + "\n"
