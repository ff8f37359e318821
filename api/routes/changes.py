"""/v1/changes, the change feed, and `/v1/<collection>/{ref}/history`, one record's changes."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, get
from litestar.handlers import HTTPRouteHandler
from litestar.params import Parameter

from api.routes.common import LIST_PROBLEMS, READ_PROBLEMS, RefPath
from api.schemas.changes import Change, ChangePage
from api.services.records import feed
from api.services.records.cursors import CHANGE_CURSOR_PATTERN, MAX_CHANGE_CURSOR
from api.services.resources import co_funding, engagements, grants, interest_groups, organisations, places, research

HISTORIES: list[tuple[str, str, str, Any]] = [
    ("organisations", "an organisation", "Organisations", organisations.RESOURCE),
    ("places", "a place", "Places", places.RESOURCE),
    ("interest-groups", "an interest group", "Interest groups", interest_groups.RESOURCE),
    ("co-funding", "a co-funding arrangement", "Co-funding", co_funding.RESOURCE),
    ("research", "a piece of research", "Research", research.RESOURCE),
    ("grants", "a grant", "Grants", grants.RESOURCE),
    ("engagements", "an engagement", "Engagements", engagements.RESOURCE),
]


class ChangeController(Controller):
    path = "/v1/changes"
    tags = ["Changes"]

    @get("/", summary="List changes", responses=LIST_PROBLEMS)
    async def list_changes(
        self,
        after: Annotated[
            str | None,
            Parameter(
                description="The `id` of the last change you have, or the `next_cursor` of the previous page (the "
                "same number); `0`, or no `after`, starts from the first change. Cursors given out in an earlier "
                "form are still accepted.",
                min_length=1,
                max_length=MAX_CHANGE_CURSOR,
                pattern=CHANGE_CURSOR_PATTERN,
            ),
        ] = None,
        limit: Annotated[int, Parameter(ge=1, le=1000, description="How many changes per page, 1 to 1,000.")] = 100,
    ) -> ChangePage:
        """Every write to the network, oldest first, for keeping a copy in sync: store `next_cursor` and
        ask again with `after=` for what changed since. Nothing is missed: changes are numbered in the
        order they were committed."""
        return await feed.list_changes(after=after, limit=limit)


def _history_route(collection: str, label: str, tag: str, resource: Any) -> HTTPRouteHandler:
    async def history(ref: RefPath) -> list[Change]:
        return await feed.history(resource=resource, ref=ref)

    operation = f"get_{collection.replace('-', '_')}_history"
    history.__doc__ = (
        f"Every change to {label}, oldest first, with the fields each one changed and who made it"
        + (" (changes to its members or contributions included)." if resource.expand else ".")
        + (
            f" The history of {label} since deleted still answers, by its id or a slug it had, and ends with the "
            "deletion; a slug used again names the living record first, then the one deleted last."
        )
    )
    return get(
        f"/v1/{collection}/{{ref:str}}/history",
        summary=f"Changes to {label}",
        operation_id=operation,
        name=operation,
        tags=[tag, "Changes"],
        responses=READ_PROBLEMS,
    )(history)


HISTORY_ROUTES = [_history_route(*entry) for entry in HISTORIES]
