"""Types every resource shares: constrained strings, references, money, provenance, pages, problems.

Every column limit is mirrored here so bad input is refused before it reaches the database; text
refuses NUL bytes because PostgreSQL cannot store them."""

from __future__ import annotations

import datetime
from typing import Annotated, Generic, Literal, TypeVar
from uuid import UUID

import msgspec
from msgspec import Meta

# Patterns mean the same to Python's re (which msgspec validates with) and to the ECMA-262 regexes
# of JSON Schema: no \s or \d, whose meanings differ between the two.
NO_NUL = r"^[^\x00]*$"
SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
GSS_PATTERN = r"^[EWSNK][0-9]{8}$"

Slug = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=100,
        pattern=SLUG_PATTERN,
        description="Lower-case words joined by hyphens; unique within the collection.",
        examples=["lankelly-chase-foundation"],
    ),
]
Ref = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=200,
        pattern=r"^[^\x00]+$",
        description="The record's UUID, slug or natural key (org-id for organisations, GSS code for "
        "places, 360Giving identifier for grants).",
        examples=["coventry"],
    ),
]
Name = Annotated[
    str, Meta(min_length=1, max_length=300, pattern=r"^[^\x00]+$", description="The record's name or title.")
]
LongText = Annotated[str, Meta(max_length=20_000, pattern=NO_NUL)]
Url = Annotated[
    str,
    Meta(
        max_length=2000,
        pattern=r"^https?://[^\x00-\x20\x7f]+$",
        description="An absolute http(s) URL.",
        examples=["https://lankellychase.org.uk/"],
    ),
]
OrgId = Annotated[
    str,
    Meta(
        min_length=3,
        max_length=200,
        pattern=r"^[A-Za-z0-9]+(?:-[A-Za-z0-9]+)+[^\x00-\x20\x7f]*$",
        description="The organisation's org-id.guide identifier: a list prefix and the identifier on that "
        "list, such as GB-CHC-1107583 (a charity number) or GB-LAE-COV (a local authority).",
        examples=["GB-CHC-1107583"],
    ),
]
GssCode = Annotated[
    str,
    Meta(
        pattern=GSS_PATTERN,
        description="An ONS GSS code: a letter for the nation and eight digits, such as E08000026.",
        examples=["E08000026"],
    ),
]
Amount = Annotated[
    str,
    Meta(
        pattern=r"^[0-9]{1,13}(?:\.[0-9]{1,2})?$",
        description="A non-negative decimal amount as a string, at most two decimal places.",
        examples=["250000.00"],
    ),
]
AmountNumber = Annotated[
    float,
    Meta(
        ge=0,
        lt=10**13,
        description="The same amount as a JSON number, as 360Giving data writes it: at most two decimal places.",
        examples=[250000],
    ),
]
Currency = Annotated[
    str,
    Meta(pattern=r"^[A-Z]{3}$", description="ISO 4217 currency code.", examples=["GBP"]),
]
Date = Annotated[datetime.date, Meta(description="A calendar date, YYYY-MM-DD.")]


class WriteBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A request body that creates or changes a record. A field the operation does not take is refused
    (422, naming it) rather than dropped: a client that misspells `amount` must hear about it."""


class Money(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An amount of money: a decimal string and its currency."""

    amount: Amount
    currency: Currency = "GBP"


class MoneyIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An amount of money sent: a decimal string (as Placenet answers) or a JSON number (as 360Giving data
    writes it), and its currency."""

    amount: Amount | AmountNumber
    currency: Currency = "GBP"


class Reference(msgspec.Struct, frozen=True):
    """Another record, named: follow it by its id or slug."""

    id: Annotated[UUID, Meta(description="The record's UUID.")]
    slug: Annotated[str, Meta(description="The record's slug.")]
    name: Annotated[str, Meta(description="The record's name or title.")]


SourceKind = Literal["api", "fixture", "360giving"]


class Provenance(msgspec.Struct, kw_only=True):
    """Where a record came from, who contributed it, when, and its version."""

    contributed_by: Annotated[Reference | None, Meta(description="The organisation that contributed this record.")] = (
        None
    )
    source: Annotated[
        SourceKind,
        Meta(description="How the record arrived: through the API, a fixture file or a 360Giving file."),
    ] = "api"
    source_url: Annotated[str | None, Meta(description="The file or page it came from, when known.")] = None
    created_at: Annotated[datetime.datetime, Meta(description="When the record was created (UTC).")]
    updated_at: Annotated[datetime.datetime, Meta(description="When the record last changed (UTC).")]
    version: Annotated[int, Meta(ge=1, description="Increases by one on every change.")]


Item = TypeVar("Item")


class Page(msgspec.Struct, Generic[Item]):
    """One page of a list; follow `next_cursor` (or the `Link: rel="next"` header) for the next."""

    items: Annotated[list[Item], Meta(description="The records on this page, in the list's order.")]
    next_cursor: Annotated[
        str | None, Meta(description="Pass as `cursor` to get the next page; null on the last page.")
    ]


class FieldError(msgspec.Struct):
    """One reason a request was refused."""

    field: Annotated[str, Meta(description="Where the problem is, such as `places[1]` or `limit`.")]
    message: Annotated[str, Meta(description="What is wrong with it.")]
    location: Annotated[
        Literal["body", "query", "path", "header", "cursor"] | None,
        Meta(description="Which part of the request."),
    ] = None


class Problem(msgspec.Struct, omit_defaults=True):
    """An RFC 9457 problem: why a request failed, as application/problem+json."""

    type: Annotated[str, Meta(description="A URI naming the kind of problem.")]
    title: Annotated[str, Meta(description="A short summary of the kind of problem.")]
    status: Annotated[int, Meta(ge=400, le=599, description="The HTTP status code.")]
    detail: Annotated[str, Meta(description="What went wrong with this request.")]
    errors: Annotated[list[FieldError] | None, Meta(description="Each field that was refused, and why.")] = None
    current_version: Annotated[
        int | None,
        Meta(description="With 412: the record's current version; fetch it again and reapply the change."),
    ] = None


PROBLEM_BASE = "https://placenet.org.uk/problems/"
TITLES = {
    400: "Bad request",
    401: "Unauthorised",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    408: "Request timeout",
    409: "Conflict",
    412: "Precondition failed",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


def problem(
    status: int, detail: str, errors: list[FieldError] | None = None, current_version: int | None = None
) -> Problem:
    """The problem a status stands for, with this request's detail: its type and title follow the status."""
    title = TITLES.get(status, "Error")
    return Problem(
        type=PROBLEM_BASE + title.lower().replace(" ", "-"),
        title=title,
        status=status,
        detail=detail,
        errors=errors or None,
        current_version=current_version,
    )
