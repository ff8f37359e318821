"""Example request bodies for the docs, drawn from the seed network (the Place Action Inquiry)."""

from __future__ import annotations

from typing import Any

EXAMPLES: dict[str, dict[str, Any]] = {
    "OrganisationCreate": {
        "name": "Institute for Voluntary Action Research",
        "kind": "research_institute",
        "slug": "ivar",
        "org_id": "GB-CHC-1114403",
        "description": "An independent charity that uses action research with voluntary and funding organisations.",
    },
    "OrganisationUpdate": {"website": "https://www.ivar.org.uk/"},
    "PlaceCreate": {
        "name": "Coventry",
        "level": "local_authority",
        "gss_code": "E08000026",
        "area_type": "Metropolitan district",
        "parent": "E12000005",
        "org_id": "GB-LAE-COV",
        "lat": 52.416868,
        "lon": -1.51975,
    },
    "PlaceUpdate": {"former_codes": ["E08000020"]},
    "InterestGroupCreate": {
        "name": "Funder interest group on place",
        "convenor": "association-of-charitable-foundations",
        "description": "A time-limited group for UK, England-wide and Scottish funders interested in place.",
        "places": ["K02000001"],
        "members": [
            {"organisation": "association-of-charitable-foundations", "role": "convenor"},
            {"organisation": "GB-CHC-1107583", "role": "member"},
        ],
    },
    "InterestGroupUpdate": {"ends_on": "2017-12-31"},
    "MembershipCreate": {"organisation": "GB-CHC-1107583", "role": "member", "joined_on": "2016-04-01"},
    "MembershipUpdate": {"left_on": "2017-12-31"},
    "CoFundingCreate": {
        "name": "Co-funding of IVAR's study of place-based funding",
        "purpose": "To pay for IVAR to look at how foundations approach place-based work across the UK.",
        "places": ["K02000001"],
        "contributions": [{"funder": "GB-CHC-1107583"}],
    },
    "CoFundingUpdate": {"lead": "ivar"},
    "ContributionCreate": {"funder": "GB-CHC-1107583", "amount": {"amount": "25000.00", "currency": "GBP"}},
    "ContributionUpdate": {"in_kind": True, "amount": None, "description": "Staff time"},
    "ResearchCreate": {
        "name": "How foundations are approaching place-based work across the UK",
        "kind": "study",
        "commissioners": ["GB-CHC-1107583"],
        "partners": ["ivar"],
        "places": ["K02000001"],
        "funded_by": "co-funding-of-ivars-study-of-place-based-funding",
    },
    "ResearchUpdate": {"published_on": "2017-06-01", "url": "https://www.ivar.org.uk/"},
    "GrantCreate": {
        "name": "Testing place-based methodologies: CLES",
        "funder": "GB-CHC-1107583",
        "recipient": "GB-CHC-1089503",
        "identifier": "360G-example-0001",
        "amount": {"amount": "150000.00", "currency": "GBP"},
        "awarded_on": "2017-03-01",
        "places": ["E92000001"],
    },
    "GrantUpdate": {"planned_end_on": "2019-03-31"},
    "EngagementCreate": {
        "name": "One-to-one meetings with funders, statutory partners and practitioners",
        "kind": "meeting_series",
        "convenor": "GB-CHC-1107583",
        "places": ["E92000001"],
        "summary": "Exploratory one-to-one meetings; the people met are not named.",
    },
    "EngagementUpdate": {"people_involved": 200},
}
