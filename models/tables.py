"""The network's tables: reference records (organisations, places), the collaborations that link
them, and the join tables between them. Every record carries provenance and a version."""

from __future__ import annotations

from typing import Any

from piccolo.columns import (
    JSON,
    UUID,
    BigInt,
    BigSerial,
    Boolean,
    Bytea,
    Date,
    DoublePrecision,
    ForeignKey,
    Integer,
    LazyTableReference,
    Numeric,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

MODULE = "models.tables"


def _organisation_fk(*, null: bool = True, on_delete: OnDelete = OnDelete.restrict) -> ForeignKey[Any]:
    return ForeignKey(
        LazyTableReference("Organisation", module_path=MODULE),
        null=null,
        on_delete=on_delete,
        index=True,
    )


def _place_fk(*, null: bool = True, on_delete: OnDelete = OnDelete.restrict) -> ForeignKey[Any]:
    return ForeignKey(
        LazyTableReference("Place", module_path=MODULE),
        null=null,
        on_delete=on_delete,
        index=True,
    )


def _owner_fk(table: str) -> ForeignKey[Any]:
    """The record a join or child row belongs to: deleting the record deletes the row."""
    return ForeignKey(
        LazyTableReference(table, module_path=MODULE),
        null=False,
        on_delete=OnDelete.cascade,
        index=True,
    )


class Link:
    """A row of a join table, with a UUID key like every other row."""

    id = UUID(primary_key=True)


class Provenance:
    """Who contributed a record, where it came from, when, and its version for concurrency."""

    id = UUID(primary_key=True)
    contributed_by = _organisation_fk()
    source = Varchar(length=40, default="api")
    source_url = Varchar(length=2000, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow(), index=True)
    version = Integer(default=1)


class Record(Provenance):
    """A top-level record: addressed by its UUID or its unique slug."""

    slug = Varchar(length=100, unique=True)


class Organisation(Record, Table):
    name = Varchar(length=300, index=True)
    org_id = Varchar(length=200, unique=True, null=True, default=None)
    kind = Varchar(length=40, index=True)
    description = Text(null=True, default=None)
    website = Varchar(length=2000, null=True, default=None)
    home_place = _place_fk()


class OrganisationAlias(Link, Table):
    """A ref that named an organisation merged into another (its UUID, slug or org-id): it resolves to the
    organisation it was merged into, so links and filters made before the merge keep working."""

    organisation = _owner_fk("Organisation")
    alias = Varchar(length=200, unique=True)
    kind = Varchar(length=10)  # id, slug or org_id
    merged_id = UUID(index=True)  # the organisation merged away


class Place(Record, Table):
    name = Varchar(length=300, index=True)
    gss_code = Varchar(length=9, unique=True, null=True, default=None)
    level = Varchar(length=40, index=True)
    area_type = Varchar(length=100, null=True, default=None)
    # The place directly above, shown as the place's parent; larger places it is also in are
    # `PlaceWithin` rows, and every place above it by any path is a `PlaceAncestor` row.
    parent: ForeignKey[Place] = ForeignKey("self", null=True, on_delete=OnDelete.restrict, index=True)
    org_id = Varchar(length=200, null=True, default=None)
    lat = DoublePrecision(null=True, default=None)
    lon = DoublePrecision(null=True, default=None)
    boundary = JSON(null=True, default=None)


class PlaceFormerCode(Link, Table):
    """A GSS code the place used to have; resolves to the place."""

    place = _owner_fk("Place")
    code = Varchar(length=9, unique=True)


class PlaceWithin(Link, Table):
    """A larger place the place is also in, beyond its parent: a borough in its combined authority, a
    district in its ceremonial county."""

    place = _owner_fk("Place")
    within = _place_fk(null=False)


class PlaceAncestor(Link, Table):
    """The place is in `ancestor` (itself included), by its parent or any place it is also in: the
    closure of the places' graph, kept by the places' writes, so "in a place" is one indexed lookup and
    a place reached by two paths is still one row."""

    place = _owner_fk("Place")
    ancestor = _owner_fk("Place")


class InterestGroup(Record, Table):
    name = Varchar(length=300, index=True)
    description = Text(null=True, default=None)
    convenor = _organisation_fk()
    starts_on = Date(null=True, default=None, index=True)
    ends_on = Date(null=True, default=None, index=True)


class InterestGroupPlace(Link, Table):
    interest_group = _owner_fk("InterestGroup")
    place = _place_fk(null=False)


class Membership(Provenance, Table):
    interest_group = _owner_fk("InterestGroup")
    organisation = _organisation_fk(null=False)
    role = Varchar(length=20)
    joined_on = Date(null=True, default=None)
    left_on = Date(null=True, default=None)


class CoFunding(Record, Table):
    name = Varchar(length=300, index=True)
    description = Text(null=True, default=None)
    purpose = Text(null=True, default=None)
    lead = _organisation_fk()
    starts_on = Date(null=True, default=None, index=True)
    ends_on = Date(null=True, default=None, index=True)


class CoFundingPlace(Link, Table):
    co_funding = _owner_fk("CoFunding")
    place = _place_fk(null=False)


class Contribution(Provenance, Table):
    co_funding = _owner_fk("CoFunding")
    funder = _organisation_fk(null=False)
    amount = Numeric(digits=(15, 2), null=True, default=None)
    currency = Varchar(length=3, null=True, default=None)
    in_kind = Boolean(default=False)
    description = Text(null=True, default=None)


class Research(Record, Table):
    name = Varchar(length=300, index=True)
    kind = Varchar(length=40, index=True)
    summary = Text(null=True, default=None)
    published_on = Date(null=True, default=None, index=True)
    url = Varchar(length=2000, null=True, default=None)
    funded_by: ForeignKey[CoFunding] = ForeignKey(
        LazyTableReference("CoFunding", module_path=MODULE),
        null=True,
        on_delete=OnDelete.restrict,
        index=True,
    )


class ResearchParty(Link, Table):
    """An organisation's part in a piece of research: commissioner or research partner."""

    research = _owner_fk("Research")
    organisation = _organisation_fk(null=False)
    role = Varchar(length=20)


class ResearchPlace(Link, Table):
    research = _owner_fk("Research")
    place = _place_fk(null=False)


class Grant(Record, Table):
    identifier = Varchar(length=200, unique=True, null=True, default=None)
    name = Varchar(length=300, index=True)
    description = Text(null=True, default=None)
    funder = _organisation_fk(null=False)
    recipient = _organisation_fk(null=False)
    amount = Numeric(digits=(15, 2), null=True, default=None)
    currency = Varchar(length=3, null=True, default=None)
    awarded_on = Date(null=True, default=None, index=True)
    planned_start_on = Date(null=True, default=None)
    planned_end_on = Date(null=True, default=None)
    programme = Varchar(length=300, null=True, default=None)
    # The 360Giving Data Standard's other common fields.
    amount_applied_for = Numeric(digits=(15, 2), null=True, default=None)
    amount_disbursed = Numeric(digits=(15, 2), null=True, default=None)
    url = Varchar(length=2000, null=True, default=None)
    data_source = Varchar(length=2000, null=True, default=None)
    from_open_call = Boolean(null=True, default=None)
    regrant_type = Varchar(length=20, null=True, default=None)
    location_scope = Varchar(length=20, null=True, default=None)
    # The rest of an imported 360Giving grant, as published: `standard` holds the fields the standard
    # defines that no column holds (organisation details, locations, classifications, transactions,
    # ...), `extra` the fields it does not define. Export puts them back around the columns.
    standard = JSON(null=True, default=None)
    extra = JSON(null=True, default=None)
    # Beneficiary locations that name no place (an unknown code, or no code): kept, never dropped.
    unmatched_locations = JSON(null=True, default=None)
    # Beneficiary locations that name a place, and how each was matched (by code, former code, name or
    # alias), so a published code can be told from Placenet's inference.
    matched_locations = JSON(null=True, default=None)
    # When a 360Giving import last wrote the grant (its `updated_at` then): a grant changed since, through
    # the API, is exported with its own `dateModified`, not the one its file published.
    imported_at = Timestamptz(null=True, default=None)


class GrantPlace(Link, Table):
    grant = _owner_fk("Grant")
    place = _place_fk(null=False)


class Engagement(Record, Table):
    name = Varchar(length=300, index=True)
    kind = Varchar(length=40, index=True)
    convenor = _organisation_fk()
    starts_on = Date(null=True, default=None, index=True)
    ends_on = Date(null=True, default=None, index=True)
    summary = Text(null=True, default=None)
    outputs = Text(null=True, default=None)
    people_involved = Integer(null=True, default=None)


class EngagementParticipant(Link, Table):
    engagement = _owner_fk("Engagement")
    organisation = _organisation_fk(null=False)


class EngagementPlace(Link, Table):
    engagement = _owner_fk("Engagement")
    place = _place_fk(null=False)


class ApiKey(Table):
    """A partner's or admin's key. Only a hash of the secret is stored; the prefix finds the row."""

    id = UUID(primary_key=True)
    # The partner organisation the key writes for; an operator's admin key may stand for none.
    organisation = _organisation_fk()
    role = Varchar(length=20)
    name = Varchar(length=200, default="")
    prefix = Varchar(length=16, unique=True)
    secret_hash = Varchar(length=64)
    created_at = Timestamptz(default=TimestamptzNow())
    revoked_at = Timestamptz(null=True, default=None)


class Change(Table):
    """One write, appended in the same transaction as the write: the audit trail and the change
    feed. `id` increases in commit order (writers are serialised), so a cursor misses nothing."""

    id = BigSerial(primary_key=True)
    collection = Varchar(length=40, index=True)
    record_id = UUID(index=True)
    # For a membership or contribution, the group or arrangement it belongs to.
    owner_id = UUID(null=True, default=None, index=True)
    record_slug = Varchar(length=200)
    operation = Varchar(length=10)
    fields = JSON(default="{}")
    version = Integer(null=True, default=None)
    organisation = _organisation_fk(on_delete=OnDelete.set_null)
    at = Timestamptz(default=TimestamptzNow())


class SharedEntry(Table):
    """State every API process shares when there is no Redis: idempotency keys with the response they
    replay, rate-limit counters, and read-your-writes markers. An entry is dead once `expires_at` (Unix
    seconds) has passed."""

    key = Varchar(length=300, primary_key=True)
    value = Bytea(default=b"")
    hits = Integer(default=0)
    expires_at = DoublePrecision(index=True)


class PlaceTally(Table):
    """The map's counts, kept by every write (api/services/views/tally.py): for a place and a kind of record,
    how many records are linked to it or to a place below it, each once (`currency` empty), and for
    each currency how many of them carry money and its sum. The amount is exact decimal text: SQLite
    would keep a sum as a float."""

    key = Varchar(length=200, primary_key=True)  # place/kind/currency
    place = UUID(index=True)
    kind = Varchar(length=40)
    currency = Varchar(length=3, default="")
    records = Integer(default=0)
    amount = Varchar(length=40, default="0")


class TallyRecord(Table):
    """What one record adds to the tallies, as last counted: its own places (the places above them
    follow from `PlaceAncestor`) and its money per currency. A write compares it with the record as it
    is now and moves the difference."""

    key = Varchar(length=100, primary_key=True)  # kind/record id
    places = Text(default="")  # the ids, space-separated
    money = Text(default="")  # JSON: {currency: amount}


class ImportJob(Table):
    """A 360Giving import accepted to run in the background (api/services/giving360/jobs.py): its state,
    progress and outcome, kept here so that any worker can answer for it. `heartbeat_at` moves while the
    worker running it is alive; a job whose heartbeat has stopped is failed when next read."""

    id = UUID(primary_key=True)
    state = Varchar(length=20, index=True)
    file = Varchar(length=200)
    format = Varchar(length=10)
    dry_run = Boolean(default=False)
    source_url = Varchar(length=2000, null=True, default=None)
    # The organisation of the key that sent the file: its keys, and admins, may read the job.
    organisation = UUID(null=True, default=None)
    grants_in_file = Integer(null=True, default=None)
    written = Integer(default=0)
    to_write = Integer(default=0)
    report = JSON(null=True, default=None)
    problem = JSON(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    heartbeat_at = Timestamptz(default=TimestamptzNow())
    finished_at = Timestamptz(null=True, default=None)


class NetworkEdge(Table):
    """The network's links, kept by every write (api/services/views/links.py): for a scope (the whole
    network, `EVERYWHERE`, or a place: the records linked to it or to a place inside it) and two
    organisations (`source` < `target`), the summed weight of the records that link them by the network's
    rules over all time, how many there are and of which kind. `rank` is the weight in millionths, as the
    API gives and orders it (`weight` is the running sum, kept for the ends' strengths)."""

    key = Varchar(length=200, primary_key=True)  # scope/source/target
    scope = UUID()
    source = UUID()
    target = UUID()
    weight = DoublePrecision(default=0.0)
    rank = BigInt(default=0)
    records = Integer(default=0)
    # How many of the records are of each kind (the kinds' plural names, as `activity.GROUPS` gives them).
    interest_groups = Integer(default=0)
    co_funding = Integer(default=0)
    research = Integer(default=0)
    grants = Integer(default=0)
    engagements = Integer(default=0)


class NetworkNode(Table):
    """Each organisation taking part in a record in a scope (linked or not): in how many records, to how
    many others it is linked there and the summed weight of those links, kept with the edges."""

    key = Varchar(length=100, primary_key=True)  # scope/organisation
    scope = UUID()
    organisation = UUID()
    records = Integer(default=0)
    degree = Integer(default=0)
    strength = DoublePrecision(default=0.0)


class NetworkScope(Table):
    """How many organisations and links each scope's network has, kept with them."""

    scope = UUID(primary_key=True)
    nodes = Integer(default=0)
    edges = Integer(default=0)


class NetworkRecord(Table):
    """What one record adds to the network's links, as last counted: its pairs and weights (and, for
    research, the co-funding arrangement it feeds). A write compares it with the record as it is now."""

    key = Varchar(length=100, primary_key=True)  # kind/record id
    ties = Text(default="")


class NetworkMeasure(Table):
    """Each linked organisation's place in the whole network, measured in the background from the kept
    links (api/services/views/measures.py) at the change-feed position `network_state` names."""

    organisation = UUID(primary_key=True)
    degree = Integer(default=0)
    strength = DoublePrecision(default=0.0)
    centrality = DoublePrecision(default=0.0)


class NetworkState(Table):
    """Where the background measures stand: the change-feed position they reflect, and until when one
    worker has claimed the next measurement (so several workers do not all measure at once)."""

    name = Varchar(length=40, primary_key=True)
    position = BigInt(default=0)
    measured_at = Timestamptz(null=True, default=None)
    claimed_until = Timestamptz(null=True, default=None)
