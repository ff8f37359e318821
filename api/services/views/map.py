"""The shared map: the places at one level, each with the records in it and in every place in it (by
any path, each record once) counted and their money summed, in two queries whatever the number of
places or records."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any
from uuid import UUID

import msgspec
from piccolo.querystring import QueryString

from api.schemas.common import FieldError
from api.schemas.map import (
    Feature,
    FeatureCollection,
    Geometry,
    LeftOut,
    MapCounts,
    MapMoney,
    MapPlace,
    Point,
)
from api.services.platform.errors import InvalidRequest, Unprocessable
from api.services.platform.sql import all_of, is_in, join, sql, where
from api.services.records.resource import PLACE, resolve_filter
from api.services.views.activity import (
    EVERYWHERE,
    GROUPS,
    KINDS,
    NOWHERE,
    ScopeFilters,
    Selection,
    as_decimal,
    as_uuid,
    at_level,
    money_list,
    run,
    selection,
)

BBox = tuple[float, float, float, float]
COUNT_FIELDS = {"organisation": "organisations", **GROUPS}


def parse_bbox(text: str) -> BBox:
    """`min_lon,min_lat,max_lon,max_lat` (RFC 7946 order) in WGS84 degrees: four numbers or 400; a box
    off the globe or upside down is 422. A west edge east of the east edge crosses the antimeridian, as
    RFC 7946 allows."""
    field = "bbox"
    parts = text.split(",")
    try:
        if len(parts) != 4:
            raise ValueError
        west, south, east, north = (float(part) for part in parts)
    except ValueError:
        message = "give four numbers, min_lon,min_lat,max_lon,max_lat"
        raise InvalidRequest(
            f"The bounding box is not valid: {message}.", [FieldError(field=field, message=message, location="query")]
        ) from None
    problems = []
    if not all(math.isfinite(value) for value in (west, south, east, north)):
        problems.append("every edge must be a finite number")
    elif not (-180 <= west <= 180 and -180 <= east <= 180):
        problems.append("longitudes must be between -180 and 180")
    elif not (-90 <= south <= 90 and -90 <= north <= 90):
        problems.append("latitudes must be between -90 and 90")
    elif south > north:
        problems.append("min_lat must not be greater than max_lat")
    if problems:
        raise Unprocessable(
            f"The bounding box is not on the globe: {problems[0]}.",
            [FieldError(field=field, message=problems[0], location="query")],
        )
    return west, south, east, north


def _feature_conditions(level: str, box: BBox | None, region: UUID | None) -> QueryString:
    conditions = [sql("level = {}", level), sql("lat IS NOT NULL AND lon IS NOT NULL")]
    if box is not None:
        west, south, east, north = box
        conditions.append(sql("lat >= {} AND lat <= {}", south, north))
        if west <= east:
            conditions.append(sql("lon >= {} AND lon <= {}", west, east))
        else:
            conditions.append(sql("(lon >= {} OR lon <= {})", west, east))
    if region is not None:
        conditions.append(sql("id IN (SELECT place FROM place_ancestor WHERE ancestor = {})", region))
    return all_of(conditions)


def _in_region(column: str, region: UUID | None) -> list[QueryString]:
    return [sql(f"{column} IN (SELECT place FROM place_ancestor WHERE ancestor = {{}})", region)] if region else []


def _levels(level: str, region: UUID | None) -> list[QueryString]:
    """`level_places`, the places at the level (in the region); `uncovered`, the places (in the region) in
    none of them: a record linked only to those is on no feature of the map."""
    return [
        sql("level_places AS (SELECT id FROM place{})", where([sql("level = {}", level), *_in_region("id", region)])),
        sql(
            "uncovered AS (SELECT p.id FROM place p{})",
            where(
                [
                    sql(
                        "NOT EXISTS (SELECT 1 FROM place_ancestor a WHERE a.place = p.id "
                        "AND a.ancestor IN (SELECT id FROM level_places))"
                    ),
                    *_in_region("p.id", region),
                ]
            ),
        ),
    ]


# A located record (`located`: kind, record_id, place) on no feature: linked to an uncovered place, and to no
# place inside one at the level.
NOT_AT_LEVEL = (
    "SELECT DISTINCT 'not_at_level' AS reason, l.kind, l.record_id FROM located l "
    "WHERE l.place IN (SELECT id FROM uncovered) AND NOT EXISTS (SELECT 1 FROM located m "
    "JOIN place_ancestor a ON a.place = m.place WHERE m.kind = l.kind AND m.record_id = l.record_id "
    "AND a.ancestor IN (SELECT id FROM level_places))"
)


def _money(source: str, feature: str) -> str:
    """The money of the records in `source` (feature, reason, kind, record_id) per feature, reason and
    currency."""
    return " UNION ALL ".join(
        f"SELECT {feature}, c.reason, '{kind}', COALESCE(m.currency, 'GBP'), NULL, SUM(m.amount) FROM {source} c "
        f"JOIN {table} m ON m.{record} = c.record_id WHERE c.kind = '{kind}' AND m.amount IS NOT NULL "
        f"GROUP BY {feature}, c.reason, COALESCE(m.currency, 'GBP')"
        for kind, (table, record) in (("grant", ('"grant"', "id")), ("co_funding", ("contribution", "co_funding")))
    )


async def _counts(
    features: QueryString,
    kinds: Sequence[str],
    organisations: bool,
    organisation_id: UUID | None,
    views: Any,
    *,
    level: str,
    region: UUID | None,
    filtered: bool,
) -> list[dict[str, Any]]:
    """Per feature and kind: how many records are linked to it or a place below it (each once), and
    their money per currency; with no feature, the same for the records left out, by reason. `region` is
    the place the features are in, if any; `filtered` says whether anything but the kinds narrows the
    records."""
    located = []
    if kinds:
        # Unfiltered, `selected` is every record of the kinds `record_places` holds (a link's record always
        # exists: the foreign key cascades), and the semi-join would only look up every record's links.
        # Every feature is in the region, so a link to a place outside it is never counted: taking only the
        # links into the region makes the work the records there, not every record in the database.
        conditions = [sql("record_id IN (SELECT record_id FROM selected)")] if filtered else []
        conditions += _in_region("place", region)
        located.append(sql("SELECT kind, record_id, place FROM record_places{}", where(conditions)))
    unplaced = []
    if organisations:
        conditions = [sql("home_place IS NOT NULL"), *_in_region("home_place", region)]
        nowhere = [sql("home_place IS NULL")]
        if organisation_id is not None:
            conditions.append(sql("id = {}", organisation_id))
            nowhere.append(sql("id = {}", organisation_id))
        located.append(
            sql(
                "SELECT 'organisation' AS kind, id AS record_id, home_place AS place FROM organisation{}",
                where(conditions),
            )
        )
        unplaced.append(sql("SELECT 'unplaced', 'organisation', id FROM organisation{}", where(nowhere)))
    if kinds:
        unplaced.append(
            sql(
                "SELECT 'unplaced', s.kind, s.record_id FROM selected s WHERE NOT EXISTS "
                "(SELECT 1 FROM record_places rp WHERE rp.kind = s.kind AND rp.record_id = s.record_id)"
            )
        )
    # A map of one place leaves out nothing unplaced: only what is in the place is asked about.
    left_out = [sql(NOT_AT_LEVEL), *([] if region else unplaced)]
    steps = [
        sql("feature AS (SELECT id FROM place WHERE {})", features),
        sql("located (kind, record_id, place) AS ({})", join(located, " UNION ALL ")),
        sql("linked AS (SELECT DISTINCT place FROM located)"),
        # A feature covers a linked place when it is one of the place's ancestors: one indexed lookup per
        # distinct linked place. A place under a feature by two paths is one ancestor row, so counted once.
        sql(
            "covers AS (SELECT a.ancestor AS feature, a.place FROM linked l "
            "JOIN place_ancestor a ON a.place = l.place JOIN feature f ON f.id = a.ancestor)"
        ),
        *_levels(level, region),
        sql("left_out (reason, kind, record_id) AS ({})", join(left_out, " UNION ALL ")),
        sql(
            "counted (feature, reason, kind, record_id) AS (SELECT DISTINCT c.feature, NULL, l.kind, l.record_id "
            "FROM covers c JOIN located l ON l.place = c.place "
            "UNION ALL SELECT NULL, reason, kind, record_id FROM left_out)"
        ),
    ]
    head = views(*steps) if kinds else sql("WITH {}", join(steps, ", "))
    # Money joins the tables themselves by key, so the planner knows each counted record has one grant
    # row (or a few contributions) and does not expect millions of rows.
    return await run(
        sql(
            "{} SELECT feature, reason, kind, NULL AS currency, COUNT(*) AS n, NULL AS amount FROM counted "
            f"GROUP BY feature, reason, kind UNION ALL {_money('counted', 'c.feature')}",
            head,
        )
    )


async def _tallied(
    features: QueryString, kinds: Sequence[str], organisations: bool, *, level: str, region: UUID | None
) -> list[dict[str, Any]]:
    """What `_counts` answers when nothing narrows the records, from the tallies the writes keep
    (api/services/views/tally.py): the features' counts, one row per feature, kind and currency, however
    many records there are; and what the map leaves out, from a few more rows: for the whole map, the
    records with no place, and those placed (EVERYWHERE) less those at the level; for a region's map,
    the records in the region less those in it at a place of the level inside it."""
    wanted = [*kinds, *(["organisation"] if organisations else [])]
    placed, at = (EVERYWHERE, at_level(level)) if region is None else (region, at_level(level, region))
    # A region's map asks only about what is in the region: nothing there is unplaced.
    pseudo = [placed, at, *([NOWHERE] if region is None else [])]
    # The region can be a feature too (a map of one authority at its own level): its rows come once each way.
    rows = await run(
        sql(
            "SELECT t.place AS feature, 1 AS on_map, t.kind AS kind, t.currency AS currency, t.records AS n, "
            "t.amount AS amount FROM place_tally t WHERE t.place IN (SELECT id FROM place WHERE {}) AND {} "
            "UNION ALL SELECT t.place, 0, t.kind, t.currency, t.records, t.amount FROM place_tally t "
            "WHERE {} AND {}",
            features,
            is_in("t.kind", wanted),
            is_in("t.place", pseudo),
            is_in("t.kind", wanted),
        )
    )
    found = [{**row, "feature": as_uuid(row["feature"]), "reason": None} for row in rows]
    counted = [row for row in found if row["on_map"]]
    counted += _not_at_level([row for row in found if not row["on_map"]], placed, at)
    return [
        {**row, "currency": row["currency"] or None, "n": row["n"] if not row["currency"] else None} for row in counted
    ]


def _not_at_level(rows: list[dict[str, Any]], placed: UUID, at: UUID) -> list[dict[str, Any]]:
    """The tallies' rows for the records with no place (as they are) and for those placed (`placed`: every
    placed record, or every record in a region) but at no place of the level (less `at`, those at one),
    as left-out rows."""
    left_in: dict[tuple[str, str], tuple[int, Decimal]] = defaultdict(lambda: (0, Decimal(0)))
    left = []
    for row in rows:
        amount = Decimal(str(row["amount"] or 0))
        if row["feature"] == NOWHERE:
            left.append({**row, "feature": None, "reason": "unplaced"})
        elif row["feature"] in (placed, at):
            sign = 1 if row["feature"] == placed else -1
            n, total = left_in[row["kind"], row["currency"]]
            left_in[row["kind"], row["currency"]] = (n + sign * int(row["n"]), total + sign * amount)
    for (kind, currency), (n, total) in left_in.items():
        if n > 0:
            left.append(
                {
                    "feature": None,
                    "reason": "not_at_level",
                    "kind": kind,
                    "currency": currency,
                    "n": n,
                    "amount": str(total),
                }
            )
    return left


def _geometry(row: dict[str, Any], centroid: Point) -> Geometry:
    boundary = row.get("boundary")
    if not boundary:
        return centroid
    try:
        decoded = msgspec.json.decode(boundary) if isinstance(boundary, str | bytes) else boundary
        geometry: Geometry = msgspec.convert(decoded, Geometry)
        return geometry
    except (msgspec.DecodeError, msgspec.ValidationError):
        # A boundary the map cannot draw is left out rather than sent broken; the centroid stands in.
        return centroid


async def feature_collection(
    *,
    level: str,
    filters: ScopeFilters,
    bbox: str | None,
    geometry: str,
    with_records: bool,
) -> FeatureCollection:
    """The places at `level`, in the box and in `filters.place` or below it, each counting the records the
    other filters let through: here the place narrows the places mapped, not the records selected."""
    box = parse_bbox(bbox) if bbox is not None else None
    in_scope = await selection(replace(filters, place=None))
    place = filters.place
    region = await resolve_filter(PLACE, place, "place") if place else None
    features = _feature_conditions(level, box, region)
    boundary = ", boundary" if geometry == "boundary" else ""
    places = await run(
        sql(
            f"SELECT id, slug, name, gss_code, level, lat, lon{boundary} FROM place WHERE {{}} ORDER BY name, id",
            features,
        )
    )
    counts: dict[UUID, dict[str, int]] = defaultdict(dict)
    money: dict[UUID, dict[str, dict[str, Decimal]]] = defaultdict(lambda: {"grant": {}, "co_funding": {}})
    counts_organisations = not filters.kinds or "organisation" in filters.kinds
    # Selection() lets every record through: the kinds aside, is anything narrowing them?
    filtered = replace(in_scope, kinds=KINDS) != Selection()
    rows: list[dict[str, Any]] = []
    if in_scope.kinds or counts_organisations:
        rows = (
            await _counts(
                features,
                in_scope.kinds,
                counts_organisations,
                in_scope.organisation,
                in_scope.views,
                level=level,
                region=region,
                filtered=filtered,
            )
            if filtered
            else await _tallied(features, in_scope.kinds, counts_organisations, level=level, region=region)
        )
    # What no feature counts, by reason: the same counts and money, keyed by the reason.
    left_counts: dict[str, dict[str, int]] = defaultdict(dict)
    left_money: dict[str, dict[str, dict[str, Decimal]]] = defaultdict(lambda: {"grant": {}, "co_funding": {}})
    for row in rows:
        reason = row["reason"] or ("unplaced" if as_uuid(row["feature"]) == NOWHERE else None)
        into_counts, into_money = (counts, money) if reason is None else (left_counts, left_money)
        key: Any = reason or as_uuid(row["feature"])
        if row["n"] is not None:
            into_counts[key][row["kind"]] = int(row["n"])
        elif row["amount"] is not None and row["kind"] in ("grant", "co_funding"):
            into_money[key][row["kind"]][row["currency"]] = as_decimal(row["amount"])
    collection = []
    for row in places:
        place_id = as_uuid(row["id"])
        if with_records and not counts.get(place_id):
            continue
        centroid = Point(coordinates=[float(row["lon"]), float(row["lat"])])
        found = counts.get(place_id, {})
        collection.append(
            Feature(
                id=str(place_id),
                geometry=_geometry(row, centroid),
                properties=MapPlace(
                    id=place_id,
                    slug=row["slug"],
                    name=row["name"],
                    gss_code=row["gss_code"],
                    level=row["level"],
                    centroid=centroid.coordinates,
                    counts=_map_counts(found),
                    money=_map_money(money.get(place_id)),
                ),
            )
        )
    left_out = [
        LeftOut(reason=reason, counts=_map_counts(left_counts[reason]), money=_map_money(left_money.get(reason)))
        for reason in ("not_at_level", "unplaced")
        if any(left_counts.get(reason, {}).values())
    ]
    return FeatureCollection(features=collection, left_out=left_out)


def _map_counts(found: dict[str, int]) -> MapCounts:
    return MapCounts(**{field: found.get(kind, 0) for kind, field in COUNT_FIELDS.items()})


def _map_money(found: dict[str, dict[str, Decimal]] | None) -> MapMoney:
    return MapMoney(
        awarded=money_list(found["grant"]) if found else [], pooled=money_list(found["co_funding"]) if found else []
    )
