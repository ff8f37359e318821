"""Every error leaves as an RFC 9457 problem (application/problem+json): a client's mistake is a 4xx
that says which field and why; anything else is a 500 that says nothing about the database."""

from __future__ import annotations

import logging
import re
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap

from api.schemas.common import FieldError, Problem, problem
from api.services.platform.engines import CONNECTION_ERRORS
from api.services.platform.errors import ServiceError
from api.services.platform.store import StoreUnavailable

PROBLEM_MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("placenet")


def problem_response(
    status: int,
    detail: str,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
    current_version: int | None = None,
) -> Response[Problem]:
    return Response(
        problem(status, detail, errors, current_version),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def _service_error(_: Request[Any, Any, Any], error: ServiceError) -> Response[Problem]:
    return problem_response(
        error.status, error.detail, error.errors, headers=error.headers or None, current_version=error.current_version
    )


_MISSING = re.compile(r"missing required field `([^`]+)`")
_AT_PATH = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)


def _field_error(item: dict[str, Any]) -> FieldError:
    """Litestar's validation detail to a field and a reason: `$.places[1]` in a body becomes `places[1]`."""
    match = _AT_PATH.match(str(item.get("message", "")))
    message = match["message"] if match else str(item.get("message"))
    path = (match["path"] or "").lstrip(".") if match else ""
    source = item.get("source")
    key = item.get("key")
    if missing := _MISSING.search(message):
        path = f"{path}.{missing[1]}" if path else missing[1]
    field = path or (key if key and key != "data" else "") or "body"
    location = source if source in ("body", "query", "path", "header") else None
    return FieldError(field=field, message=message, location=location)


def _validation_error(_: Request[Any, Any, Any], error: ValidationException) -> Response[Problem]:
    extra = error.extra if isinstance(error.extra, list) else []
    errors = [_field_error(item) for item in extra if isinstance(item, dict)]
    detail = (
        "The request is not valid: " + "; ".join(f"{e.field}: {e.message}" for e in errors)
        if errors
        else str(error.detail)
    )
    return problem_response(400, detail, errors)


def _http_error(_: Request[Any, Any, Any], error: HTTPException) -> Response[Problem]:
    headers = dict(error.headers or {})
    return problem_response(error.status_code, str(error.detail), headers=headers or None)


def _database_unavailable(request: Request[Any, Any, Any], error: Exception) -> Response[Problem]:
    """The database is down or restarting: say so, and when to retry; service resumes on its own."""
    log.warning("database unavailable on %s %s: %s", request.method, request.url.path, error)
    return problem_response(
        503,
        "The database is not answering; the request was not applied. Try again shortly.",
        headers={"Retry-After": "5"},
    )


def _store_unavailable(request: Request[Any, Any, Any], error: Exception) -> Response[Problem]:
    log.warning("shared store unavailable on %s %s: %s", request.method, request.url.path, error)
    return problem_response(
        503,
        "The shared store (Redis) is not answering; the request was not applied. Try again shortly.",
        headers={"Retry-After": "5"},
    )


def _unexpected_error(request: Request[Any, Any, Any], error: Exception) -> Response[Problem]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=error)
    return problem_response(
        HTTP_500_INTERNAL_SERVER_ERROR, "Something went wrong on our side; the request was not applied."
    )


DATABASE_UNAVAILABLE = CONNECTION_ERRORS

EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    ServiceError: _service_error,
    **dict.fromkeys(DATABASE_UNAVAILABLE, _database_unavailable),
    StoreUnavailable: _store_unavailable,  # a use of the store that has no way to do without it
    ValidationException: _validation_error,
    HTTPException: _http_error,
    Exception: _unexpected_error,
}
