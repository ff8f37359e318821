"""The report of a 360Giving import: what was (or, dry, would be) written, and what was found."""

from __future__ import annotations

import datetime
from decimal import Decimal
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
            "`geo_code_type_unknown`, `location_without_code` (no code, and no name that names a place), "
            "`location_ambiguous` (no code, and a name that names several places), `location_misspelt` (no "
            "code, and a name read as the one place it is a letter or two from), `org_id_prefix` or "
            "`charity_number`. Among the warnings, the file's own "
            "problems: `self_grant` (a grant whose recipient org-id is its funder's, named by `grant`), "
            "`org_id_names` (one org-id under two or more names: the message names the org-id, the names with "
            "how many grants give each, and which name was kept and why) and `grants_missing` (grants held from "
            "the same publisher that the file no longer has; see `missing_grants`).",
            examples=["geo_code_unknown"],
        ),
    ]
    message: Annotated[
        str,
        Meta(
            description="What is wrong, and what to do about it. A published value it quotes (a name, a code, a "
            "column's title) is cut to its first 100 characters."
        ),
    ]
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
    without_code: Annotated[
        int,
        Meta(
            ge=0,
            description="Beneficiary locations with no geographic code at all; matched by name when they can be "
            "(see `coverage`).",
        ),
    ]


class CoverageCount(msgspec.Struct):
    """A number of the file's grants and the money they were awarded."""

    grants: Annotated[int, Meta(ge=0, description="How many grants.")]
    amounts: Annotated[
        dict[str, Decimal],
        Meta(
            description="Their amounts awarded, summed by currency (ISO 4217 code); grants with no amount "
            "awarded count among the grants but add nothing here.",
            examples=[{"GBP": "125000.00"}],
        ),
    ] = msgspec.field(default_factory=dict)


UnplacedReason = Literal[
    "unknown_code",
    "not_a_gss_code",
    "no_code",
    "ambiguous_name",
    "no_location",
    "address_unrecognised",
    "address_ambiguous",
    "address_country_only",
    "address_postcode_only",
]
UNPLACED_REASONS = (
    "Why it placed nothing. A beneficiary location: `unknown_code` (a GSS code no place has), `not_a_gss_code`, "
    "`no_code` (no code, and its name is missing or names no place: names are matched exactly, apart from case, "
    "punctuation and council words, so a misspelling is not guessed) or `ambiguous_name` (no code, and its name "
    "names several places; see `ambiguous`). A grant none of whose locations placed it, by its recipient's "
    "address: `address_unrecognised` (its town, or county when it gives no town, names no place), "
    "`address_ambiguous` (names several places; see `ambiguous`), `address_country_only` (names only a country, "
    "or only places at the UK's or a nation's level: a recipient being in the UK says nothing of where its grant "
    "goes, so it is not placed there) or `address_postcode_only` (only a postcode: Placenet holds no postcode "
    "data). `no_location`: an unplaced grant with no beneficiary location and no recipient address."
)


class UnplacedLocation(msgspec.Struct):
    """A beneficiary location, or recipient address, that placed nothing, and how often the file gives it."""

    location: Annotated[
        str,
        Meta(
            description="The location's name as published (its code when it has no name); for an address, its "
            "town, county and country as published; empty for `no_location` and `address_postcode_only`."
        ),
    ]
    reason: Annotated[UnplacedReason, Meta(description=UNPLACED_REASONS)]
    count: Annotated[
        int,
        Meta(ge=1, description="How many times the file gives it (grants, for `no_location` and the address reasons)."),
    ]


class PlaceCandidate(msgspec.Struct):
    """A place an ambiguous name might mean."""

    gss_code: Annotated[str | None, Meta(description="The place's GSS code.", examples=["W06000022"])]
    name: Annotated[str, Meta(description="The place's name.", examples=["Newport"])]
    level: Annotated[str, Meta(description="The place's level.", examples=["local_authority"])]


class AmbiguousLocation(msgspec.Struct):
    """A location name without a code, or a recipient's address, that names several places: not guessed;
    a location is kept on its grants, an address in the recipient organisation's published data."""

    name: Annotated[str, Meta(description="The name (or address) as published.", examples=["Newport"])]
    count: Annotated[int, Meta(ge=1, description="How many locations (or grants' recipient addresses) give it.")]
    candidates: Annotated[list[PlaceCandidate], Meta(description="The places it might mean.")]


