"""360Giving imports a partner can trust: a dry run answers as the real run would, a file's own problems
are reported by name, grants a publisher's newer file leaves out are listed, and exports give back
everything an import kept."""

from __future__ import annotations

from typing import Any

import httpx
from litestar import Litestar

from tests import builders
from tests.test_giving360_import import JSON_SAMPLE, places, sample

URL = "/v1/imports/360giving"

__all__ = ["places"]  # a fixture, shared with the import tests


def counts_of(response: httpx.Response) -> tuple[int, Any]:
    """What a response says happened: its status, and the report's counts (or the problem's detail)."""
    body = response.json()
    if response.status_code != 200:
        return response.status_code, body["detail"]
    return 200, (body["grants"], body["organisations"], body["places"], body["warning_counts"])


async def partner(app: Litestar, client: httpx.AsyncClient, name: str) -> httpx.AsyncClient:
    from api.services.resources import keys
    from tests.conftest import make_client

    organisation = await builders.organisation(client, name, kind="research_institute")
    _, token = await keys.create_key(organisation=organisation["slug"], role="partner")
    return make_client(app, token)


# 1. A dry run predicts the real run ---------------------------------------------------------------------------


async def test_a_dry_run_is_refused_where_the_real_run_is(
    app: Litestar, places: None, client: httpx.AsyncClient
) -> None:
    """The admin's import contributed the grants; a partner's file changing one is refused, dry or not."""
    await client.post(URL, content=JSON_SAMPLE.read_bytes(), headers={"Content-Type": "application/json"})
    changed = sample()
    changed["grants"][0]["title"] = "Renamed by someone else"
    async with await partner(app, client, "IVAR") as ivar:
        dry = await ivar.post(URL, json=changed, params={"dry_run": "true"})
        real = await ivar.post(URL, json=changed)
    assert counts_of(dry) == counts_of(real)
    assert dry.status_code == 403, dry.text
    assert changed["grants"][0]["id"] in dry.json()["detail"]


async def test_a_dry_run_reports_what_the_real_run_does(app: Litestar, places: None, client: httpx.AsyncClient) -> None:
    """A partner's own grants: its newer file's dry run counts what the real run then does."""
    async with await partner(app, client, "IVAR") as ivar:
        first_dry = await ivar.post(
            URL,
            content=JSON_SAMPLE.read_bytes(),
            params={"dry_run": "true"},
            headers={"Content-Type": "application/json"},
        )
        first = await ivar.post(URL, content=JSON_SAMPLE.read_bytes(), headers={"Content-Type": "application/json"})
        assert counts_of(first_dry) == counts_of(first)
        assert first.status_code == 200, first.text
        changed = sample()
        changed["grants"][0]["title"] = "Renamed by its contributor"
        dry = await ivar.post(URL, json=changed, params={"dry_run": "true"})
        real = await ivar.post(URL, json=changed)
    assert counts_of(dry) == counts_of(real)
    assert real.status_code == 200 and real.json()["grants"]["updated"] == 1
    assert (dry.json()["dry_run"], dry.json()["written"], real.json()["written"]) == (True, False, True)
