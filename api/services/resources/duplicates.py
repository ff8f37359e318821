"""Organisations that may be one body: the same identifier, the same registered number under another
list or a publisher's own id, or the same name once its decoration is set aside. Each candidate comes
with its reasons and a score; a merge (merge.py) is the admin's decision."""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from typing import Any
from uuid import UUID

from api.schemas.common import Reference
from api.schemas.organisations import DuplicateCandidate, DuplicateEvidence, DuplicateReason, OrganisationDuplicates
from api.services.platform.sql import contains
from api.services.records import resource as records
from api.services.records.resource import ORGANISATION, any_of
from api.services.resources import organisations
from models.tables import Organisation, OrganisationAlias

# Words that decorate a name without telling bodies apart ("The X Trust Ltd" is "X Trust").
DECORATION = {"the", "ltd", "limited", "cic", "cio", "plc", "llp", "inc", "incorporated", "uk", "co"}
# How much each reason says on its own; several together count as independent evidence.
WEIGHTS: dict[DuplicateReason, float] = {"same_org_id": 1.0, "registered_number": 0.9, "same_name": 0.6}
# A name shared by two bodies registered on the same list under different numbers: likely two bodies.
DIFFERENT_REGISTRATIONS = 0.3
# A registered number: digits (a charity or company number), optionally after a letter prefix (SC012345).
NUMBER = re.compile(r"^[A-Z]{0,2}\d{5,}$")
# How many organisations sharing a name's rarest word are compared; a bound, not a page.
NAME_SCAN = 5000


def normalised_name(name: str) -> str:
    """A name as compared: ASCII, lower case, `&` as `and`, no punctuation or decoration words."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower().replace("&", " and ")
    words = re.sub(r"[^a-z0-9]+", " ", text.replace("'", "")).split()
    return " ".join(word for word in words if word not in DECORATION)


def registered_numbers(identifier: str) -> set[str]:
    """The registered numbers in an identifier (`GB-CHC-1136047`, `360G-x-ORG:1136047`), leading zeros
    dropped so a company number matches however it was written."""
    found = set()
    for part in re.split(r"[^A-Za-z0-9]+", identifier.upper()):
        if NUMBER.match(part):
            prefix = part.rstrip("0123456789")
            found.add(prefix + (part[len(prefix) :].lstrip("0") or "0"))
    return found


def _scheme(identifier: str) -> str:
    """The list an org-id is on (`GB-CHC`), for telling two registrations apart."""
    return "-".join(identifier.upper().split("-")[:2])


async def _identifiers(ids: list[UUID]) -> dict[UUID, set[str]]:
    """Each organisation's identifiers: its org-id and those of organisations merged into it."""
    found: dict[UUID, set[str]] = defaultdict(set)
    if not ids:
        return found
    for row in await Organisation.select(Organisation.id, Organisation.org_id).where(Organisation.id.is_in(ids)):
        if row["org_id"]:
            found[row["id"]].add(row["org_id"])
    aliases = await OrganisationAlias.select(OrganisationAlias.organisation, OrganisationAlias.alias).where(
        OrganisationAlias.organisation.is_in(ids), OrganisationAlias.kind == "org_id"
    )
    for row in aliases:
        found[row["organisation"]].add(row["alias"])
    return found


async def _holding(texts: list[str]) -> set[UUID]:
    """Organisations with an identifier (own or kept from a merge) containing one of the texts."""
    if not texts:
        return set()
    own = await Organisation.select(Organisation.id).where(any_of(contains(Organisation.org_id, t) for t in texts))
    kept = await OrganisationAlias.select(OrganisationAlias.organisation).where(
        OrganisationAlias.kind == "org_id", any_of(contains(OrganisationAlias.alias, t) for t in texts)
    )
    return {row["id"] for row in own} | {row["organisation"] for row in kept}


