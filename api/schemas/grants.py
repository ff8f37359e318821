"""Grants, compatible with the 360Giving Data Standard."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from api.schemas.common import Date, LongText, Money, MoneyIn, Name, Page, Provenance, Ref, Reference, Slug, WriteBody

IDENTIFIER = Meta(
    min_length=1,
    max_length=200,
    pattern=r"^[^\x00-\x20\x7f]+$",
    description="The grant's 360Giving identifier (a 360G- prefix and the funder's own id), when it has one.",
    examples=["360G-LankellyChase-2017-001"],
)
DESCRIPTION = Meta(description="What the grant is for.")
FUNDER = Meta(description="The organisation that made the grant.")
RECIPIENT = Meta(description="The organisation that received it.")
AMOUNT = Meta(description="The amount awarded; empty when not published.")
AWARDED = Meta(description="When the grant was awarded, when known.")
PLANNED_START = Meta(description="When the funded work was planned to start.")
PLANNED_END = Meta(description="When the funded work was planned to end.")
PROGRAMME = Meta(description="The funder's grant programme.", max_length=300, pattern=r"^[^\x00]*$")
PLACES = Meta(description="The places that benefit; a place includes every place below it.", max_length=500)


class UnmatchedLocation(msgspec.Struct):
    """A beneficiary location from a 360Giving file that names no place Placenet knows, kept as published."""

    name: Annotated[str | None, Meta(description="The location's name, as published.")]
    geo_code: Annotated[str | None, Meta(description="Its geographic code, as published.", examples=["E11000020"])]
    geo_code_type: Annotated[str | None, Meta(description="Its geoCodeType, as published (not trusted).")]
    area_type: Annotated[
        str | None, Meta(description="The kind of area the code's first three characters name, when known.")
    ]
    reason: Annotated[
        Literal["unknown_code", "not_a_gss_code", "no_code", "ambiguous_name"],
        Meta(
            description="Why it matches no place: a GSS code no place has, a code that is not GSS, no code and "
            "no name that names a place (missing, misspelt, or a place Placenet does not hold), or no code and "
            "a name that names several places (such as Newport), which is not guessed."
        ),
    ]


class MatchedLocation(msgspec.Struct):
    """A beneficiary location from a 360Giving file that names a place, and how Placenet matched it; or,
    when none of the grant's locations named one, the recipient's address that placed it."""

    name: Annotated[
        str | None,
        Meta(
            description="The location's name, as published; for `recipient_address`, the address's town, county "
            "and country as published."
        ),
    ]
    geo_code: Annotated[str | None, Meta(description="Its geographic code, as published.", examples=["E06000038"])]
    place: Annotated[UUID, Meta(description="The place it was matched to (one of the grant's `places`).")]
    matched_by: Annotated[
        Literal["code", "former_code", "name", "alias", "near_name", "recipient_address"],
        Meta(
            description="How: `code` (its GSS code is the place's), `former_code` (a code the place had before a "
            "boundary change), `name` (no code; its name, or the specific part of a name like 'South East - "
            "Kent', is the place's name or its council's official name), `alias` (no code; a reviewed alias "
            "such as 'UK Wide', 'Greater London' or 'Cymru'), `near_name` (no code, and a name a letter or two "
            "from exactly one place's name, such as 'Manchestr') or `recipient_address` (no beneficiary location "
            "named a place, and the recipient organisation's town, or county, names one: where the recipient is, "
            "not where the funder said the grant goes). All but `code` and `former_code` are Placenet's "
            "inference, not the publisher's; a place matched by the recipient's address is never exported as a "
            "beneficiary location."
        ),
    ]


class Grant(Provenance):
    """A grant from a funder to a recipient."""

    id: Annotated[UUID, Meta(description="The grant's UUID.")]
    slug: Slug
    identifier: Annotated[str | None, Meta(description=IDENTIFIER.description)]
    name: Annotated[str, Meta(description="The grant's title.")]
    description: Annotated[str | None, DESCRIPTION]
    funder: Annotated[Reference, FUNDER]
    recipient: Annotated[Reference, RECIPIENT]
    amount: Annotated[Money | None, AMOUNT]
    awarded_on: Annotated[Date | None, AWARDED]
    planned_start_on: Annotated[Date | None, PLANNED_START]
    planned_end_on: Annotated[Date | None, PLANNED_END]
    programme: Annotated[str | None, Meta(description=PROGRAMME.description)]
    places: Annotated[list[Reference], PLACES]
    amount_applied_for: Annotated[Money | None, Meta(description="The amount applied for (360Giving).")]
    amount_disbursed: Annotated[Money | None, Meta(description="The amount paid so far (360Giving).")]
    url: Annotated[str | None, Meta(description="A page about the grant (360Giving).")]
    data_source: Annotated[str | None, Meta(description="The published data the grant came from (360Giving).")]
    from_open_call: Annotated[
        bool | None, Meta(description="Whether it came from an open call for applications (360Giving).")
    ]
    regrant_type: Annotated[
        str | None,
        Meta(description="360Giving's regrant type code, such as FRG040 (funder collaboration).", examples=["FRG040"]),
    ]
    location_scope: Annotated[
        str | None, Meta(description="360Giving's location scope code, such as GLS050 (local authority).")
    ]
    unmatched_locations: Annotated[
        list[UnmatchedLocation],
        Meta(description="Beneficiary locations from its 360Giving file that name no place; never dropped."),
    ]
    matched_locations: Annotated[
        list[MatchedLocation],
        Meta(
            description="Beneficiary locations from its 360Giving file that name a place, and how each was matched "
            "(and the recipient's address, when that placed the grant instead)."
        ),
    ]
    extra: Annotated[
        dict[str, Any] | None,
        Meta(description="Fields its 360Giving file had that the standard does not define, as published."),
    ]


class GrantPage(Page[Grant]):
    """A page of grants."""


class GrantCreate(WriteBody):
    """A new grant. The slug is made from the identifier, or the title, when not given."""

    name: Annotated[Name, Meta(description="The grant's title.", examples=["Testing place-based methodologies"])]
    funder: Annotated[Ref, FUNDER]
    recipient: Annotated[Ref, RECIPIENT]
    slug: Slug | None = None
    identifier: Annotated[str, IDENTIFIER] | None = None
    description: Annotated[LongText | None, DESCRIPTION] = None
    amount: Annotated[MoneyIn | None, AMOUNT] = None
    awarded_on: Annotated[Date | None, AWARDED] = None
    planned_start_on: Annotated[Date | None, PLANNED_START] = None
    planned_end_on: Annotated[Date | None, PLANNED_END] = None
    programme: Annotated[str, PROGRAMME] | None = None
    places: Annotated[list[Ref], PLACES] = msgspec.field(default_factory=list)


class GrantUpdate(WriteBody):
    """Changes to a grant: only the fields given change; a list given replaces the old one."""

    name: Name | UnsetType = UNSET
    funder: Annotated[Ref, FUNDER] | UnsetType = UNSET
    recipient: Annotated[Ref, RECIPIENT] | UnsetType = UNSET
    slug: Slug | UnsetType = UNSET
    identifier: Annotated[str, IDENTIFIER] | UnsetType | None = UNSET
    description: Annotated[LongText | None, DESCRIPTION] | UnsetType = UNSET
    amount: Annotated[MoneyIn | None, AMOUNT] | UnsetType = UNSET
    awarded_on: Annotated[Date | None, AWARDED] | UnsetType = UNSET
    planned_start_on: Annotated[Date | None, PLANNED_START] | UnsetType = UNSET
    planned_end_on: Annotated[Date | None, PLANNED_END] | UnsetType = UNSET
    programme: Annotated[str, PROGRAMME] | UnsetType | None = UNSET
    places: Annotated[list[Ref], PLACES] | UnsetType = UNSET
