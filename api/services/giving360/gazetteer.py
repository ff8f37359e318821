"""The gazetteer: the names people write for places, for matching 360Giving beneficiary locations that
have no code. A place is known by its own name, its council's official name ("Hull City Council") and the
reviewed aliases of fixtures/places/aliases.json ("UK Wide", "Greater London", "Cymru"); names are compared
normalised, never fuzzily, so a misspelt name matches nothing rather than the wrong place.

Published locations are often composite: "South East - Kent", "Manchester, North West", "Kent (South
East)". The specific part is the one the pattern puts there (after a dash; before a comma or a bracket)
and the location is matched to it when it names exactly one place. The other parts are context: they
break a tie between places of the same name ("Newport, Isle of Wight"), and are ignored otherwise, since
publishers often get the region wrong. A name that still names several places is not guessed: the match
says so, with its candidates."""

from __future__ import annotations

import json
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal
from uuid import UUID

from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

# The reviewed name files live with the places fixtures they describe (fixtures/reference/README.md).
PLACES_DATA = Path(__file__).resolve().parents[3] / "fixtures" / "places"
ALIASES_FILE = PLACES_DATA / "aliases.json"
OFFICIAL_NAMES_FILE = PLACES_DATA / "official_names.json"

# How deep a level sits: the deepest part of a composite name is its most specific. Neighbourhoods are
# left out: their names ("Marks Gate") are local and repeat across the country.
LEVEL_DEPTH = {
    "uk": 1,
    "nation": 2,
    "region": 3,
    "ceremonial_county": 4,
    "former_county": 4,
    "combined_authority": 4,
    "county": 5,
    "local_authority": 6,
}

MatchedBy = Literal["code", "former_code", "name", "alias", "near_name", "recipient_address"]
NameMatchedBy = Literal["name", "alias", "near_name"]
# A name the gazetteer does not hold is read as a misspelling of one it does only when it is this long
# (shorter names are too close to each other: "Bury", "Bute") and within this many edits (a letter left
# out, added, changed or two swapped) of exactly one name: one for names under `LONG_NAME`, two above.
NEAR_MIN_LENGTH = 6
LONG_NAME = 10

# Words around a place's name in council titles and in publishers' spellings: "City of Edinburgh",
# "London Borough of Hackney", "Bristol, City of", "Durham County Council". Stripped (longest first)
# only when the whole name does not match, so "City of London" stays the City, not London.
PREFIXES = (
    "the ",
    "city and county of ",
    "city of ",
    "county of ",
    "royal borough of ",
    "london borough of ",
    "metropolitan borough of ",
    "borough of ",
    "county ",
)
SUFFIXES = (
    " council",
    " corporation",
    " city of",
    " county of",
    " metropolitan borough",
    " county borough",
    " borough",
    " district",
    " county",
    " city",
)
# A composite location's parts: a spaced dash ("South East - Kent"), a comma, or a bracket.
DASH_SEPARATOR = re.compile(r"\s+[-\u2010-\u2015]\s+")
COMMA_OR_BRACKET = re.compile(r"[,;()\[\]]")


