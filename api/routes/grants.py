"""/v1/grants: grants, compatible with the 360Giving Data Standard. The list also answers as a
360Giving package or the official one-sheet CSV, chosen by the Accept header."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, Response, delete, get, patch, post
from litestar.datastructures import ResponseHeader
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    ExternalDocumentation,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Schema,
)
from litestar.params import JSONBody, Parameter

from api.http.errors import PROBLEM_MEDIA_TYPE
from api.routes.common import (
    LINK_HEADER,
    LIST_PROBLEMS,
    READ_PROBLEMS,
    WRITE_PROBLEMS,
    Acting,
    ActiveOn,
    AnyRequest,
    Cursor,
    Limit,
    Query,
    RefPath,
    Sort,
    created,
    page_response,
    ref_filter,
)
from api.schemas.common import NO_NUL, FieldError, Problem
from api.schemas.grants import Grant, GrantCreate, GrantPage, GrantUpdate
from api.services.giving360 import exporter
from api.services.giving360.exporter import GIVING360_MEDIA_TYPE, GrantExport
from api.services.platform.errors import ServiceError
from api.services.records import crud
from api.services.records import resource as records
from api.services.resources import grants

JSON_MEDIA_TYPE = "application/json"
CSV_MEDIA_TYPE = "text/csv"
MEDIA_TYPES = [JSON_MEDIA_TYPE, GIVING360_MEDIA_TYPE, CSV_MEDIA_TYPE]
STANDARD = ExternalDocumentation(
    url="https://standard.threesixtygiving.org/", description="The 360Giving Data Standard"
)

GIVING360_PACKAGE = Schema(
    type=OpenAPIType.OBJECT,
    description="A 360Giving package of every grant the filters select (not a page), valid against the "
    "official package schema, version 1.4; `grants` is empty when none matches. Grants the standard cannot "
    "hold (no amount awarded or award date) are left out and counted in `Omitted-Grants`.",
    required=["grants"],
    properties={
        "version": Schema(type=OpenAPIType.STRING, examples=["1.4"]),
        "title": Schema(type=OpenAPIType.STRING),
        "description": Schema(type=OpenAPIType.STRING),
        "issued": Schema(type=OpenAPIType.STRING, description="The day the package was made, YYYY-MM-DD."),
        "publisher": Schema(
            type=OpenAPIType.OBJECT, required=["name"], properties={"name": Schema(type=OpenAPIType.STRING)}
        ),
        "grants": Schema(
            type=OpenAPIType.ARRAY,
            items=Schema(
                type=OpenAPIType.OBJECT,
                description="A grant as the 360Giving Data Standard defines it.",
                required=[
                    "id",
                    "title",
                    "description",
                    "currency",
                    "amountAwarded",
                    "awardDate",
                    "fundingOrganization",
                ],
                external_docs=STANDARD,
            ),
        ),
    },
    external_docs=STANDARD,
)
GRANTS_CSV = Schema(
    type=OpenAPIType.STRING,
    description="The official one-sheet 360Giving spreadsheet as CSV (UTF-8): the template's column titles "
    "(`Identifier`, `Recipient Org:Identifier`, ...), one grant a row, every grant the filters select; a "
    "grant's further locations, funders or recipients in numbered columns (`Beneficiary Location:1:Name`). "
    "Safe to open in a spreadsheet: text starting with `=`, `+`, `-`, `@`, a tab or a carriage return (OWASP's "
    "CSV injection list) gets a single quote in front, so it shows as text and is never evaluated; numbers "
    "such as a negative amount stay numbers. Imported back (`POST /v1/imports/360giving`), that quote comes off.",
    external_docs=STANDARD,
)


@dataclass
class ListGrantsOperation(Operation):
    """The list's 200 response in its three forms, its headers in a fixed order (Litestar keeps them in
    a frozenset, so the committed spec would otherwise change from run to run)."""

    def __post_init__(self) -> None:
        ok = (self.responses or {}).get("200")
        if isinstance(ok, OpenAPIResponse) and ok.content is not None:
            ok.content[GIVING360_MEDIA_TYPE] = OpenAPIMediaType(schema=GIVING360_PACKAGE)
            ok.content[CSV_MEDIA_TYPE] = OpenAPIMediaType(schema=GRANTS_CSV)
            ok.headers = dict(sorted((ok.headers or {}).items()))


class NotAcceptable(ServiceError):
    status = 406
    title = "Not acceptable"
    slug = "not-acceptable"


LIST_RESPONSES = {
    **LIST_PROBLEMS,
    404: ResponseSpec(
        data_container=Problem,
        description="In the 360Giving and CSV forms only: no grant to export. The filters select none, or none "
        "the standard can hold (each needs an amount awarded and an award date; the problem names those left "
        "out). 360Giving data must hold at least one grant, so an empty package would be invalid: this problem "
        "says so instead. The JSON form answers an empty page.",
        media_type=PROBLEM_MEDIA_TYPE,
    ),
    406: ResponseSpec(
        data_container=Problem,
        description="The Accept header asks for none of application/json, application/vnd.360giving+json, text/csv.",
        media_type=PROBLEM_MEDIA_TYPE,
    ),
}
LIST_HEADERS = [
    *LINK_HEADER,
    ResponseHeader(
        name="Omitted-Grants",
        description="In the 360Giving and CSV forms: how many grants the filters select were left out because "
        "the standard requires what they lack (an amount awarded and an award date).",
        documentation_only=True,
        required=False,
        value="",
    ),
    ResponseHeader(name="Vary", description="`Accept`: the body's form follows it.", documentation_only=True, value=""),
]


def _wanted(request: AnyRequest) -> str:
    """The form the client asks for: JSON unless the Accept header prefers 360Giving or CSV."""
    if not request.headers.get("accept", "").strip():
        return JSON_MEDIA_TYPE
    found = request.accept.best_match(MEDIA_TYPES)
    if found is None:
        raise NotAcceptable(
            f"Grants are given as {', '.join(MEDIA_TYPES)}; the Accept header asks for none of them.",
            [FieldError(field="Accept", message=f"must accept one of {', '.join(MEDIA_TYPES)}", location="header")],
        )
    return found


def _export_response(export: GrantExport) -> Response[Any]:
    headers = {"Omitted-Grants": str(len(export.omitted)), "Vary": "Accept"}
    return Response(export.content, media_type=export.media_type, headers=headers)


class GrantController(Controller):
    path = "/v1/grants"
    tags = ["Grants"]

    @get(
        "/",
        summary="List grants",
        responses=LIST_RESPONSES,
        response_headers=LIST_HEADERS,
        operation_class=ListGrantsOperation,
    )
    async def list_grants(
        self,
        request: AnyRequest,
        funder: Annotated[
            str | None,
            Parameter(
                description="Only grants made by this funder (UUID, slug or org-id).",
                min_length=1,
                max_length=200,
                pattern=NO_NUL,
            ),
        ] = None,
        recipient: Annotated[
            str | None,
            Parameter(
                description="Only grants to this recipient (UUID, slug or org-id).",
                min_length=1,
                max_length=200,
                pattern=NO_NUL,
            ),
        ] = None,
        organisation: Annotated[
            str | None, ref_filter("Only grants this organisation made or received (UUID, slug or org-id).")
        ] = None,
        place: Annotated[
            str | None,
            Parameter(
                description="Only grants benefiting this place or a place below it.",
                min_length=1,
                max_length=200,
                pattern=NO_NUL,
            ),
        ] = None,
        programme: Annotated[
            str | None,
            Parameter(
                description="Only grants from this programme (exact name).",
                min_length=1,
                max_length=300,
                pattern=NO_NUL,
            ),
        ] = None,
        awarded_from: Annotated[
            datetime.date | None, Parameter(description="Only grants awarded on or after this day.")
        ] = None,
        awarded_to: Annotated[
            datetime.date | None,
            Parameter(description="Only grants awarded on or before this day; before `awarded_from` it is a 422."),
        ] = None,
        active_on: ActiveOn = None,
        q: Query = None,
        sort: Sort = "name",
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Response[GrantPage]:
        """Grants, filtered and a page at a time. `active_on` uses the planned start and end dates.

        The `Accept` header chooses the form: `application/json` (the default) is a page;
        `application/vnd.360giving+json` is a 360Giving package and `text/csv` the official 360Giving
        spreadsheet, each of every grant the filters select, in the list's order (`limit` and `cursor`
        page the JSON form only)."""
        filters = grants.GrantFilters(
            funder=funder,
            recipient=recipient,
            organisation=organisation,
            place=place,
            programme=programme,
            awarded_from=awarded_from,
            awarded_to=awarded_to,
            active_on_day=active_on,
            q=q,
        )
        wanted = _wanted(request)
        if wanted != JSON_MEDIA_TYPE:
            return _export_response(await exporter.export_grants(filters, sort=sort, as_csv=wanted == CSV_MEDIA_TYPE))
        response = page_response(request, await grants.list_grants(filters, sort=sort, limit=limit, cursor=cursor))
        response.headers["Vary"] = "Accept"
        return response

    @get("/{ref:str}", summary="Get a grant", responses=READ_PROBLEMS)
    async def get_grant(self, ref: RefPath) -> Grant:
        """One grant, by UUID, slug or 360Giving identifier."""
        return await records.get(grants.RESOURCE, ref)

    @post("/", summary="Add a grant", responses=WRITE_PROBLEMS)
    async def create_grant(self, request: AnyRequest, data: JSONBody[GrantCreate], actor: Acting) -> Response[Grant]:
        """Add a grant. Its slug and 360Giving identifier must not be taken."""
        record = await crud.create(grants.RESOURCE, data, actor=actor)
        return created(request, record, record.id)

    @patch("/{ref:str}", summary="Change a grant", responses=WRITE_PROBLEMS)
    async def update_grant(self, ref: RefPath, data: JSONBody[GrantUpdate], actor: Acting) -> Grant:
        """Change the fields given; a list given replaces the old one."""
        return await crud.update(grants.RESOURCE, ref, data, actor=actor)

    @delete("/{ref:str}", summary="Delete a grant", responses=WRITE_PROBLEMS)
    async def delete_grant(self, ref: RefPath, actor: Acting) -> None:
        """Delete a grant."""
        await crud.delete(grants.RESOURCE, ref, actor=actor)
