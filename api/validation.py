"""Request bodies are checked strictly against their schema before the handler runs.

Litestar converts bodies leniently (the string "1" is accepted for an integer, 0 for a boolean),
which would make the API accept requests its own spec forbids. One hook, for every operation."""

from __future__ import annotations

from functools import cache
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ValidationException


@cache
def _decoder(body_type: Any) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(body_type, strict=True)


async def strict_body(request: Request[Any, Any, Any]) -> None:
    handler = request.route_handler
    field = handler.parsed_fn_signature.parameters.get("data")
    if field is None:
        return
    body = await request.body()
    try:
        _decoder(field.annotation).decode(body)
    except msgspec.ValidationError as error:
        raise ValidationException(
            "Validation failed", extra=[{"message": str(error), "key": "data", "source": "body"}]
        ) from None
    except msgspec.DecodeError as error:
        detail = [{"message": f"not valid JSON: {error}", "key": "data", "source": "body"}]
        raise ValidationException("The body is not valid JSON", extra=detail) from None
