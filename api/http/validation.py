"""Request bodies are checked strictly against their schema before the handler runs (and before the
key is looked up): one hook, for every operation that takes a JSON body.

- The body must be sent as JSON (`application/json`, or a `+json` type, in UTF-8): 415 otherwise.
- It must be UTF-8 and nest at most `MAX_DEPTH` deep: 400 otherwise, never a 500.
- Every field at fault is reported at once (400), not only the first.
- A field the operation does not take is a 422 naming it, never silently dropped.
- Litestar converts bodies leniently (the string "1" is accepted for an integer, 0 for a boolean),
  which would make the API accept requests its own spec forbids; the check here is strict."""

from __future__ import annotations

import itertools
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ValidationException

from api.schemas.common import FieldError
from api.schemas.faults import Fault
from api.schemas.faults import faults as body_faults
from api.services.platform.errors import ServiceError, Unprocessable

# Placenet's bodies nest four deep at most (a place's boundary: body, geometry, coordinates, rings and
# points is five); 32 leaves room for any GeoJSON while refusing what is only there to exhaust a parser.
MAX_DEPTH = 32
# Faults listed in one problem: enough for any real body; a body of a million unknown keys is not walked
# (or answered) in full on the event loop, before its sender is even known.
MAX_FAULTS = 100
JSON_MEDIA_TYPES = ("application/json",)
UTF8_BOM = b"\xef\xbb\xbf"


class UnsupportedMediaType(ServiceError):
    """A write whose body is not declared as JSON: guessing would accept what the spec forbids."""

    status = 415


def _integral_floats_as_ints(value: Any) -> Any:
    """JSON Schema counts 1.0 as an integer; msgspec's strict mode does not. Everything else stays."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_integral_floats_as_ints(item) for item in value]
    if isinstance(value, dict):
        return {key: _integral_floats_as_ints(item) for key, item in value.items()}
    return value


def _check_media_type(content_type: str | None) -> None:
    media_type, _, parameters = (content_type or "").partition(";")
    media_type = media_type.strip().lower()
    is_json = media_type in JSON_MEDIA_TYPES or (media_type.startswith("application/") and media_type.endswith("+json"))
    charset = next(
        (
            value.strip().strip('"').lower()
            for key, _, value in (p.partition("=") for p in parameters.split(";"))
            if key.strip().lower() == "charset"
        ),
        "utf-8",
    )
    if not is_json or charset not in ("utf-8", "utf8", "us-ascii", "ascii"):  # ASCII is UTF-8
        sent = content_type or "no Content-Type"
        raise UnsupportedMediaType(
            f"The body must be JSON in UTF-8, sent with `Content-Type: application/json`; this request sent {sent}.",
            [FieldError(field="Content-Type", message="expected application/json", location="header")],
        )


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Whether a decoded body nests deeper than `limit`, walked without recursion."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values() if isinstance(child, dict | list))
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item if isinstance(child, dict | list))
    return False


def _bad_body(message: str) -> ValidationException:
    return ValidationException("The body is not valid", extra=[{"message": message, "key": "data", "source": "body"}])


def decode(body: bytes) -> Any:
    """The body as JSON, or a 400 that says what is wrong with it."""
    if body.startswith(UTF8_BOM):  # RFC 8259 lets a parser refuse it; say so rather than "not JSON"
        raise _bad_body("starts with a byte order mark (EF BB BF): send UTF-8 JSON without one")
    try:
        body.decode("utf-8")  # msgspec stops at the first fault in order: bad UTF-8 must be named as such
    except UnicodeDecodeError as error:
        raise _bad_body(f"not valid UTF-8: byte {error.start} cannot start or continue a character") from None
    try:
        value = msgspec.json.decode(body)
    except RecursionError:
        raise _bad_body(f"nested deeper than {MAX_DEPTH} levels, the most a body may") from None
    except msgspec.DecodeError as error:
        raise _bad_body(f"not valid JSON: {error}") from None
    if _depth_exceeds(value, MAX_DEPTH):
        raise _bad_body(f"nested deeper than {MAX_DEPTH} levels, the most a body may")
    return value


async def strict_body(request: Request[Any, Any, Any]) -> None:
    handler = request.route_handler
    field = handler.parsed_fn_signature.parameters.get("data")
    if field is None:
        return
    _check_media_type(request.headers.get("content-type"))
    value = _integral_floats_as_ints(decode(await request.body()))
    faults = list(itertools.islice(body_faults(value, field.annotation), MAX_FAULTS + 1))
    if len(faults) > MAX_FAULTS:
        unknown = all(fault.unknown for fault in faults[:MAX_FAULTS])
        faults[MAX_FAULTS:] = [Fault("body", f"more faults than the first {MAX_FAULTS}, which are listed", unknown)]
    if not faults:
        return
    if all(fault.unknown for fault in faults):
        names = ", ".join(f"`{fault.field}`" for fault in faults)
        raise Unprocessable(
            f"The body has fields this operation does not take: {names}. Nothing was written; the fields it takes "
            "are in the operation's request schema at /docs.",
            [FieldError(field=fault.field, message=fault.message, location="body") for fault in faults],
        )
    raise ValidationException(
        "Validation failed",
        extra=[{"message": f"{f.message} - at `$.{f.field}`", "key": f.field, "source": "body"} for f in faults],
    )
