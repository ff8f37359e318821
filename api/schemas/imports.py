"""The report of a 360Giving import: what was (or, dry, would be) written, and what was found."""

from __future__ import annotations

import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from api.schemas.common import Problem

FileFormat = Literal["json", "csv", "xlsx"]


class Issue(msgspec.Struct, omit_defaults=True):
    """One thing found in the file: an error (nothing is written) or a warning (written, reported)."""

    kind: Annotated[
        str,
        Meta(
            description="What sort of issue, such as `schema`, `duplicate_identifier`, `geo_code_unknown`, "
            "`geo_code_type_unknown`, `org_id_prefix` or `charity_number`. Among the warnings, the file's own "
            "problems: `self_grant` (a grant whose recipient org-id is its funder's, named by `grant`), "
            "`org_id_names` (one org-id under two or more names: the message names the org-id, the names with "
            "how many grants give each, and which name was kept and why) and `grants_missing` (grants held from "
            "the same publisher that the file no longer has; see `missing_grants`).",
            examples=["geo_code_unknown"],
        ),
    ]
    message: Annotated[str, Meta(description="What is wrong, and what to do about it.")]
    grant: Annotated[str | None, Meta(description="The 360Giving identifier of the grant concerned.")] = None
    where: Annotated[
        str | None,
        Meta(
            description="Where in the file: a JSON path (`grants[5].amountAwarded`) or a spreadsheet cell "
            "(`grants sheet, row 7, column E (Amount Awarded)`).",
        ),
    ] = None


class GrantCounts(msgspec.Struct):
    """The file's grants and what became of them."""

    in_file: Annotated[int, Meta(ge=0, description="Grants in the file (rows sharing an identifier are one).")]
    created: Annotated[int, Meta(ge=0, description="Grants new to Placenet.")]
    updated: Annotated[int, Meta(ge=0, description="Grants already held (same identifier) that changed.")]
    unchanged: Annotated[int, Meta(ge=0, description="Grants already held exactly as the file has them.")]


class OrganisationCounts(msgspec.Struct):
    """The funders and recipients the file names, by org-id."""

    matched: Annotated[int, Meta(ge=0, description="Organisations already held, found by org-id.")]
    created: Annotated[int, Meta(ge=0, description="Organisations new to Placenet, created from the file.")]


class PlaceCounts(msgspec.Struct):
    """The beneficiary location codes the file uses. Places are matched, never created: a code that
    names no place is reported and kept on its grant."""

    matched: Annotated[int, Meta(ge=0, description="Distinct codes that name a place (current or former code).")]
    by_former_code: Annotated[
        int, Meta(ge=0, description="Of those, codes that are a place's former code (boundary changes).")
    ]
    unknown: Annotated[
        int, Meta(ge=0, description="Distinct codes that name no place; kept on the grants as unmatched locations.")
    ]
    without_code: Annotated[int, Meta(ge=0, description="Beneficiary locations with no geographic code at all.")]


class MissingGrants(msgspec.Struct):
    """Grants Placenet holds from the file's publisher that the file no longer has (a newer file that
    dropped them). They are reported, never deleted. A grant counts as from the publisher when its funder
    is one of the file's funders (by org-id), it was last written by a 360Giving import, and its
    identifier begins with a registered 360Giving prefix (`360G-blagravetrust-`) that the file uses for
    that funder's grants; grants made through the API and other publishers' grants naming the same funder
    never count. A publisher that splits its grants across files (one a year) sees the other files'
    grants listed here."""

    count: Annotated[int, Meta(ge=0, description="How many held grants of the publisher the file does not have.")]
    identifiers: Annotated[
        list[str], Meta(description="Their 360Giving identifiers, in order, the first 100 of them.")
    ] = msgspec.field(default_factory=list)


class ImportReport(msgspec.Struct):
    """What an import of one 360Giving file did: all of the file was written, or none of it."""

    file: Annotated[str, Meta(description="The file's name.")]
    format: Annotated[FileFormat, Meta(description="How the file was read: 360Giving JSON, CSV or XLSX.")]
    source_url: Annotated[str, Meta(description="What the imported grants record as where they came from.")]
    dry_run: Annotated[bool, Meta(description="True when nothing was written on purpose (a check only).")]
    written: Annotated[bool, Meta(description="True when the changes were written (in one transaction).")]
    grants: GrantCounts
    organisations: OrganisationCounts
    places: PlaceCounts
    warning_counts: Annotated[dict[str, int], Meta(description="How many warnings of each kind.")]
    warnings: Annotated[list[Issue], Meta(description="The warnings, the first 200 of them.")]
    warnings_omitted: Annotated[int, Meta(ge=0, description="Warnings beyond those listed.")] = 0
    missing_grants: Annotated[
        MissingGrants,
        Meta(
            description="Grants held from the same publisher that this file no longer has (a `grants_missing` "
            "warning says so too): reported, nothing deleted. The same publisher means the grant's funder is "
            "one of the file's funders, it came from a 360Giving import, and its identifier has a 360Giving "
            "prefix the file uses for that funder."
        ),
    ] = msgspec.field(default_factory=lambda: MissingGrants(count=0))


JobState = Literal["queued", "running", "succeeded", "failed"]


class JobProgress(msgspec.Struct):
    """How far the import has got: records written of those to write (both 0 while the file is read)."""

    written: Annotated[int, Meta(ge=0, description="Grants written so far.")]
    to_write: Annotated[
        int, Meta(ge=0, description="Grants the import writes (new and changed ones); 0 until the file is checked.")
    ]


class ImportJob(msgspec.Struct):
    """An import running in the background: what it is doing, then its report or why it failed."""

    id: Annotated[UUID, Meta(description="The job's id: `GET /v1/imports/{id}` follows it.")]
    state: Annotated[
        JobState,
        Meta(
            description="`queued` (accepted), `running` (reading, checking or writing the file), `succeeded` "
            "(`report` says what was written) or `failed` (`problem` says why; nothing was written)."
        ),
    ]
    file: Annotated[str, Meta(description="The file's name.")]
    format: Annotated[FileFormat, Meta(description="How the file is read: 360Giving JSON, CSV or XLSX.")]
    dry_run: Annotated[bool, Meta(description="True when the import only checks and reports, writing nothing.")]
    grants_in_file: Annotated[
        int | None,
        Meta(description="The file's grants as counted before it was read (a spreadsheet's rows of cells)."),
    ]
    progress: JobProgress
    created_at: Annotated[datetime.datetime, Meta(description="When the file was accepted.")]
    heartbeat_at: Annotated[
        datetime.datetime,
        Meta(
            description="When the worker running the job last said it was alive; a job whose worker stopped "
            "is failed once this is five minutes old."
        ),
    ]
    finished_at: Annotated[datetime.datetime | None, Meta(description="When the job succeeded or failed.")]
    report: Annotated[ImportReport | None, Meta(description="With `succeeded`: the import's report.")] = None
    problem: Annotated[
        Problem | None,
        Meta(description="With `failed`: the problem the import ended with, as a synchronous import answers it."),
    ] = None
