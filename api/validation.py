"""Request bodies are checked strictly against their schema before the handler runs.

Litestar converts bodies leniently (the string "1" is accepted for an integer, 0 for a boolean),
which would make the API accept requests its own spec forbids. One hook, for every operation."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ValidationException


def _integral_floats_as_ints(value: Any) -> Any:
    """JSON Schema counts 1.0 as an integer; msgspec's strict mode does not. Everything else stays."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_integral_floats_as_ints(item) for item in value]
    if isinstance(value, dict):
        return {key: _integral_floats_as_ints(item) for key, item in value.items()}
    return value


async def strict_body(request: Request[Any, Any, Any]) -> None:
    handler = request.route_handler
    field = handler.parsed_fn_signature.parameters.get("data")
    if field is None:
        return
    body = await request.body()
    try:
        msgspec.convert(_integral_floats_as_ints(msgspec.json.decode(body)), field.annotation, strict=True)
    except msgspec.ValidationError as error:
        raise ValidationException(
            "Validation failed", extra=[{"message": str(error), "key": "data", "source": "body"}]
        ) from None
    except msgspec.DecodeError as error:
        detail = [{"message": f"not valid JSON: {error}", "key": "data", "source": "body"}]
        raise ValidationException("The body is not valid JSON", extra=detail) from None
