"""The checks behind an import: the official schema as 360Giving's tools apply it, org-ids and GSS codes."""

from __future__ import annotations

import copy
import json
import socket
from typing import Any

import pytest

from api.services.giving360 import geocodes, orgids
from api.services.giving360.convert import Converted
from api.services.giving360.issues import Issues
from api.services.giving360.validate import check_schema
from tests.test_giving360_import import JSON_SAMPLE


def errors_of(package: Any) -> list[tuple[str, str]]:
    issues = Issues()
    check_schema(Converted(package, "json"), issues)
    return [(e.where or "", e.message) for e in issues.errors]


def sample() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(JSON_SAMPLE.read_text(encoding="utf-8"))
    return data


def test_the_real_sample_is_valid_without_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the validator tried to reach the network")

    monkeypatch.setattr(socket, "create_connection", no_network)
    assert errors_of(sample()) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"awardDate": "2016-13-01"}, ("grants[0].awardDate", "'2016-13-01' is not a date")),
        ({"awardDate": "8 August 2016"}, ("grants[0].awardDate", "'8 August 2016' is not a date")),
        ({"currency": "£"}, ("grants[0].currency", "'£' is not one of")),
        ({"fromOpenCall": "yes"}, ("grants[0].fromOpenCall", "'yes' is not one of ['Yes', 'No'].")),
        ({"recipientOrganization": []}, ("grants[0].recipientOrganization", "[] should be non-empty.")),
        (
            {"recipientIndividual": {"id": "360G-x-1", "name": "Individual Recipient"}},
            ("grants[0]", "A grant goes to an organisation or to an individual"),
        ),
    ],
)
def test_schema_errors_say_what_to_fix(change: dict[str, Any], expected: tuple[str, str]) -> None:
    data = sample()
    data["grants"][0].update(change)
    ((where, message),) = errors_of(data)
    assert where == expected[0]
    assert message.startswith(expected[1]), message


def test_a_date_time_must_be_a_real_date_time() -> None:
    data = sample()
    data["grants"][0]["awardDate"] = "2016-08-09T25:00:00+00:00"  # the format checker, not only the pattern
    assert [where for where, _ in errors_of(data)] == ["grants[0].awardDate"]


def test_identical_grants_twice_are_a_schema_error() -> None:
    data = sample()
    data["grants"].append(copy.deepcopy(data["grants"][0]))
    assert errors_of(data) == [
        ("grants[68]", "This grant appears earlier in the file exactly the same; give each grant once.")
    ]


@pytest.mark.parametrize(
    ("identifier", "prefix"),
    [
        ("GB-CHC-1142154", "GB-CHC"),
        ("GB-SC-SC012345", "GB-SC"),
        ("gb-coh-09412684", "GB-COH"),
        ("360G-blagrave-urban-pursuit", "360G"),
        ("XI-IATI-GB-1", "XI-IATI"),
        ("XX-NOPE-1", None),
        ("1142154", None),
    ],
)
def test_org_id_prefixes_are_the_longest_registered_match(identifier: str, prefix: str | None) -> None:
    assert orgids.prefix_of(identifier) == prefix


@pytest.mark.parametrize(
    ("identifier", "charity", "company", "kinds"),
    [
        ("GB-CHC-1142154", "1142154", None, []),
        ("GB-CHC-12345", None, None, ["charity_number"]),
        ("GB-CHC-1146880", "1146880.", None, ["charity_number"]),
        ("GB-SC-SC012345", "SC012345", None, []),
        ("GB-COH-09412684", None, "09412684", []),
        ("GB-COH-9412684", None, "9412684", ["company_number", "company_number"]),
        ("XX-NOPE-1", None, None, ["org_id_prefix"]),
        ("360G-blagrave-x", "1142154", None, ["org_id_registered_number"]),
    ],
)
def test_org_id_checks(identifier: str, charity: str | None, company: str | None, kinds: list[str]) -> None:
    assert [kind for kind, _, _ in orgids.checks(identifier, "recipient", charity, company)] == kinds


def test_new_organisations_get_a_kind_from_their_register() -> None:
    assert orgids.kind_for("GB-CHC-1", "funder") == "funder"
    assert orgids.kind_for("GB-CHC-1142154", "recipient") == "charity"
    assert orgids.kind_for("GB-LAE-COV", "recipient") == "local_authority"
    assert orgids.kind_for("GB-COH-09412684", "recipient") == "other"
    assert orgids.kind_for("360G-x-y", "recipient", "1142154") == "charity"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("E06000038", ("UA", "Unitary Authorities")),
        ("E09000019", ("LONB", "London Boroughs")),
        ("S12000033", ("CA", "Council Areas")),
        ("E47000001", ("CAUTH", "Combined Authorities")),
        ("E11000020", ("MCTY", "Metropolitan Counties")),
        ("E99000001", None),
        ("RG1 4QS", None),
        (None, None),
    ],
)
def test_the_area_type_comes_from_the_code(code: str | None, expected: tuple[str, str] | None) -> None:
    assert geocodes.code_type(geocodes.normalise(code)) == expected


def test_only_codelist_types_are_given_out() -> None:
    assert geocodes.standard_type("E06000038") == "UA"
    assert geocodes.standard_type("E47000001") is None
    assert geocodes.normalise("  e06000038 ") == "E06000038"


@pytest.mark.parametrize(
    "change",
    [
        {},
        {"awardDate": "2016-13-01"},
        {"awardDate": "2016-08-09T25:00:00+00:00"},
        {"awardDate": "2016-08-09T10:00:00Z"},
        {"awardDate": "0000-01-01T00:00:00Z"},
        {"awardDate": "2016-12-31T23:59:60Z"},
        {"currency": "£"},
        {"currency": "EUR"},
        {"fromOpenCall": "yes"},
        {"recipientOrganization": []},
        {"recipientIndividual": {"id": "360G-x-1", "name": "Individual Recipient"}},
        {"amountAwarded": "12"},
        {"amountAwarded": -5},
        {"title": 7},
        {"id": None},
        {"plannedDates": [{"startDate": "2017-02-30"}]},
        {"beneficiaryLocation": [{"geoCode": "E08000026", "geoCodeType": "LAD"}]},
        {"beneficiaryLocation": [{"geoCode": "E08000026", "geoCodeType": "nonsense"}]},
        {"dataSource": "not a uri"},
        {"dataSource": "www.example.org"},
        {"dateModified": "yesterday"},
    ],
)
def test_the_quick_check_passes_exactly_what_jsonschema_passes(change: dict[str, Any]) -> None:
    """jsonschema-rs passes a valid file on its own; anything it refuses goes to jsonschema, which
    describes it. They must agree, formats included, or a file jsonschema refuses could be imported."""
    from api.services.giving360.validate import quick_validator, validator

    data = sample()
    data["grants"][0].update(change)
    assert quick_validator().is_valid(data) == (not list(validator().iter_errors(data))), change
