"""What every collection's routes share: parameters, the documented error responses, the page
response with its Link header, and the 201 with its Location."""

from __future__ import annotations

import datetime
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlencode

from litestar import Request, Response
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import Parameter

from api.http.errors import PROBLEM_MEDIA_TYPE
from api.schemas.common import NO_NUL, Page, Problem
from api.services.platform.actors import Actor
from api.services.records.cursors import LIST_CURSOR_PATTERN, MAX_LIST_CURSOR, MIN_LIST_CURSOR

T = TypeVar("T")
PageT = TypeVar("PageT", bound=Page[Any])

AnyRequest = Request[Any, Any, Any]

# Who is writing: every write handler takes it and hands it to its service.
Acting = NamedDependency[Actor]

RefPath = Annotated[
    str,
    Parameter(
        description="The record's UUID, its slug, or its natural key (org-id for organisations; GSS code, "
        "current or former, for places; 360Giving identifier for grants).",
        min_length=1,
        max_length=200,
        pattern=NO_NUL,
    ),
]
Limit = Annotated[int, Parameter(ge=1, le=200, description="How many items per page, 1 to 200.")]
Cursor = Annotated[
    str | None,
    Parameter(
        description="The `next_cursor` of the previous page, as it was given; omit for the first page.",
        min_length=MIN_LIST_CURSOR,
        max_length=MAX_LIST_CURSOR,
        pattern=LIST_CURSOR_PATTERN,
    ),
]
Sort = Annotated[
    Literal["name", "-name", "created_at", "-created_at", "updated_at", "-updated_at"],
    Parameter(description="The order of the list: a field, with `-` for descending; ties are broken by id."),
]
Query = Annotated[
    str | None,
    Parameter(
        description="Text to look for in names and descriptions (case-insensitive).", max_length=200, pattern=NO_NUL
    ),
]


def ref_filter(description: str, **extra: Any) -> Any:
    """A filter that names a record (UUID, slug or natural key): never empty. A route that says more
    about it declares its own (`Annotated[str | None, ref_filter("...")]`): Litestar reads the first
    Parameter of a nested Annotated, so wrapping PlaceFilter in another one would lose its words."""
    return Parameter(description=description, min_length=1, max_length=200, pattern=NO_NUL, **extra)


PlaceFilter = Annotated[
    str | None,
    ref_filter(
        "Only records in this place or any place below it (UUID, slug or GSS code).",
        examples=[Example(value="E12000005", summary="West Midlands region")],
    ),
]
OrganisationFilter = Annotated[
    str | None, ref_filter("Only records this organisation takes part in (UUID, slug or org-id).")
]
ActiveOn = Annotated[
    datetime.date | None,
    Parameter(
        description="Only records whose dates include this day (YYYY-MM-DD); an empty date is open-ended.",
    ),
]

PROBLEM_DESCRIPTIONS = {
    400: "The request is malformed: a parameter or field has the wrong type, length or format.",
    404: "No record matches the ref.",
    409: "The change conflicts with the network: a duplicate slug or key, or the record is still referred to.",
    422: "The request is well-formed but names a record that does not exist, or gives a cursor this API did "
    "not issue for this list.",
}
LINK_HEADER = [
    ResponseHeader(
        name="Link",
        description='`<url>; rel="next"` when there is a next page.',
        documentation_only=True,
        required=False,
        value="",  # only its type is used: it gives the header a string schema
    )
]


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """The error responses an operation can give, each an RFC 9457 problem."""
    return {
        status: ResponseSpec(
            data_container=Problem, description=PROBLEM_DESCRIPTIONS[status], media_type=PROBLEM_MEDIA_TYPE
        )
        for status in statuses
    }


READ_PROBLEMS = problems(400, 404)
LIST_PROBLEMS = problems(400, 422)
WRITE_PROBLEMS = problems(400, 404, 409, 422)


def page_response(request: AnyRequest, page: PageT) -> Response[PageT]:
    headers = {}
    if page.next_cursor is not None:
        query = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
        query.append(("cursor", page.next_cursor))
        url = request.url.with_replacements(query=urlencode(query))
        headers["Link"] = f'<{url}>; rel="next"'
    return Response(page, headers=headers)


def created(request: AnyRequest, record: T, ref: object) -> Response[T]:
    """201 with the new record, and its address by UUID, which outlives any change of slug."""
    return Response(record, status_code=201, headers={"Location": f"{request.url.path.rstrip('/')}/{ref}"})
