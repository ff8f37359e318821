"""One write path: a write by each of the three writers (the record engine behind the HTTP API, a
360Giving import, a fixtures load) commits through one unit of work, which logs it in /v1/changes and
runs the after-write steps (the map's tallies) once, before it commits, in the same transaction."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.schemas.organisations import OrganisationCreate
from api.services.platform.actors import Actor
from api.services.records import crud, unit_of_work
from api.services.records.unit_of_work import Written
from api.services.resources import organisations
from fixtures.loader import load
from models.tables import Change, GrantPlace, Organisation, Place, PlaceTally
from tests import builders
from tests.test_giving360_import import places, run, sample

__all__ = ["places"]  # the fixture, imported for the import test

Calls = list[list[Written]]


@pytest.fixture
def after_writes() -> Iterator[Calls]:
    """Each call of the after-write steps (one per unit of work), recorded after the installed steps."""
    calls: Calls = []

    async def record(written: Any) -> None:
        calls.append(list(written))

    installed = unit_of_work.installed()
    unit_of_work.install(*installed, record)
    yield calls
    unit_of_work.install(*installed)


async def feed(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    """The whole change feed, read as a partner reads it."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        body = (await client.get("/v1/changes", params={"limit": 200, **({"after": cursor} if cursor else {})})).json()
        items += body["items"]
        if not body["items"]:
            return items
        cursor = body["next_cursor"]


async def tallied(kind: str) -> int:
    """How many records of a kind the map's tallies count, summed over every place they are counted in
    (not the tallies kept apart, under ids no place has: the records with no place, by level...)."""
    rows = await PlaceTally.select(PlaceTally.records).where(
        PlaceTally.kind == kind, PlaceTally.currency == "", PlaceTally.place.is_in(Place.select(Place.id))
    )
    return sum(row["records"] for row in rows)


def written(calls: Calls, collection: str) -> set[str]:
    return {str(w.record_id) for call in calls for w in call if w.collection == collection}


async def test_an_api_write_is_logged_and_tallied_by_its_one_unit_of_work(
    client: httpx.AsyncClient, after_writes: Calls
) -> None:
    await builders.place(client, "Coventry", gss_code="E08000026", lat=52.41, lon=-1.51)
    funder = await builders.organisation(client, "Funder")
    recipient = await builders.organisation(client, "Recipient", kind="charity")
    after_writes.clear()

    grant = await builders.grant(client, funder["slug"], recipient["slug"], places=["E08000026"])

    assert [[(w.collection, str(w.record_id)) for w in call] for call in after_writes] == [[("grants", grant["id"])]]
    assert [(c["collection"], c["operation"], c["record_id"]) for c in (await feed(client))[-1:]] == [
        ("grants", "create", grant["id"])
    ]
    assert await tallied("grant") == 1


async def test_an_import_is_logged_and_tallied_by_its_one_unit_of_work(
    places: None, client: httpx.AsyncClient, after_writes: Calls
) -> None:
    after_writes.clear()
    before = len(await feed(client))

    report = await run(sample())

    assert len(after_writes) == 1, "the whole file is one unit of work"
    logged = (await feed(client))[before:]
    grants = {c["record_id"] for c in logged if c["collection"] == "grants"}
    organisations_made = {c["record_id"] for c in logged if c["collection"] == "organisations"}
    assert len(grants) == report.grants.created > 0
    assert len(organisations_made) == report.organisations.created > 0
    assert written(after_writes, "grants") == grants
    assert written(after_writes, "organisations") == organisations_made
    placed = len({row["grant"] for row in await _grant_places()})
    assert placed > 0
    # The UK's tally counts every grant with a place once.
    counts = await PlaceTally.select(PlaceTally.records).where(PlaceTally.kind == "grant", PlaceTally.currency == "")
    assert counts and max(row["records"] for row in counts) == placed


async def _grant_places() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await GrantPlace.select(GrantPlace.grant)
    return rows


async def test_a_fixtures_load_is_logged_and_tallied_by_its_one_unit_of_work(
    empty_database: None, client: httpx.AsyncClient, after_writes: Calls, tmp_path: Path
) -> None:
    data = {
        "places": [
            {"slug": "coventry", "name": "Coventry", "level": "local_authority", "gss_code": "E08000026"},
        ],
        "organisations": [
            {"slug": "funder", "name": "Funder", "kind": "foundation", "home_place": "coventry"},
            {"slug": "recipient", "name": "Recipient", "kind": "charity"},
        ],
        "grants": [
            {
                "slug": "a-grant",
                "name": "A grant",
                "funder": "funder",
                "recipient": "recipient",
                "places": ["coventry"],
            },
        ],
    }
    path = tmp_path / "network.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    after_writes.clear()

    await load([path])

    assert len(after_writes) == 1, "the whole load is one unit of work"
    logged = await feed(client)
    assert sorted((c["collection"], c["record_slug"]) for c in logged) == [
        ("grants", "a-grant"),
        ("organisations", "funder"),
        ("organisations", "recipient"),
        ("places", "coventry"),
    ]
    assert {(w.collection, str(w.record_id)) for w in after_writes[0]} == {
        (c["collection"], c["record_id"]) for c in logged
    }
    assert await tallied("grant") == 1
    assert await tallied("organisation") == 1  # the funder, at its home place


async def test_a_failing_after_write_step_undoes_the_whole_write(empty_database: None) -> None:
    async def refuse(written: Any) -> None:
        raise RuntimeError("refused")

    installed = unit_of_work.installed()
    unit_of_work.install(*installed, refuse)
    try:
        with pytest.raises(RuntimeError, match="refused"):
            await crud.create(organisations.RESOURCE, OrganisationCreate(name="Gone", kind="charity"), actor=Actor())
    finally:
        unit_of_work.install(*installed)
    assert await Organisation.count() == 0
    assert await Change.count() == 0


async def test_a_write_is_refused_when_no_after_write_steps_are_installed(
    empty_database: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(unit_of_work, "_steps", None)
    with pytest.raises(RuntimeError, match="no after-write steps are installed"):
        await crud.create(organisations.RESOURCE, OrganisationCreate(name="Gone", kind="charity"), actor=Actor())
    assert await Organisation.count() == 0


async def test_a_patch_that_changes_nothing_logs_nothing_and_steps_see_nothing(
    client: httpx.AsyncClient, after_writes: Calls
) -> None:
    made = await builders.organisation(client, "Same")
    before = len(await feed(client))
    after_writes.clear()

    response = await client.patch(f"/v1/organisations/{made['slug']}", json={"name": "Same"})

    assert response.status_code == 200, response.text
    assert len(await feed(client)) == before
    assert after_writes == [[]]
