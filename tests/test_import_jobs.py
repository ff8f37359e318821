"""Import jobs: a spreadsheet, or a JSON package of more than SYNC_GRANTS grants, is accepted with 202
and followed at `/v1/imports/{id}`; the import itself is the same all-or-nothing import, with the same
change-feed entries; a job whose worker died is failed when read; only its sender's keys and admins see it."""

from __future__ import annotations

import datetime
import json
import uuid
from typing import Any

import httpx
import pytest
from litestar import Litestar

from api.services.giving360 import jobs
from models.tables import Change, Grant, GrantPlace, ImportJob, Organisation
from tests import builders, test_giving360_import
from tests.conftest import make_client
from tests.test_giving360_import import CSV_SAMPLE, JSON_SAMPLE, SAMPLE_WARNINGS, XLSX_SAMPLE, finished, sample

URL = "/v1/imports/360giving"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
places = test_giving360_import.places  # the UK's places, so GSS codes resolve (a fixture)


async def counts() -> tuple[int, int, int]:
    return await Grant.count(), await Organisation.count(), await GrantPlace.count()


async def test_a_spreadsheet_is_a_job_that_ends_with_the_report(places: None, client: httpx.AsyncClient) -> None:
    response = await client.post(URL, content=XLSX_SAMPLE.read_bytes(), headers={"Content-Type": XLSX})
    assert response.status_code == 202
    accepted = response.json()
    assert accepted["state"] in ("queued", "running")
    assert (accepted["file"], accepted["format"], accepted["dry_run"], accepted["report"]) == (
        "upload.xlsx",
        "xlsx",
        False,
        None,
    )
    assert accepted["grants_in_file"] == 69  # rows of cells below the titles: one grant is on two rows
    job = await finished(client, response)
    assert job["state"] == "succeeded", job
    assert job["finished_at"] is not None and job["problem"] is None
    report = job["report"]
    assert report["grants"] == {"in_file": 68, "created": 68, "updated": 0, "unchanged": 0}
    assert (report["written"], report["organisations"]["created"]) == (True, 63)
    assert job["progress"] == {"written": 68, "to_write": 68}
    assert await counts() == (68, 63, 68)  # every grant placed: one by its recipient's address