def normalise(text: str) -> str:
    """A name as the gazetteer compares it: lower case, accents off ("Môn" is "mon"), "&" as "and",
    hyphens, dashes, apostrophes, full stops and other punctuation as spaces, and single spaces."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    text = text.replace("&", " and ")
    text = re.sub(r"['\u2019.]", "", text)  # "King's Lynn" and "Kings Lynn", "U.K." and "UK"
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def stripped(key: str) -> str:
    """A normalised name without the council and city words around it ("bristol city council" is
    "bristol"), stripped until none is left."""
    changed = True
    while changed:
        changed = False
        for prefix in PREFIXES:
            if key.startswith(prefix) and len(key) > len(prefix):
                key, changed = key[len(prefix) :], True
        for suffix in SUFFIXES:
            if key.endswith(suffix) and len(key) > len(suffix):
                key, changed = key[: -len(suffix)], True
    return key


@dataclass(frozen=True)
class GazetteerPlace:
    """A place as the gazetteer knows it; `within` is the place and the ids of every place above it."""

    id: UUID
    gss_code: str | None
    name: str
    level: str
    within: frozenset[UUID]

    @property
    def depth(self) -> int:
        return LEVEL_DEPTH[self.level]


@dataclass(frozen=True)
class NameMatch:
    """What a location name names: one place and how it was found, or nothing. `candidates` are the
    places an ambiguous name might mean (then `place` is None and nothing is guessed)."""

    place: GazetteerPlace | None = None
    matched_by: NameMatchedBy | None = None
    candidates: tuple[GazetteerPlace, ...] = ()
    # The part of a composite name that decided, when it is not the whole name.
    part: str | None = None

    @property
    def ambiguous(self) -> bool:
        return self.place is None and len(self.candidates) > 1


@dataclass(frozen=True)
class _Lookup:
    places: tuple[GazetteerPlace, ...]
    matched_by: NameMatchedBy


@dataclass
class Gazetteer:
    """Every place's names, normalised, each with the places it names."""

    places: Sequence[GazetteerPlace]
    official_names: Mapping[str, str] = field(default_factory=dict)
    aliases: Sequence[Mapping[str, Any]] = ()
    ambiguous: Sequence[Mapping[str, Any]] = ()
    # Reviewed hints for one publisher's files (by its identifier prefix, `360G-blagravetrust-`): what an
    # ambiguous name means when that publisher writes it ("Newport" from a Welsh funder).
    hints: Sequence[Mapping[str, Any]] = ()

    def __post_init__(self) -> None:
        by_code = {p.gss_code: p for p in self.places if p.gss_code}
        self._names: dict[str, set[GazetteerPlace]] = defaultdict(set)
        self._stripped: dict[str, set[GazetteerPlace]] = defaultdict(set)
        self._aliases: dict[str, set[GazetteerPlace]] = defaultdict(set)
        for place in self.places:
            names = [place.name]
            if place.gss_code and place.gss_code in self.official_names:
                names.append(self.official_names[place.gss_code])
            for name in names:
                self._names[normalise(name)].add(place)
                self._stripped[stripped(normalise(name))].add(place)
        # An alias decides its name, even one a place also has ("Greater London"): the file is reviewed.
        # An ambiguous entry lists every place the name might mean, so it is never guessed.
        # A place with no GSS code (a ceremonial or former county) is named by its name and level instead.
        by_name = {(p.name, p.level): p for p in self.places if not p.gss_code}
        for entry in self.aliases:
            named = (str(entry.get("place")), str(entry.get("level")))
            target = by_code.get(entry["gss_code"]) if "gss_code" in entry else by_name.get(named)
            if target is not None:
                self._aliases[normalise(entry["name"])].add(target)
        for entry in self.ambiguous:
            self._aliases[normalise(entry["name"])].update(by_code[c] for c in entry["gss_codes"] if c in by_code)
        self._hints: dict[tuple[str, str], GazetteerPlace] = {}
        for entry in self.hints:
            if entry["gss_code"] in by_code:
                self._hints[entry["publisher"].lower(), normalise(entry["name"])] = by_code[entry["gss_code"]]
        # The names a misspelling may be near: places' own and official names, whole and without their council
        # words (an alias is reviewed as written).
        self._spelt: dict[str, set[GazetteerPlace]] = defaultdict(set)
        for index in (self._names, self._stripped):
            for name, places in index.items():
                self._spelt[name].update(places)
        self._spellings = sorted(self._spelt)

    def _lookup(self, text: str) -> _Lookup | None:
        key = normalise(text)
        if not key:
            return None
        short = stripped(key)
        for index, name, matched_by in (
            (self._aliases, key, "alias"),
            (self._names, key, "name"),
            (self._aliases, short, "alias"),
            (self._stripped, short, "name"),
        ):
            if index.get(name):
                # A name two places share where one holds the other ("Lancashire": the ceremonial county,
                # and the county council's area inside it) names the inner one, the authority: publishers
                # write the authority's name, and what is in it counts in the larger area too. A reviewed
                # alias or ambiguous entry is taken as it is.
                places = index[name] if matched_by == "alias" else _innermost(index[name])
                return _Lookup(_ordered(places), matched_by)  # type: ignore[arg-type]
        return None

    def _near(self, text: str) -> _Lookup | None:
        """The one place a name the gazetteer does not hold clearly means, as a misspelling of one of its
        names ("Manchestr", "Nottinghamshre"); None when no name, or more than one, is that near."""
        key = normalise(text)
        if len(key) < NEAR_MIN_LENGTH:
            return None
        edits = 1 if len(key) < LONG_NAME else 2
        near = process.extract(key, self._spellings, scorer=DamerauLevenshtein.distance, score_cutoff=edits, limit=3)
        if len(near) != 1:
            return None
        places = _innermost(self._spelt[near[0][0]])
        return _Lookup(_ordered(places), "near_name") if len(places) == 1 else None

    def match(self, text: str, publisher: str | None = None) -> NameMatch:
        """The place a published location name names, the places an ambiguous one might mean, or
        nothing (a name no place has, or a composite whose specific part names none). A reviewed hint for
        the publisher (its identifier prefix) settles a name first."""
        hinted = self._hints.get((publisher.lower(), normalise(text))) if publisher else None
        if hinted is not None:
            return NameMatch(hinted, "alias")
        whole = self._lookup(text)
        if whole is not None and len(whole.places) == 1:
            return NameMatch(whole.places[0], whole.matched_by)
        parts = _parts(text)
        if len(parts) < 2:
            if whole is None and (near := self._near(text)) is not None:
                return NameMatch(near.places[0], near.matched_by)
            return NameMatch(candidates=whole.places) if whole else NameMatch()
        specific = parts[-1] if DASH_SEPARATOR.search(text) and not COMMA_OR_BRACKET.search(text) else parts[0]
        found = {part: lookup for part in parts if (lookup := self._lookup(part)) is not None}
        if specific not in found and whole is None and (near := self._near(specific)) is not None:
            found[specific] = near
        if specific not in found:
            # The specific part names nothing (not even as a clear misspelling, or a place Placenet does not
            # hold): never placed on the broader context alone, which would say less than the publisher meant.
            return NameMatch(candidates=whole.places) if whole else NameMatch()
        # The deepest part named is the most specific ("Kent - South East" is Kent, whatever the order).
        chosen = max(found, key=lambda part: (max(p.depth for p in found[part].places), part == specific))
        lookup = found[chosen]
        if len(lookup.places) == 1:
            return NameMatch(lookup.places[0], lookup.matched_by, part=chosen)
        context = {p.id for part, other in found.items() if part != chosen for p in other.places}
        within = [p for p in lookup.places if p.within & context]
        if len(within) == 1:
            return NameMatch(within[0], lookup.matched_by, part=chosen)
        return NameMatch(candidates=lookup.places, part=chosen)


