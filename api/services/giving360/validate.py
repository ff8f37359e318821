"""Checking a 360Giving package: the official schema first (JSON Schema draft 2020-12, formats checked,
the grant schema registered under the URL the package schema names, nothing fetched), then the data
quality checks 360Giving's own tools make (CoVE and the Data Quality Tool). Schema errors and
identifiers Placenet cannot key on are errors; everything else is a warning."""

from __future__ import annotations

import copy
import datetime
import functools
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

import jsonschema_rs
import msgspec
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from api.services.giving360 import geocodes, orgids
from api.services.giving360.convert import Converted
from api.services.giving360.issues import Issues, quoted
from api.services.giving360.reference import codelist, column_titles, grant_schema, package_schema

CENTS = Decimal("0.01")
MAX_AMOUNT = Decimal(10) ** 13
IDENTIFIER_LENGTH = 200
TITLE_LENGTH = 140
MESSAGE_LENGTH = 300
REQUIRED = re.compile(r"^'(?P<name>.+)' is a required property$")

JsonPath = tuple[str | int, ...]


def _schema() -> tuple[dict[str, Any], str]:
    """The package schema without `grants`' `uniqueItems` (jsonschema compares every pair of grants for
    it: 20,000 grants take minutes; `_repeated_grants` gives the same answer by hashing each grant once),
    and the `$ref` its grants point to."""
    schema = copy.deepcopy(package_schema())
    del schema["properties"]["grants"]["uniqueItems"]
    return schema, schema["properties"]["grants"]["items"]["$ref"]


