"""Beneficiary location codes: which are GSS codes, and what kind of area a code names, derived from
the code itself (its first three characters) and never taken from the file's geoCodeType."""

from __future__ import annotations

import re
from typing import Any

from api.services.giving360.reference import geo_code_types

GSS = re.compile(r"^[EWSNK]\d{8}$")

# Areas Placenet holds whose entity the 360Giving codelist does not list. The codes follow the ONS
# names; a file that uses them gets a "not in the codelist" warning like any other non-standard type.
EXTRA_TYPES = {
    "K02": ("UK", "United Kingdom"),
    "E92": ("CTRY", "Countries"),
    "W92": ("CTRY", "Countries"),
    "S92": ("CTRY", "Countries"),
    "N92": ("CTRY", "Countries"),
    "E11": ("MCTY", "Metropolitan Counties"),
    "E47": ("CAUTH", "Combined Authorities"),
    "N09": ("LGD", "Local Government Districts (Northern Ireland)"),
}


def normalise(code: Any) -> str | None:
    """A published geoCode as Placenet compares it (trimmed, upper case), or None when there is none."""
    if not isinstance(code, str) or not code.strip():
        return None
    return code.strip().upper()


def is_gss(code: str | None) -> bool:
    return code is not None and GSS.match(code) is not None


def code_type(code: str | None) -> tuple[str, str] | None:
    """The geoCodeType code and title of the area a GSS code names (`E06000038` is `UA`, Unitary
    Authorities), or None when the code's entity is not one the codelist or Placenet knows."""
    if not is_gss(code):
        return None
    assert code is not None
    entity = code[:3]
    return geo_code_types().get(entity) or EXTRA_TYPES.get(entity)


def standard_type(code: str | None) -> str | None:
    """The codelist's geoCodeType for a GSS code, or None when the codelist has none for its entity
    (then an export leaves geoCodeType out rather than invent one)."""
    if not is_gss(code):
        return None
    assert code is not None
    found = geo_code_types().get(code[:3])
    return found[0] if found else None


def describe(code: str) -> str:
    """`E11000020 (Metropolitan Counties, MCTY)`, for messages."""
    found = code_type(code)
    return f"{code} ({found[1]}, {found[0]})" if found else code
