"""The places fixture as fixtures/build_places.py writes it: read as JSON, without a database."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from fixtures import build_places

ENGLAND = "E92000001"
BURY = "E08000002"
GREATER_MANCHESTER = "E47000001"
GREATER_LINCOLNSHIRE = "E47000017"


@cache
def uk_places() -> tuple[dict[str, Any], ...]:
    data = json.loads((build_places.OUTPUT / "uk.json").read_text(encoding="utf-8"))
    return tuple(data["places"])


def place(key: str) -> dict[str, Any]:
    """The place with this GSS code or slug."""
    return next(p for p in uk_places() if build_places.place_key(p) == key)


def members(name: str, level: str) -> set[str]:
    """The names of the places that list the area of this name and level in also_within."""
    area = next(p for p in uk_places() if p["name"] == name and p["level"] == level)
    key = build_places.place_key(area)
    return {p["name"] for p in uk_places() if key in p.get("also_within", [])}


def test_bury_is_also_within_greater_manchester() -> None:
    assert GREATER_MANCHESTER in place(BURY)["also_within"]
    assert place(GREATER_MANCHESTER)["name"] == "Greater Manchester"


def test_greater_lincolnshire_spans_two_regions_so_sits_under_england() -> None:
    assert place(GREATER_LINCOLNSHIRE)["parent"] == ENGLAND


def test_every_place_named_in_also_within_comes_earlier_in_the_file() -> None:
    seen: set[str] = set()
    for p in uk_places():
        later = [key for key in p.get("also_within", []) if key not in seen]
        assert later == [], p["slug"]
        seen.update(key for key in (p["gss_code"], p["slug"]) if key)


def test_merseyside_is_its_five_boroughs() -> None:
    assert members("Merseyside", "ceremonial_county") == {"Knowsley", "Liverpool", "Sefton", "St. Helens", "Wirral"}


def test_berkshire_is_its_six_unitary_authorities() -> None:
    berkshire = members("Berkshire", "ceremonial_county")
    six = {"Bracknell Forest", "Reading", "Slough", "West Berkshire", "Windsor and Maidenhead", "Wokingham"}
    assert berkshire == six
    assert {p["area_type"] for p in uk_places() if p["name"] in six} == {"Unitary authority"}
