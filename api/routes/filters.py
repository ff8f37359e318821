"""The scope parameters the map, the network and the activity routes share; each route makes the
`ScopeFilters` its service takes from them."""

from __future__ import annotations

import datetime
from typing import Annotated

from litestar.openapi.spec import Example
from litestar.params import Parameter, QueryParameter

from api.schemas.activity import CollaborationKind
from api.schemas.common import NO_NUL
from api.schemas.map import MapKind

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
