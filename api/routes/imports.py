"""/v1/imports: partners send a funder's published 360Giving file; Placenet validates it whole and
writes all of it or none of it, and answers with the report."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar import Controller, post
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import ExternalDocumentation, OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import Parameter

from api.errors import PROBLEM_MEDIA_TYPE
from api.routes.common import Acting, AnyRequest, problems
from api.schemas.common import FieldError, Problem
from api.schemas.imports import ImportReport
from api.services.giving360 import importer
from api.services.giving360.convert import CSV_MEDIA_TYPE, JSON_MEDIA_TYPE, XLSX_MEDIA_TYPE
from api.services.giving360.issues import FileTooLarge

STANDARD = ExternalDocumentation(
    url="https://standard.threesixtygiving.org/", description="The 360Giving Data Standard"
)
FILE_CONTENT = {
    JSON_MEDIA_TYPE: OpenAPIMediaType(
        schema=Schema(
            type=OpenAPIType.OBJECT,
            description='A 360Giving JSON package, `{"grants": [...]}`, as the official package schema defines it.',
            required=["grants"],
            properties={"grants": Schema(type=OpenAPIType.ARRAY, items=Schema(type=OpenAPIType.OBJECT))},
            external_docs=STANDARD,
        )
    ),
    CSV_MEDIA_TYPE: OpenAPIMediaType(
        schema=Schema(
            type=OpenAPIType.STRING,
            description="A 360Giving grants sheet as CSV: the official column titles in the first row "
            "(`Identifier`, `Title`, `Recipient Org:Identifier`, ...), a grant on each row. UTF-8 is best; "
            "Windows-1252 is read with a warning.",
        )
    ),
    XLSX_MEDIA_TYPE: OpenAPIMediaType(
        schema=Schema(
            type=OpenAPIType.STRING,
            content_media_type=XLSX_MEDIA_TYPE,
            description="A 360Giving spreadsheet (.xlsx), converted with flattentool as 360Giving's own tools do.",
        )
    ),
}


@dataclass
class ImportOperation(Operation):
    """The request body is the file itself, in one of three media types."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            content=FILE_CONTENT,
            required=True,
            description="The file, as it was published: 360Giving JSON, CSV or XLSX, at most 50 MB. The "
            "Content-Type header says which.",
        )


def _problem(status: int, description: str) -> ResponseSpec:
    return ResponseSpec(data_container=Problem, description=description, media_type=PROBLEM_MEDIA_TYPE)


IMPORT_PROBLEMS = {
    **problems(400),
    409: _problem(409, "Another write changed the same records at the same time; send the file again."),
    413: _problem(413, "The file is larger than 50 MB."),
    415: _problem(415, "The Content-Type is not application/json, text/csv or the XLSX media type."),
    422: _problem(
        422,
        "The file cannot be imported: it cannot be read, breaks the 360Giving schema, or has identifiers Placenet "
        "cannot key on. Each error names where it is (a JSON path or a spreadsheet cell); the first 100 are "
        "listed and all are counted. Nothing was written.",
    ),
}

DryRun = Annotated[
    bool,
    Parameter(description="Validate and report what would change, writing nothing."),
]
SourceUrl = Annotated[
    str | None,
    Parameter(
        description="Where the file was published (its download URL). The grants record it as their source; "
        "without it, a JSON package's own downloadURL or accessURL is used.",
        max_length=2000,
        # As a body's Url: `\s` would differ between Python (which counts U+0085 as a space) and the
        # ECMA-262 regexes JSON Schema uses, so the spec would admit URLs the API refuses.
        pattern=r"^https?://[^\x00-\x20\x7f]+$",
    ),
]


async def _file(request: AnyRequest) -> bytes:
    try:
        return await request.body()
    except RequestEntityTooLarge:
        raise FileTooLarge(
            "The file is larger than 50 MB, the most one import takes; split it, by year or programme.",
            [FieldError(field="body", message="larger than 50 MB", location="body")],
        ) from None


class ImportController(Controller):
    path = "/v1/imports"
    tags = ["Imports"]

    @post(
        "/360giving",
        summary="Import a 360Giving file",
        status_code=200,
        responses=IMPORT_PROBLEMS,
        request_max_body_size=importer.MAX_FILE_BYTES,
        operation_class=ImportOperation,
    )
    async def import_360giving(
        self, request: AnyRequest, actor: Acting, dry_run: DryRun = False, source_url: SourceUrl = None
    ) -> ImportReport:
        """Import a funder's published 360Giving file, sent as the body (JSON package, CSV or XLSX).

        The file is checked whole against the official schema and 360Giving's quality checks before anything
        is written; then, in one transaction, its funders and recipients are matched by org-id (or created),
        its beneficiary locations mapped to places by GSS code (current or former; an unknown code is kept
        on the grant) and its grants upserted by 360Giving identifier, so sending a newer version of a file
        updates what changed. The report counts what happened and lists the warnings."""
        return await importer.import_upload(
            await _file(request),
            content_type=request.headers.get("content-type"),
            source_url=source_url,
            dry_run=dry_run,
            actor=actor,
        )