def _innermost(places: set[GazetteerPlace]) -> set[GazetteerPlace]:
    """The one place that all the others hold, when there is one; else all of them."""
    for place in places:
        if all(other.id in place.within for other in places):
            return {place}
    return places


def _ordered(places: Iterable[GazetteerPlace]) -> tuple[GazetteerPlace, ...]:
    """Candidates in a stable order: the broadest first, then by code."""
    return tuple(sorted(places, key=lambda p: (p.depth, p.gss_code or "", p.name)))


def _parts(text: str) -> list[str]:
    """The parts of a composite name, in the order written, without empty ones."""
    pieces = COMMA_OR_BRACKET.split(text)
    parts = [part.strip() for piece in pieces for part in DASH_SEPARATOR.split(piece)]
    return [part for part in parts if normalise(part)]


@cache
def name_files() -> tuple[dict[str, str], list[dict[str, Any]], list[dict[str, Any]]]:
    """The official names, the aliases and the ambiguous names, read once."""
    official = json.loads(OFFICIAL_NAMES_FILE.read_text(encoding="utf-8"))["official_names"]
    aliases = json.loads(ALIASES_FILE.read_text(encoding="utf-8"))
    return (
        {entry["gss_code"]: entry["official_name"] for entry in official},
        aliases["aliases"],
        aliases["ambiguous"],
    )


@cache
def publisher_hints() -> list[dict[str, Any]]:
    """The reviewed hints for publishers' ambiguous names, read once."""
    hints: list[dict[str, Any]] = json.loads(ALIASES_FILE.read_text(encoding="utf-8")).get("publisher_hints", [])
    return hints


@cache
def _other_names() -> tuple[tuple[str, str], ...]:
    """(normalised name, GSS code) for every official name, alias and ambiguous name in the name files; for
    an alias of a place with no code, the place's name stands for the code."""
    official, aliases, ambiguous = name_files()
    pairs = [(name, code) for code, name in official.items()]
    pairs += [(entry["name"], entry.get("gss_code") or entry["place"]) for entry in aliases]
    pairs += [(entry["name"], code) for entry in ambiguous for code in entry["gss_codes"]]
    return tuple((normalise(name), code) for name, code in pairs)


def codes_named(text: str) -> list[str]:
    """The GSS codes of the places whose official name, alias or Welsh name contains `text` (compared
    normalised), or the place's own name for a place with no code: what a search for a place finds beyond
    its own name."""
    key = normalise(text)
    return sorted({code for name, code in _other_names() if key and key in name})


def build(places: Iterable[GazetteerPlace]) -> Gazetteer:
    official, aliases, ambiguous = name_files()
    return Gazetteer(list(places), official, aliases, ambiguous, publisher_hints())