class Coverage(msgspec.Struct):
    """How much of the file reaches the map. A grant is placed when at least one of its beneficiary
    locations names a place: by its GSS code (`code`, or a place's `former_code`) or, when it has no code,
    by its name (`name`: a place's name or its council's official name, or the specific part of a
    composite such as 'South East - Kent', 'Manchester, North West' or 'Kent (South East)') or by a
    reviewed alias (`alias`: 'UK Wide', 'Greater London', 'England - Wide', 'Cymru'...). A grant none of
    whose beneficiary locations names a place (or that has none) falls back on its recipient
    organisation's address (`recipient_address`: its town, or its county when it gives no town, by name as
    above; never its postcode, and never a country alone): where the recipient is, which is weaker
    evidence than where the funder said the grant benefits, so a beneficiary location always wins. A grant
    placed several ways counts once, under the surest: code, then former code, name, alias, near name
    (a clear misspelling), recipient address. Each grant's `matched_locations` says how each of its
    locations (and its address, when that placed it) was matched."""

    placed: Annotated[CoverageCount, Meta(description="Grants with at least one place, and their money.")] = (
        msgspec.field(default_factory=lambda: CoverageCount(grants=0))
    )
    by_code: Annotated[CoverageCount, Meta(description="Of those, placed by a current GSS code.")] = msgspec.field(
        default_factory=lambda: CoverageCount(grants=0)
    )
    by_former_code: Annotated[
        CoverageCount, Meta(description="Placed by a place's former code (and no current code).")
    ] = msgspec.field(default_factory=lambda: CoverageCount(grants=0))
    by_name: Annotated[
        CoverageCount, Meta(description="Placed by a location's name (and no code): Placenet's inference.")
    ] = msgspec.field(default_factory=lambda: CoverageCount(grants=0))
    by_alias: Annotated[
        CoverageCount, Meta(description="Placed by a reviewed alias only (and no code or name): Placenet's inference.")
    ] = msgspec.field(default_factory=lambda: CoverageCount(grants=0))
    by_near_name: Annotated[
        CoverageCount,
        Meta(
            description="Placed by a misspelt name (and no code, name or alias) that one place clearly means: a "
            "letter or two from exactly one place's name; each is warned of (`location_misspelt`). Placenet's "
            "inference."
        ),
    ] = msgspec.field(default_factory=lambda: CoverageCount(grants=0))
    by_recipient_address: Annotated[
        CoverageCount,
        Meta(
            description="Placed by the recipient organisation's address only (no beneficiary location named a "
            "place): Placenet's inference, and the weakest: where the recipient is, not where the grant goes."
        ),
    ] = msgspec.field(default_factory=lambda: CoverageCount(grants=0))
    unplaced: Annotated[CoverageCount, Meta(description="Grants no place was found for: they are not on the map.")] = (
        msgspec.field(default_factory=lambda: CoverageCount(grants=0))
    )
    unplaced_without_location: Annotated[
        int, Meta(ge=0, description="Of the unplaced grants, those with no beneficiary location at all.")
    ] = 0
    unplaced_reasons: Annotated[
        dict[UnplacedReason, int],
        Meta(
            description="Everything left unplaced, counted by reason (all of it, not only the strings listed in "
            "`unplaced_locations`): beneficiary locations for the location reasons, grants for `no_location` and "
            "the address reasons. A location that placed nothing is counted even when another of its grant's "
            "locations placed the grant.",
            examples=[{"no_code": 3, "address_unrecognised": 2, "no_location": 1}],
        ),
    ] = msgspec.field(default_factory=dict)
    unplaced_locations: Annotated[
        list[UnplacedLocation],
        Meta(
            description="The 10 location strings (and recipient addresses) most often left unplaced, with how often "
            "and why, commonest first."
        ),
    ] = msgspec.field(default_factory=list)
    ambiguous: Annotated[
        list[AmbiguousLocation],
        Meta(
            description="Names without a code, and recipient addresses, that name several places (such as Newport "
            "or Richmond), with the places they might mean, commonest first (the first 100): never guessed. A "
            "code, or a composite name whose other part settles it ('Newport, Isle of Wight'), places them."
        ),
    ] = msgspec.field(default_factory=list)


