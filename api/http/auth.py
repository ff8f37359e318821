"""Who is writing: the `actor` dependency of every write handler.

Reads are open to anyone (it is open data); a write needs `Authorization: Bearer <key>` (401
without a valid one). The dependency also reads If-Match, so services can refuse a write based on
a stale version (412)."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from litestar import Request

from api.http.asgi import bearer_actor, bearer_token
from api.schemas.common import FieldError
from api.services.platform.actors import Actor
from api.services.platform.errors import InvalidRequest, Unauthorised

# A quoted version, as the ETag gives it; a bare number is taken too.
_VERSION_TAG = re.compile(r'^"?([0-9]{1,9})"?$')


def expected_version(if_match: str | None) -> int | None:
    """The version an If-Match header names: `"3"` is 3; `*` or no header is no condition."""
    if if_match is None or if_match.strip() == "*":
        return None
    match = _VERSION_TAG.match(if_match.strip())
    if match is None:
        raise InvalidRequest(
            'If-Match must be the ETag of the record, such as "3".',
            [FieldError(field="If-Match", message='expected a quoted version such as "3"', location="header")],
        )
    return int(match[1])


async def current_actor(request: Request[Any, Any, Any]) -> Actor:
    if not request.headers.get("authorization"):
        raise Unauthorised("Writing needs an API key: send `Authorization: Bearer <key>`.")
    if bearer_token(request.scope) is None:
        raise Unauthorised("The Authorization header must be `Bearer <key>`.")
    actor = await bearer_actor(request.scope)
    if actor is None:
        raise Unauthorised("The API key is not valid, or it has been revoked.")
    return replace(actor, expected_version=expected_version(request.headers.get("if-match")))