@cache
def validator() -> Draft202012Validator:
    """The package schema's validator, its grant `$ref` answered from the local grant schema: it says
    what is wrong, where, in words the publisher can act on (`_describe`)."""
    schema, referenced = _schema()
    grant = Resource.from_contents(grant_schema(), default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resources([(referenced, grant), (grant_schema()["$id"], grant)])
    return Draft202012Validator(schema, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER)


@cache
def quick_validator() -> jsonschema_rs.Validator:
    """The same schema compiled by jsonschema-rs, formats checked, offline: it only says whether a file
    is valid, in a fraction of jsonschema's time (a third of an import of 20,000 grants was jsonschema).
    A file it refuses is described by `validator`, which has the last word."""
    schema, referenced = _schema()
    registry = jsonschema_rs.Registry([(referenced, grant_schema()), (grant_schema()["$id"], grant_schema())])
    # Every format the schemas use is checked by jsonschema's own checker, so both agree on what a valid
    # date-time is (jsonschema-rs alone passes 0000-01-01T00:00:00Z, which jsonschema refuses) and on
    # the formats jsonschema leaves unchecked here (`uri`, without rfc3987).
    checker = Draft202012Validator.FORMAT_CHECKER
    formats: dict[str, Callable[..., bool]] = {
        name: functools.partial(_conforms, checker, name) for name in ("date-time", "uri", "date")
    }
    return jsonschema_rs.validator_for(schema, registry=registry, validate_formats=True, formats=formats, offline=True)


def _conforms(checker: FormatChecker, name: str, value: str) -> bool:
    return bool(checker.conforms(value, name))


# Schema ----------------------------------------------------------------------------------------------------


def check_schema(converted: Converted, issues: Issues) -> None:
    """Every schema error, where it is, in the file's order."""
    package = converted.package
    errors = (
        []
        if quick_validator().is_valid(package)
        else sorted(validator().iter_errors(package), key=lambda e: _sort_key(tuple(e.absolute_path)))
    )
    for error in errors:
        for path, message in _describe(error, converted.format != "json"):
            issues.error("schema", message, grant=grant_id(package, path), where=converted.where(path))
    for index in _repeated_grants(package):
        issues.error(
            "schema",
            "This grant appears earlier in the file exactly the same; give each grant once.",
            grant=grant_id(package, ("grants", index)),
            where=converted.where(("grants", index)),
        )


def _repeated_grants(package: Any) -> Iterator[int]:
    """The positions of grants identical to an earlier one (the package schema's `uniqueItems`)."""
    grants = package.get("grants") if isinstance(package, dict) else None
    if not isinstance(grants, list):
        return
    seen: set[bytes] = set()
    for index, grant in enumerate(grants):
        key = msgspec.json.encode(grant, order="sorted")
        if key in seen:
            yield index
        seen.add(key)


def _sort_key(path: JsonPath) -> list[tuple[int, int | str]]:
    return [(0, part) if isinstance(part, int) else (1, part) for part in path]


def grant_id(package: Any, path: JsonPath) -> str | None:
    """The identifier of the grant a path is in, when it has one."""
    if len(path) >= 2 and path[0] == "grants" and isinstance(path[1], int) and isinstance(package, dict):
        grants = package.get("grants")
        if isinstance(grants, list) and path[1] < len(grants) and isinstance(grants[path[1]], dict):
            found = grants[path[1]].get("id")
            return found if isinstance(found, str) else None
    return None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _describe(error: ValidationError, sheet: bool) -> list[tuple[JsonPath, str]]:
    """An error as the publisher can act on it: a failed `oneOf` is explained by its closest branch."""
    path: JsonPath = tuple(error.absolute_path)
    if error.validator == "oneOf":
        if not error.context:
            if len(path) == 2:
                return [
                    (
                        path,
                        "A grant goes to an organisation or to an individual: give recipientOrganization "
                        "or recipientIndividual, not both.",
                    )
                ]
            return [(path, f"{_short(error.instance)} matches more than one of the forms allowed here.")]
        if all(sub.validator in ("format", "pattern") for sub in error.context):
            return [
                (
                    path,
                    f"{_short(error.instance)} is not a date: write YYYY-MM-DD or a full date-time, "
                    "such as 2016-08-09T00:00:00+00:00.",
                )
            ]
        branches: dict[Any, list[ValidationError]] = defaultdict(list)
        for sub in error.context:
            branches[sub.relative_schema_path[0]].append(sub)
        closest = min(branches.values(), key=len)
        return [described for sub in closest for described in _describe(sub, sheet)]
    if error.validator == "required" and (missing := REQUIRED.match(error.message)):
        name = missing["name"]
        title = column_titles().get("/".join(str(p) if isinstance(p, str) else "0" for p in (*path[2:], name)))
        column = f" (column '{title}')" if sheet and title else ""
        return [(path, f"'{name}' is required{column}.")]
    if error.validator == "minItems" and path == ("grants",):
        hint = (
            " A grants sheet has the 360Giving column titles (Identifier, Title, ...) in its first row and one "
            "grant on each row below."
            if sheet
            else ""
        )
        return [(path, "The file has no grants." + hint)]
    if error.validator == "type" and path == ():
        return [(path, "The file must be a 360Giving package: a JSON object with a `grants` list.")]
    message = error.message if len(error.message) <= MESSAGE_LENGTH else error.message[: MESSAGE_LENGTH - 3] + "..."
    return [(path, message[0].upper() + message[1:] + ("" if message.endswith(".") else "."))]


# Values -------------------------------------------------------------------------------------------------


def money(value: Any) -> Decimal | None:
    """An amount Placenet can hold as money (0 or more, at most two decimal places, under 10^13), or
    None; the published value is then kept as published."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    if amount < 0 or amount >= MAX_AMOUNT or amount != amount.quantize(CENTS):
        return None
    return amount.quantize(CENTS)


def date_of(value: Any) -> datetime.date | None:
    """The calendar date a 360Giving date or date-time is on, as written (its first ten characters)."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return datetime.date.fromisoformat(value[:10])
    except ValueError:
        return None


# Quality ---------------------------------------------------------------------------------------------------


def check_quality(converted: Converted, issues: Issues, today: datetime.date) -> None:
    """360Giving's quality checks on a schema-valid package."""
    grants: list[dict[str, Any]] = converted.package["grants"]
    _identifiers(converted, grants, issues)
    seen_orgs: set[tuple[str, str, str | None, str | None]] = set()
    additional: Counter[str] = Counter()
    for index, grant in enumerate(grants):
        at: JsonPath = ("grants", index)
        gid = grant["id"]
        _text_checks(converted, grant, at, issues)
        _amount_checks(converted, grant, at, issues)
        _date_checks(converted, grant, at, issues, today)
        for role, key in (("funder", "fundingOrganization"), ("recipient", "recipientOrganization")):
            organisations = grant.get(key) or []
            if len(organisations) > 1:
                issues.warn(
                    f"several_{role}s",
                    f"The grant names {len(organisations)} {role}s; Placenet links the first "
                    f"({organisations[0]['id']}) and keeps the others in its 360Giving data.",
                    gid,
                    converted.where((*at, key)),
                )
            for position, organisation in enumerate(organisations):
                _organisation_checks(converted, organisation, role, (*at, key, position), seen_orgs, issues)
        if "recipientIndividual" in grant:
            issues.warn(
                "recipient_individual",
                "A grant to an individual: its recipient is Placenet's shared 'Individual recipients' "
                "organisation, and the individual's details stay in its 360Giving data.",
                gid,
                converted.where((*at, "recipientIndividual")),
            )
        for position, location in enumerate(grant.get("beneficiaryLocation") or []):
            _location_checks(converted, gid, location, (*at, "beneficiaryLocation", position), issues)
        for code_field, kind in (("regrantType", "regrant_type_unknown"), ("locationScope", "location_scope_unknown")):
            value = grant.get(code_field)
            if value is not None and value not in codelist(code_field):
                issues.warn(
                    kind,
                    f"{code_field} '{quoted(value)}' is not in the standard's {code_field} codelist.",
                    gid,
                    converted.where((*at, code_field)),
                )
        additional.update(_additional_fields(grant, grant_schema(), ()))
    for name, count in sorted(additional.items()):
        issues.warn(
            "additional_field",
            f"'{quoted(name)}' is not a field of the 360Giving standard ({count} grant{'s' if count != 1 else ''}); "
            "it is kept with each grant and given back in Placenet's 360Giving export.",
        )


def _identifiers(converted: Converted, grants: list[dict[str, Any]], issues: Issues) -> None:
    positions: dict[str, list[int]] = defaultdict(list)
    for index, grant in enumerate(grants):
        gid = grant["id"]
        positions[gid].append(index)
        if not gid.strip():
            issues.error(
                "identifier_missing",
                "The grant's identifier is empty; Placenet keys grants on it.",
                None,
                converted.where(("grants", index, "id")),
            )
        elif len(gid) > IDENTIFIER_LENGTH:
            issues.error(
                "identifier_too_long",
                f"The identifier is {len(gid)} characters; Placenet holds identifiers of up to {IDENTIFIER_LENGTH}.",
                gid[:40] + "...",
                converted.where(("grants", index, "id")),
            )
        elif not gid.startswith("360G-"):
            issues.warn(
                "identifier_prefix",
                "360Giving grant identifiers start with the publisher's 360G- prefix.",
                gid,
                converted.where(("grants", index, "id")),
            )
        merged = converted.cells.get(f"grants/{index}/id", [])
        if len(merged) > 1:
            issues.warn(
                "duplicate_identifier",
                f"{len(merged)} rows share this identifier, so they were merged into one grant (their lists, "
                "such as planned dates and locations, are joined). Give each grant one row, or a unique "
                "identifier.",
                gid,
                converted.where(("grants", index, "id")),
            )
    for gid, found in positions.items():
        if len(found) > 1:
            places = ", ".join(converted.where(("grants", index)) for index in found)
            issues.error(
                "duplicate_identifier",
                f"{len(found)} grants share this identifier ({places}); each grant needs its own.",
                gid,
                converted.where(("grants", found[1], "id")),
            )


def _text_checks(converted: Converted, grant: dict[str, Any], at: JsonPath, issues: Issues) -> None:
    title, description = grant.get("title"), grant.get("description")
    if isinstance(title, str) and len(title) > TITLE_LENGTH:
        issues.warn(
            "title_long",
            f"The title is {len(title)} characters; 360Giving asks for titles under {TITLE_LENGTH}.",
            grant["id"],
            converted.where((*at, "title")),
        )
    if isinstance(title, str) and title.strip() and title.strip() == (description or "").strip():
        issues.warn(
            "title_same_as_description",
            "The title and the description are the same; a description says more about what the grant is for.",
            grant["id"],
            converted.where((*at, "description")),
        )


def _amount_checks(converted: Converted, grant: dict[str, Any], at: JsonPath, issues: Issues) -> None:
    for name in ("amountAwarded", "amountAppliedFor", "amountDisbursed"):
        value = grant.get(name)
        if value is None:
            continue
        if value == 0 and name == "amountAwarded":
            issues.warn("amount_zero", "The amount awarded is 0.", grant["id"], converted.where((*at, name)))
        elif value < 0:
            issues.warn(
                "amount_negative",
                f"{name} is negative ({value}); Placenet shows no amount for it and keeps the published value in "
                "its 360Giving data.",
                grant["id"],
                converted.where((*at, name)),
            )
        elif money(value) is None:
            issues.warn(
                "amount_unusual",
                f"{name} {value} has more than two decimal places or is too large for Placenet's money fields; "
                "the published value is kept in its 360Giving data.",
                grant["id"],
                converted.where((*at, name)),
            )


def _date_checks(
    converted: Converted, grant: dict[str, Any], at: JsonPath, issues: Issues, today: datetime.date
) -> None:
    awarded = grant.get("awardDate")
    if awarded is not None:
        day = date_of(awarded)
        if day is None:
            issues.warn(
                "date_invalid",
                f"The award date '{quoted(awarded)}' is not a real calendar date; it is kept as published.",
                grant["id"],
                converted.where((*at, "awardDate")),
            )
        elif day > today:
            issues.warn(
                "award_date_future",
                f"The award date {day} is in the future; an award date is when the decision was made.",
                grant["id"],
                converted.where((*at, "awardDate")),
            )
    for position, planned in enumerate(grant.get("plannedDates") or []):
        start, end = date_of(planned.get("startDate")), date_of(planned.get("endDate"))
        if start and end and end < start:
            issues.warn(
                "planned_dates_order",
                f"The planned end date {end} is before the planned start date {start}.",
                grant["id"],
                converted.where((*at, "plannedDates", position, "endDate")),
            )


def _organisation_checks(
    converted: Converted,
    organisation: dict[str, Any],
    role: str,
    at: JsonPath,
    seen: set[tuple[str, str, str | None, str | None]],
    issues: Issues,
) -> None:
    """The org-id checks, once per distinct organisation and role (a funder on every row is one)."""
    identifier = organisation["id"].strip()
    charity, company = organisation.get("charityNumber"), organisation.get("companyNumber")
    key = (identifier, role, charity, company)
    if key in seen:
        return
    seen.add(key)
    where = converted.where((*at, "id"))
    if not identifier:
        issues.error(
            "org_id_missing",
            f"The {role}'s identifier is empty; Placenet matches organisations on it.",
            grant_id(converted.package, at),
            where,
        )
        return
    if len(identifier) > IDENTIFIER_LENGTH:
        issues.error(
            "org_id_too_long",
            f"The {role} identifier is {len(identifier)} characters; Placenet holds org-ids of up to "
            f"{IDENTIFIER_LENGTH}.",
            grant_id(converted.package, at),
            where,
        )
        return
    for kind, message, name in orgids.checks(identifier, role, charity, company):
        issues.warn(kind, message, grant_id(converted.package, at), converted.where((*at, name)))


def _location_checks(converted: Converted, gid: str, location: dict[str, Any], at: JsonPath, issues: Issues) -> None:
    code = geocodes.normalise(location.get("geoCode"))
    given_type = location.get("geoCodeType")
    if code is not None and not geocodes.is_gss(code):
        issues.warn(
            "geo_code_not_gss",
            f"The geographic code '{quoted(location.get('geoCode'))}' is not an ONS GSS code (a letter and eight "
            "digits); the location is kept on the grant but matches no place.",
            gid,
            converted.where((*at, "geoCode")),
        )
    if not isinstance(given_type, str) or not given_type.strip():
        return
    derived = geocodes.code_type(code)
    if given_type.strip() not in codelist("geoCodeType"):
        suggestion = f"; the code says {derived[0]} ({derived[1]})" if derived else ""
        issues.warn(
            "geo_code_type_unknown",
            f"The geoCodeType '{quoted(given_type)}' is not in the standard's geoCodeType codelist{suggestion}.",
            gid,
            converted.where((*at, "geoCodeType")),
        )
    elif derived is not None and derived[0] != given_type.strip():
        issues.warn(
            "geo_code_type_mismatch",
            f"{code} is a {derived[0]} code ({derived[1]}), not {quoted(given_type)}; Placenet goes by the code.",
            gid,
            converted.where((*at, "geoCodeType")),
        )


def _additional_fields(value: Any, schema: dict[str, Any], path: tuple[str, ...]) -> set[str]:
    """The paths (`recipientOrganization/Notes`) of fields the standard does not define, once per grant.
    Walked with a list of what is left to look at rather than by recursion: every grant of a file is
    walked, and a generator per object was most of the quality checks' time."""
    found: set[str] = set()
    left = [(value, schema, path)]
    while left:
        value, schema, path = left.pop()
        schema = _resolve(schema)
        if isinstance(value, list):
            items = schema.get("items")
            if isinstance(items, dict):
                left.extend((item, items, path) for item in value if isinstance(item, dict | list))
            continue
        properties = schema.get("properties")
        if not isinstance(value, dict) or not isinstance(properties, dict):
            continue
        for key, item in value.items():
            if key not in properties:
                found.add("/".join((*path, key)))
            elif isinstance(item, dict | list):  # only objects hold fields (most values are text or numbers)
                left.append((item, properties[key], (*path, key)))
    return found


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    reference = schema.get("$ref")
    if isinstance(reference, str) and reference.startswith("#/$defs/"):
        resolved: dict[str, Any] = grant_schema()["$defs"][reference.removeprefix("#/$defs/")]
        return resolved
    return schema