class MissingGrants(msgspec.Struct):
    """Grants Placenet holds from the file's publisher that the file no longer has (a newer file that dropped
    them). They are reported, and deleted only when the import is asked to retire them (`retire_missing=true`,
    `placenet import 360giving --retire-missing`). A grant counts as from the publisher when its funder is one
    of the file's funders (by org-id), it was last written by a 360Giving import, and its identifier begins
    with a registered 360Giving prefix (`360G-blagravetrust-`) that the file uses for that funder's grants;
    grants made through the API and other publishers' grants naming the same funder never count. A publisher
    that splits its grants across files (one a year) sees the other files' grants listed here."""

    count: Annotated[int, Meta(ge=0, description="How many held grants of the publisher the file does not have.")]
    identifiers: Annotated[
        list[str], Meta(description="Their 360Giving identifiers, in order, the first 100 of them.")
    ] = msgspec.field(default_factory=list)
    retired: Annotated[
        int,
        Meta(
            ge=0,
            description="How many of them the import retired (deleted, each a deletion in the change feed): all of "
            "them when it was asked to (`retire_missing`), else none. A dry run counts what it would retire.",
        ),
    ] = 0


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
            "warning says so too): reported, and deleted only with `retire_missing=true` (then counted in "
            "`retired`). The same publisher means the grant's funder is "
            "one of the file's funders, it came from a 360Giving import, and its identifier has a 360Giving "
            "prefix the file uses for that funder."
        ),
    ] = msgspec.field(default_factory=lambda: MissingGrants(count=0))
    coverage: Annotated[
        Coverage,
        Meta(
            description="How many of the file's grants, and how much money, reach the map, placed how; what "
            "was left unplaced and why."
        ),
    ] = msgspec.field(default_factory=Coverage)


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


class SkippedGrants(msgspec.Struct):
    """Grants a rematch left alone because their places were set by hand (through the API) since they were
    imported: their places are not those their locations were matched to, so matching again would undo
    someone's correction."""

    count: Annotated[int, Meta(ge=0, description="How many grants were left alone.")]
    identifiers: Annotated[
        list[str], Meta(description="Their 360Giving identifiers (or slugs), in order, the first 100 of them.")
    ] = msgspec.field(default_factory=list)


class RematchReport(msgspec.Struct):
    """What matching the stored grants' locations to places again did (or, dry, would do). Every grant a
    360Giving import wrote is matched again from what its file published (its beneficiary locations and
    its recipient's address, kept with the grant) through today's gazetteer, exactly as an import would
    match it now; a grant whose places, or the record of how they were matched, change is written, with a
    change-feed entry, and the map's counts follow. A published location that still names no place stays
    in `unmatched_locations`. Running it again changes nothing."""

    dry_run: Annotated[bool, Meta(description="True when nothing was written on purpose (a check only).")]
    written: Annotated[bool, Meta(description="True when changes were written (in one transaction).")]
    examined: Annotated[int, Meta(ge=0, description="Grants from 360Giving imports that were matched again.")]
    changed: Annotated[
        int,
        Meta(
            ge=0,
            description="Grants written (or, dry, that would be): their places, or how their locations were "
            "matched (`matched_locations`, `unmatched_locations`), changed.",
        ),
    ]
    places_changed: Annotated[
        int, Meta(ge=0, description="Of those, grants whose places changed: they move on the map.")
    ]
    unchanged: Annotated[int, Meta(ge=0, description="Grants matched exactly as before.")]
    skipped: Annotated[
        SkippedGrants,
        Meta(description="Grants left alone because their places were set by hand since they were imported."),
    ]
    replaced: Annotated[
        Coverage,
        Meta(
            description="The grants whose places changed, placed how now (`by_code`, ..., `by_recipient_address`), "
            "and those the change left unplaced (a name that has become ambiguous, say), with why."
        ),
    ]
    coverage: Annotated[
        Coverage,
        Meta(
            description="Every grant examined (but those skipped), as it stands after the rematch: placed how, "
            "and what is still unplaced and why."
        ),
    ]