async def test_a_large_json_package_is_a_job_and_a_small_one_is_not(
    places: None, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = await client.post(URL, content=JSON_SAMPLE.read_bytes(), headers={"Content-Type": "application/json"})
    assert small.status_code == 200
    assert small.json()["grants"]["created"] == 68
    monkeypatch.setattr(jobs, "SYNC_GRANTS", 67)
    data = sample()
    data["grants"][0]["title"] = "Renamed"
    response = await client.post(URL, content=json.dumps(data).encode(), headers={"Content-Type": "application/json"})
    job = await finished(client, response)
    assert (job["grants_in_file"], job["state"]) == (68, "succeeded")
    assert job["report"]["grants"] == {"in_file": 68, "created": 0, "updated": 1, "unchanged": 67}
    assert job["report"]["warning_counts"] == SAMPLE_WARNINGS
    assert job["progress"] == {"written": 1, "to_write": 1}


async def test_a_job_writes_the_same_change_feed_as_a_synchronous_import(
    places: None, client: httpx.AsyncClient
) -> None:
    await finished(
        client, await client.post(URL, content=CSV_SAMPLE.read_bytes(), headers={"Content-Type": "text/csv"})
    )
    feed = (await client.get("/v1/changes", params={"limit": 1000})).json()["items"]
    made = [(c["collection"], c["operation"]) for c in feed]
    assert (made.count(("grants", "create")), made.count(("organisations", "create")), len(made)) == (68, 63, 131)


async def test_a_dry_run_job_writes_nothing(places: None, client: httpx.AsyncClient) -> None:
    response = await client.post(
        URL, content=CSV_SAMPLE.read_bytes(), headers={"Content-Type": "text/csv"}, params={"dry_run": "true"}
    )
    job = await finished(client, response)
    assert (job["state"], job["dry_run"], job["report"]["dry_run"], job["report"]["written"]) == (
        "succeeded",
        True,
        True,
        False,
    )
    assert job["report"]["grants"]["created"] == 68
    assert await counts() == (0, 0, 0)
    assert await Change.count() == 0


async def test_a_job_whose_file_has_errors_fails_with_the_problem_and_writes_nothing(
    places: None, client: httpx.AsyncClient
) -> None:
    rows = CSV_SAMPLE.read_text(encoding="utf-8").splitlines()
    rows[1] = rows[1].replace(",GBP,300000,", ",GBP,lots,", 1)
    response = await client.post(URL, content="\n".join(rows).encode(), headers={"Content-Type": "text/csv"})
    job = await finished(client, response)
    assert (job["state"], job["report"]) == ("failed", None)
    problem = job["problem"]
    assert (problem["status"], problem["title"]) == (422, "Unprocessable content")
    assert problem["detail"] == "The file cannot be imported: 1 error; nothing was written."
    assert problem["errors"][0]["field"].startswith("grants sheet, row 2, column E (Amount Awarded)")
    assert await counts() == (0, 0, 0)
    assert await Change.count() == 0


async def test_a_job_is_seen_only_by_its_organisations_keys_and_admins(
    app: Litestar, places: None, client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    from api.services.resources import keys

    await builders.organisation(client, "IVAR", kind="research_institute")
    await builders.organisation(client, "Other Trust", kind="foundation")
    _, ivar_token = await keys.create_key(organisation="ivar", role="partner")
    _, second_ivar_token = await keys.create_key(organisation="ivar", role="partner")
    _, other_token = await keys.create_key(organisation="other-trust", role="partner")
    async with make_client(app, ivar_token) as ivar:
        response = await ivar.post(
            URL, content=CSV_SAMPLE.read_bytes(), headers={"Content-Type": "text/csv"}, params={"dry_run": "true"}
        )
        await finished(client, response)
    location = response.headers["location"]
    async with make_client(app, second_ivar_token) as second_ivar:
        assert (await second_ivar.get(location)).json()["state"] == "succeeded"
    async with make_client(app, other_token) as other:
        hidden = await other.get(location)
    assert hidden.status_code == 404
    assert hidden.json()["detail"] == f"There is no import job {location.rsplit('/', 1)[1]} that this key may see."
    assert (await client.get(location)).status_code == 200  # an admin's key
    assert (await anonymous.get(location)).status_code == 401


async def test_an_unknown_job_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.get(f"/v1/imports/{uuid.uuid4()}")).status_code == 404
    assert (await client.get("/v1/imports/not-a-job")).status_code == 404


async def _job_row(state: str, heartbeat_age: datetime.timedelta) -> uuid.UUID:
    job_id = uuid.uuid4()
    beat = datetime.datetime.now(datetime.UTC) - heartbeat_age
    await ImportJob.insert(
        ImportJob(id=job_id, state=state, file="big.xlsx", format="xlsx", created_at=beat, heartbeat_at=beat)
    )
    return job_id


@pytest.mark.parametrize("state", ["queued", "running"])
async def test_a_job_whose_worker_stopped_is_failed_when_read(client: httpx.AsyncClient, state: str) -> None:
    """A job no live worker runs (its heartbeat stopped over STALE_SECONDS ago) must not stay running."""
    job_id = await _job_row(state, datetime.timedelta(seconds=jobs.STALE_SECONDS + 60))
    job = (await client.get(f"/v1/imports/{job_id}")).json()
    assert job["state"] == "failed"
    assert job["problem"]["status"] == 500
    assert job["problem"]["detail"].startswith("The worker running this import stopped before it finished")
    assert job["problem"]["detail"].endswith("so nothing was written. Send the file again.")
    assert job["finished_at"] is not None
    row = await ImportJob.select(ImportJob.state).where(ImportJob.id == job_id).first()
    assert row is not None and row["state"] == "failed"  # recorded, for every worker


async def test_a_job_with_a_recent_heartbeat_is_left_running(client: httpx.AsyncClient) -> None:
    job_id = await _job_row("running", datetime.timedelta(seconds=10))
    job: dict[str, Any] = (await client.get(f"/v1/imports/{job_id}")).json()
    assert (job["state"], job["problem"]) == ("running", None)


async def test_a_hostile_spreadsheet_is_refused_before_any_job_is_made(client: httpx.AsyncClient) -> None:
    from tests.test_hostile_uploads import far_cell

    response = await client.post(URL, content=far_cell("XFD1048576"), headers={"Content-Type": XLSX})
    assert response.status_code == 422
    assert await ImportJob.count() == 0


@pytest.mark.parametrize(("content", "media_type"), [(b"false", "text/csv"), (b"Identifier,Title\n", "text/csv")])
async def test_a_spreadsheet_with_no_grants_is_refused_at_once(
    client: httpx.AsyncClient, content: bytes, media_type: str
) -> None:
    response = await client.post(URL, content=content, headers={"Content-Type": media_type})
    assert response.status_code == 422
    assert response.json()["errors"][0]["message"].startswith("schema: The file has no grants.")
    assert await ImportJob.count() == 0


async def test_a_job_stopped_by_its_sandbox_fails_with_the_limit_named(
    places: None, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file within the limits checked before it is read, whose reading then takes more CPU than its
    sandbox may: the job fails with the problem a synchronous import would have answered."""
    import functools

    from api.services.giving360 import importer
    from api.services.giving360.limits import Limits
    from tests.test_hostile_uploads import big_csv

    monkeypatch.setattr(importer, "import_file", functools.partial(importer.import_file, limits=Limits(cpu_seconds=1)))
    response = await client.post(URL, content=big_csv(20_000), headers={"Content-Type": "text/csv"})
    job = await finished(client, response)
    assert (job["state"], job["grants_in_file"]) == ("failed", 20_000)
    problem = job["problem"]
    assert (problem["status"], problem["title"]) == (422, "Unprocessable content")
    assert problem["detail"].startswith(
        "The file breaks the limit cpu_seconds: reading the file used too much CPU time"
    )
    assert problem["errors"] == [
        {"field": "body", "message": "cpu_seconds: found more than 1, limit 1", "location": "body"}
    ]
    assert await counts() == (0, 0, 0)


async def test_a_running_job_beats_while_its_worker_lives(
    places: None, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    monkeypatch.setattr(jobs, "HEARTBEAT_SECONDS", 0.05)
    response = await client.post(URL, content=XLSX_SAMPLE.read_bytes(), headers={"Content-Type": XLSX})
    location = response.headers["location"]
    seen: list[tuple[str, str, str]] = []
    while not seen or seen[-1][0] in ("queued", "running"):
        job = (await client.get(location)).json()
        seen.append((job["state"], job["created_at"], job["heartbeat_at"]))
        await asyncio.sleep(0.02)
    # The stamp taken as it started, then at least one beat of its own while it ran.
    assert len({beat for state, _, beat in seen if state == "running"}) >= 2, seen
    assert seen[-1][0] == "succeeded"
