"""/v1/imports: partners send a funder's published 360Giving file; Placenet validates it whole and
writes all of it or none of it, and answers with the report: at once for a small JSON file, through an
import job for anything larger (api/services/giving360/jobs.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import ExternalDocumentation, OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import Parameter

from api.http.errors import PROBLEM_MEDIA_TYPE
from api.routes.common import Acting, AnyRequest, problems
from api.schemas.common import FieldError, Problem
from api.schemas.imports import ImportJob, ImportReport
from api.services.giving360 import importer, jobs
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
    200: ResponseSpec(
        data_container=ImportReport,
        description=f"A JSON package of at most {jobs.SYNC_GRANTS:,} grants, imported while the request waited: "
        "the report. (A file with no grants at all is refused at once, 422.)",
    ),
    202: ResponseSpec(
        data_container=ImportJob,
        description=f"A spreadsheet with rows of grants, or a JSON package of more than {jobs.SYNC_GRANTS:,} "
        "grants: accepted as an import job, which runs in the background. The `Location` header is the job's "
        "address: follow it with `GET /v1/imports/{id}` until its state is `succeeded` (with the report) or "
        "`failed` (with the problem a synchronous import would have answered). The file's limits were checked "
        "before it was accepted.",
        generate_examples=False,
    ),
    **problems(400),
    409: _problem(409, "Another write changed the same records at the same time; send the file again."),
    413: _problem(
        413,
        "The file is larger than 50 MB (limit `file_bytes`), or a spreadsheet unzips to more than 500 MB "
        "(`uncompressed_bytes`). The problem names the limit and the value found. Nothing was written.",
    ),
    415: _problem(415, "The Content-Type is not application/json, text/csv or the XLSX media type."),
    422: _problem(
        422,
        "The file cannot be imported: it breaks a limit checked before it is read (the problem names the limit and "
        "the value found: `grants` 100,000, `columns` 1,000, `cells` 5,000,000, `cell_chars` 32,767, "
        "`zip_members` 1,000, `compression_ratio` 200, `xml_doctype`, `json_depth` 32; or `cpu_seconds`, "
        "`memory_bytes`, `wall_seconds` when reading it in its sandbox process took more), it cannot be read, it "
        "breaks the 360Giving schema, or has identifiers Placenet cannot key on. Each error names where it is (a "
        "JSON path or a spreadsheet cell); the first 100 are listed and all are counted. Nothing was written.",
    ),
}
JOB_PROBLEMS = {
    **problems(400),
    401: _problem(401, "No API key, or a key that is not valid: import jobs are shown only to keys."),
    404: _problem(404, "No import job has this id, or it belongs to another organisation's key."),
}

DryRun = Annotated[
    bool,
    Parameter(description="Validate and report what would change, writing nothing."),
]
RetireMissing = Annotated[
    bool,
    Parameter(
        description="Retire (delete) the grants held from the file's publisher that the file no longer has "
        "(`missing_grants` in the report), each a deletion in the change feed. Without it they are only "
        "reported. A partner may retire only grants its own organisation contributed.",
    ),
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
        self,
        request: AnyRequest,
        actor: Acting,
        dry_run: DryRun = False,
        source_url: SourceUrl = None,
        retire_missing: RetireMissing = False,
    ) -> Response[ImportReport | ImportJob]:
        """Import a funder's published 360Giving file, sent as the body (JSON package, CSV or XLSX).

        The file is first checked against the upload limits, cheaply and before anything expands it, then
        read in a process of its own with capped memory and CPU time. It is checked whole against the
        official schema and 360Giving's quality checks before anything is written; then, in one transaction,
        its funders and recipients are matched by org-id (or created), its beneficiary locations mapped to
        places by GSS code (current or former; an unknown code is kept on the grant) or by name, a grant none
        of whose locations names a place falling back on its recipient's address, and its grants upserted
        by 360Giving identifier, so sending a newer version of a file updates what changed (grants it no longer has
        are reported, and retired only with `retire_missing=true`). The report counts
        what happened and lists the warnings: in the response (200) for a small JSON package, else in the
        import job the 202 response points to."""
        outcome = await jobs.submit(
            await _file(request),
            content_type=request.headers.get("content-type"),
            source_url=source_url,
            dry_run=dry_run,
            actor=actor,
            retire_missing=retire_missing,
        )
        if isinstance(outcome, ImportJob):
            return Response(outcome, status_code=202, headers={"Location": f"/v1/imports/{outcome.id}"})
        return Response(outcome)

    @get("/{job_id:uuid}", summary="Follow an import job", responses=JOB_PROBLEMS, security=[{"api_key": []}])
    async def get_import(
        self, actor: Acting, job_id: Annotated[UUID, Parameter(description="The job's id, from the 202's Location.")]
    ) -> ImportJob:
        """An import job: its state and progress, then its report (`succeeded`) or its problem (`failed`).
        Only keys of the organisation that sent the file, and admin keys, may read it. A job whose worker
        stopped before it finished (its `heartbeat_at` five minutes old) is failed when read; nothing of it
        was written."""
        return await jobs.get(job_id, actor)
