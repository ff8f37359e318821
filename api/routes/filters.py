"""The scope parameters the map, the network and the activity routes share, the network's paging ones, and
the dependency that makes the `ScopeFilters` their services take from those of an organisation's activity,
collaborators and neighbourhood.

A route whose set of scope parameters is its own (a different description, a place or organisation in
the path, `from` and `to` naming organisations) declares them itself and makes its `ScopeFilters`
directly: a dependency's parameters are documented where the dependency stands among the route's, so
they must be the route's own, in the same order, for the spec to stay as it is."""

from __future__ import annotations

import datetime
from typing import Annotated

from litestar.di import NamedDependency, Provide
from litestar.openapi.spec import Example
from litestar.params import Parameter, QueryParameter

from api.routes.common import ActiveOn
from api.schemas.activity import CollaborationKind
from api.schemas.common import NO_NUL
from api.schemas.map import MapKind
from api.services.records.cursors import LINK_CURSOR_LENGTH, LINK_CURSOR_PATTERN
from api.services.views import network
from api.services.views.activity import ScopeFilters

MapKinds = Annotated[
    list[MapKind] | None,
    Parameter(
        description="Only these kinds of record: `organisation`, `interest_group`, `co_funding`, `research`, "
        "`grant`, `engagement`; repeat the parameter for several (`kind=grant&kind=co_funding`). Every kind "
        "when omitted.",
    ),
]
CollaborationKinds = Annotated[
    list[CollaborationKind] | None,
    Parameter(
        description="Only these kinds of collaboration record: `interest_group`, `co_funding`, `research`, "
        "`grant`, `engagement`; repeat the parameter for several (`kind=grant&kind=research`). Every kind "
        "when omitted.",
    ),
]
DateFrom = Annotated[
    datetime.date | None,
    QueryParameter(
        name="from",
        description="Only records whose time overlaps the range starting this day (YYYY-MM-DD); an empty "
        "date is open-ended. See `to`.",
    ),
]
DateTo = Annotated[
    datetime.date | None,
    QueryParameter(
        name="to",
        description="Only records whose time overlaps the range ending this day (YYYY-MM-DD); a `to` before "
        "`from` is a 422.",
    ),
]
ScopePlace = Annotated[
    str | None,
    Parameter(
        description="Only records linked to this place or any place below it (UUID, slug or GSS code).",
        min_length=1,
        max_length=200,
        pattern=NO_NUL,
        examples=[Example(value="E12000007", summary="London")],
    ),
]
PerKindLimit = Annotated[int, Parameter(ge=1, le=200, description="How many items of each kind to list, 1 to 200.")]


async def collaboration_filters(
    kind: CollaborationKinds = None,
    place: ScopePlace = None,
    active_on: ActiveOn = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
) -> ScopeFilters:
    """`kind`, `place`, `active_on`, `from` and `to`: the filters of an organisation's activity and of its
    collaborators (the organisation is the one in the path)."""
    return ScopeFilters(kinds=kind, place=place, active_on=active_on, date_from=date_from, date_to=date_to)


# A handler takes them as `filters: Filters`, in the place of the parameters, with the dependency below.
Filters = NamedDependency[ScopeFilters]
COLLABORATION_FILTERS = {"filters": Provide(collaboration_filters)}


# A page of the network's links: how many, how strong, and where the last page ended.
LinkLimit = Annotated[
    int,
    Parameter(
        ge=1,
        le=network.MAX_LINKS,
        description=f"How many links per page, 1 to {network.MAX_LINKS}; {network.DEFAULT_LINKS} by default.",
    ),
]
MinWeight = Annotated[
    float | None,
    Parameter(
        ge=0,
        le=1_000_000_000,
        # Litestar 2.25 leaves a zero bound out of the schema (it tests the bound for truth), and the bounds
        # of an optional parameter too.
        schema_extra={"minimum": 0, "maximum": 1_000_000_000},
        description="Only links of at least this weight (compared to 6 places, as `weight` is given).",
    ),
]
LinkCursor = Annotated[
    str | None,
    Parameter(
        description="The `next_cursor` of the previous page, as it was given (with the same filters, `limit` "
        "and `min_weight`); omit for the first page.",
        min_length=LINK_CURSOR_LENGTH,
        max_length=LINK_CURSOR_LENGTH,
        pattern=LINK_CURSOR_PATTERN,
    ),
]