async def _holding_exactly(identifiers: set[str]) -> set[UUID]:
    """Organisations with one of these identifiers (own or kept from a merge), in any case."""
    wanted = list({variant for i in identifiers for variant in (i, i.upper(), i.lower())})
    if not wanted:
        return set()
    own = await Organisation.select(Organisation.id).where(Organisation.org_id.is_in(wanted))
    kept = await OrganisationAlias.select(OrganisationAlias.organisation).where(
        OrganisationAlias.kind == "org_id", OrganisationAlias.alias.is_in(wanted)
    )
    return {row["id"] for row in own} | {row["organisation"] for row in kept}


async def _same_name(name: str) -> dict[UUID, str]:
    """Organisations whose normalised name is this one's, found through the name's longest word."""
    words = sorted(name.split(), key=len, reverse=True)
    if not words:
        return {}
    rows = (
        await Organisation.select(Organisation.id, Organisation.name)
        .where(contains(Organisation.name, words[0]))
        .limit(NAME_SCAN)
    )
    return {row["id"]: row["name"] for row in rows if normalised_name(row["name"]) == name}


async def duplicates(*, ref: str, limit: int) -> OrganisationDuplicates:
    """The organisations that may be the same body as the one `ref` names, most likely first."""
    target = await records.resolve(ORGANISATION, ref)
    row: dict[str, Any] = await records.one(
        Organisation.select(Organisation.id, Organisation.slug, Organisation.name).where(Organisation.id == target)
    )
    own = (await _identifiers([target])).get(target, set())
    numbers = {number for identifier in own for number in registered_numbers(identifier)}
    evidence: dict[UUID, list[DuplicateEvidence]] = defaultdict(list)
    for other in await _holding_exactly(own):
        evidence[other].append(DuplicateEvidence(reason="same_org_id", detail="an org-id in common"))
    by_number = await _holding(sorted(numbers))
    name = normalised_name(row["name"])
    by_name = await _same_name(name)
    candidates = (set(evidence) | by_number | set(by_name)) - {target}
    identifiers = await _identifiers(list(candidates))
    for other in by_number - {target}:
        theirs = {n for identifier in identifiers.get(other, ()) for n in registered_numbers(identifier)}
        shared = sorted(numbers & theirs)
        upper = {i.upper() for i in own}
        if shared and not any(i.upper() in upper for i in identifiers.get(other, ())):
            evidence[other].append(
                DuplicateEvidence(reason="registered_number", detail=f"both have the number {', '.join(shared)}")
            )
    for other in set(by_name) - {target}:
        evidence[other].append(DuplicateEvidence(reason="same_name", detail=f"both are named '{name}' once normalised"))
    scored = {
        other: _score(reasons, own, identifiers.get(other, set()))
        for other, reasons in evidence.items()
        if other != target
    }
    structs = {struct.id: struct for struct in await records.fetch(organisations.RESOURCE, list(scored))}
    items = sorted(
        (
            DuplicateCandidate(
                organisation=structs[other],
                score=score,
                reasons=sorted(evidence[other], key=lambda e: -WEIGHTS[e.reason]),
            )
            for other, score in scored.items()
        ),
        key=lambda c: (-c.score, c.organisation.name, str(c.organisation.id)),
    )
    return OrganisationDuplicates(
        organisation=Reference(id=row["id"], slug=row["slug"], name=row["name"]), items=items[:limit]
    )


def _score(reasons: list[DuplicateEvidence], own: set[str], theirs: set[str]) -> float:
    weights = [WEIGHTS[reason.reason] for reason in reasons]
    if [reason.reason for reason in reasons] == ["same_name"] and _registered_apart(own, theirs):
        weights = [DIFFERENT_REGISTRATIONS]
    doubt = 1.0
    for weight in weights:
        doubt *= 1 - weight
    return round(1 - doubt, 3)


def _registered_apart(own: set[str], theirs: set[str]) -> bool:
    """Both registered on the same list (other than a publisher's own ids), under different identifiers."""
    mine = {_scheme(i): i.upper() for i in own if not i.upper().startswith("360G-")}
    other = {_scheme(i): i.upper() for i in theirs if not i.upper().startswith("360G-")}
    return any(scheme in other and other[scheme] != identifier for scheme, identifier in mine.items())
