"""Organisation identifiers (org-id.guide): the list prefix of an identifier, the checks 360Giving's
own tools make on them, and the kind of organisation a new record is given."""

from __future__ import annotations

import re
from collections.abc import Iterator

from api.services.giving360.issues import quoted
from api.services.giving360.reference import org_id_prefixes

# Identifiers Placenet's own export makes for organisations without an org-id: `360G-placenet-<slug>`.
PLACENET_PREFIX = "360G-placenet-"

CHARITY_NUMBER = re.compile(r"^\d{6,7}$")
SCOTTISH_CHARITY_NUMBER = re.compile(r"^SC\d{6}$")
NI_CHARITY_NUMBER = re.compile(r"^(?:NIC)?\d{6}$")
COMPANY_NUMBER = re.compile(r"^[A-Z0-9]{8}$")

KIND_BY_PREFIX = {
    "GB-CHC": "charity",
    "GB-SC": "charity",
    "GB-NIC": "charity",
    "GB-REV": "charity",
    "IE-CHY": "charity",
    "GB-LAE": "local_authority",
    "GB-LAS": "local_authority",
    "GB-PLA": "local_authority",
    "GB-LANI": "local_authority",
    "GB-NHS": "nhs_body",
    "GB-GOR": "government_body",
    "GB-GOV": "government_body",
    "GB-GOVUK": "government_body",
    "GB-HESA": "university",
    "GB-CASC": "community_group",
}


def prefix_of(identifier: str) -> str | None:
    """The longest registered list code the identifier starts with (`GB-SC` in `GB-SC-SC012345`),
    compared without regard to case; None when it starts with none."""
    upper = identifier.upper()
    known = org_id_prefixes()
    parts = upper.split("-")
    for end in range(len(parts) - 1, 0, -1):
        candidate = "-".join(parts[:end])
        if candidate in known:
            return candidate
    return None


def local_part(identifier: str, prefix: str) -> str:
    return identifier[len(prefix) + 1 :]


def checks(
    identifier: str, role: str, charity_number: str | None = None, company_number: str | None = None
) -> Iterator[tuple[str, str, str]]:
    """(kind, message, field) for each thing 360Giving's data quality checks would flag in an organisation's
    identifier and registration numbers. `role` is `funder` or `recipient`."""
    prefix = prefix_of(identifier)
    if prefix is None:
        yield (
            "org_id_prefix",
            f"The {role} identifier '{identifier}' does not start with a registered org-id.guide prefix "
            "(such as GB-CHC- for a charity or GB-COH- for a company) or 360G-.",
            "id",
        )
    else:
        yield from _number_checks(identifier, prefix, role)
    if charity_number and not _is_charity_number(charity_number):
        yield (
            "charity_number",
            f"The {role} charity number '{quoted(charity_number)}' is not a charity number: 6 or 7 digits "
            "(SC and 6 digits in Scotland).",
            "charityNumber",
        )
    if company_number and not COMPANY_NUMBER.match(company_number.strip().upper()):
        yield (
            "company_number",
            f"The {role} company number '{quoted(company_number)}' is not 8 characters: keep the leading zeros "
            f"({quoted(company_number.strip().zfill(8))}).",
            "companyNumber",
        )
    if prefix == "360G" and (charity_number or company_number):
        better = quoted(
            f"GB-CHC-{charity_number.strip()}" if charity_number else f"GB-COH-{(company_number or '').strip()}"
        )
        yield (
            "org_id_registered_number",
            f"The {role} identifier '{identifier}' is the funder's own, but the organisation has a registered "
            f"number: {better} would let other funders' data match it.",
            "id",
        )


def _is_charity_number(number: str) -> bool:
    value = number.strip().upper()
    return any(p.match(value) for p in (CHARITY_NUMBER, SCOTTISH_CHARITY_NUMBER, NI_CHARITY_NUMBER))


def _number_checks(identifier: str, prefix: str, role: str) -> Iterator[tuple[str, str, str]]:
    number = local_part(identifier, prefix)
    if prefix == "GB-CHC" and not CHARITY_NUMBER.match(number):
        yield (
            "charity_number",
            f"The {role} identifier '{identifier}' has no valid charity number after GB-CHC- (6 or 7 digits).",
            "id",
        )
    elif prefix == "GB-SC" and not SCOTTISH_CHARITY_NUMBER.match(number.upper()):
        yield (
            "charity_number",
            f"The {role} identifier '{identifier}' has no valid Scottish charity number after GB-SC- (SC and "
            "6 digits, such as GB-SC-SC012345).",
            "id",
        )
    elif prefix == "GB-COH" and not COMPANY_NUMBER.match(number.upper()):
        yield (
            "company_number",
            f"The {role} identifier '{identifier}' has no valid company number after GB-COH- (8 characters, "
            f"leading zeros kept: GB-COH-{number.zfill(8)}).",
            "id",
        )


def kind_for(identifier: str | None, role: str, charity_number: str | None = None) -> str:
    """The kind a new organisation is given: `funder` for funders; for recipients, what the
    identifier's register says about it, else `other`."""
    if role == "funder":
        return "funder"
    prefix = prefix_of(identifier) if identifier else None
    if prefix in KIND_BY_PREFIX:
        return KIND_BY_PREFIX[prefix]
    return "charity" if charity_number else "other"
